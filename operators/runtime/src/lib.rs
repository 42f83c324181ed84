//! Runs built-in operators inside a task process.
