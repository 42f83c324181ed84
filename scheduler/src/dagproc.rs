//! The DAG processor: keeps the store's DAGs and import errors in step with the DAGs
//! folder (parsing in parallel, only changed files, off the scheduling path) and tells the
//! engine what changed.

use cambium_dag::{DagSpec, ImportError};
use cambium_loader::{DagFolder, Limits, LoadedFile};
use cambium_store::Store;
use chrono::Utc;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tracing::{info, warn};

/// The setting that records which DAGs folder a database's DAGs come from.
pub const DAGS_FOLDER_SETTING: &str = "dags_folder";

/// Why the DAGs folder could not be synced.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] cambium_store::Error),
    /// The database's DAGs come from another folder: syncing this one would replace them.
    #[error(
        "this database's DAGs come from {recorded}, not {given}; pass --dags {recorded} (or set CAMBIUM_DAGS_FOLDER), or start `cambium scheduler --dags {given}` to move the deployment to {given}"
    )]
    OtherFolder { recorded: String, given: String },
}

/// DAGs that appeared or changed, and DAG ids that are gone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DagUpdate {
    pub upserted: Vec<DagSpec>,
    pub removed: Vec<String>,
}

/// The setting where a scheduler's DAG processor records how long its last parse of the
/// folder took (milliseconds), for `/metrics`.
pub const PARSE_MS_SETTING: &str = "metrics.dag_parse_ms";

/// A DAGs folder synced into the store.
pub struct DagProcessor {
    folder: Option<DagFolder>,
    root: PathBuf,
    store: Store,
    paused_on_create: bool,
    seeded: bool,
    /// A scheduler defines which folder the database's DAGs come from; other processes
    /// (CLI commands) must use the same one.
    authoritative: bool,
}

impl DagProcessor {
    pub fn new(root: PathBuf, limits: Limits, store: Store, paused_on_create: bool) -> Self {
        DagProcessor {
            folder: Some(DagFolder::new(root.clone(), limits)),
            root,
            store,
            paused_on_create,
            seeded: false,
            authoritative: false,
        }
    }

    /// Makes this processor the one that decides the database's DAGs folder (schedulers).
    pub fn authoritative(mut self) -> Self {
        self.authoritative = true;
        self
    }

    /// Checks (or records) that the database's DAGs come from this folder.
    async fn check_folder(&self) -> Result<(), SyncError> {
        let given = std::fs::canonicalize(&self.root)
            .unwrap_or_else(|_| self.root.clone())
            .display()
            .to_string();
        match self.store.setting(DAGS_FOLDER_SETTING).await? {
            Some(recorded) if recorded == given => Ok(()),
            Some(recorded) if !self.authoritative && std::path::Path::new(&recorded).is_dir() => {
                Err(SyncError::OtherFolder { recorded, given })
            }
            Some(recorded) => {
                warn!(%recorded, %given, "this database's DAGs folder changes");
                self.store.set_setting(DAGS_FOLDER_SETTING, &given).await?;
                Ok(())
            }
            None => {
                self.store.set_setting(DAGS_FOLDER_SETTING, &given).await?;
                Ok(())
            }
        }
    }

    /// The folder as last parsed.
    pub fn folder(&self) -> Option<&DagFolder> {
        self.folder.as_ref()
    }

    /// Seeds the parse cache from the store, so files whose hash did not change are not
    /// evaluated again.
    async fn seed(&mut self) -> Result<(), cambium_store::Error> {
        let hashes = self.store.dag_file_hashes().await?;
        let mut by_file: HashMap<String, LoadedFile> = hashes
            .into_iter()
            .map(|(file, hash)| {
                (
                    file.clone(),
                    LoadedFile {
                        file,
                        hash,
                        dags: Vec::new(),
                        errors: Vec::new(),
                    },
                )
            })
            .collect();
        for dag in self.store.list_dags().await? {
            if let Some(f) = by_file.get_mut(&dag.spec.file) {
                if f.hash == dag.file_hash {
                    f.dags.push(dag.spec);
                }
            }
        }
        for error in self.store.list_import_errors().await? {
            if let Some(f) = by_file.get_mut(&error.file) {
                f.errors.push(error);
            }
        }
        if let Some(folder) = self.folder.as_mut() {
            folder.seed(by_file.into_values().collect());
        }
        Ok(())
    }

