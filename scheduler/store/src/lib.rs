//! Cambium's metadata store: DAG records, import errors, runs, task instances, tries, pools and
//! scheduler heartbeats, on SQLite (the embedded default, WAL) or Postgres, through sqlx with
//! runtime-checked queries (the build never needs a live database). Migrations per backend
//! live in `migrations/{sqlite,postgres}` and are embedded with `sqlx::migrate!`.
//!
//! Times are stored as microseconds since the Unix epoch (`BIGINT`), JSON as text, so one set
//! of queries serves both backends. Every state change of a task instance is a
//! compare-and-set on its current state, which is what lets several schedulers share one
//! Postgres without ever starting a try twice.
//!
//! It also holds ML lineage and the model registry: every operator execution with the
//! artifacts it read and wrote (`record_execution`, one transaction), the lookups behind
//! `cambium lineage`, the execution cache and "previous span" baselines; and numbered versions
//! of named models with aliases such as `production`, their history, promotion and rollback.
//!
//! Asset events (`assets`: what tasks' outlets and `cambium assets emit` record) and
//! marking task instances success or failed by hand (`marks`).
//!
//! And the users of the web UI and API with their API tokens and sign-in sessions, kept as
//! password hashes and hashes of the secrets only (`users`).

mod artifacts;
mod assets;
mod backfills;
mod codec;
mod dags;
mod error;
mod marks;
mod ml_records;
mod overview;
mod pools;
mod records;
mod registry;
mod runs;
mod schedulers;
mod settings;
mod store;
mod tasks;
mod url;
mod users;

pub use assets::{AssetEvent, AssetSummary, EventSource};
pub use error::{Error, Result};
pub use ml_records::*;
pub use overview::{DagHead, RunBrief, TaskCell, TaskSummary};
pub use records::*;
pub use store::{Backend, Store};
pub use users::{ApiTokenRecord, SessionRecord, UserRecord, LAST_USED_GRANULARITY};
