// Cambium's only script: live updates on pages that work without it.
// - pre.log[data-follow]: appends the log as it grows (Server-Sent Events).
// - [data-poll]: polls a JSON URL and reloads the page when what it returns changes
//   (run and task states on the grid and run pages, a backfill's progress).
(function () {
  "use strict";

  function follow(pre) {
    if (!window.EventSource) return;
    var source = new EventSource(pre.getAttribute("data-follow"));
    // The page already shows the log so far; the stream starts at its beginning, so skip
    // what is shown (counted in characters of the text as rendered).
    var shown = pre.textContent.length;
    var received = "";
    source.addEventListener("log", function (e) {
      var text = e.data + "\n";
      received += text;
      if (received.length <= shown) return;
      var fresh = received.slice(Math.max(shown, received.length - text.length));
      shown = received.length;
      pre.appendChild(document.createTextNode(fresh));
      pre.scrollTop = pre.scrollHeight;
    });
    source.addEventListener("end", function (e) {
      source.close();
      var live = document.getElementById("log-live");
      if (live) live.textContent = "The try ended: " + e.data + ".";
      setTimeout(function () { window.location.reload(); }, 800);
    });
    source.onerror = function () { source.close(); };
  }

  function poll(el) {
    var url = el.getAttribute("data-poll");
    var last = null;
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (body) {
          if (body === null) return;
          if (last !== null && body !== last) { window.location.reload(); return; }
          last = body;
          setTimeout(tick, 2000);
        })
        .catch(function () { setTimeout(tick, 5000); });
    }
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("pre.log[data-follow]").forEach(follow);
    document.querySelectorAll("[data-poll]").forEach(poll);
  });
})();