    /// Parses what changed and writes it to the store in one transaction.
    pub async fn sync_once(&mut self) -> Result<DagUpdate, SyncError> {
        if !self.seeded {
            self.check_folder().await?;
            self.seed().await?;
            self.seeded = true;
        }
        let Some(mut folder) = self.folder.take() else {
            return Ok(DagUpdate::default());
        };
        let before: BTreeSet<String> = folder.dags().map(|d| d.dag_id.clone()).collect();
        let started = std::time::Instant::now();
        let (folder, refresh) = match tokio::task::spawn_blocking(move || {
            let refresh = folder.refresh();
            (folder, refresh)
        })
        .await
        {
            Ok(pair) => pair,
            Err(e) => {
                warn!(error = %e, "parsing the DAGs folder panicked");
                self.folder = Some(DagFolder::new(self.root.clone(), Limits::default()));
                return Ok(DagUpdate::default());
            }
        };
        let parse_ms = started.elapsed().as_secs_f64() * 1000.0;
        let after: BTreeSet<String> = folder.dags().map(|d| d.dag_id.clone()).collect();
        let now = Utc::now();
        if self.authoritative {
            // For `/metrics`; a failed write only loses a gauge reading.
            let _ = self
                .store
                .set_setting(PARSE_MS_SETTING, &format!("{parse_ms:.3}"))
                .await;
        }
        let files: Vec<(String, String, Vec<DagSpec>, Vec<ImportError>)> = refresh
            .changed
            .iter()
            .map(|f| {
                (
                    f.file.clone(),
                    f.hash.clone(),
                    f.dags.clone(),
                    f.errors.clone(),
                )
            })
            .collect();
        if !files.is_empty() {
            self.store
                .sync_dag_files(&files, self.paused_on_create, now)
                .await?;
        }
        for file in &refresh.removed {
            self.store.remove_dag_file(file, now).await?;
        }
        if !files.is_empty() || !refresh.removed.is_empty() {
            info!(
                changed = files.len(),
                removed = refresh.removed.len(),
                errors = folder.errors().len(),
                "DAGs folder synced"
            );
        }
        let update = DagUpdate {
            upserted: refresh.changed.into_iter().flat_map(|f| f.dags).collect(),
            removed: before.difference(&after).cloned().collect(),
        };
        self.folder = Some(folder);
        Ok(update)
    }

    /// Keeps syncing in the background: on every change the watcher reports (and every
    /// `rescan` as a fallback), sending each update to the engine.
    pub fn spawn(
        mut self,
        watch: bool,
        rescan: Duration,
        tx: UnboundedSender<DagUpdate>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let (wake_tx, mut wake_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
            let _watcher = if watch {
                match cambium_loader::watch(&self.root) {
                    Ok((watcher, rx)) => {
                        std::thread::spawn(move || {
                            while rx.recv().is_ok() {
                                if wake_tx.send(()).is_err() {
                                    break;
                                }
                            }
                        });
                        Some(watcher)
                    }
                    Err(e) => {
                        warn!(error = %e, "cannot watch the DAGs folder; rescanning periodically");
                        None
                    }
                }
            } else {
                None
            };
            loop {
                match self.sync_once().await {
                    Ok(update) => {
                        if (!update.upserted.is_empty() || !update.removed.is_empty())
                            && tx.send(update).is_err()
                        {
                            return;
                        }
                    }
                    Err(e) => warn!(error = %e, "could not sync the DAGs folder; will retry"),
                }
                tokio::select! {
                    Some(()) = wake_rx.recv() => {
                        // Let a burst of writes settle, then take them all at once.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        while wake_rx.try_recv().is_ok() {}
                    }
                    _ = tokio::time::sleep(rescan) => {}
                }
                if tx.is_closed() {
                    return;
                }
            }
        })
    }
}
