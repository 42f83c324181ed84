//! ML lineage: operator executions, the artifacts they read and wrote, the lookups that
//! answer "where did this come from" and "who used it", the execution cache, and baselines
//! from earlier runs.

use crate::codec::{
    bind_params, int, json, json_text, micros, opt_int, text, time, u32_col, Param,
};
use crate::error::{on_missing_reference, Error, Result};
use crate::ml_records::{ArtifactRecord, ExecutionRecord, NewArtifact, NewExecution};
use crate::store::Store;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;

/// The columns `execution_from_row` reads, from `executions e`.
const EXEC_COLS: &str = "e.id AS id, e.dag_id AS dag_id, e.run_id AS run_id, \
     e.task_id AS task_id, e.try_number AS try_number, e.operator AS operator, \
     e.operator_version AS operator_version, e.options AS options, e.cache_key AS cache_key, \
     e.cached_from AS cached_from, e.started_at AS started_at, e.ended_at AS ended_at";

/// The columns `artifact_from_row` reads, from `artifacts a`.
const ART_COLS: &str = "a.id AS id, a.kind AS kind, a.name AS name, a.uri AS uri, \
     a.fingerprint AS fingerprint, a.properties AS properties, a.execution_id AS execution_id, \
     a.dag_id AS dag_id, a.run_id AS run_id, a.task_id AS task_id, \
     a.try_number AS try_number, a.created_at AS created_at";

const EXEC_INSERT: &str = "INSERT INTO executions (dag_id, run_id, task_id, try_number, \
     operator, operator_version, options, cache_key, cached_from, started_at, ended_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id";

const ART_INSERT: &str = "INSERT INTO artifacts (execution_id, kind, name, uri, fingerprint, \
     properties, dag_id, run_id, task_id, try_number, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id";

const INPUT_INSERT: &str =
    "INSERT INTO execution_inputs (execution_id, ordinal, role, artifact_id) \
     VALUES ($1, $2, $3, $4)";

fn execution_from_row(row: &AnyRow) -> Result<ExecutionRecord> {
    Ok(ExecutionRecord {
        id: int(row, "id")?,
        dag_id: text(row, "dag_id")?,
        run_id: text(row, "run_id")?,
        task_id: text(row, "task_id")?,
        try_number: u32_col(row, "try_number")?,
        operator: text(row, "operator")?,
        operator_version: text(row, "operator_version")?,
        options: json(row, "options")?,
        cache_key: text(row, "cache_key")?,
        cached_from: opt_int(row, "cached_from")?,
        started: time(row, "started_at")?,
        ended: time(row, "ended_at")?,
    })
}

fn artifact_from_row(row: &AnyRow) -> Result<ArtifactRecord> {
    Ok(ArtifactRecord {
        id: int(row, "id")?,
        kind: text(row, "kind")?,
        name: text(row, "name")?,
        uri: text(row, "uri")?,
        fingerprint: text(row, "fingerprint")?,
        properties: json(row, "properties")?,
        execution_id: int(row, "execution_id")?,
        dag_id: text(row, "dag_id")?,
        run_id: text(row, "run_id")?,
        task_id: text(row, "task_id")?,
        try_number: u32_col(row, "try_number")?,
        created: time(row, "created_at")?,
    })
}

/// An execution as it will read back: times at the store's microsecond precision.
fn execution_record(id: i64, e: &NewExecution) -> Result<ExecutionRecord> {
    Ok(ExecutionRecord {
        id,
        dag_id: e.dag_id.clone(),
        run_id: e.run_id.clone(),
        task_id: e.task_id.clone(),
        try_number: e.try_number,
        operator: e.operator.clone(),
        operator_version: e.operator_version.clone(),
        options: e.options.clone(),
        cache_key: e.cache_key.clone(),
        cached_from: e.cached_from,
        started: stored_time(e.started)?,
        ended: stored_time(e.ended)?,
    })
}

/// A time truncated to what the store keeps.
fn stored_time(t: DateTime<Utc>) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros(t))
        .ok_or_else(|| Error::Corrupt(format!("{t} cannot be stored")))
}

impl Store {
    async fn fetch_executions(&self, sql: &str, params: &[Param]) -> Result<Vec<ExecutionRecord>> {
        let rows = bind_params(sqlx::query(sql), params)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(execution_from_row).collect()
    }

