//! Cambium's scheduler: the scheduling loop that turns DAGs into runs and task tries.
//! It creates runs from timetables, manual triggers and backfills (`runs`), plans each run
//! with the pure state machine (`plan`), claims tries by compare-and-set in the store, hands
//! them to an executor, and reacts to each try's end at once (`engine`). The DAG processor
//! (`dagproc`) keeps the store in step with the DAGs folder. Asset events and the runs they
//! trigger are `assets`. Old try folders are swept by `retention`.

pub mod assets;
pub mod clock;
pub mod dagproc;
pub mod engine;
pub mod paths;
pub mod plan;
pub mod request;
pub mod retention;
pub mod runs;
pub mod time;

pub use clock::{Clock, ManualClock, SystemClock};
pub use dagproc::{DagProcessor, DagUpdate, SyncError};
pub use engine::{Engine, EngineError, EngineOptions, Mode};
pub use paths::Home;
