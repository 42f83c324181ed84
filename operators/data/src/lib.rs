//! Cambium's data IO: named object stores (through `object_store`), Parquet, CSV and JSONL
//! readers and writers that stream in batches, and SQL connections (SQLite, Postgres,
//! MySQL) whose query results stream into a writer.