    async fn fetch_artifacts(&self, sql: &str, params: &[Param]) -> Result<Vec<ArtifactRecord>> {
        let rows = bind_params(sqlx::query(sql), params)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(artifact_from_row).collect()
    }

    /// Records an execution with what it read (`(role, artifact id)`, in order) and the
    /// artifacts it wrote, in one transaction: all of it or, on any error, nothing. Output
    /// artifacts take the execution's task try and its end as their creation time.
    ///
    /// `Error::UnknownArtifact` when an input is not in the store;
    /// `Error::UnknownExecution` when `cached_from` is not.
    pub async fn record_execution(
        &self,
        execution: &NewExecution,
        inputs: &[(String, i64)],
        outputs: &[NewArtifact],
    ) -> Result<(ExecutionRecord, Vec<ArtifactRecord>)> {
        let e = execution;
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(EXEC_INSERT)
            .bind(e.dag_id.as_str())
            .bind(e.run_id.as_str())
            .bind(e.task_id.as_str())
            .bind(i64::from(e.try_number))
            .bind(e.operator.as_str())
            .bind(e.operator_version.as_str())
            .bind(json_text(&e.options)?)
            .bind(e.cache_key.as_str())
            .bind(e.cached_from)
            .bind(micros(e.started))
            .bind(micros(e.ended))
            .fetch_one(&mut *tx)
            .await
            .map_err(|err| {
                on_missing_reference(err, || Error::UnknownExecution(e.cached_from.unwrap_or(0)))
            })?;
        let record = execution_record(int(&row, "id")?, e)?;

        let mut written = Vec::with_capacity(outputs.len());
        for out in outputs {
            let row = sqlx::query(ART_INSERT)
                .bind(record.id)
                .bind(out.kind.as_str())
                .bind(out.name.as_str())
                .bind(out.uri.as_str())
                .bind(out.fingerprint.as_str())
                .bind(json_text(&out.properties)?)
                .bind(e.dag_id.as_str())
                .bind(e.run_id.as_str())
                .bind(e.task_id.as_str())
                .bind(i64::from(e.try_number))
                .bind(micros(e.ended))
                .fetch_one(&mut *tx)
                .await?;
            written.push(ArtifactRecord {
                id: int(&row, "id")?,
                kind: out.kind.clone(),
                name: out.name.clone(),
                uri: out.uri.clone(),
                fingerprint: out.fingerprint.clone(),
                properties: out.properties.clone(),
                execution_id: record.id,
                dag_id: e.dag_id.clone(),
                run_id: e.run_id.clone(),
                task_id: e.task_id.clone(),
                try_number: e.try_number,
                created: record.ended,
            });
        }
        for (ordinal, (role, artifact_id)) in inputs.iter().enumerate() {
            sqlx::query(INPUT_INSERT)
                .bind(record.id)
                .bind(i64::try_from(ordinal).unwrap_or(i64::MAX))
                .bind(role.as_str())
                .bind(*artifact_id)
                .execute(&mut *tx)
                .await
                .map_err(|err| {
                    on_missing_reference(err, || Error::UnknownArtifact(*artifact_id))
                })?;
        }
        tx.commit().await?;
        Ok((record, written))
    }

    /// The artifact with this id.
    pub async fn artifact(&self, id: i64) -> Result<Option<ArtifactRecord>> {
        let sql = format!("SELECT {ART_COLS} FROM artifacts a WHERE a.id = $1");
        Ok(self
            .fetch_artifacts(&sql, &[Param::Int(id)])
            .await?
            .into_iter()
            .next())
    }

    /// The execution with this id.
    pub async fn execution(&self, id: i64) -> Result<Option<ExecutionRecord>> {
        let sql = format!("SELECT {EXEC_COLS} FROM executions e WHERE e.id = $1");
        Ok(self
            .fetch_executions(&sql, &[Param::Int(id)])
            .await?
            .into_iter()
            .next())
    }

