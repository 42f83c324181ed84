-- Cambium metadata schema, SQLite flavour.
-- Times are microseconds since the Unix epoch (INTEGER); JSON is TEXT; enums are their
-- lowercase names; booleans are 0/1. Keep in step with ../postgres/0001_init.sql.

-- DAGs as last imported. `spec` is the serialized DagSpec.
CREATE TABLE dags (
    dag_id     TEXT    NOT NULL PRIMARY KEY,
    file       TEXT    NOT NULL,
    spec       TEXT    NOT NULL,
    file_hash  TEXT    NOT NULL,
    paused     INTEGER NOT NULL DEFAULT 0,
    active     INTEGER NOT NULL DEFAULT 1,
    updated_at INTEGER NOT NULL
);
CREATE INDEX dags_by_file ON dags (file);

-- The content hash of every imported DAG file.
CREATE TABLE dag_files (
    file       TEXT    NOT NULL PRIMARY KEY,
    hash       TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Import errors. `dag_file` is the file whose import reported them (the key they are
-- replaced by); `file` is where the error points.
CREATE TABLE import_errors (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    dag_file TEXT    NOT NULL,
    file     TEXT    NOT NULL,
    line     INTEGER NOT NULL,
    col      INTEGER NOT NULL,
    message  TEXT    NOT NULL
);
CREATE INDEX import_errors_by_file ON import_errors (dag_file);

-- Backfill requests.
CREATE TABLE backfills (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    dag_id          TEXT    NOT NULL,
    start_at        INTEGER NOT NULL,
    end_at          INTEGER NOT NULL,
    rerun           TEXT    NOT NULL,
    max_active_runs INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);

-- DAG runs. AUTOINCREMENT: ids are never reused, so "runs created after id N" is sound.
CREATE TABLE dag_runs (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    dag_id              TEXT    NOT NULL,
    run_id              TEXT    NOT NULL,
    run_type            TEXT    NOT NULL,
    state               TEXT    NOT NULL,
    logical_date        INTEGER NOT NULL,
    data_interval_start INTEGER NOT NULL,
    data_interval_end   INTEGER NOT NULL,
    run_after           INTEGER NOT NULL,
    conf                TEXT    NOT NULL,
    backfill_id         INTEGER,
    created_at          INTEGER NOT NULL,
    start_at            INTEGER,
    end_at              INTEGER,
    UNIQUE (dag_id, run_id)
);
CREATE INDEX dag_runs_by_state ON dag_runs (state);
CREATE INDEX dag_runs_by_logical_date ON dag_runs (dag_id, logical_date);
CREATE INDEX dag_runs_by_backfill ON dag_runs (backfill_id);

-- One row per task of a run, holding its current (or last) try.
-- The unique (run_pk, task_id) index also serves "the task instances of a run".
CREATE TABLE task_instances (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    run_pk        INTEGER NOT NULL REFERENCES dag_runs (id) ON DELETE CASCADE,
    dag_id        TEXT    NOT NULL,
    run_id        TEXT    NOT NULL,
    task_id       TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    try_number    INTEGER NOT NULL DEFAULT 0,
    max_tries     INTEGER NOT NULL,
    pool          TEXT    NOT NULL,
    priority      INTEGER NOT NULL,
    queued_at     INTEGER,
    start_at      INTEGER,
    end_at        INTEGER,
    duration_ms   INTEGER,
    next_retry_at INTEGER,
    output        TEXT,
    metrics       TEXT    NOT NULL DEFAULT '{}',
    claimed_by    TEXT,
    hostname      TEXT,
    pid           INTEGER,
    exit_code     INTEGER,
    error         TEXT,
    UNIQUE (run_pk, task_id)
);
CREATE INDEX task_instances_by_state ON task_instances (state);
CREATE INDEX task_instances_by_task ON task_instances (dag_id, task_id);

-- The history of every try.
CREATE TABLE task_tries (
    ti_id      INTEGER NOT NULL REFERENCES task_instances (id) ON DELETE CASCADE,
    try_number INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    start_at   INTEGER,
    end_at     INTEGER,
    exit_code  INTEGER,
    hostname   TEXT,
    error      TEXT,
    PRIMARY KEY (ti_id, try_number)
);

-- Pools from configuration: name -> slots.
CREATE TABLE pools (
    name  TEXT    NOT NULL PRIMARY KEY,
    slots INTEGER NOT NULL
);

-- Scheduler processes and their heartbeats.
CREATE TABLE schedulers (
    id           TEXT    NOT NULL PRIMARY KEY,
    hostname     TEXT    NOT NULL,
    pid          INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);
