//! What the engine tests share: an executor scripted by the test.
#![allow(dead_code)]

use cambium_executor::{Error, Executor, TryEvent, TryKey, TryOutcome, TryRequest};
use chrono::{DateTime, Utc};
use serde_json::Map;
use std::path::PathBuf;
use std::sync::Mutex;
use tokio::sync::mpsc::UnboundedSender;

/// Records what it is asked to run; the test decides how each try ends.
pub struct Scripted {
    pub submitted: Mutex<Vec<TryRequest>>,
    pub events: UnboundedSender<TryEvent>,
    /// The tries the engine asked to kill, in order.
    pub killed: Mutex<Vec<TryKey>>,
}

impl Scripted {
    pub fn new(events: UnboundedSender<TryEvent>) -> Self {
        Scripted {
            submitted: Mutex::new(Vec::new()),
            events,
            killed: Mutex::new(Vec::new()),
        }
    }

    pub fn submitted(&self) -> Vec<TryRequest> {
        self.submitted.lock().expect("lock").clone()
    }

    pub fn killed(&self) -> Vec<TryKey> {
        self.killed.lock().expect("lock").clone()
    }

    pub fn finish(&self, key: TryKey, exit_code: i32, at: DateTime<Utc>) {
        let outcome = TryOutcome {
            exit_code: Some(exit_code),
            timed_out: false,
            lost: false,
            started_at: Some(at),
            ended_at: at,
            output: None,
            metrics: Map::new(),
            error: None,
        };
        self.events
            .send(TryEvent::Finished { key, outcome })
            .expect("engine listening");
    }
}

impl Executor for Scripted {
    fn name(&self) -> &'static str {
        "scripted"
    }

    fn submit(&self, request: TryRequest) -> Result<(), Error> {
        let key = request.key;
        self.submitted.lock().expect("lock").push(request);
        let _ = self.events.send(TryEvent::Started {
            key,
            pid: 1,
            hostname: "test".into(),
            at: Utc::now(),
        });
        Ok(())
    }

    fn kill(&self, key: TryKey) {
        self.killed.lock().expect("lock").push(key);
    }

    fn adopt(&self, _key: TryKey, _try_dir: PathBuf) {}

    fn free_slots(&self) -> usize {
        16
    }
}
