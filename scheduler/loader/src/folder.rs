//! A DAGs folder with a content-hash cache: scanning for `*.rhai` files, evaluating new and
//! changed ones in parallel, dropping deleted ones, and checking that DAG ids are unique
//! across files.

use crate::source::Pos;
use crate::{hash_text, load_with_positions, Limits, LoadedFile};
use cambium_dag::{DagSpec, ImportError};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The phrase that marks a duplicate-id error added across files.
const DUPLICATE_PHRASE: &str = "is also declared in";

/// What a refresh changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Refresh {
    /// Files that are new, or whose DAGs or errors changed (including through another file,
    /// e.g. a duplicate DAG id that appeared or went away).
    pub changed: Vec<LoadedFile>,
    /// Files that no longer exist (relative paths).
    pub removed: Vec<String>,
}

/// One file as evaluated on its own, before cross-file checks.
struct Entry {
    own: LoadedFile,
    positions: Vec<(String, Pos)>,
}

/// A DAGs folder with a content-hash cache.
pub struct DagFolder {
    root: PathBuf,
    limits: Limits,
    entries: BTreeMap<String, Entry>,
    /// The cross-file result per file. Specs are not copied: only a file that lost a DAG to
    /// a duplicate id holds its own adjusted copy.
    effective: BTreeMap<String, Effective>,
    evaluations: u64,
}

/// What the cross-file checks left of one file.
#[derive(Debug, Clone, PartialEq)]
struct Effective {
    hash: String,
    /// DAG ids this file keeps.
    kept: Vec<String>,
    /// Errors the cross-file checks added (duplicate ids).
    extra: Vec<ImportError>,
    /// The file as it counts, when it differs from what it declares (`extra` not empty).
    adjusted: Option<LoadedFile>,
}

impl Effective {
    /// The parts that decide whether a file changed for the store.
    fn same_as(&self, other: &Effective) -> bool {
        self.hash == other.hash && self.kept == other.kept && self.extra == other.extra
    }
}

impl DagFolder {
    /// A folder with an empty cache.
    pub fn new(root: PathBuf, limits: Limits) -> Self {
        DagFolder {
            root,
            limits,
            entries: BTreeMap::new(),
            effective: BTreeMap::new(),
            evaluations: 0,
        }
    }

    /// Seeds the cache with files already known (e.g. from the store) so unchanged files are
    /// not re-evaluated. Files that carry a cross-file duplicate error are not seeded: they
    /// are evaluated again so the check can be redone.
    pub fn seed(&mut self, known: Vec<LoadedFile>) {
        for file in known {
            if file
                .errors
                .iter()
                .any(|e| e.message.contains(DUPLICATE_PHRASE))
            {
                continue;
            }
            let mut file = file;
            sort_errors(&mut file.errors);
            self.effective.insert(
                file.file.clone(),
                Effective {
                    hash: file.hash.clone(),
                    kept: file.dags.iter().map(|d| d.dag_id.clone()).collect(),
                    extra: Vec::new(),
                    adjusted: None,
                },
            );
            self.entries.insert(
                file.file.clone(),
                Entry {
                    own: file,
                    positions: Vec::new(),
                },
            );
        }
    }

    /// How many files this folder has evaluated since it was created.
    pub fn evaluations(&self) -> u64 {
        self.evaluations
    }

    /// Scans the folder recursively for `*.rhai` files, evaluates new and changed ones (by
    /// SHA-256) in parallel, drops deleted ones, and checks DAG ids across files (a duplicate
    /// is an import error in the later file, by path order).
    pub fn refresh(&mut self) -> Refresh {
        let mut found = Vec::new();
        collect_rhai_files(&self.root, &self.root, 0, &mut found);
        found.sort();
        let mut jobs: Vec<(String, String)> = Vec::new();
        let mut present = std::collections::HashSet::new();
        for (rel, path) in &found {
            present.insert(rel.clone());
            match std::fs::read(path) {
                Ok(bytes) => {
                    let hash = hash_text(&bytes);
                    if self.entries.get(rel).is_some_and(|e| e.own.hash == hash) {
                        continue;
                    }
                    match String::from_utf8(bytes) {
                        Ok(text) => jobs.push((rel.clone(), text)),
                        Err(_) => self.set_unreadable(rel, hash, "it is not UTF-8 text".into()),
                    }
                }
                Err(e) => self.set_unreadable(rel, String::new(), e.to_string()),
            }
        }
        self.evaluations += jobs.len() as u64;
        for (mut entry, file) in evaluate_all(jobs, &self.limits) {
            sort_errors(&mut entry.own.errors);
            self.entries.insert(file, entry);
        }
        let removed: Vec<String> = self
            .entries
            .keys()
            .filter(|k| !present.contains(*k))
            .cloned()
            .collect();
        for r in &removed {
            self.entries.remove(r);
        }
        let effective = cross_file_checks(&self.entries);
        let changed = effective
            .iter()
            .filter(|(k, v)| !self.effective.get(*k).is_some_and(|old| old.same_as(v)))
            .filter_map(|(k, v)| match &v.adjusted {
                Some(adjusted) => Some(adjusted.clone()),
                None => self.entries.get(k).map(|e| e.own.clone()),
            })
            .collect();
        self.effective = effective;
        Refresh { changed, removed }
    }

