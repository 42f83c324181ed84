//! One module per command group.

pub mod assets;
pub mod dags;
pub mod db;
pub mod examples;
pub mod lineage;
pub mod models;
pub mod operator;
pub mod predict;
pub mod runs;
pub mod schema;
pub mod serve;
pub mod tasks;
pub mod users;
