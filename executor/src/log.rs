//! A try's log file: every line prefixed with `[<UTC time with millis>] `, secrets replaced
//! by `***`, written as it arrives (a UI tails the file). Also the pump that turns a pipe's
//! bytes into such lines, partial last line and non-UTF-8 bytes included.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Mutex;

/// The longest line kept whole; longer ones are split.
const MAX_LINE: usize = 64 * 1024;

/// Writes timestamped, masked lines to a try's log file. Shared by the stdout and stderr
/// pumps and the supervisor's own messages; each batch of lines is one `write`.
pub struct LogSink {
    file: Mutex<File>,
    /// Non-empty secrets, longest first (so a secret containing another is masked whole).
    secrets: Vec<String>,
}

impl LogSink {
    /// Opens (appending, creating its folders) the log file at `path`.
    pub fn open(path: &Path, secrets: &[String]) -> io::Result<LogSink> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        let mut options = OpenOptions::new();
        // Only the scheduler's user reads logs (the UI and API serve them to others).
        options.create(true).append(true).mode(0o600);
        // The folders usually exist: only create them when the first open says so.
        let file = match options.open(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(parent) = path.parent() {
                    fs::DirBuilder::new()
                        .recursive(true)
                        .mode(0o700)
                        .create(parent)?;
                }
                options.open(path)?
            }
            opened => opened?,
        };
        let mut secrets: Vec<String> = secrets.iter().filter(|s| !s.is_empty()).cloned().collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Ok(LogSink {
            file: Mutex::new(file),
            secrets,
        })
    }

    /// Writes one message of the supervisor's own (e.g. about a timeout).
    pub fn message(&self, text: &str) {
        self.write_lines(&[text.as_bytes()]);
    }

    /// Writes lines (without their newlines), each timestamped and masked. Write errors
    /// are ignored: a full disk must not stop the task.
    pub fn write_lines(&self, lines: &[&[u8]]) {
        if lines.is_empty() {
            return;
        }
        let stamp = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        let mut out = String::new();
        for line in lines {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            out.push('[');
            out.push_str(&stamp);
            out.push_str("] ");
            out.push_str(&self.mask(&String::from_utf8_lossy(line)));
            out.push('\n');
        }
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let _ = file.write_all(out.as_bytes());
    }

    /// `text` with every secret replaced by `***`.
    pub fn mask(&self, text: &str) -> String {
        let mut text = text.to_string();
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), "***");
            }
        }
        text
    }

    /// Copies `reader` (a pipe) into the log line by line until end of file.
    pub fn pump(&self, mut reader: impl Read) {
        let mut buf = vec![0u8; 16 * 1024];
        let mut lines = LineBuffer::default();
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            lines.feed(self, &buf[..n]);
        }
        lines.finish(self);
    }
}

/// The not yet finished line of one stream (a pipe), for feeding its bytes into a
/// [`LogSink`] as they arrive, chunk by chunk.
#[derive(Default)]
pub struct LineBuffer {
    pending: Vec<u8>,
}

impl LineBuffer {
    /// Adds `bytes` and writes every line they complete (and every piece of a line longer
    /// than the longest line kept whole) to `sink`.
    pub fn feed(&mut self, sink: &LogSink, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        let pending = &self.pending;
        let mut lines: Vec<&[u8]> = Vec::new();
        let mut start = 0;
        while let Some(pos) = pending[start..].iter().position(|&b| b == b'\n') {
            lines.push(&pending[start..start + pos]);
            start += pos + 1;
        }
        while pending.len() - start > MAX_LINE {
            lines.push(&pending[start..start + MAX_LINE]);
            start += MAX_LINE;
        }
        sink.write_lines(&lines);
        self.pending.drain(..start);
    }

    /// At the end of the stream: writes the partial last line, if any.
    pub fn finish(&mut self, sink: &LogSink) {
        if !self.pending.is_empty() {
            sink.write_lines(&[&self.pending]);
            self.pending.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> String {
        fs::read_to_string(path).expect("read log")
    }

    #[test]
    fn lines_are_timestamped_masked_and_split() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a/b/try.log");
        let sink = LogSink::open(&path, &["".into(), "hunter2".into(), "hunter2-long".into()])
            .expect("open");
        sink.pump(&b"hello\r\npw=hunter2-long and hunter2\n\xffbad\npartial"[..]);
        let text = read(&path);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        for line in &lines {
            // [2026-11-23T17:51:49.123Z] ...
            assert_eq!(&line[0..1], "[");
            assert_eq!(&line[25..27], "] ", "{line}");
            assert!(
                chrono::DateTime::parse_from_rfc3339(&line[1..25]).is_ok(),
                "{line}"
            );
            assert_eq!(&line[24..25], "Z");
            assert_eq!(&line[20..21], ".");
        }
        assert_eq!(&lines[0][27..], "hello");
        assert_eq!(&lines[1][27..], "pw=*** and ***");
        assert_eq!(&lines[2][27..], "\u{fffd}bad");
        assert_eq!(&lines[3][27..], "partial");
    }

    #[test]
    fn lines_split_across_chunks_are_joined() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("try.log");
        let sink = LogSink::open(&path, &["secret".into()]).expect("open");
        let mut lines = LineBuffer::default();
        for chunk in [
            &b"he"[..],
            b"llo\nsec",
            b"ret\n",
            b"",
            b"two\nthree\npart",
            b"ial",
        ] {
            lines.feed(&sink, chunk);
        }
        lines.finish(&sink);
        lines.finish(&sink);
        let text = read(&path);
        let got: Vec<&str> = text.lines().map(|l| &l[27..]).collect();
        assert_eq!(got, ["hello", "***", "two", "three", "partial"]);
    }

    #[test]
    fn appends_and_splits_very_long_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("try.log");
        fs::write(&path, "earlier\n").expect("write");
        let sink = LogSink::open(&path, &[]).expect("open");
        let long = vec![b'x'; MAX_LINE + 10];
        sink.pump(&long[..]);
        sink.message("done");
        let text = read(&path);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "earlier");
        assert_eq!(lines[1].len(), 27 + MAX_LINE);
        assert_eq!(&lines[2][27..], "xxxxxxxxxx");
        assert_eq!(&lines[3][27..], "done");
    }
}
