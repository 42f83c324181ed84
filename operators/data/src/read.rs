//! Reading an artifact URI back into tables, in batches.
//!
//! A `file://` URI is read in place; any other object is first streamed to a scratch file
//! (Parquet needs random access, CSV and JSONL two passes), which is removed when the
//! reader is dropped. The batches are then decoded from the local file, so memory stays
//! at about one batch whatever the object's size.
//!
//! [`TableReader`] is a blocking iterator (local file IO): in async code, drive it from
//! `tokio::task::spawn_blocking`, as [`read_table`] does.

use std::fs::File;
use std::path::{Path, PathBuf};

use cambium_ml::table::{Column, ColumnType, Field, Table};
use futures_util::StreamExt;
use object_store::ObjectStoreExt;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use tempfile::NamedTempFile;
use tokio::io::AsyncWriteExt;

use crate::csv::CsvReader;
use crate::error::{Error, Result};
use crate::format::Format;
use crate::jsonl::JsonlReader;
use crate::stores::{resolve_uri, store_error};

/// Rows per batch unless told otherwise.
pub const DEFAULT_BATCH_ROWS: usize = 8192;

#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Rows per batch (the last one may be shorter).
    pub batch_rows: usize,
    /// Where objects from remote stores are downloaded to; the system temp folder if unset.
    pub scratch_dir: Option<PathBuf>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            batch_rows: DEFAULT_BATCH_ROWS,
            scratch_dir: None,
        }
    }
}

enum Decoder {
    Parquet(ParquetRecordBatchReader),
    Csv(CsvReader),
    Jsonl(JsonlReader),
}

/// Batches of an object's rows; see the module docs.
pub struct TableReader {
    decoder: Decoder,
    columns: Vec<(String, ColumnType)>,
    uri: String,
    /// A downloaded copy, removed on drop.
    _download: Option<NamedTempFile>,
}

impl TableReader {
    /// Reads a local file. `display` names it in errors (its URI).
    pub fn from_path(
        path: &Path,
        format: Format,
        batch_rows: usize,
        display: &str,
    ) -> Result<TableReader> {
        let batch_rows = batch_rows.max(1);
        let (decoder, columns) = match format {
            Format::Parquet => {
                let perr = |e: &dyn std::fmt::Display| Error::Parquet {
                    file: display.to_string(),
                    message: e.to_string(),
                };
                let file = File::open(path).map_err(|source| Error::Io {
                    action: "read",
                    path: path.to_path_buf(),
                    source,
                })?;
                let builder =
                    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| perr(&e))?;
                let empty = arrow_array::RecordBatch::new_empty(builder.schema().clone());
                let columns = crate::arrow::from_batch(&empty)?
                    .fields()
                    .iter()
                    .map(|f| (f.name.clone(), f.data.column_type()))
                    .collect();
                let reader = builder
                    .with_batch_size(batch_rows)
                    .build()
                    .map_err(|e| perr(&e))?;
                (Decoder::Parquet(reader), columns)
            }
            Format::Csv => {
                let r = CsvReader::open(path, display.to_string(), batch_rows)?;
                let columns = r.columns();
                (Decoder::Csv(r), columns)
            }
            Format::Jsonl => {
                let r = JsonlReader::open(path, display.to_string(), batch_rows)?;
                let columns = r.columns();
                (Decoder::Jsonl(r), columns)
            }
        };
        Ok(TableReader {
            decoder,
            columns,
            uri: display.to_string(),
            _download: None,
        })
    }

    /// The columns and their types, known before the first batch.
    pub fn columns(&self) -> &[(String, ColumnType)] {
        &self.columns
    }

    /// A table with the columns and no rows.
    pub fn empty_table(&self) -> Table {
        let fields = self
            .columns
            .iter()
            .map(|(name, ty)| Field {
                name: name.clone(),
                data: Column::empty(*ty),
            })
            .collect();
        Table::new(fields).unwrap_or_default()
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Reads every remaining batch into one table.
    pub fn read_all(self) -> Result<Table> {
        let mut table = self.empty_table();
        for batch in self {
            table.append(batch?)?;
        }
        Ok(table)
    }
}

