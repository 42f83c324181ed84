//! Cambium's data IO: named object stores (through `object_store`), Parquet, CSV and JSONL
//! readers and writers that stream in batches, and SQL connections (SQLite, Postgres,
//! MySQL) whose query results stream into a writer.
//!
//! - [`stores`]: `[stores]` names → [`Location`]s; artifact URIs back to objects; listing.
//! - [`format`]: the file formats a Dataset can have.
//! - [`write`]: [`TableWriter`] streams [`Table`] batches to a local scratch file, then
//!   uploads it in one piece, so an artifact only ever appears complete.
//! - [`read`]: [`read_batches`] and [`read_table`] turn an artifact URI back into tables.
//! - [`sql`]: [`query_to`] streams a query's rows into table batches in bounded memory.
//!
//! Arrow is only the Parquet codec here: the rest of Cambium sees [`Table`]s.
//!
//! [`Table`]: cambium_ml::table::Table

mod arrow;
mod csv;
mod error;
pub mod format;
mod jsonl;
pub mod read;
pub mod sql;
pub mod stores;
pub mod write;

pub use error::{Error, Result};
pub use format::Format;
pub use read::{read_batches, read_batches_with, read_table, ReadOptions, TableReader};
pub use sql::{mask_url, query_first_value, query_is_truthy, query_to, QuerySummary};
pub use stores::{resolve_uri, Location, ObjectInfo, StoreUrl, Stores};
pub use write::{TableWriter, WrittenObject};
