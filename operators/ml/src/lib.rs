//! Cambium's ML domain, free of IO: the column-oriented [`Table`], per-feature statistics,
//! schema inference, validation against a schema and drift against a baseline, fitted
//! feature transforms (saved and reused at serving time), evaluation metrics, reproducible
//! hash splits, and the built-in models. Everything here is plain functions over plain
//! types; reading and writing data lives in `cambium-data`, running operators in
//! `cambium-runtime`.
//!
//! The data-quality path, one module each:
//! - [`stats`]: [`compute_statistics`] per data set (and [`SplitStatistics`] per split),
//!   numbers matching numpy's defaults;
//! - [`schema`]: [`infer_schema`] from statistics, or a curated file via
//!   [`Schema::from_json`];
//! - [`validate`](mod@validate): [`validate`](validate()) statistics against a schema and a baseline,
//!   giving [`Anomalies`];
//! - [`drift`]: the distances used for drift (Jensen–Shannon for numeric features,
//!   L-infinity for categorical ones), with their formulas;
//! - [`split`]: reproducible hash splits ([`Splitter`], [`split_table`]).

pub mod drift;
pub mod schema;
pub mod split;
pub mod stats;
pub mod table;
pub mod validate;

pub use drift::{jensen_shannon, l_infinity, DriftConfig, DriftMeasure};
pub use schema::{
    infer_schema, infer_schema_from, FeatureSchema, InferOptions, NumericRange, Schema,
    SchemaError, SchemaProblem,
};
pub use split::{fnv1a64, split_table, InvalidSplits, SplitError, Splitter};
pub use stats::{
    compute_statistics, CategoricalStats, DatasetStatistics, FeatureStatistics, Histogram,
    NumericStats, SplitStatistics, ValueCount,
};
pub use table::{Column, ColumnType, Field, Table, TableError};
pub use validate::{validate, Anomalies, Anomaly, AnomalyKind};
