//! Cambium's operators: the registry of operator names and option schemas that the DAG
//! loader validates against, the template renderer for task options (minijinja, with
//! Airflow's variables and macros), and the built-in operators' own logic (`command` turns
//! rendered options into a process to run).

pub mod catalog;
pub mod command;
pub mod invocation;
pub mod registry;
pub mod template;
pub mod tune;
