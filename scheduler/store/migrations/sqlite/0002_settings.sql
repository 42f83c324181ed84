-- Deployment-wide settings that every process sharing this database must agree on,
-- such as the DAGs folder.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
