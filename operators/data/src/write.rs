//! [`TableWriter`]: streams table batches to a local scratch file, then uploads the
//! finished file to an object store. The object appears at its key only once it is
//! complete: small files go up in one `put`, larger ones as a multipart upload that the
//! store assembles on completion (and that is aborted on error), so no reader ever sees a
//! half-written artifact, and a 5-million-row file is never held in memory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path as FsPath, PathBuf};

use bytes::Bytes;
use cambium_ml::table::{ColumnType, Table};
use object_store::{ObjectStoreExt, PutPayload, WriteMultipart};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;
use tokio::io::AsyncReadExt;

use crate::csv::CsvWriter;
use crate::error::{Error, Result};
use crate::format::Format;
use crate::jsonl::JsonlWriter;
use crate::stores::Location;

/// Files up to this size are uploaded with one `put`; larger ones in parts.
pub const SINGLE_PUT_MAX: u64 = 16 * 1024 * 1024;
/// The size of each part of a multipart upload (S3 needs at least 5 MiB).
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts uploading at once.
const PARTS_IN_FLIGHT: usize = 2;
/// Parquet row groups are cut at this many rows or this many bytes, whichever comes
/// first, which bounds what the writer buffers.
const ROW_GROUP_ROWS: usize = 256 * 1024;
const ROW_GROUP_BYTES: usize = 64 * 1024 * 1024;

/// What [`TableWriter::finish`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WrittenObject {
    /// The object's URI, e.g. `file:///home/x/artifacts/a/b.parquet`.
    pub uri: String,
    /// Its key in the store.
    pub key: String,
    pub format: Format,
    pub rows: u64,
    pub bytes: u64,
    /// `sha256:`-less hex SHA-256 of the object's bytes.
    pub fingerprint: String,
}

enum Encoder {
    Parquet(Box<ArrowWriter<File>>, arrow_schema::SchemaRef),
    Csv(CsvWriter<BufWriter<File>>),
    Jsonl(JsonlWriter<BufWriter<File>>),
}

/// Writes batches of one table to a scratch file; see the module docs.
pub struct TableWriter {
    format: Format,
    file: NamedTempFile,
    encoder: Option<Encoder>,
    schema: Option<Vec<(String, ColumnType)>>,
    rows: u64,
    batches: u64,
}