impl Iterator for TableReader {
    type Item = Result<Table>;

    fn next(&mut self) -> Option<Result<Table>> {
        match &mut self.decoder {
            Decoder::Parquet(r) => r.next().map(|batch| match batch {
                Ok(batch) => crate::arrow::from_batch(&batch),
                Err(e) => Err(Error::Parquet {
                    file: self.uri.clone(),
                    message: e.to_string(),
                }),
            }),
            Decoder::Csv(r) => r.next(),
            Decoder::Jsonl(r) => r.next(),
        }
    }
}

/// Opens `uri` for reading in batches of [`DEFAULT_BATCH_ROWS`] rows.
pub async fn read_batches(uri: &str, format: Format) -> Result<TableReader> {
    read_batches_with(uri, format, &ReadOptions::default()).await
}

/// Opens `uri` for reading in batches.
pub async fn read_batches_with(
    uri: &str,
    format: Format,
    options: &ReadOptions,
) -> Result<TableReader> {
    let (local, download) = match local_file(uri)? {
        Some(path) => (path, None),
        None => {
            let tmp = download(uri, options.scratch_dir.as_deref()).await?;
            (tmp.path().to_path_buf(), Some(tmp))
        }
    };
    let display = uri.to_string();
    let batch_rows = options.batch_rows;
    let mut reader = tokio::task::spawn_blocking(move || {
        TableReader::from_path(&local, format, batch_rows, &display)
    })
    .await
    .map_err(|e| Error::Join(e.to_string()))??;
    reader._download = download;
    Ok(reader)
}

/// Reads the whole object at `uri` into one table.
pub async fn read_table(uri: &str, format: Format) -> Result<Table> {
    let reader = read_batches(uri, format).await?;
    tokio::task::spawn_blocking(move || reader.read_all())
        .await
        .map_err(|e| Error::Join(e.to_string()))?
}

/// The local path of a `file://` URI (or bare absolute path), checked to exist.
fn local_file(uri: &str) -> Result<Option<PathBuf>> {
    let path = if uri.starts_with('/') {
        PathBuf::from(uri)
    } else if uri
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("file://"))
    {
        url::Url::parse(uri)
            .ok()
            .and_then(|u| u.to_file_path().ok())
            .ok_or_else(|| Error::InvalidStoreUrl {
                url: uri.to_string(),
                reason: "not an absolute local path (file:///abs/path)".to_string(),
            })?
    } else {
        return Ok(None);
    };
    if !path.is_file() {
        return Err(Error::NotFound {
            uri: uri.to_string(),
        });
    }
    Ok(Some(path))
}

/// Streams an object into a scratch file.
async fn download(uri: &str, scratch: Option<&Path>) -> Result<NamedTempFile> {
    let (store, path) = resolve_uri(uri)?;
    let dir = scratch
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir);
    let io = |action, source| Error::Io {
        action,
        path: dir.clone(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(|e| io("create the scratch folder", e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".cambium-read-")
        .tempfile_in(&dir)
        .map_err(|e| io("create a scratch file in", e))?;
    let mut out = tokio::fs::File::from_std(
        tmp.as_file()
            .try_clone()
            .map_err(|e| io("open a scratch file in", e))?,
    );
    let mut stream = store
        .get(&path)
        .await
        .map_err(|e| store_error("reading", uri, e))?
        .into_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| store_error("reading", uri, e))?;
        out.write_all(&chunk)
            .await
            .map_err(|e| io("write a scratch file in", e))?;
    }
    out.flush()
        .await
        .map_err(|e| io("write a scratch file in", e))?;
    Ok(tmp)
}