    /// What an execution read, as `(role, artifact)`, in the order it was recorded.
    pub async fn execution_inputs(
        &self,
        execution_id: i64,
    ) -> Result<Vec<(String, ArtifactRecord)>> {
        let sql = format!(
            "SELECT i.role AS role, {ART_COLS} FROM execution_inputs i \
             JOIN artifacts a ON a.id = i.artifact_id \
             WHERE i.execution_id = $1 ORDER BY i.ordinal"
        );
        let rows = sqlx::query(&sql)
            .bind(execution_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((text(row, "role")?, artifact_from_row(row)?)))
            .collect()
    }

    /// What an execution wrote, in the order it was recorded.
    pub async fn execution_outputs(&self, execution_id: i64) -> Result<Vec<ArtifactRecord>> {
        let sql =
            format!("SELECT {ART_COLS} FROM artifacts a WHERE a.execution_id = $1 ORDER BY a.id");
        self.fetch_artifacts(&sql, &[Param::Int(execution_id)])
            .await
    }

    /// The executions that read an artifact, as `(role, execution)`, oldest first.
    pub async fn executions_consuming(
        &self,
        artifact_id: i64,
    ) -> Result<Vec<(String, ExecutionRecord)>> {
        let sql = format!(
            "SELECT i.role AS role, {EXEC_COLS} FROM execution_inputs i \
             JOIN executions e ON e.id = i.execution_id \
             WHERE i.artifact_id = $1 ORDER BY e.id, i.ordinal"
        );
        let rows = sqlx::query(&sql)
            .bind(artifact_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((text(row, "role")?, execution_from_row(row)?)))
            .collect()
    }

    /// The executions recorded for a run, oldest first.
    pub async fn executions_of_run(
        &self,
        dag_id: &str,
        run_id: &str,
    ) -> Result<Vec<ExecutionRecord>> {
        let sql = format!(
            "SELECT {EXEC_COLS} FROM executions e WHERE e.dag_id = $1 AND e.run_id = $2 ORDER BY e.id"
        );
        self.fetch_executions(
            &sql,
            &[Param::Text(dag_id.into()), Param::Text(run_id.into())],
        )
        .await
    }

    /// The artifacts written in a run, oldest first.
    pub async fn artifacts_of_run(
        &self,
        dag_id: &str,
        run_id: &str,
    ) -> Result<Vec<ArtifactRecord>> {
        let sql = format!(
            "SELECT {ART_COLS} FROM artifacts a WHERE a.dag_id = $1 AND a.run_id = $2 ORDER BY a.id"
        );
        self.fetch_artifacts(
            &sql,
            &[Param::Text(dag_id.into()), Param::Text(run_id.into())],
        )
        .await
    }

    /// The latest execution of this operator version with this cache key, with its
    /// outputs. Callers record only successful executions, so any hit may be reused.
    pub async fn find_cached_execution(
        &self,
        operator: &str,
        operator_version: &str,
        cache_key: &str,
    ) -> Result<Option<(ExecutionRecord, Vec<ArtifactRecord>)>> {
        let sql = format!(
            "SELECT {EXEC_COLS} FROM executions e WHERE e.operator = $1 \
             AND e.operator_version = $2 AND e.cache_key = $3 ORDER BY e.id DESC LIMIT 1"
        );
        let params = [
            Param::Text(operator.into()),
            Param::Text(operator_version.into()),
            Param::Text(cache_key.into()),
        ];
        let Some(execution) = self
            .fetch_executions(&sql, &params)
            .await?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let outputs = self.execution_outputs(execution.id).await?;
        Ok(Some((execution, outputs)))
    }

    /// The newest artifact of this kind and name written by the same task of the same DAG
    /// in a run other than `before_run_id`: the baseline of `baseline: previous_span`.
    pub async fn previous_artifact(
        &self,
        dag_id: &str,
        task_id: &str,
        kind: &str,
        name: &str,
        before_run_id: &str,
    ) -> Result<Option<ArtifactRecord>> {
        let sql = format!(
            "SELECT {ART_COLS} FROM artifacts a WHERE a.dag_id = $1 AND a.task_id = $2 \
             AND a.kind = $3 AND a.name = $4 AND a.run_id <> $5 ORDER BY a.id DESC LIMIT 1"
        );
        let params = [dag_id, task_id, kind, name, before_run_id].map(|v| Param::Text(v.into()));
        Ok(self
            .fetch_artifacts(&sql, &params)
            .await?
            .into_iter()
            .next())
    }
}
