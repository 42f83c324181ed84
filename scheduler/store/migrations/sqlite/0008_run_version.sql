-- Every change to a run's state, and every change made to its task instances from outside
-- the scheduler (clear, mark), bumps the run's version. A scheduler writes a run's state, and
-- the task-instance changes it planned from its view of the run, only while the version is
-- still the one it read: a clear racing a run's end can no longer be overwritten.
ALTER TABLE dag_runs ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