impl TableWriter {
    /// A writer whose scratch file lives in `scratch_dir` (created if needed) and is
    /// removed when the writer is finished or dropped.
    pub fn new(format: Format, scratch_dir: &FsPath) -> Result<TableWriter> {
        std::fs::create_dir_all(scratch_dir).map_err(|source| Error::Io {
            action: "create the scratch folder",
            path: scratch_dir.to_path_buf(),
            source,
        })?;
        let file = tempfile::Builder::new()
            .prefix(".cambium-write-")
            .suffix(&format!(".{}", format.extension()))
            .tempfile_in(scratch_dir)
            .map_err(|source| Error::Io {
                action: "create a scratch file in",
                path: scratch_dir.to_path_buf(),
                source,
            })?;
        Ok(TableWriter {
            format,
            file,
            encoder: None,
            schema: None,
            rows: 0,
            batches: 0,
        })
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The scratch file being written.
    pub fn scratch_path(&self) -> &FsPath {
        self.file.path()
    }

    fn io(&self, action: &'static str, source: std::io::Error) -> Error {
        Error::Io {
            action,
            path: self.file.path().to_path_buf(),
            source,
        }
    }

    fn parquet_error(&self, e: impl std::fmt::Display) -> Error {
        Error::Parquet {
            file: self.file.path().display().to_string(),
            message: e.to_string(),
        }
    }

    /// Appends a batch. Every batch needs the first one's columns, in order, with the same
    /// types.
    pub fn write(&mut self, table: &Table) -> Result<()> {
        let schema: Vec<(String, ColumnType)> = table
            .fields()
            .iter()
            .map(|f| (f.name.clone(), f.data.column_type()))
            .collect();
        self.batches += 1;
        match &self.schema {
            Some(expected) if *expected != schema => {
                return Err(Error::SchemaChanged {
                    batch: self.batches,
                    expected: describe(expected),
                    found: describe(&schema),
                })
            }
            Some(_) => {}
            None => self.schema = Some(schema),
        }
        if self.encoder.is_none() {
            let encoder = self.start(table)?;
            self.encoder = Some(encoder);
        }
        let scratch = self.file.path().to_path_buf();
        let parquet_error = |e: &dyn std::fmt::Display| Error::Parquet {
            file: scratch.display().to_string(),
            message: e.to_string(),
        };
        let io_error = |source| Error::Io {
            action: "write",
            path: scratch.clone(),
            source,
        };
        match self.encoder.as_mut() {
            Some(Encoder::Parquet(w, schema)) => {
                let batch =
                    crate::arrow::to_batch(table, schema.clone()).map_err(|e| parquet_error(&e))?;
                w.write(&batch).map_err(|e| parquet_error(&e))?;
            }
            Some(Encoder::Csv(w)) => w.write(table).map_err(io_error)?,
            Some(Encoder::Jsonl(w)) => w.write(table).map_err(io_error)?,
            None => {}
        }
        self.rows += table.rows() as u64;
        Ok(())
    }

    fn start(&self, first: &Table) -> Result<Encoder> {
        let file = self
            .file
            .as_file()
            .try_clone()
            .map_err(|e| self.io("open", e))?;
        Ok(match self.format {
            Format::Parquet => {
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                    .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
                    .build();
                let schema = crate::arrow::schema_of(first);
                let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
                    .map_err(|e| self.parquet_error(e))?;
                Encoder::Parquet(Box::new(writer), schema)
            }
            Format::Csv => Encoder::Csv(CsvWriter::new(BufWriter::new(file))),
            Format::Jsonl => Encoder::Jsonl(JsonlWriter::new(BufWriter::new(file))),
        })
    }

    /// Closes the file and uploads it to `key` in `location`. A writer that got no batch
    /// writes an empty object (a Parquet file with no columns).
    pub async fn finish(mut self, location: &Location, key: &str) -> Result<WrittenObject> {
        let path = location.path(key)?;
        let uri = location.uri(key);
        if self.encoder.is_none() {
            let encoder = self.start(&Table::default())?;
            self.encoder = Some(encoder);
        }
        match self.encoder.take() {
            Some(Encoder::Parquet(w, _)) => {
                w.close().map_err(|e| self.parquet_error(e))?;
            }
            Some(Encoder::Csv(w)) => flush(w.into_inner()).map_err(|e| self.io("write", e))?,
            Some(Encoder::Jsonl(w)) => flush(w.into_inner()).map_err(|e| self.io("write", e))?,
            None => {}
        }
        let (bytes, fingerprint) =
            upload(self.file.path(), location, &path, &uri, SINGLE_PUT_MAX).await?;
        tracing::debug!(uri = %uri, rows = self.rows, bytes, "wrote object");
        Ok(WrittenObject {
            uri,
            key: key.trim_start_matches('/').to_string(),
            format: self.format,
            rows: self.rows,
            bytes,
            fingerprint,
        })
    }
}

fn flush(mut w: BufWriter<File>) -> std::io::Result<()> {
    w.flush()?;
    let file = w.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()
}

fn describe(schema: &[(String, ColumnType)]) -> String {
    schema
        .iter()
        .map(|(n, t)| format!("{n}: {t}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Uploads a local file to `path`, hashing it on the way; returns its size and SHA-256.
pub(crate) async fn upload(
    local: &FsPath,
    location: &Location,
    path: &object_store::path::Path,
    uri: &str,
    single_put_max: u64,
) -> Result<(u64, String)> {
    let io = |action, source| Error::Io {
        action,
        path: PathBuf::from(local),
        source,
    };
    let store_err = |source| Error::Store {
        action: "uploading",
        uri: uri.to_string(),
        source,
    };
    let mut file = tokio::fs::File::open(local)
        .await
        .map_err(|e| io("read", e))?;
    let size = file.metadata().await.map_err(|e| io("read", e))?.len();
    let mut hasher = Sha256::new();
    if size <= single_put_max {
        let mut data = Vec::with_capacity(size as usize);
        file.read_to_end(&mut data)
            .await
            .map_err(|e| io("read", e))?;
        hasher.update(&data);
        location
            .store
            .put(path, PutPayload::from(Bytes::from(data)))
            .await
            .map_err(store_err)?;
        return Ok((size, hex::encode(hasher.finalize())));
    }
    let upload = location
        .store
        .put_multipart(path)
        .await
        .map_err(store_err)?;
    let mut parts = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
    let mut buf = vec![0u8; 1024 * 1024];
    let mut total = 0u64;
    let failure: Result<(), Error> = async {
        loop {
            let n = file.read(&mut buf).await.map_err(|e| io("read", e))?;
            if n == 0 {
                return Ok(());
            }
            hasher.update(&buf[..n]);
            total += n as u64;
            parts
                .wait_for_capacity(PARTS_IN_FLIGHT)
                .await
                .map_err(store_err)?;
            parts.write(&buf[..n]);
        }
    }
    .await;
    if let Err(e) = failure {
        if let Err(abort) = parts.abort().await {
            tracing::warn!(uri = %uri, error = %abort, "could not abort a failed multipart upload");
        }
        return Err(e);
    }
    parts.finish().await.map_err(store_err)?;
    Ok((total, hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cambium_ml::table::{Column, Field};

    fn table(ints: Vec<Option<i64>>) -> Table {
        Table::new(vec![Field {
            name: "n".into(),
            data: Column::Int(ints),
        }])
        .unwrap()
    }

    #[test]
    fn a_changed_schema_names_both() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = TableWriter::new(Format::Csv, dir.path()).unwrap();
        w.write(&table(vec![Some(1)])).unwrap();
        let other = Table::new(vec![Field {
            name: "n".into(),
            data: Column::Float(vec![Some(1.0)]),
        }])
        .unwrap();
        let err = w.write(&other).unwrap_err().to_string();
        assert!(
            err.contains("batch 2 has columns [n: float]") && err.contains("[n: int]"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn multipart_uploads_appear_whole_and_hash_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("big.bin");
        let data: Vec<u8> = (0..(PART_SIZE * 2 + 12345))
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(&local, &data).unwrap();
        let expected = hex::encode(Sha256::digest(&data));
        for url in [
            format!("file://{}", dir.path().join("store").display()),
            "memory://multipart-test".to_string(),
        ] {
            let loc = Location::open(url.parse().unwrap()).unwrap();
            let path = loc.path("x/big.bin").unwrap();
            let (size, hash) = upload(&local, &loc, &path, "test", 1024).await.unwrap();
            assert_eq!(size, data.len() as u64);
            assert_eq!(hash, expected);
            let back = loc.get_bytes("x/big.bin").await.unwrap();
            assert_eq!(back.len(), data.len());
            assert_eq!(hex::encode(Sha256::digest(&back)), expected, "{url}");
            // Nothing but the finished object is left in the folder.
            let keys: Vec<_> = loc
                .list("x", None)
                .await
                .unwrap()
                .into_iter()
                .map(|o| o.key)
                .collect();
            assert_eq!(keys, ["x/big.bin"], "{url}");
        }
    }

    #[tokio::test]
    async fn dropping_a_writer_leaves_no_scratch_file_and_no_object() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = dir.path().join("scratch");
        let mut w = TableWriter::new(Format::Parquet, &scratch).unwrap();
        w.write(&table(vec![Some(1), None])).unwrap();
        let scratch_file = w.scratch_path().to_path_buf();
        assert!(scratch_file.exists());
        drop(w);
        assert!(!scratch_file.exists());
        assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0);
    }
}
