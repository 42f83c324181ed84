//! One module per command group.

pub mod dags;
pub mod db;
pub mod runs;
pub mod serve;
pub mod tasks;
