//! The model registry: numbered versions of named models, aliases (`production`, ...) that
//! point at one version each, and the history of every alias move.
//!
//! Every write first updates the model's row in `models`, which serializes registrations and
//! alias moves of one model across processes on both backends (SQLite takes its write lock
//! at `BEGIN`; Postgres locks the row). That is what makes "version = latest + 1" and "roll
//! back to the version before" safe with several schedulers.
//!
//! A rollback undoes the last change that is not itself undone: replaying an alias's
//! history, every `set` pushes its version onto a stack and every `rollback` pops one, so
//! rolling back twice walks back two versions instead of bouncing between the last two.

use crate::codec::{int, json_map, json_text, micros, opt_int, opt_text, text, time};
use crate::error::{on_missing_reference, Error, Result};
use crate::ml_records::{AliasChange, ModelSummary, ModelVersion, NewModelVersion};
use crate::store::Store;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use std::collections::{BTreeMap, HashMap};

/// The columns `version_from_row` reads, from `model_versions v`.
const MV_COLS: &str = "v.name AS name, v.version AS version, \
     v.model_artifact_id AS model_artifact_id, v.pushed_artifact_id AS pushed_artifact_id, \
     v.artifact_uri AS artifact_uri, v.transform_uri AS transform_uri, v.metrics AS metrics, \
     v.params AS params, v.dag_id AS dag_id, v.run_id AS run_id, v.task_id AS task_id, \
     v.created_at AS created_at";

/// An alias move that points it at a version (registration, promotion).
const SET: &str = "set";
/// An alias move that undoes the last `set` not yet undone.
const ROLLBACK: &str = "rollback";

/// Takes the next version number of a model, creating the model at version 1.
const NEXT_VERSION: &str = "INSERT INTO models (name, latest_version, created_at, updated_at) \
     VALUES ($1, 1, $2, $3) ON CONFLICT (name) DO UPDATE \
     SET latest_version = models.latest_version + 1, updated_at = excluded.updated_at \
     RETURNING latest_version";

const VERSION_INSERT: &str = "INSERT INTO model_versions (name, version, model_artifact_id, \
     pushed_artifact_id, artifact_uri, transform_uri, metrics, params, dag_id, run_id, task_id, \
     created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

const ALIAS_UPSERT: &str = "INSERT INTO model_aliases (name, alias, version) VALUES ($1, $2, $3) \
     ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version";

const CHANGE_INSERT: &str = "INSERT INTO alias_changes (name, alias, version, previous, action, \
     reason, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

fn version_from_row(row: &AnyRow) -> Result<ModelVersion> {
    Ok(ModelVersion {
        name: text(row, "name")?,
        version: int(row, "version")?,
        aliases: Vec::new(),
        metrics: json_map(row, "metrics")?,
        params: json_map(row, "params")?,
        dag_id: text(row, "dag_id")?,
        run_id: text(row, "run_id")?,
        task_id: text(row, "task_id")?,
        created: time(row, "created_at")?,
        artifact_uri: text(row, "artifact_uri")?,
        transform_uri: opt_text(row, "transform_uri")?,
        model_artifact_id: int(row, "model_artifact_id")?,
        pushed_artifact_id: opt_int(row, "pushed_artifact_id")?,
    })
}

/// Now, at the store's microsecond precision.
fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(micros(now)).unwrap_or(now)
}

/// The versions an alias can be rolled back through, oldest first, its current version last,
/// from its changes `(version, action)` oldest first. A `set` pushes its version (unless it
/// is already on top); a `rollback` pops one, and its version is then on top.
fn rollback_stack(changes: &[(i64, String)]) -> Vec<i64> {
    let mut stack: Vec<i64> = Vec::new();
    for (version, action) in changes {
        if action == ROLLBACK {
            stack.pop();
        }
        if stack.last() != Some(version) {
            stack.push(*version);
        }
    }
    stack
}

