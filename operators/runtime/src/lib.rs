//! Runs Cambium's built-in operators inside a task's own process (`cambium task operator`):
//! each operator reads its input artifacts (named by upstream task), does its work with
//! `cambium-data` (IO) and `cambium-ml`/`cambium-models` (the domain), writes its output
//! artifacts to the object store, and records the execution with its inputs and outputs in
//! the metadata store in one transaction, which is what lineage and caching read. Also the
//! serving side: loading a registered model version as a [`Predictor`](cambium_models::Predictor).
//!
//! Modules: `context` (the [`Runtime`] and one [`Call`]), `artifacts` (references between
//! tasks, reading and writing artifact files), `record` (cache look-up and recording),
//! `ops` (one module per operator family), `serving` (registered models).

pub mod artifacts;
pub mod context;
pub mod ops;
pub mod record;
pub mod serving;

pub use context::{Call, OpError, Outcome, Runtime};

/// Runs one invocation to its outcome: from the cache when `cache: true` finds an identical
/// earlier execution, else by running the operator; recorded either way.
pub async fn run(rt: &Runtime, call: &Call) -> Result<Outcome, OpError> {
    record::run_recorded(rt, call).await
}
