//! The scheduling loop. Event-driven: a try's end is planned and its downstream claimed and
//! started in the same step, with one transaction per step. Idle is idle: between events
//! the loop sleeps until the next due run, retry, poll or heartbeat.
//!
//! The store holds all state; this loop keeps the active runs in memory as a write-through
//! cache and changes task instances only by compare-and-set, so a killed scheduler loses
//! nothing and several schedulers can share one Postgres.

use crate::clock::Clock;
use crate::dagproc::DagUpdate;
use crate::paths::Home;
use crate::plan::plan_run;
use crate::request::build_request;
use crate::runs::{create_due_runs, timetable_of, TEST_RUN_PREFIX};
use cambium_dag::{retry::retry_delay, DagSpec, RunState, RunType, TaskState};
use cambium_executor::{Executor, TryEvent, TryKey, TryOutcome};
use cambium_store::{
    BackfillRecord, Batch, EventSource, RunRecord, SchedulerRecord, Store, TaskInstance, TryRecord,
};
use cambium_timetable::Timetable;
use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tracing::{debug, error, info, warn};

/// What the engine drives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// A scheduler: every DAG's scheduled runs, every manual and backfill run.
    Scheduler,
    /// One run only (`cambium dags test`); the loop ends when the run ends.
    SingleRun { run_pk: i64 },
}

/// The setting where a scheduler records how long its last loop step took (milliseconds),
/// for `/metrics`.
pub const LOOP_MS_SETTING: &str = "metrics.scheduler_loop_ms";

/// Settings of one engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub home: Home,
    pub mode: Mode,
    pub scheduler_id: String,
    pub hostname: String,
    pub default_pool_slots: u32,
    /// How often the heartbeat is written.
    pub heartbeat: Duration,
    /// A scheduler whose heartbeat is older than this is dead; its tries are taken over.
    pub dead_after: Duration,
    /// How often the store is polled for runs created elsewhere (CLI, API).
    pub poll: Duration,
    /// How often active runs are re-read (clears, other schedulers' progress).
    pub resync: Duration,
    /// Strings masked in task logs.
    pub secrets: Vec<String>,
    /// How built-in operators' processes are started.
    pub runtime: crate::request::OperatorRuntime,
}

impl EngineOptions {
    pub fn new(home: Home, mode: Mode) -> Self {
        let hostname = hostname();
        let scheduler_id = format!(
            "{hostname}-{}-{:08x}",
            std::process::id(),
            rand::rng().random::<u32>()
        );
        EngineOptions {
            home,
            mode,
            scheduler_id,
            hostname,
            default_pool_slots: 128,
            heartbeat: Duration::from_secs(5),
            dead_after: Duration::from_secs(30),
            poll: Duration::from_millis(50),
            resync: Duration::from_secs(1),
            secrets: Vec::new(),
            runtime: Default::default(),
        }
    }
}

/// The machine's host name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Errors that stop the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] cambium_store::Error),
    #[error("{0}")]
    Other(String),
}

struct ActiveRun {
    run: RunRecord,
    spec: Arc<DagSpec>,
    tis: Vec<TaskInstance>,
}

/// What the engine keeps for every DAG: only its timetable. Full specs are held only for
/// DAGs with active runs (`specs`), so a thousand idle DAGs cost little memory.
struct DagEntry {
    timetable: Option<Timetable>,
}

/// The scheduling loop and its in-memory view of active runs.
pub struct Engine {
    store: Store,
    executor: Arc<dyn Executor>,
    events: UnboundedReceiver<TryEvent>,
    self_events: UnboundedSender<TryEvent>,
    clock: Arc<dyn Clock>,
    opts: EngineOptions,
    dags: HashMap<String, DagEntry>,
    /// Specs of DAGs that have active runs, by dag_id.
    specs: HashMap<String, Arc<DagSpec>>,
    /// When each DAG's next scheduled run falls due.
    due: BTreeSet<(DateTime<Utc>, String)>,
    due_of: HashMap<String, DateTime<Utc>>,
    runs: HashMap<i64, ActiveRun>,
    inflight: HashMap<TryKey, i64>,
    dirty: HashSet<i64>,
    pools: HashMap<String, u32>,
    backfills: HashMap<i64, BackfillRecord>,
    others_active: cambium_store::ActiveCounts,
    last_run_pk: i64,
    next_poll: DateTime<Utc>,
    next_resync: DateTime<Utc>,
    next_heartbeat: DateTime<Utc>,
    started_at: DateTime<Utc>,
    finished_single: Option<RunRecord>,
    /// How long the last step of the loop took, in milliseconds.
    last_step_ms: Option<f64>,
    /// Task-instance changes of this step: `(expected state, new row)`.
    pending: Vec<(TaskState, TaskInstance)>,
    pending_tries: Vec<TryRecord>,
    pending_runs: Vec<RunRecord>,
    /// Indexes into `pending` planned from a view of their run, with the run's version
    /// then: they apply only while the run is unchanged (no clear or mark meanwhile).
    guards: Vec<(usize, i64)>,
    /// Indexes into `pending` that claim a try; started after the batch commits.
    claims: Vec<usize>,
    /// Indexes into `pending` of tries that succeeded, with their task's `outlets`; the
    /// asset events are emitted after the batch commits.
    outlets: Vec<(usize, Vec<String>)>,
    /// Tries this engine runs that were marked or cleared elsewhere and are being killed.
    killing: HashSet<TryKey>,
}

impl Engine {
    /// Builds an engine. `events_tx`/`events` are the channel the executor reports on.
    pub fn new(
        store: Store,
        executor: Arc<dyn Executor>,
        events_tx: UnboundedSender<TryEvent>,
        events: UnboundedReceiver<TryEvent>,
        clock: Arc<dyn Clock>,
        opts: EngineOptions,
    ) -> Self {
        let now = clock.now();
        Engine {
            store,
            executor,
            events,
            self_events: events_tx,
            clock,
            opts,
            dags: HashMap::new(),
            specs: HashMap::new(),
            due: BTreeSet::new(),
            due_of: HashMap::new(),
            runs: HashMap::new(),
            inflight: HashMap::new(),
            dirty: HashSet::new(),
            pools: HashMap::new(),
            backfills: HashMap::new(),
            others_active: Default::default(),
            last_run_pk: 0,
            next_poll: now,
            next_resync: now,
            next_heartbeat: now,
            started_at: now,
            finished_single: None,
            last_step_ms: None,
            pending: Vec::new(),
            pending_tries: Vec::new(),
            pending_runs: Vec::new(),
            guards: Vec::new(),
            claims: Vec::new(),
            outlets: Vec::new(),
            killing: HashSet::new(),
        }
    }