/// Locks a model's row for the rest of the transaction and marks it updated.
async fn lock_model(conn: &mut AnyConnection, name: &str, at: DateTime<Utc>) -> Result<()> {
    let done = sqlx::query("UPDATE models SET updated_at = $2 WHERE name = $1")
        .bind(name)
        .bind(micros(at))
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::UnknownModel(name.to_string()));
    }
    Ok(())
}

async fn current_version(conn: &mut AnyConnection, name: &str, alias: &str) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT version FROM model_aliases WHERE name = $1 AND alias = $2")
        .bind(name)
        .bind(alias)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| int(&r, "version")).transpose()
}

/// Points an alias at `version` and records the change.
async fn move_alias(
    conn: &mut AnyConnection,
    name: &str,
    alias: &str,
    version: i64,
    action: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<AliasChange> {
    let previous = current_version(conn, name, alias).await?;
    sqlx::query(ALIAS_UPSERT)
        .bind(name)
        .bind(alias)
        .bind(version)
        .execute(&mut *conn)
        .await?;
    sqlx::query(CHANGE_INSERT)
        .bind(name)
        .bind(alias)
        .bind(version)
        .bind(previous)
        .bind(action)
        .bind(reason)
        .bind(micros(at))
        .execute(&mut *conn)
        .await?;
    Ok(AliasChange {
        name: name.to_string(),
        alias: alias.to_string(),
        version,
        previous,
        at,
        reason: reason.to_string(),
    })
}

async fn require_artifact(conn: &mut AnyConnection, id: i64) -> Result<()> {
    let row = sqlx::query("SELECT id FROM artifacts WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|_| ()).ok_or(Error::UnknownArtifact(id))
}

impl Store {
    /// Registers the next version of a model (1 for a new model) and points each of
    /// `move_aliases` at it, in one transaction; concurrent registrations of one model get
    /// distinct versions. Times are the store's clock.
    ///
    /// `Error::UnknownArtifact` when the model or pushed artifact is not in the store.
    pub async fn register_model_version(
        &self,
        new: &NewModelVersion,
        move_aliases: &[&str],
        reason: &str,
    ) -> Result<ModelVersion> {
        let at = now();
        let mut tx = self.write_tx().await?;
        require_artifact(&mut tx, new.model_artifact_id).await?;
        if let Some(pushed) = new.pushed_artifact_id {
            require_artifact(&mut tx, pushed).await?;
        }
        let row = sqlx::query(NEXT_VERSION)
            .bind(new.name.as_str())
            .bind(micros(at))
            .bind(micros(at))
            .fetch_one(&mut *tx)
            .await?;
        let version = int(&row, "latest_version")?;
        sqlx::query(VERSION_INSERT)
            .bind(new.name.as_str())
            .bind(version)
            .bind(new.model_artifact_id)
            .bind(new.pushed_artifact_id)
            .bind(new.artifact_uri.as_str())
            .bind(new.transform_uri.as_deref())
            .bind(json_text(&new.metrics)?)
            .bind(json_text(&new.params)?)
            .bind(new.dag_id.as_str())
            .bind(new.run_id.as_str())
            .bind(new.task_id.as_str())
            .bind(micros(at))
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                on_missing_reference(e, || Error::UnknownArtifact(new.model_artifact_id))
            })?;
        let mut aliases: Vec<String> = move_aliases.iter().map(|a| a.to_string()).collect();
        aliases.sort();
        aliases.dedup();
        for alias in &aliases {
            move_alias(&mut tx, &new.name, alias, version, SET, reason, at).await?;
        }
        tx.commit().await?;
        Ok(ModelVersion {
            name: new.name.clone(),
            version,
            aliases,
            metrics: new.metrics.clone(),
            params: new.params.clone(),
            dag_id: new.dag_id.clone(),
            run_id: new.run_id.clone(),
            task_id: new.task_id.clone(),
            created: at,
            artifact_uri: new.artifact_uri.clone(),
            transform_uri: new.transform_uri.clone(),
            model_artifact_id: new.model_artifact_id,
            pushed_artifact_id: new.pushed_artifact_id,
        })
    }

    /// Points an alias at a version (a promotion; the alias is created if new).
    /// `Error::UnknownModel` / `Error::UnknownVersion` when either is not registered.
    pub async fn set_alias(
        &self,
        name: &str,
        alias: &str,
        version: i64,
        reason: &str,
    ) -> Result<AliasChange> {
        let at = now();
        let mut tx = self.write_tx().await?;
        lock_model(&mut tx, name, at).await?;
        let known =
            sqlx::query("SELECT version FROM model_versions WHERE name = $1 AND version = $2")
                .bind(name)
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?;
        if known.is_none() {
            return Err(Error::UnknownVersion {
                name: name.to_string(),
                version,
            });
        }
        let change = move_alias(&mut tx, name, alias, version, SET, reason, at).await?;
        tx.commit().await?;
        Ok(change)
    }

    /// Moves an alias back to the version it pointed at before the current one, walking
    /// back through its history (rolling back twice goes back two versions).
    /// `Error::NoRollback` when there is no earlier version; `Error::UnknownModel` /
    /// `Error::UnknownAlias` when the model or alias does not exist.
    pub async fn rollback_alias(
        &self,
        name: &str,
        alias: &str,
        reason: &str,
    ) -> Result<AliasChange> {
        let at = now();
        let mut tx = self.write_tx().await?;
        lock_model(&mut tx, name, at).await?;
        if current_version(&mut tx, name, alias).await?.is_none() {
            return Err(Error::UnknownAlias {
                name: name.to_string(),
                alias: alias.to_string(),
            });
        }
        let rows = sqlx::query(
            "SELECT version, action FROM alias_changes WHERE name = $1 AND alias = $2 ORDER BY id",
        )
        .bind(name)
        .bind(alias)
        .fetch_all(&mut *tx)
        .await?;
        let changes = rows
            .iter()
            .map(|r| Ok((int(r, "version")?, text(r, "action")?)))
            .collect::<Result<Vec<_>>>()?;
        let stack = rollback_stack(&changes);
        let Some(target) = stack.iter().rev().nth(1).copied() else {
            return Err(Error::NoRollback {
                name: name.to_string(),
                alias: alias.to_string(),
            });
        };
        let change = move_alias(&mut tx, name, alias, target, ROLLBACK, reason, at).await?;
        tx.commit().await?;
        Ok(change)
    }

    /// Every registered model, by name.
    pub async fn models(&self) -> Result<Vec<ModelSummary>> {
        let rows = sqlx::query(
            "SELECT m.name AS name, m.latest_version AS latest_version, \
             m.updated_at AS updated_at, \
             (SELECT COUNT(*) FROM model_versions v WHERE v.name = m.name) AS versions \
             FROM models m ORDER BY m.name",
        )
        .fetch_all(&self.pool)
        .await?;
        let alias_rows = sqlx::query("SELECT name, alias, version FROM model_aliases")
            .fetch_all(&self.pool)
            .await?;
        let mut aliases: HashMap<String, BTreeMap<String, i64>> = HashMap::new();
        for row in &alias_rows {
            aliases
                .entry(text(row, "name")?)
                .or_default()
                .insert(text(row, "alias")?, int(row, "version")?);
        }
        rows.iter()
            .map(|row| {
                let name = text(row, "name")?;
                Ok(ModelSummary {
                    latest_version: int(row, "latest_version")?,
                    versions: int(row, "versions")?,
                    aliases: aliases.remove(&name).unwrap_or_default(),
                    updated: time(row, "updated_at")?,
                    name,
                })
            })
            .collect()
    }

    /// The aliases of a model, version -> sorted alias names.
    async fn aliases_by_version(&self, name: &str) -> Result<HashMap<i64, Vec<String>>> {
        let rows =
            sqlx::query("SELECT alias, version FROM model_aliases WHERE name = $1 ORDER BY alias")
                .bind(name)
                .fetch_all(&self.pool)
                .await?;
        let mut out: HashMap<i64, Vec<String>> = HashMap::new();
        for row in &rows {
            out.entry(int(row, "version")?)
                .or_default()
                .push(text(row, "alias")?);
        }
        Ok(out)
    }

    async fn with_aliases(&self, versions: Vec<ModelVersion>) -> Result<Vec<ModelVersion>> {
        let Some(name) = versions.first().map(|v| v.name.clone()) else {
            return Ok(versions);
        };
        let mut aliases = self.aliases_by_version(&name).await?;
        Ok(versions
            .into_iter()
            .map(|v| ModelVersion {
                aliases: aliases.remove(&v.version).unwrap_or_default(),
                ..v
            })
            .collect())
    }

    /// The versions of a model, newest first, with their aliases (empty for an unknown
    /// model).
    pub async fn model_versions(&self, name: &str) -> Result<Vec<ModelVersion>> {
        let sql = format!(
            "SELECT {MV_COLS} FROM model_versions v WHERE v.name = $1 ORDER BY v.version DESC"
        );
        let rows = sqlx::query(&sql).bind(name).fetch_all(&self.pool).await?;
        let versions = rows
            .iter()
            .map(version_from_row)
            .collect::<Result<Vec<_>>>()?;
        self.with_aliases(versions).await
    }

    /// One version of a model, with its aliases.
    pub async fn model_version(&self, name: &str, version: i64) -> Result<Option<ModelVersion>> {
        let sql =
            format!("SELECT {MV_COLS} FROM model_versions v WHERE v.name = $1 AND v.version = $2");
        let row = sqlx::query(&sql)
            .bind(name)
            .bind(version)
            .fetch_optional(&self.pool)
            .await?;
        let versions = row
            .iter()
            .map(version_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(self.with_aliases(versions).await?.into_iter().next())
    }

    /// The version an alias points at, with its aliases.
    pub async fn alias_version(&self, name: &str, alias: &str) -> Result<Option<ModelVersion>> {
        let sql = format!(
            "SELECT {MV_COLS} FROM model_aliases al JOIN model_versions v \
             ON v.name = al.name AND v.version = al.version \
             WHERE al.name = $1 AND al.alias = $2"
        );
        let row = sqlx::query(&sql)
            .bind(name)
            .bind(alias)
            .fetch_optional(&self.pool)
            .await?;
        let versions = row
            .iter()
            .map(version_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(self.with_aliases(versions).await?.into_iter().next())
    }

    /// Every move of an alias, newest first (empty when it was never set).
    pub async fn alias_history(&self, name: &str, alias: &str) -> Result<Vec<AliasChange>> {
        let rows = sqlx::query(
            "SELECT name, alias, version, previous, reason, changed_at FROM alias_changes \
             WHERE name = $1 AND alias = $2 ORDER BY id DESC",
        )
        .bind(name)
        .bind(alias)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AliasChange {
                    name: text(row, "name")?,
                    alias: text(row, "alias")?,
                    version: int(row, "version")?,
                    previous: opt_int(row, "previous")?,
                    at: time(row, "changed_at")?,
                    reason: text(row, "reason")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(list: &[(i64, &str)]) -> Vec<(i64, String)> {
        list.iter().map(|(v, a)| (*v, a.to_string())).collect()
    }

    #[test]
    fn rollbacks_walk_back_through_sets() {
        let sets = changes(&[(1, SET), (2, SET), (3, SET)]);
        assert_eq!(rollback_stack(&sets), vec![1, 2, 3]);
        let once = changes(&[(1, SET), (2, SET), (3, SET), (2, ROLLBACK)]);
        assert_eq!(rollback_stack(&once), vec![1, 2]);
        let twice = changes(&[(1, SET), (2, SET), (3, SET), (2, ROLLBACK), (1, ROLLBACK)]);
        assert_eq!(rollback_stack(&twice), vec![1]);
    }

    #[test]
    fn setting_the_current_version_again_is_not_a_step() {
        let list = changes(&[(1, SET), (2, SET), (2, SET)]);
        assert_eq!(rollback_stack(&list), vec![1, 2]);
    }

    #[test]
    fn a_promotion_after_a_rollback_is_undone_first() {
        let list = changes(&[(1, SET), (2, SET), (1, ROLLBACK), (3, SET)]);
        assert_eq!(rollback_stack(&list), vec![1, 3]);
    }
}
