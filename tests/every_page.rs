//! Every page renders with every kind of data present: an installation with one of
//! everything (tests/common/everything.rs: model versions, lineage, artifacts, metrics,
//! outputs, retries, every task and run state, asset events from a task and from the CLI,
//! an import error, users), then every page URL of docs/ui.md through the real router, as
//! an admin with a bearer token. Each answers 200 and shows user data escaped, never as
//! markup; metrics in tables show 4 significant digits.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::everything::{self, escaped, page_urls, seg};
use common::Env;
use std::collections::BTreeMap;
use tower::ServiceExt;

#[tokio::test(flavor = "multi_thread")]
async fn every_page_renders_with_one_of_everything() {
    let env = Env::new();
    let made = tokio::task::block_in_place(|| env.one_of_everything());
    everything::forge_states(&env, &made.states_run_id).await;
    let token = env.json(&["users", "token", everything::USER], 0)["token"]
        .as_str()
        .expect("token")
        .to_string();

    let store = cambium_store::Store::connect(&format!(
        "sqlite://{}",
        env.home.join("cambium.db").display()
    ))
    .await
    .expect("store");
    let mut config = cambium_ui::web::WebConfig::new(cambium_scheduler::Home::new(&env.home));
    config.dags_folder = Some(env.dags.clone());
    let app = cambium_ui::web::App::new(store, config).expect("app");
    let router = cambium_ui::web::router(app);

    let mut pages = BTreeMap::new();
    for url in page_urls(&made) {
        let request = Request::builder()
            .uri(&url)
            .header("Authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request");
        let response = router.clone().oneshot(request).await.expect("response");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024)
            .await
            .expect("body");
        let text = String::from_utf8_lossy(&body).into_owned();
        assert_eq!(status, StatusCode::OK, "GET {url}: {text}");
        assert!(
            !text.contains("<script>window")
                && !text.contains("<i>bad")
                && !text.contains("<b>tag"),
            "GET {url} shows user data as markup: {text}"
        );
        pages.insert(url, text);
    }
    let page = |url: &str| {
        pages
            .get(url)
            .unwrap_or_else(|| panic!("{url} was not opened"))
            .as_str()
    };
    let shows = |url: &str, what: &str| {
        let text = page(url);
        assert!(
            text.contains(&escaped(what)),
            "{url} shows {what:?} escaped ({:?}):\n{text}",
            escaped(what)
        );
    };
    let run = seg(&made.run_id);

    // User data, escaped, where it belongs.
    shows("/", everything::TAG);
    shows("/", everything::BAD_DAG_ID);
    shows("/dags/everything", everything::DESCRIPTION);
    shows("/dags/everything/code", everything::DESCRIPTION);
    shows("/dags/everything/trigger", "<i>param</i>");
    shows("/import-errors", everything::BAD_DAG_ID);
    shows("/assets", "ev.asset");
    shows("/users", everything::USER);
    shows(
        &format!("/dags/everything/runs/{run}/tasks/ok"),
        everything::LOGGED,
    );
    shows(
        &format!("/dags/everything/runs/{run}/tasks/ok"),
        everything::OUTPUT_NOTE,
    );
    // The CLI's event's extra, as JSON text, HTML-escaped like any text.
    let assets = page("/assets");
    assert!(
        assets.contains("&lt;script&gt;window.__pwned=3"),
        "the event's extra as JSON text:\n{assets}"
    );
    assert!(
        assets.contains("everything.ok"),
        "the event from the task names it:\n{assets}"
    );

    // The retry: try 1 and try 2 of flaky, each with its own log.
    for n in [1, 2] {
        let text = page(&format!("/dags/everything/runs/{run}/tasks/flaky?try={n}"));
        assert!(text.contains("failing"), "try {n}'s log:\n{text}");
        assert!(text.contains("class=\"on\">2<") || n == 1, "{text}");
    }
    // Every task state in the grid, the graph and the run page.
    for state in everything::STATES {
        let cell = format!("data-state=\"{state}\"");
        assert!(page("/dags/states").contains(&cell), "grid cell {state}");
        let node = format!("state-{state}\"");
        assert!(
            page("/dags/states/graph").contains(&node),
            "graph node {state}"
        );
    }
    // Every run state on the DAG list's dots and the runs page.
    let runs = page("/dags/everything/runs");
    for state in ["failed", "queued"] {
        assert!(runs.contains(&format!("state-{state}")), "{state}:\n{runs}");
    }
    assert!(
        page("/").contains("dot state-running"),
        "the running run's dot"
    );
    assert!(
        page("/").contains("dot state-success"),
        "a successful run's dot"
    );

    // Metrics: 4 significant digits in tables, full precision kept in the title.
    let ok = page(&format!("/dags/everything/runs/{run}/tasks/ok"));
    assert!(
        ok.contains(&format!(
            "<td title=\"{}\">0.764</td>",
            everything::ACCURACY
        )),
        "accuracy shown as 0.764:\n{ok}"
    );
    assert!(ok.contains(">12</td>"), "whole numbers stay whole:\n{ok}");
    let model = page("/models/wine_quality");
    assert!(model.contains("production"), "{model}");
    assert!(model.contains("id=\"lineage\""), "{model}");
    // The versions table's metrics (the spans with the full value in their title).
    let metrics: Vec<&str> = model
        .split("<span class=\"kv\" title=\"")
        .skip(1)
        .filter_map(|rest| rest.split_once("\">")?.1.split("</span>").next())
        .collect();
    assert!(!metrics.is_empty(), "the versions' metrics:\n{model}");
    for kv in &metrics {
        let value = kv.rsplit('=').next().unwrap_or("");
        if let Ok(x) = value.parse::<f64>() {
            let mantissa = value
                .trim_start_matches('-')
                .split('e')
                .next()
                .unwrap_or("");
            let digits = mantissa.replace('.', "");
            let significant = digits.trim_start_matches('0');
            assert!(
                significant.len() <= 4 || x.fract() == 0.0,
                "{kv} shows more than 4 significant digits"
            );
        }
    }
}
