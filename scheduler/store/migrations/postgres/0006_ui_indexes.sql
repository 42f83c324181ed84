-- The web UI's DAG list reads every DAG's latest scheduled run and last few runs in one
-- query each; this index lets both walk runs per DAG and type in logical-date order.
CREATE INDEX dag_runs_by_dag_type_date ON dag_runs (dag_id, run_type, logical_date);
