//! The DAG model shared by every part of Cambium: what a DAG file declares (`DagSpec`,
//! `TaskSpec`, `TaskOptions`), the states runs and task instances move through, Airflow's
//! trigger rules, retry delays, durations, and graph checks (cycles, order). Plain types and
//! functions only: no IO, no clock, no async.

pub mod duration;
pub mod error;
pub mod graph;
pub mod params;
pub mod retry;
pub mod rules;
pub mod spec;
pub mod state;

pub use duration::{format_duration, parse_duration};
pub use error::ImportError;
pub use graph::{DagGraph, GraphError};
pub use params::ParamSpec;
pub use rules::{evaluate_trigger_rule, RuleDecision, UpstreamCounts};
pub use spec::{DagSpec, RetryBackoff, TaskOptions, TaskSpec, TriggerRule};
pub use state::{RunState, RunType, TaskState};
