//! Cambium's DAG-file loader. It owns turning `*.rhai` files of the DAGs folder into
//! validated [`DagSpec`]s and [`ImportError`]s: the sandboxed Rhai evaluation (no clock, file,
//! network, environment or module access; bounded operations, depth, sizes, memory and wall
//! time: `meter`),
//! the Rhai API DAG files use (`dag(...)`, operator methods, `>>`, `after`, `chain`), the
//! validation of every option against the operator registry and the timetable, the
//! content-hash cache of a DAGs folder with parallel re-evaluation, and watching the folder.
//!
//! A file that fails to evaluate (syntax error, runtime error, limit reached) yields no DAGs;
//! otherwise each DAG with a problem is left out and every problem is reported, while the
//! file's other DAGs load.

mod api;
pub mod expand;
mod folder;
pub mod meter;
mod sandbox;
mod source;
mod validate;
mod watch;

pub use folder::{DagFolder, Refresh};
pub use watch::watch;

use cambium_dag::{DagSpec, ImportError};
use sha2::{Digest, Sha256};
use source::{Pos, SourceIndex};
use std::time::Duration;

/// Errors of the loader itself (import problems are [`ImportError`]s, not these).
#[derive(Debug, thiserror::Error)]
pub enum LoaderError {
    /// The DAGs folder could not be watched.
    #[error("cannot watch the DAGs folder {path}: {source}")]
    Watch {
        path: String,
        #[source]
        source: notify::Error,
    },
}

/// Bounds on evaluating one DAG file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Rhai operations per file.
    pub max_operations: u64,
    /// Depth of nested function calls.
    pub max_call_levels: usize,
    /// Longest string, in bytes.
    pub max_string_size: usize,
    /// Most items in one array.
    pub max_array_size: usize,
    /// Most entries in one map.
    pub max_map_size: usize,
    /// Wall-clock budget per file.
    pub wall_time: Duration,
    /// Bytes the evaluation of one file may hold at once (its strings, arrays and maps, and
    /// what it declared); a file that needs more is an import error.
    pub max_memory: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operations: 5_000_000,
            max_call_levels: 32,
            max_string_size: 1 << 20,
            max_array_size: 100_000,
            max_map_size: 10_000,
            wall_time: Duration::from_secs(1),
            max_memory: 32 << 20,
        }
    }
}

/// The result of importing one DAG file.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedFile {
    /// Path relative to the DAGs folder, with `/` separators.
    pub file: String,
    /// SHA-256 of the file's text, in hex.
    pub hash: String,
    /// The DAGs that loaded without problems.
    pub dags: Vec<DagSpec>,
    /// Every problem found, sorted by line and column.
    pub errors: Vec<ImportError>,
}

/// The SHA-256 of a file's content, in hex.
pub fn hash_text(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Evaluates one file's text. Never panics, never hangs past `limits.wall_time` (plus a
/// little).
pub fn load_source(file: &str, source: &str, limits: &Limits) -> LoadedFile {
    load_with_positions(file, source, limits).0
}

/// [`load_source`], also returning where each loaded DAG was declared.
pub(crate) fn load_with_positions(
    file: &str,
    source: &str,
    limits: &Limits,
) -> (LoadedFile, Vec<(String, Pos)>) {
    let hash = hash_text(source.as_bytes());
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        evaluate_and_validate(file, source, limits)
    }));
    let (dags, mut errors, positions) = outcome.unwrap_or_else(|_| {
        tracing::error!(file, "internal error while loading a DAG file");
        let error = ImportError {
            file: file.to_string(),
            line: 1,
            column: 1,
            message: "Cambium hit an internal error while loading this file; please report it"
                .into(),
        };
        (Vec::new(), vec![error], Vec::new())
    });
    errors.sort_by_key(|e| (e.line, e.column));
    let loaded = LoadedFile {
        file: file.to_string(),
        hash,
        dags,
        errors,
    };
    (loaded, positions)
}

type Evaluated = (Vec<DagSpec>, Vec<ImportError>, Vec<(String, Pos)>);

fn evaluate_and_validate(file: &str, source: &str, limits: &Limits) -> Evaluated {
    let (declared, abort) = sandbox::evaluate(source, limits);
    let error = |pos: Pos, message: String| ImportError {
        file: file.to_string(),
        line: pos.line,
        column: pos.column,
        message,
    };
    let mut errors: Vec<ImportError> = declared
        .errors
        .iter()
        .map(|e| error(e.pos, e.message.clone()))
        .collect();
    if let Some(abort) = abort {
        errors.push(error(abort.pos, abort.message));
        return (Vec::new(), errors, Vec::new());
    }
    // An error not tied to one DAG makes every DAG of the file suspect.
    let file_level = declared.errors.iter().any(|e| e.dag.is_none());
    let src = SourceIndex::new(source);
    let mut dags = Vec::new();
    let mut positions = Vec::new();
    for (i, raw) in declared.dags.iter().enumerate() {
        let raw_error = declared.errors.iter().any(|e| e.dag == Some(i));
        match validate::validate_dag(raw, file, &src) {
            Ok(spec) if !raw_error && !file_level => {
                positions.push((spec.dag_id.clone(), raw.pos));
                dags.push(spec);
            }
            Ok(_) => {}
            Err(mut e) => errors.append(&mut e),
        }
    }
    (dags, errors, positions)
}
