-- Asset events, SQLite flavour. Keep in step with ../postgres/0005_assets.sql.
-- Times are microseconds since the Unix epoch; `extra` is a JSON object as TEXT.
--
-- An event is recorded when a task with `outlets: [asset]` succeeds (its dag/run/task are
-- copied into `source_*`, not foreign keys: events outlive the runs that produced them) or
-- when one is posted through the API or `cambium assets emit` (no source).
-- Which assets exist comes from the DAGs (outlets and `on_asset` triggers), not from here.
CREATE TABLE asset_events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    asset          TEXT    NOT NULL,
    extra          TEXT    NOT NULL DEFAULT '{}',
    source_dag_id  TEXT,
    source_run_id  TEXT,
    source_task_id TEXT,
    created_at     INTEGER NOT NULL
);
-- "The events of an asset, newest first", and (covering) "every asset with its count and
-- last event".
CREATE INDEX asset_events_by_asset ON asset_events (asset, created_at, id);
-- "All events, newest first".
CREATE INDEX asset_events_by_time ON asset_events (created_at, id);
