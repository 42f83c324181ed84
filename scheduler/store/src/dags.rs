//! DAG records, file hashes and import errors.

use crate::codec::{flag, json, json_text, micros, placeholders, text, time, u32_col};
use crate::error::Result;
use crate::records::DagRecord;
use crate::store::Store;
use cambium_dag::{DagSpec, ImportError};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use std::collections::HashMap;

pub(crate) const DAG_COLS: &str = "spec, file_hash, paused, active, updated_at";

pub(crate) fn dag_from_row(row: &AnyRow) -> Result<DagRecord> {
    Ok(DagRecord {
        spec: json::<DagSpec>(row, "spec")?,
        file_hash: text(row, "file_hash")?,
        paused: flag(row, "paused")?,
        active: flag(row, "active")?,
        updated_at: time(row, "updated_at")?,
    })
}

/// One file's import, inside the caller's transaction.
async fn sync_file(
    conn: &mut AnyConnection,
    file: &str,
    hash: &str,
    dags: &[DagSpec],
    errors: &[ImportError],
    paused_on_create: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    let now = micros(now);
    for dag in dags {
        sqlx::query(
            "INSERT INTO dags (dag_id, file, spec, file_hash, paused, active, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 1, $6) \
             ON CONFLICT (dag_id) DO UPDATE SET file = excluded.file, spec = excluded.spec, \
             file_hash = excluded.file_hash, active = 1, updated_at = excluded.updated_at",
        )
        .bind(&dag.dag_id)
        .bind(file)
        .bind(json_text(dag)?)
        .bind(hash)
        .bind(i64::from(paused_on_create))
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }

    // DAGs this file declared before but no longer does.
    let sql = if dags.is_empty() {
        "UPDATE dags SET active = 0, updated_at = $2 WHERE file = $1 AND active = 1".to_string()
    } else {
        format!(
            "UPDATE dags SET active = 0, updated_at = $2 WHERE file = $1 AND active = 1 \
             AND dag_id NOT IN ({})",
            placeholders(3, dags.len())
        )
    };
    let mut query = sqlx::query(&sql).bind(file).bind(now);
    for dag in dags {
        query = query.bind(&dag.dag_id);
    }
    query.execute(&mut *conn).await?;

    sqlx::query("DELETE FROM import_errors WHERE dag_file = $1")
        .bind(file)
        .execute(&mut *conn)
        .await?;
    for error in errors {
        sqlx::query(
            "INSERT INTO import_errors (dag_file, file, line, col, message) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(file)
        .bind(&error.file)
        .bind(i64::from(error.line))
        .bind(i64::from(error.column))
        .bind(&error.message)
        .execute(&mut *conn)
        .await?;
    }

    sqlx::query(
        "INSERT INTO dag_files (file, hash, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (file) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at",
    )
    .bind(file)
    .bind(hash)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// Records one file's import in one transaction: upserts its DAGs (active, spec, hash;
    /// the pause flag of an existing DAG is kept, a new DAG starts unpaused unless
    /// `paused_on_create`), marks DAGs this file declared before but no longer does as
    /// inactive, replaces the file's import errors, and stores the file's hash.
    pub async fn sync_dag_file(
        &self,
        file: &str,
        hash: &str,
        dags: &[DagSpec],
        errors: &[ImportError],
        paused_on_create: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sync_file(&mut tx, file, hash, dags, errors, paused_on_create, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Many files in one transaction (same meaning as `sync_dag_file` for each).
    pub async fn sync_dag_files(
        &self,
        files: &[(String, String, Vec<DagSpec>, Vec<ImportError>)],
        paused_on_create: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if files.is_empty() {
            return Ok(());
        }
        let mut tx = self.write_tx().await?;
        for (file, hash, dags, errors) in files {
            sync_file(&mut tx, file, hash, dags, errors, paused_on_create, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A file was deleted: its DAGs become inactive, its import errors and hash go.
    pub async fn remove_dag_file(&self, file: &str, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE dags SET active = 0, updated_at = $2 WHERE file = $1 AND active = 1")
            .bind(file)
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM import_errors WHERE dag_file = $1")
            .bind(file)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM dag_files WHERE file = $1")
            .bind(file)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The content hash recorded for every imported file.
    pub async fn dag_file_hashes(&self) -> Result<HashMap<String, String>> {
        let rows = sqlx::query("SELECT file, hash FROM dag_files")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((text(row, "file")?, text(row, "hash")?)))
            .collect()
    }

    /// Active DAGs, ordered by dag_id.
    pub async fn list_dags(&self) -> Result<Vec<DagRecord>> {
        let sql = format!("SELECT {DAG_COLS} FROM dags WHERE active = 1 ORDER BY dag_id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(dag_from_row).collect()
    }

    /// One DAG, active or not.
    pub async fn get_dag(&self, dag_id: &str) -> Result<Option<DagRecord>> {
        let sql = format!("SELECT {DAG_COLS} FROM dags WHERE dag_id = $1");
        let row = sqlx::query(&sql)
            .bind(dag_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(dag_from_row).transpose()
    }

    /// Sets the pause flag; returns false when the DAG is unknown.
    pub async fn set_paused(&self, dag_id: &str, paused: bool) -> Result<bool> {
        let done = sqlx::query("UPDATE dags SET paused = $2 WHERE dag_id = $1")
            .bind(dag_id)
            .bind(i64::from(paused))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// All import errors, ordered by file, line, column.
    pub async fn list_import_errors(&self) -> Result<Vec<ImportError>> {
        let rows = sqlx::query(
            "SELECT file, line, col, message FROM import_errors ORDER BY file, line, col, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ImportError {
                    file: text(row, "file")?,
                    line: u32_col(row, "line")?,
                    column: u32_col(row, "col")?,
                    message: text(row, "message")?,
                })
            })
            .collect()
    }
}