    fn set_unreadable(&mut self, rel: &str, hash: String, reason: String) {
        let own = LoadedFile {
            file: rel.to_string(),
            hash,
            dags: Vec::new(),
            errors: vec![ImportError {
                file: rel.to_string(),
                line: 0,
                column: 0,
                message: format!("cannot read this file: {reason}"),
            }],
        };
        self.entries.insert(
            rel.to_string(),
            Entry {
                own,
                positions: Vec::new(),
            },
        );
    }

    /// Every known file, in path order, as it counts after the cross-file checks.
    pub fn files(&self) -> impl Iterator<Item = &LoadedFile> {
        self.effective
            .iter()
            .filter_map(|(k, v)| match &v.adjusted {
                Some(adjusted) => Some(adjusted),
                None => self.entries.get(k).map(|e| &e.own),
            })
    }

    /// Every DAG that loaded, in file order.
    pub fn dags(&self) -> impl Iterator<Item = &DagSpec> {
        self.files().flat_map(|f| f.dags.iter())
    }

    /// The import errors of all files, sorted by file, line and column.
    pub fn errors(&self) -> Vec<ImportError> {
        let mut all: Vec<ImportError> = self
            .files()
            .flat_map(|f| f.errors.iter().cloned())
            .collect();
        all.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        all
    }
}

/// Evaluates the files in parallel over the available cores.
fn evaluate_all(jobs: Vec<(String, String)>, limits: &Limits) -> Vec<(Entry, String)> {
    if jobs.is_empty() {
        return Vec::new();
    }
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len());
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(jobs.len()));
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some((rel, text)) = jobs.get(i) else {
            break;
        };
        let (own, positions) = load_with_positions(rel, text, limits);
        results
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((Entry { own, positions }, rel.clone()));
    };
    std::thread::scope(|scope| {
        let mut spawned = 0;
        for _ in 0..workers {
            let builder = std::thread::Builder::new()
                .name("dag-loader".into())
                .stack_size(16 << 20);
            match builder.spawn_scoped(scope, work) {
                Ok(_) => spawned += 1,
                Err(e) => tracing::warn!(error = %e, "could not start a DAG loader thread"),
            }
        }
        if spawned == 0 {
            work();
        }
    });
    results.into_inner().unwrap_or_else(|p| p.into_inner())
}

/// Applies the cross-file DAG id check: a DAG id declared in an earlier file (by path) wins;
/// the later file loses that DAG and gets an import error naming the other file.
fn cross_file_checks(entries: &BTreeMap<String, Entry>) -> BTreeMap<String, Effective> {
    let mut owner: HashMap<&str, &str> = HashMap::new();
    let mut out = BTreeMap::new();
    for (rel, entry) in entries {
        let mut kept = Vec::with_capacity(entry.own.dags.len());
        let mut extra = Vec::new();
        for dag in &entry.own.dags {
            match owner.get(dag.dag_id.as_str()) {
                Some(other) => {
                    let pos = entry
                        .positions
                        .iter()
                        .find(|(id, _)| *id == dag.dag_id)
                        .map_or(Pos { line: 1, column: 1 }, |(_, p)| *p);
                    extra.push(ImportError {
                        file: rel.clone(),
                        line: pos.line,
                        column: pos.column,
                        message: format!(
                            "DAG id '{}' {DUPLICATE_PHRASE} {other}; DAG ids must be unique across the DAGs folder, so this one is ignored",
                            dag.dag_id
                        ),
                    });
                }
                None => {
                    owner.insert(&dag.dag_id, rel);
                    kept.push(dag.dag_id.clone());
                }
            }
        }
        let adjusted = (!extra.is_empty()).then(|| {
            let mut file = LoadedFile {
                file: entry.own.file.clone(),
                hash: entry.own.hash.clone(),
                dags: entry
                    .own
                    .dags
                    .iter()
                    .filter(|d| kept.contains(&d.dag_id))
                    .cloned()
                    .collect(),
                errors: entry.own.errors.iter().chain(&extra).cloned().collect(),
            };
            sort_errors(&mut file.errors);
            file
        });
        out.insert(
            rel.clone(),
            Effective {
                hash: entry.own.hash.clone(),
                kept,
                extra,
                adjusted,
            },
        );
    }
    out
}

/// Orders a file's errors by position.
fn sort_errors(errors: &mut [ImportError]) {
    errors.sort_by_key(|e| (e.line, e.column));
}

/// Adds `(relative path, path)` for every `*.rhai` file under `dir`, skipping hidden entries
/// and not following symlinked folders.
fn collect_rhai_files(root: &Path, dir: &Path, depth: usize, out: &mut Vec<(String, PathBuf)>) {
    if depth > 64 {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot read DAGs folder");
            return;
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect_rhai_files(root, &path, depth + 1, out);
        } else if path.extension().is_some_and(|e| e == "rhai") && path.is_file() {
            if let Ok(rel) = path.strip_prefix(root) {
                let rel: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push((rel.join("/"), path));
            }
        }
    }
}
