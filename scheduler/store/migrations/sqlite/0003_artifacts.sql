-- ML lineage and the model registry, SQLite flavour. Keep in step with
-- ../postgres/0003_artifacts.sql. Times are microseconds since the Unix epoch; JSON is TEXT.
--
-- dag_id/run_id/task_id are copied, not foreign keys: `tasks test` runs tasks whose run is
-- never stored, and lineage outlives the runs it came from.

-- One row per recorded operator execution (one task try that read and wrote artifacts).
-- `cached_from` is the earlier execution whose outputs a cached execution reused.
CREATE TABLE executions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    dag_id           TEXT    NOT NULL,
    run_id           TEXT    NOT NULL,
    task_id          TEXT    NOT NULL,
    try_number       INTEGER NOT NULL,
    operator         TEXT    NOT NULL,
    operator_version TEXT    NOT NULL,
    options          TEXT    NOT NULL,
    cache_key        TEXT    NOT NULL,
    cached_from      INTEGER REFERENCES executions (id),
    started_at       INTEGER NOT NULL,
    ended_at         INTEGER NOT NULL
);
CREATE INDEX executions_by_run ON executions (dag_id, run_id, id);
CREATE INDEX executions_by_cache_key ON executions (operator, operator_version, cache_key, id);

-- Artifacts, each written by one execution (whose task try is copied here).
CREATE TABLE artifacts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id INTEGER NOT NULL REFERENCES executions (id),
    kind         TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    uri          TEXT    NOT NULL,
    fingerprint  TEXT    NOT NULL,
    properties   TEXT    NOT NULL,
    dag_id       TEXT    NOT NULL,
    run_id       TEXT    NOT NULL,
    task_id      TEXT    NOT NULL,
    try_number   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX artifacts_by_execution ON artifacts (execution_id, id);
CREATE INDEX artifacts_by_run ON artifacts (dag_id, run_id, id);
-- "The previous span": the newest artifact of a kind and name from the same task.
CREATE INDEX artifacts_by_task ON artifacts (dag_id, task_id, kind, name, id);

-- What each execution read, in the order it was given, with the role it read it as.
CREATE TABLE execution_inputs (
    execution_id INTEGER NOT NULL REFERENCES executions (id),
    ordinal      INTEGER NOT NULL,
    role         TEXT    NOT NULL,
    artifact_id  INTEGER NOT NULL REFERENCES artifacts (id),
    PRIMARY KEY (execution_id, ordinal)
);
CREATE INDEX execution_inputs_by_artifact ON execution_inputs (artifact_id, execution_id);

-- Registered models. `latest_version` is the counter versions are numbered from; updating
-- this row is also the lock that serializes registrations and alias moves of one model.
CREATE TABLE models (
    name           TEXT    NOT NULL PRIMARY KEY,
    latest_version INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

-- Versions of a model, numbered from 1, with their metrics, lineage and fitted transform.
CREATE TABLE model_versions (
    name               TEXT    NOT NULL REFERENCES models (name),
    version            INTEGER NOT NULL,
    model_artifact_id  INTEGER NOT NULL REFERENCES artifacts (id),
    pushed_artifact_id INTEGER REFERENCES artifacts (id),
    artifact_uri       TEXT    NOT NULL,
    transform_uri      TEXT,
    metrics            TEXT    NOT NULL,
    params             TEXT    NOT NULL,
    dag_id             TEXT    NOT NULL,
    run_id             TEXT    NOT NULL,
    task_id            TEXT    NOT NULL,
    created_at         INTEGER NOT NULL,
    PRIMARY KEY (name, version)
);

-- Where each alias (`production`, ...) of a model points now.
CREATE TABLE model_aliases (
    name    TEXT    NOT NULL,
    alias   TEXT    NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (name, alias),
    FOREIGN KEY (name, version) REFERENCES model_versions (name, version)
);

-- Every move of an alias. `action` is `set` (registration, promotion) or `rollback`;
-- replaying them is how a rollback finds the version before the current one.
CREATE TABLE alias_changes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    alias      TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    previous   INTEGER,
    action     TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    changed_at INTEGER NOT NULL
);
CREATE INDEX alias_changes_by_alias ON alias_changes (name, alias, id);
