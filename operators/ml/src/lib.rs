//! Cambium's ML domain, free of IO: the column-oriented [`Table`], per-feature statistics,
//! schema inference, validation against a schema and drift against a baseline, fitted
//! feature transforms (saved and reused at serving time), evaluation metrics, reproducible
//! hash splits, and the built-in models. Everything here is plain functions over plain
//! types; reading and writing data lives in `cambium-data`, running operators in
//! `cambium-runtime`.

pub mod table;

pub use table::{Column, ColumnType, Field, Table, TableError};