    /// Runs until `shutdown` resolves (or, in single-run mode, until the run ends, which is
    /// then returned). DAG updates arrive on `dag_updates` (scheduler mode).
    pub async fn run(
        mut self,
        mut dag_updates: Option<UnboundedReceiver<DagUpdate>>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<Option<RunRecord>, EngineError> {
        tokio::pin!(shutdown);
        tokio::select! {
            biased;
            _ = &mut shutdown => return Ok(None),
            started = self.startup() => started?,
        }
        loop {
            if let Some(run) = self.finished_single.take() {
                self.shutdown().await;
                return Ok(Some(run));
            }
            let wake = self.next_wakeup();
            let sleep_for = (wake - self.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(Duration::from_secs(60));
            let mut update = None;
            tokio::select! {
                biased;
                _ = &mut shutdown => {
                    self.shutdown().await;
                    return Ok(None);
                }
                Some(ev) = self.events.recv() => {
                    self.on_event(ev);
                    while let Ok(ev) = self.events.try_recv() {
                        self.on_event(ev);
                    }
                }
                Some(u) = recv_opt(&mut dag_updates) => update = Some(u),
                _ = tokio::time::sleep(sleep_for) => {}
            }
            if let Some(update) = update {
                self.on_dag_update(update);
                while let Some(Ok(update)) = dag_updates.as_mut().map(|rx| rx.try_recv()) {
                    self.on_dag_update(update);
                }
            }
            let started = std::time::Instant::now();
            // A step waits for the store as long as it takes (`flush` retries while the
            // database is unreachable), but never past a shutdown: what it had not
            // written yet is derived again from the store by the next start.
            let stepped = tokio::select! {
                biased;
                _ = &mut shutdown => None,
                stepped = self.step() => Some(stepped),
            };
            let Some(stepped) = stepped else {
                info!("stopping while the store is being written; the next start picks up from the store");
                self.shutdown().await;
                return Ok(None);
            };
            self.last_step_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
            if let Err(e) = stepped {
                // Never give up on the store: a scheduler that exits on a database hiccup
                // strands its runs. Changes not yet written stay pending for the next step.
                if e.is_retryable() {
                    warn!(error = %e, "the metadata database is unavailable; retrying");
                } else {
                    error!(error = %e, "metadata database error; retrying");
                }
                self.pending_reset();
                tokio::select! {
                    biased;
                    _ = &mut shutdown => {
                        self.shutdown().await;
                        return Ok(None);
                    }
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        }
    }

    /// Starts the engine without running its loop: registers it, loads DAGs and active
    /// runs, recovers orphaned tries. With [`Engine::tick`], this lets tests drive the
    /// engine one step at a time with an injected clock instead of sleeping.
    pub async fn start(&mut self) -> Result<(), EngineError> {
        self.startup().await
    }

    /// One step of the loop without waiting: takes the executor events already reported,
    /// then plans, claims, commits and starts tries as the running loop would.
    pub async fn tick(&mut self) -> Result<(), EngineError> {
        while let Ok(ev) = self.events.try_recv() {
            self.on_event(ev);
        }
        self.step().await?;
        Ok(())
    }

    async fn startup(&mut self) -> Result<(), EngineError> {
        let now = self.clock.now();
        self.heartbeat(now).await?;
        self.pools = self.store.pools().await?;
        match self.opts.mode {
            Mode::Scheduler => {
                for record in self.store.list_dags().await? {
                    self.upsert_dag(Arc::new(record.spec), now);
                }
                self.last_run_pk = self.store.max_run_pk().await?;
                self.reload_active().await?;
                self.recover_orphans(now).await?;
            }
            Mode::SingleRun { run_pk } => {
                let run =
                    self.store.get_run_by_pk(run_pk).await?.ok_or_else(|| {
                        EngineError::Other(format!("run {run_pk} does not exist"))
                    })?;
                let dag = self.store.get_dag(&run.dag_id).await?.ok_or_else(|| {
                    EngineError::Other(format!("DAG '{}' is not in the store", run.dag_id))
                })?;
                self.specs.insert(run.dag_id.clone(), Arc::new(dag.spec));
                self.load_runs(vec![run], true).await?;
            }
        }
        Ok(())
    }

    async fn shutdown(&mut self) {
        // Running tries are left to their supervisors; a later scheduler adopts them. An
        // unreachable store does not hold the shutdown up: the record then simply ages
        // until another scheduler finds it dead.
        let deregister = self.store.remove_scheduler(&self.opts.scheduler_id);
        match tokio::time::timeout(Duration::from_secs(2), deregister).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => debug!(error = %e, "could not deregister scheduler"),
            Err(_) => debug!("the store did not answer; scheduler not deregistered"),
        }
    }

    fn pending_reset(&mut self) {
        self.dirty.extend(self.runs.keys().copied());
    }

    fn next_wakeup(&self) -> DateTime<Utc> {
        let mut wake = self.next_heartbeat;
        if self.opts.mode == Mode::Scheduler {
            wake = wake.min(self.next_poll).min(self.next_resync);
            if let Some((at, _)) = self.due.first() {
                wake = wake.min(*at);
            }
        }
        for run in self.runs.values() {
            for ti in &run.tis {
                if ti.state == TaskState::UpForRetry {
                    if let Some(at) = ti.next_retry_at {
                        wake = wake.min(at);
                    }
                }
            }
        }
        if !self.dirty.is_empty() {
            wake = self.clock.now();
        }
        wake
    }

    // ---- DAGs -------------------------------------------------------------------------

    fn on_dag_update(&mut self, update: DagUpdate) {
        let now = self.clock.now();
        for spec in update.upserted {
            self.upsert_dag(Arc::new(spec), now);
        }
        for dag_id in update.removed {
            self.dags.remove(&dag_id);
            self.specs.remove(&dag_id);
            if let Some(at) = self.due_of.remove(&dag_id) {
                self.due.remove(&(at, dag_id));
            }
        }
    }

    fn upsert_dag(&mut self, spec: Arc<DagSpec>, now: DateTime<Utc>) {
        let timetable = match timetable_of(&spec) {
            Ok(t) if t.is_scheduled() => Some(t),
            Ok(_) => None,
            Err(e) => {
                warn!(dag_id = %spec.dag_id, error = %e, "DAG has a bad schedule");
                None
            }
        };
        let dag_id = spec.dag_id.clone();
        if let Some(at) = self.due_of.remove(&dag_id) {
            self.due.remove(&(at, dag_id.clone()));
        }
        if timetable.is_some() {
            // Check it now; `create_due_runs` tells when it is due next.
            self.due.insert((now, dag_id.clone()));
            self.due_of.insert(dag_id.clone(), now);
        }
        // Active runs follow the DAG's latest version.
        let mut in_use = false;
        for run in self.runs.values_mut() {
            if run.run.dag_id == dag_id {
                run.spec = spec.clone();
                in_use = true;
            }
        }
        if in_use {
            self.specs.insert(dag_id.clone(), spec);
        } else {
            self.specs.remove(&dag_id);
        }
        self.dags.insert(dag_id, DagEntry { timetable });
    }

    async fn create_scheduled_runs(
        &mut self,
        now: DateTime<Utc>,
    ) -> Result<(), cambium_store::Error> {
        while let Some((at, dag_id)) = self.due.first().cloned() {
            if at > now {
                break;
            }
            self.due.remove(&(at, dag_id.clone()));
            self.due_of.remove(&dag_id);
            let Some(entry) = self.dags.get(&dag_id) else {
                continue;
            };
            let Some(timetable) = entry.timetable.clone() else {
                continue;
            };
            let record = self.store.get_dag(&dag_id).await?;
            let next = match record {
                Some(record) if !record.paused && record.active => {
                    let spec = Arc::new(record.spec);
                    match create_due_runs(&self.store, &spec, &timetable, now, 16).await {
                        Ok((created, next)) => {
                            for run in &created {
                                info!(dag_id = %run.dag_id, run_id = %run.run_id, "scheduled run created");
                            }
                            self.last_run_pk = self
                                .last_run_pk
                                .max(created.iter().map(|r| r.id).max().unwrap_or(0));
                            if !created.is_empty() {
                                self.specs.insert(dag_id.clone(), spec);
                            }
                            self.load_runs(created, false).await?;
                            next
                        }
                        Err(crate::runs::RunError::Store(e)) => return Err(e),
                        Err(e) => {
                            warn!(dag_id = %dag_id, error = %e, "cannot create scheduled runs");
                            None
                        }
                    }
                }
                // Paused (or gone): look again later; unpausing is noticed within the
                // resync interval.
                _ => Some(now + chrono::Duration::from_std(self.opts.resync).unwrap_or_default()),
            };
            if let Some(next) = next {
                self.due.insert((next, dag_id.clone()));
                self.due_of.insert(dag_id, next);
            }
        }
        Ok(())
    }

    // ---- loading runs -----------------------------------------------------------------

    fn wants(&self, run: &RunRecord) -> bool {
        match self.opts.mode {
            Mode::Scheduler => !run.run_id.starts_with(TEST_RUN_PREFIX),
            Mode::SingleRun { run_pk } => run.id == run_pk,
        }
    }

    /// Adds runs to memory with their task instances. With `replace`, runs already in
    /// memory are replaced by the store's version (only when nothing is pending for them).
    async fn load_runs(
        &mut self,
        runs: Vec<RunRecord>,
        replace: bool,
    ) -> Result<(), cambium_store::Error> {
        let runs: Vec<RunRecord> = runs
            .into_iter()
            .filter(|r| !r.state.is_finished() && self.wants(r))
            .filter(|r| replace || !self.runs.contains_key(&r.id))
            .collect();
        if runs.is_empty() {
            return Ok(());
        }
        let pks: Vec<i64> = runs.iter().map(|r| r.id).collect();
        let mut tis_by_run: HashMap<i64, Vec<TaskInstance>> = HashMap::new();
        for ti in self.store.task_instances_of_runs(&pks).await? {
            tis_by_run.entry(ti.run_pk).or_default().push(ti);
        }
        for run in runs {
            if let Some(id) = run.backfill_id {
                if !self.backfills.contains_key(&id) {
                    if let Some(b) = self.store.get_backfill(id).await? {
                        self.backfills.insert(id, b);
                    }
                }
            }
            let spec = match self.specs.get(&run.dag_id) {
                Some(spec) => spec.clone(),
                None => match self.store.get_dag(&run.dag_id).await? {
                    Some(d) => {
                        let spec = Arc::new(d.spec);
                        self.specs.insert(run.dag_id.clone(), spec.clone());
                        spec
                    }
                    None => {
                        warn!(dag_id = %run.dag_id, run_id = %run.run_id, "run of an unknown DAG left alone");
                        continue;
                    }
                },
            };
            let tis = tis_by_run.remove(&run.id).unwrap_or_default();
            self.stop_tries_ended_elsewhere(run.id, &tis);
            self.dirty.insert(run.id);
            self.runs.insert(run.id, ActiveRun { run, spec, tis });
        }
        Ok(())
    }

    /// Kills the tries this engine runs whose task instance, as just read from the store,
    /// no longer waits for them: marked success or failed by hand (CLI, API, UI), or moved
    /// to another try. This is how a mark reaches a running process, whichever process made
    /// it: the owning engine reads its runs again at every resync (and at once when a write
    /// of its conflicts with the mark), and stops the try's whole process group.
    fn stop_tries_ended_elsewhere(&mut self, run_pk: i64, tis: &[TaskInstance]) {
        let mine: Vec<TryKey> = self
            .inflight
            .iter()
            .filter(|(key, pk)| **pk == run_pk && !self.killing.contains(key))
            .map(|(key, _)| *key)
            .collect();
        for key in mine {
            let Some(ti) = tis.iter().find(|t| t.id == key.ti_id) else {
                continue;
            };
            if ti.try_number == key.try_number && ti.state.is_active() {
                continue;
            }
            info!(dag_id = %ti.dag_id, run_id = %ti.run_id, task_id = %ti.task_id, try_number = key.try_number, state = %ti.state, "the task was set to another state while its try ran; killing the try");
            self.killing.insert(key);
            self.executor.kill(key);
        }
    }

    /// Re-reads every active run from the store (after clears, other schedulers' work, or
    /// a conflict).
    async fn reload_active(&mut self) -> Result<(), cambium_store::Error> {
        let active = self.store.active_runs().await?;
        let keep: HashSet<i64> = active.iter().map(|r| r.id).collect();
        self.runs.retain(|pk, _| keep.contains(pk));
        // Forget specs no active run needs; they are read again when a run starts.
        let used: HashSet<String> = self.runs.values().map(|r| r.run.dag_id.clone()).collect();
        self.specs.retain(|dag_id, _| used.contains(dag_id));
        self.load_runs(active, true).await?;
        Ok(())
    }

    async fn poll_new_runs(&mut self) -> Result<(), cambium_store::Error> {
        let max = self.store.max_run_pk().await?;
        if max > self.last_run_pk {
            let new = self.store.runs_created_after(self.last_run_pk).await?;
            self.last_run_pk = max;
            self.load_runs(new, false).await?;
        }
        Ok(())
    }

    // ---- liveness and recovery --------------------------------------------------------

    async fn heartbeat(&mut self, now: DateTime<Utc>) -> Result<(), cambium_store::Error> {
        self.store
            .heartbeat(&SchedulerRecord {
                id: self.opts.scheduler_id.clone(),
                hostname: self.opts.hostname.clone(),
                pid: i64::from(std::process::id()),
                started_at: self.started_at,
                heartbeat_at: now,
            })
            .await?;
        if let (true, Some(ms)) = (self.opts.mode == Mode::Scheduler, self.last_step_ms) {
            // For `/metrics`; a failed write only loses a gauge reading.
            let _ = self
                .store
                .set_setting(LOOP_MS_SETTING, &format!("{ms:.3}"))
                .await;
        }
        self.next_heartbeat =
            now + chrono::Duration::from_std(self.opts.heartbeat).unwrap_or_default();
        Ok(())
    }

    /// Takes over tries whose scheduler is gone: adopts those whose supervisor may still run
    /// on this machine, settles the rest as lost.
    async fn recover_orphans(&mut self, now: DateTime<Utc>) -> Result<(), cambium_store::Error> {
        let dead_after = chrono::Duration::from_std(self.opts.dead_after).unwrap_or_default();
        let (alive, dead): (Vec<SchedulerRecord>, Vec<SchedulerRecord>) =
            self.store.schedulers().await?.into_iter().partition(|s| {
                s.id == self.opts.scheduler_id
                    || (s.heartbeat_at + dead_after > now
                        && (s.hostname != self.opts.hostname || pid_alive(s.pid)))
            });
        let alive: HashSet<String> = alive.into_iter().map(|s| s.id).collect();
        let active = self.store.active_task_instances().await?;
        // A dead scheduler's record goes once none of its tries is left to take over.
        for gone in dead {
            if !active
                .iter()
                .any(|ti| ti.claimed_by.as_deref() == Some(gone.id.as_str()))
            {
                self.store.remove_scheduler(&gone.id).await?;
            }
        }
        for ti in active {
            if ti.claimed_by.as_ref().is_some_and(|c| alive.contains(c)) {
                continue;
            }
            let Some(run) = self.runs.get(&ti.run_pk) else {
                continue;
            };
            if !self.wants(&run.run) {
                continue;
            }
            if !self
                .store
                .take_over(ti.id, ti.claimed_by.as_deref(), &self.opts.scheduler_id)
                .await?
            {
                continue;
            }
            let key = TryKey {
                ti_id: ti.id,
                try_number: ti.try_number,
            };
            let try_dir =
                self.opts
                    .home
                    .try_dir(&ti.dag_id, &ti.run_id, &ti.task_id, ti.try_number);
            if let Some(run) = self.runs.get_mut(&ti.run_pk) {
                if let Some(mem) = run.tis.iter_mut().find(|t| t.id == ti.id) {
                    *mem = ti.clone();
                    mem.claimed_by = Some(self.opts.scheduler_id.clone());
                }
            }
            let same_host = ti
                .hostname
                .as_deref()
                .is_none_or(|h| h == self.opts.hostname);
            if same_host {
                // Claimed but never started (the scheduler died between its claim and its
                // supervisor's start): make sure no late supervisor ever starts it, then
                // put it back to be claimed again. It costs no retry.
                match cambium_executor::files::release_unstarted(&try_dir) {
                    Ok(true) => {
                        self.release(&ti, now);
                        continue;
                    }
                    Ok(false) => {}
                    Err(e) => {
                        warn!(dag_id = %ti.dag_id, run_id = %ti.run_id, task_id = %ti.task_id, error = %e, "could not check whether the try started; adopting it");
                    }
                }
                self.inflight.insert(key, ti.run_pk);
                info!(dag_id = %ti.dag_id, run_id = %ti.run_id, task_id = %ti.task_id, try_number = ti.try_number, "adopting try");
                self.executor.adopt(key, try_dir);
            } else {
                self.inflight.insert(key, ti.run_pk);
                let outcome =
                    lost_outcome(now, "the scheduler running this try on another host died");
                let _ = self.self_events.send(TryEvent::Finished { key, outcome });
            }
        }
        Ok(())
    }

    /// Puts a try that was claimed but never started (its scheduler died first) back to
    /// `scheduled`, to be claimed again as the next try number (its own try folder is
    /// marked released); it costs no retry, as `max_tries` grows by one.
    fn release(&mut self, stored: &TaskInstance, now: DateTime<Utc>) {
        let Some(run) = self.runs.get_mut(&stored.run_pk) else {
            return;
        };
        let Some(ti) = run.tis.iter_mut().find(|t| t.id == stored.id) else {
            return;
        };
        info!(dag_id = %ti.dag_id, run_id = %ti.run_id, task_id = %ti.task_id, try_number = ti.try_number, "releasing a try its dead scheduler claimed but never started");
        let expect = stored.state;
        *ti = stored.clone();
        ti.state = TaskState::Scheduled;
        ti.max_tries = ti.max_tries.saturating_add(1);
        ti.queued_at = None;
        ti.start_at = None;
        ti.pid = None;
        ti.claimed_by = None;
        ti.hostname = None;
        self.pending_tries.push(TryRecord {
            ti_id: ti.id,
            try_number: ti.try_number,
            state: TaskState::Scheduled,
            start_at: None,
            end_at: Some(now),
            exit_code: None,
            hostname: stored.hostname.clone(),
            error: Some("never started: the scheduler that claimed it stopped first".into()),
        });
        self.pending.push((expect, ti.clone()));
        self.dirty.insert(stored.run_pk);
    }

    // ---- events -----------------------------------------------------------------------

    fn on_event(&mut self, ev: TryEvent) {
        let key = match &ev {
            TryEvent::Started { key, .. } | TryEvent::Finished { key, .. } => *key,
        };
        let Some(&run_pk) = self.inflight.get(&key) else {
            debug!(
                ti_id = key.ti_id,
                "event for a try this scheduler does not track"
            );
            return;
        };
        if matches!(ev, TryEvent::Finished { .. }) {
            self.inflight.remove(&key);
            self.killing.remove(&key);
        }
        let Some(run) = self.runs.get_mut(&run_pk) else {
            return;
        };
        let Some(ti) = run.tis.iter_mut().find(|t| t.id == key.ti_id) else {
            return;
        };
        if ti.try_number != key.try_number {
            return;
        }
        match ev {
            TryEvent::Started {
                pid, hostname, at, ..
            } => {
                if ti.state == TaskState::Queued {
                    ti.state = TaskState::Running;
                    ti.start_at = Some(at);
                    ti.pid = Some(pid);
                    ti.hostname = Some(hostname);
                    self.pending.push((TaskState::Queued, ti.clone()));
                }
            }
            TryEvent::Finished { outcome, .. } => {
                if !ti.state.is_active() {
                    return;
                }
                let expect = ti.state;
                let spec = run.spec.clone();
                settle(ti, &outcome, &spec, self.clock.now());
                self.pending_tries.push(TryRecord {
                    ti_id: ti.id,
                    try_number: ti.try_number,
                    state: ti.state,
                    start_at: ti.start_at.or(outcome.started_at),
                    end_at: Some(outcome.ended_at),
                    exit_code: outcome.exit_code,
                    hostname: ti.hostname.clone(),
                    error: ti.error.clone(),
                });
                info!(dag_id = %ti.dag_id, run_id = %ti.run_id, task_id = %ti.task_id, try_number = ti.try_number, state = %ti.state, "try ended");
                // `dags test` runs are left alone by schedulers; they update no assets.
                let outlets = spec
                    .task(&ti.task_id)
                    .map(|t| t.common.outlets.clone())
                    .unwrap_or_default();
                if ti.state == TaskState::Success
                    && !outlets.is_empty()
                    && !ti.run_id.starts_with(TEST_RUN_PREFIX)
                {
                    self.outlets.push((self.pending.len(), outlets));
                }
                self.pending.push((expect, ti.clone()));
                self.dirty.insert(run_pk);
                // A slot is free again: runs with tasks held back by a limit may go on.
                for (pk, run) in &self.runs {
                    if run.tis.iter().any(|t| t.state == TaskState::Scheduled) {
                        self.dirty.insert(*pk);
                    }
                }
            }
        }
    }
}

/// What a try's exit means by the task protocol, before retries are considered: exit 0
/// is success, 99 skipped, 98 a sensor whose condition does not hold yet (poke again after
/// the returned delay, without using up a retry), anything else (or a protocol error, a
/// timeout, a lost process) a failure. Shared by the scheduler and `cambium tasks test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitMeaning {
    Success,
    Skipped,
    Reschedule { after_ms: i64 },
    Failure,
}

/// How long a sensor waits between pokes when it does not say (`poke_after_ms`).
pub const DEFAULT_POKE_MS: i64 = 30_000;

impl ExitMeaning {
    pub fn of(outcome: &TryOutcome) -> ExitMeaning {
        let ok = outcome.error.is_none() && !outcome.lost && !outcome.timed_out;
        match outcome.exit_code {
            Some(0) if ok => ExitMeaning::Success,
            Some(99) if ok => ExitMeaning::Skipped,
            Some(98) if ok => ExitMeaning::Reschedule {
                after_ms: outcome
                    .output
                    .as_ref()
                    .and_then(|o| o.get("poke_after_ms"))
                    .and_then(serde_json::Value::as_i64)
                    .unwrap_or(DEFAULT_POKE_MS),
            },
            _ => ExitMeaning::Failure,
        }
    }
}

/// Applies a try's outcome to its task instance: success, skipped, up_for_retry or failed.
fn settle(ti: &mut TaskInstance, outcome: &TryOutcome, spec: &DagSpec, now: DateTime<Utc>) {
    let end = outcome.ended_at;
    ti.end_at = Some(end);
    if ti.start_at.is_none() {
        ti.start_at = outcome.started_at;
    }
    ti.duration_ms = ti.start_at.map(|s| (end - s).num_milliseconds().max(0));
    ti.exit_code = outcome.exit_code;
    ti.output = outcome.output.clone();
    ti.metrics = outcome.metrics.clone();
    ti.error = outcome.error.clone();
    ti.state = match ExitMeaning::of(outcome) {
        ExitMeaning::Success => TaskState::Success,
        ExitMeaning::Skipped => TaskState::Skipped,
        // A sensor whose condition does not hold yet: poke again later, without a slot
        // meanwhile and without using up a retry.
        ExitMeaning::Reschedule { after_ms } => {
            ti.max_tries = ti.max_tries.saturating_add(1);
            ti.next_retry_at = Some(now + chrono::Duration::milliseconds(after_ms));
            ti.output = None;
            TaskState::UpForRetry
        }
        ExitMeaning::Failure => {
            if ti.error.is_none() {
                ti.error = Some(match outcome.exit_code {
                    Some(code) => format!("the task exited with code {code}"),
                    None => "the task was killed by a signal".into(),
                });
            }
            let opts = spec
                .task(&ti.task_id)
                .map(|t| t.common.clone())
                .unwrap_or_default();
            let retries_left = ti.try_number < ti.max_tries;
            match retry_delay(&opts, ti.try_number + 1, rand::rng().random::<f64>()) {
                Some(delay) if retries_left => {
                    ti.next_retry_at =
                        Some(now + chrono::Duration::from_std(delay).unwrap_or_default());
                    TaskState::UpForRetry
                }
                _ if retries_left => {
                    ti.next_retry_at = Some(
                        now + chrono::Duration::from_std(opts.retry_delay).unwrap_or_default(),
                    );
                    TaskState::UpForRetry
                }
                _ => TaskState::Failed,
            }
        }
    };
    if ti.state != TaskState::UpForRetry {
        ti.next_retry_at = None;
    }
}

fn lost_outcome(now: DateTime<Utc>, why: &str) -> TryOutcome {
    TryOutcome {
        exit_code: None,
        timed_out: false,
        lost: true,
        started_at: None,
        ended_at: now,
        output: None,
        metrics: Map::new(),
        error: Some(why.to_string()),
    }
}

/// True when a process with this pid exists on this machine.
pub fn pid_alive(pid: i64) -> bool {
    pid > 0 && std::path::Path::new(&format!("/proc/{pid}")).exists()
}

async fn recv_opt<T>(rx: &mut Option<UnboundedReceiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

impl Engine {
    /// One step: housekeeping that is due, then plan, claim, commit, start.
    async fn step(&mut self) -> Result<(), cambium_store::Error> {
        let now = self.clock.now();
        if now >= self.next_heartbeat {
            self.heartbeat(now).await?;
        }
        if self.opts.mode == Mode::Scheduler {
            if now >= self.next_poll {
                self.poll_new_runs().await?;
                self.next_poll =
                    now + chrono::Duration::from_std(self.opts.poll).unwrap_or_default();
            }
            if now >= self.next_resync {
                self.flush().await?;
                self.resync(now).await?;
            }
            self.create_scheduled_runs(now).await?;
        }
        for (pk, run) in &self.runs {
            if run.tis.iter().any(|t| {
                t.state == TaskState::UpForRetry && t.next_retry_at.is_none_or(|at| at <= now)
            }) {
                self.dirty.insert(*pk);
            }
        }
        self.admit_runs(now);
        let candidates = self.plan_dirty(now).await?;
        self.claim(candidates, now);
        self.flush().await
    }

    async fn resync(&mut self, now: DateTime<Utc>) -> Result<(), cambium_store::Error> {
        self.reload_active().await?;
        self.pools = self.store.pools().await?;
        let mut others = cambium_store::ActiveCounts::default();
        for ti in self.store.active_task_instances().await? {
            if ti.claimed_by.as_deref() == Some(self.opts.scheduler_id.as_str()) {
                continue;
            }
            *others.by_pool.entry(ti.pool.clone()).or_default() += 1;
            *others.by_dag.entry(ti.dag_id.clone()).or_default() += 1;
        }
        self.others_active = others;
        self.recover_orphans(now).await?;
        self.next_resync = now + chrono::Duration::from_std(self.opts.resync).unwrap_or_default();
        Ok(())
    }

    /// Moves queued runs to running within `max_active_runs` (per DAG for scheduled and
    /// manual runs, per backfill for backfill runs, so a backfill never starves the schedule).
    fn admit_runs(&mut self, now: DateTime<Utc>) {
        let mut running_by_dag: HashMap<String, u32> = HashMap::new();
        let mut running_by_backfill: HashMap<i64, u32> = HashMap::new();
        for run in self.runs.values() {
            if run.run.state == RunState::Running {
                match run.run.backfill_id {
                    Some(b) => *running_by_backfill.entry(b).or_default() += 1,
                    None => *running_by_dag.entry(run.run.dag_id.clone()).or_default() += 1,
                }
            }
        }
        let mut queued: Vec<(DateTime<Utc>, i64)> = self
            .runs
            .values()
            .filter(|r| r.run.state == RunState::Queued && r.run.run_after <= now)
            .map(|r| (r.run.logical_date, r.run.id))
            .collect();
        queued.sort();
        for (_, pk) in queued {
            let Some(run) = self.runs.get_mut(&pk) else {
                continue;
            };
            let (count, limit) = match run.run.backfill_id {
                Some(b) => (
                    running_by_backfill.entry(b).or_default(),
                    self.backfills
                        .get(&b)
                        .map_or(run.spec.max_active_runs, |b| b.max_active_runs),
                ),
                None => (
                    running_by_dag.entry(run.run.dag_id.clone()).or_default(),
                    run.spec.max_active_runs,
                ),
            };
            if self.opts.mode == Mode::Scheduler && *count >= limit.max(1) {
                continue;
            }
            *count += 1;
            run.run.state = RunState::Running;
            run.run.start_at.get_or_insert(now);
            run.run.end_at = None;
            self.pending_runs.push(run.run.clone());
            self.dirty.insert(pk);
        }
    }

    /// Plans every run that changed; returns the tasks that may start, as (run, task index).
    async fn plan_dirty(
        &mut self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, usize)>, cambium_store::Error> {
        let dirty: Vec<i64> = self.dirty.drain().collect();
        let mut ready = Vec::new();
        for pk in dirty {
            let Some(run) = self.runs.get(&pk) else {
                continue;
            };
            if run.run.state != RunState::Running {
                continue;
            }
            let past_blocked = if run.spec.tasks.iter().any(|t| t.common.depends_on_past) {
                self.past_blocked(run).await?
            } else {
                HashSet::new()
            };
            let Some(run) = self.runs.get_mut(&pk) else {
                continue;
            };
            let plan = plan_run(&run.spec, &run.tis, now, &past_blocked);
            for (idx, state) in plan.skip.iter().map(|i| (*i, TaskState::Skipped)).chain(
                plan.upstream_failed
                    .iter()
                    .map(|i| (*i, TaskState::UpstreamFailed)),
            ) {
                let ti = &mut run.tis[idx];
                let expect = ti.state;
                ti.state = state;
                ti.end_at = Some(now);
                ti.next_retry_at = None;
                self.guards.push((self.pending.len(), run.run.version));
                self.pending.push((expect, ti.clone()));
            }
            if let Some(final_state) = plan.finished {
                run.run.state = final_state;
                run.run.end_at = Some(now);
                run.run.start_at.get_or_insert(now);
                info!(dag_id = %run.run.dag_id, run_id = %run.run.run_id, state = %final_state, "run ended");
                self.pending_runs.push(run.run.clone());
            }
            ready.extend(plan.ready.into_iter().map(|i| (pk, i)));
        }
        Ok(ready)
    }

    /// Tasks with `depends_on_past` whose instance in the previous run did not succeed.
    async fn past_blocked(&self, run: &ActiveRun) -> Result<HashSet<String>, cambium_store::Error> {
        let mut blocked = HashSet::new();
        let Some(prev) = self
            .store
            .previous_run(&run.run.dag_id, run.run.logical_date)
            .await?
        else {
            return Ok(blocked);
        };
        let prev_tis = self.store.task_instances(prev.id).await?;
        for task in run.spec.tasks.iter().filter(|t| t.common.depends_on_past) {
            let ok = prev_tis
                .iter()
                .find(|t| t.task_id == task.task_id)
                .is_none_or(|t| matches!(t.state, TaskState::Success | TaskState::Skipped));
            if !ok {
                blocked.insert(task.task_id.clone());
            }
        }
        Ok(blocked)
    }

    /// Claims ready tasks in priority order while executor, pool and DAG slots last.
    fn claim(&mut self, mut candidates: Vec<(i64, usize)>, now: DateTime<Utc>) {
        if candidates.is_empty() {
            return;
        }
        let key = |runs: &HashMap<i64, ActiveRun>, (pk, i): &(i64, usize)| {
            let run = &runs[pk];
            let ti = &run.tis[*i];
            (
                -ti.priority,
                run.run.run_type == RunType::Backfill,
                run.run.logical_date,
                *pk,
                *i,
            )
        };
        candidates.sort_by_key(|c| key(&self.runs, c));
        let mut by_pool: HashMap<String, u32> = self.others_active.by_pool.clone();
        let mut by_dag: HashMap<String, u32> = self.others_active.by_dag.clone();
        for run in self.runs.values() {
            for ti in run.tis.iter().filter(|t| t.state.is_active()) {
                if ti.claimed_by.as_deref() == Some(self.opts.scheduler_id.as_str()) {
                    *by_pool.entry(ti.pool.clone()).or_default() += 1;
                    *by_dag.entry(ti.dag_id.clone()).or_default() += 1;
                }
            }
        }
        let mut free = self.executor.free_slots();
        for (pk, i) in candidates {
            let Some(run) = self.runs.get_mut(&pk) else {
                continue;
            };
            let max_tasks = run.spec.max_active_tasks;
            let version = run.run.version;
            let group_full = group_is_full(&run.spec, &run.tis, &run.tis[i].task_id);
            let ti = &mut run.tis[i];
            let pool_slots = self
                .pools
                .get(&ti.pool)
                .copied()
                .unwrap_or(self.opts.default_pool_slots);
            let pool_used = by_pool.get(&ti.pool).copied().unwrap_or(0);
            let dag_used = by_dag.get(&ti.dag_id).copied().unwrap_or(0);
            if free == 0 || pool_used >= pool_slots || dag_used >= max_tasks || group_full {
                if ti.state == TaskState::None {
                    ti.state = TaskState::Scheduled;
                    self.guards.push((self.pending.len(), version));
                    self.pending.push((TaskState::None, ti.clone()));
                }
                continue;
            }
            free -= 1;
            *by_pool.entry(ti.pool.clone()).or_default() += 1;
            *by_dag.entry(ti.dag_id.clone()).or_default() += 1;
            let expect = ti.state;
            ti.state = TaskState::Queued;
            ti.try_number += 1;
            ti.queued_at = Some(now);
            ti.start_at = None;
            ti.end_at = None;
            ti.duration_ms = None;
            ti.next_retry_at = None;
            ti.output = None;
            ti.metrics = Map::new();
            ti.exit_code = None;
            ti.error = None;
            ti.pid = None;
            ti.claimed_by = Some(self.opts.scheduler_id.clone());
            ti.hostname = Some(self.opts.hostname.clone());
            self.claims.push(self.pending.len());
            self.guards.push((self.pending.len(), version));
            self.pending.push((expect, ti.clone()));
        }
    }

    /// Commits this step's changes in one transaction (retrying while the store is
    /// unreachable, so no outcome is lost), then starts the tries it claimed.
    ///
    /// Run transitions and the task changes planned from a view of a run are conditional
    /// on the run's version: when a clear or a mark changed the run meanwhile, they do not
    /// apply and the run is read again (and planned again from what is stored). A try's
    /// start and end always apply (compare-and-set on the task's state only), so no
    /// outcome is lost to a conflict.
    async fn flush(&mut self) -> Result<(), cambium_store::Error> {
        if self.pending.is_empty() && self.pending_runs.is_empty() && self.pending_tries.is_empty()
        {
            return Ok(());
        }
        // One write per run: the last record holds every change of this step (a run
        // admitted and ended in one step is written once, from the version it was read at).
        let mut runs: Vec<RunRecord> = Vec::new();
        for run in std::mem::take(&mut self.pending_runs) {
            match runs.iter_mut().find(|r| r.id == run.id) {
                Some(slot) => *slot = run,
                None => runs.push(run),
            }
        }
        let batch = Batch {
            task_instances: std::mem::take(&mut self.pending),
            runs,
            tries: std::mem::take(&mut self.pending_tries),
        };
        let guards = std::mem::take(&mut self.guards);
        let claims = std::mem::take(&mut self.claims);
        let outlets = std::mem::take(&mut self.outlets);
        let mut delay = Duration::from_millis(100);
        let applied = loop {
            match self.store.apply_guarded(&batch, &guards).await {
                Ok(applied) => break applied,
                Err(e) if e.is_retryable() => {
                    // Retried until it is written or the engine shuts down (`run` stops
                    // waiting on shutdown; the next start derives it all again).
                    warn!(error = %e, "could not write to the store; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    // Keep the step's changes for the next attempt: nothing is lost.
                    self.pending = batch.task_instances;
                    self.pending_runs = batch.runs;
                    self.pending_tries = batch.tries;
                    self.guards = guards;
                    self.claims = claims;
                    self.outlets = outlets;
                    return Err(e);
                }
            }
        };

        let mut conflicted: HashSet<i64> = HashSet::new();
        for (i, ok) in applied.task_instances.iter().enumerate() {
            if !ok {
                if let Some((_, ti)) = batch.task_instances.get(i) {
                    conflicted.insert(ti.run_pk);
                }
            }
        }
        for (run, ok) in batch.runs.iter().zip(&applied.runs) {
            if !ok {
                info!(dag_id = %run.dag_id, run_id = %run.run_id, "the run changed meanwhile (clear or mark); reading it again");
                conflicted.insert(run.id);
                continue;
            }
            if let Some(active) = self.runs.get_mut(&run.id) {
                active.run.version = run.version + 1;
            }
        }
        for (run, ok) in batch.runs.iter().zip(&applied.runs) {
            if *ok && run.state.is_finished() && !conflicted.contains(&run.id) {
                self.runs.remove(&run.id);
                if let Mode::SingleRun { run_pk } = self.opts.mode {
                    if run_pk == run.id {
                        self.finished_single = Some(run.clone());
                    }
                }
            }
        }
        // A claim that applied is this engine's to start, even when another change of the
        // same run conflicted: left unstarted it would stay queued under a live claim.
        for idx in claims {
            let (Some(true), Some((_, ti))) = (
                applied.task_instances.get(idx),
                batch.task_instances.get(idx),
            ) else {
                continue;
            };
            cambium_executor::fault::point("after-claim");
            self.start_try(ti.clone());
        }
        for (idx, names) in outlets {
            if let (Some(true), Some((_, ti))) = (
                applied.task_instances.get(idx),
                batch.task_instances.get(idx),
            ) {
                self.emit_outlets(ti, names).await;
            }
        }
        for pk in conflicted {
            debug!(run_pk = pk, "conflicting change; reloading run");
            if let Some(run) = self.store.get_run_by_pk(pk).await? {
                if run.state.is_finished() {
                    self.runs.remove(&pk);
                }
                self.load_runs(vec![run], true).await?;
            } else {
                self.runs.remove(&pk);
            }
        }
        Ok(())
    }

    /// Records an event for each outlet of a task instance that succeeded, creating the runs
    /// they trigger. Failing to do so is logged and never fails the task.
    async fn emit_outlets(&mut self, ti: &TaskInstance, outlets: Vec<String>) {
        let source = EventSource {
            dag_id: &ti.dag_id,
            run_id: &ti.run_id,
            task_id: &ti.task_id,
        };
        for asset in outlets {
            let now = self.clock.now();
            match crate::assets::emit(&self.store, &asset, Map::new(), Some(source), now).await {
                Ok((event, created)) => {
                    info!(dag_id = %ti.dag_id, run_id = %ti.run_id, task_id = %ti.task_id, asset = %asset, event_id = event.id, runs = created.len(), "asset updated");
                    if let Err(e) = self.load_runs(created, false).await {
                        debug!(error = %e, "asset-triggered runs are picked up by the next poll");
                    }
                }
                Err(e) => {
                    warn!(dag_id = %ti.dag_id, run_id = %ti.run_id, task_id = %ti.task_id, asset = %asset, error = %e, "could not record the asset event of a task's outlet");
                }
            }
        }
    }

    fn start_try(&mut self, ti: TaskInstance) {
        let key = TryKey {
            ti_id: ti.id,
            try_number: ti.try_number,
        };
        self.inflight.insert(key, ti.run_pk);
        let Some(run) = self.runs.get(&ti.run_pk) else {
            return;
        };
        let spec = run.spec.clone();
        // Every ancestor has finished before a task starts, so all their outputs are known.
        let outputs: Map<String, Value> = spec
            .ancestors(&ti.task_id)
            .into_iter()
            .filter_map(|u| {
                run.tis
                    .iter()
                    .find(|t| t.task_id == u)
                    .map(|t| (u, t.output.clone().unwrap_or(Value::Null)))
            })
            .collect();
        let request = match spec.task(&ti.task_id) {
            Some(task) => build_request(
                &self.opts.home,
                &spec,
                task,
                &run.run,
                &ti,
                outputs,
                &self.opts.secrets,
                &self.opts.runtime,
            ),
            None => Err(format!(
                "task '{}' is no longer in DAG '{}'",
                ti.task_id, spec.dag_id
            )),
        };
        let result = match request {
            Ok(request) => {
                debug!(dag_id = %ti.dag_id, task_id = %ti.task_id, try_number = ti.try_number, "starting try");
                self.executor.submit(request).map_err(|e| e.to_string())
            }
            Err(message) => {
                let log =
                    self.opts
                        .home
                        .log_path(&ti.dag_id, &ti.run_id, &ti.task_id, ti.try_number);
                write_log_line(&log, &message);
                Err(message)
            }
        };
        if let Err(message) = result {
            let now = self.clock.now();
            let mut outcome = lost_outcome(now, &message);
            outcome.lost = false;
            outcome.started_at = Some(now);
            let _ = self.self_events.send(TryEvent::Finished { key, outcome });
        }
    }
}

/// Whether the task's group (a tune task's trials) already runs as many tasks in this run
/// as the group allows.
fn group_is_full(spec: &DagSpec, tis: &[TaskInstance], task_id: &str) -> bool {
    let Some(group) = spec.task(task_id).and_then(|t| t.common.group.as_ref()) else {
        return false;
    };
    let Some(&limit) = spec.task_groups.get(group) else {
        return false;
    };
    let active = tis
        .iter()
        .filter(|t| t.state.is_active())
        .filter(|t| {
            spec.task(&t.task_id)
                .is_some_and(|s| s.common.group.as_ref() == Some(group))
        })
        .count();
    active >= limit as usize
}

/// Appends one timestamped line to a try's log (for failures before the process starts).
fn write_log_line(path: &std::path::Path, message: &str) {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(parent) = path.parent() {
        // Logs are the scheduler user's alone, as the supervisor writes them.
        let _ = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent);
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
    {
        let ts = Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
        let _ = writeln!(f, "[{ts}] {message}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cambium_dag::{RetryBackoff, TaskOptions, TaskSpec};
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
            .single()
            .expect("valid")
    }

    fn spec(retries: u32) -> DagSpec {
        DagSpec {
            tasks: vec![TaskSpec {
                task_id: "a".into(),
                operator: "command".into(),
                options: Map::new(),
                common: TaskOptions {
                    retries,
                    retry_delay: Duration::from_secs(10),
                    retry_backoff: RetryBackoff::Fixed,
                    ..TaskOptions::default()
                },
            }],
            ..DagSpec::new("d", "d.rhai")
        }
    }

    fn running(try_number: u32, max_tries: u32) -> TaskInstance {
        TaskInstance {
            state: TaskState::Running,
            try_number,
            max_tries,
            start_at: Some(now() - chrono::Duration::seconds(2)),
            ..TaskInstance::unstarted("d", "r", "a")
        }
    }

    fn outcome(exit_code: Option<i32>) -> TryOutcome {
        TryOutcome {
            exit_code,
            timed_out: false,
            lost: false,
            started_at: None,
            ended_at: now(),
            output: Some(serde_json::json!({"rows": 3})),
            metrics: Map::new(),
            error: None,
        }
    }

    #[test]
    fn exit_0_succeeds_with_output_and_duration() {
        let mut ti = running(1, 1);
        settle(&mut ti, &outcome(Some(0)), &spec(0), now());
        assert_eq!(ti.state, TaskState::Success);
        assert_eq!(ti.output, Some(serde_json::json!({"rows": 3})));
        assert_eq!(ti.duration_ms, Some(2000));
        assert_eq!(ti.next_retry_at, None);
    }

    #[test]
    fn exit_99_is_skipped() {
        let mut ti = running(1, 3);
        settle(&mut ti, &outcome(Some(99)), &spec(2), now());
        assert_eq!(ti.state, TaskState::Skipped);
    }

    #[test]
    fn failure_with_tries_left_waits_for_its_retry_delay() {
        let mut ti = running(1, 3);
        settle(&mut ti, &outcome(Some(3)), &spec(2), now());
        assert_eq!(ti.state, TaskState::UpForRetry);
        assert_eq!(
            ti.next_retry_at,
            Some(now() + chrono::Duration::seconds(10))
        );
        assert_eq!(ti.error.as_deref(), Some("the task exited with code 3"));
    }

    #[test]
    fn failure_on_the_last_try_fails() {
        let mut ti = running(3, 3);
        settle(&mut ti, &outcome(Some(1)), &spec(2), now());
        assert_eq!(ti.state, TaskState::Failed);
        assert_eq!(ti.next_retry_at, None);
    }

    #[test]
    fn exit_0_with_a_protocol_error_timeout_or_lost_process_fails() {
        let mut bad_metrics = outcome(Some(0));
        bad_metrics.error = Some("CAMBIUM_METRICS must be a flat JSON object of numbers".into());
        let mut timed_out = outcome(None);
        timed_out.timed_out = true;
        timed_out.error = Some("timed out after 1s".into());
        let lost = lost_outcome(now(), "the try's process was lost");
        for o in [bad_metrics, timed_out, lost] {
            let mut ti = running(1, 1);
            settle(&mut ti, &o, &spec(0), now());
            assert_eq!(ti.state, TaskState::Failed, "{o:?}");
            assert!(ti.error.is_some());
        }
    }

    #[test]
    fn a_killed_task_says_so() {
        let mut ti = running(1, 1);
        settle(&mut ti, &outcome(None), &spec(0), now());
        assert_eq!(ti.state, TaskState::Failed);
        assert_eq!(ti.error.as_deref(), Some("the task was killed by a signal"));
    }
}
