//! Where things live under the Cambium home folder.

use std::path::{Path, PathBuf};

/// The home folder layout: `cambium.toml`, `cambium.db`, `logs/`, `tries/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Home { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The embedded database's default URL.
    pub fn default_database_url(&self) -> String {
        format!("sqlite://{}", self.root.join("cambium.db").display())
    }

    /// `tries/`: every try's folder is under it.
    pub fn tries_root(&self) -> PathBuf {
        self.root.join("tries")
    }

    /// `logs/<dag>/<run>/<task>/<try>.log`
    pub fn log_path(&self, dag_id: &str, run_id: &str, task_id: &str, try_number: u32) -> PathBuf {
        self.root
            .join("logs")
            .join(safe(dag_id))
            .join(safe(run_id))
            .join(safe(task_id))
            .join(format!("{try_number}.log"))
    }

    /// `tries/<dag>/<run>/<task>/<try>/`: the try's spec, pid, result and protocol files.
    pub fn try_dir(&self, dag_id: &str, run_id: &str, task_id: &str, try_number: u32) -> PathBuf {
        self.root
            .join("tries")
            .join(safe(dag_id))
            .join(safe(run_id))
            .join(safe(task_id))
            .join(try_number.to_string())
    }
}

/// Makes an id safe as one path component (ids are already restricted; run ids may hold
/// `:` and `+`, which are fine on Unix, but never `/` or `..`).
fn safe(id: &str) -> String {
    let cleaned: String = id
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c == '\0' {
                '_'
            } else {
                c
            }
        })
        .collect();
    if cleaned == "." || cleaned == ".." || cleaned.is_empty() {
        format!("_{cleaned}")
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_home() {
        let h = Home::new("/h");
        assert_eq!(
            h.log_path("d", "manual__2026-11-22T09:00:00+00:00", "t", 2),
            PathBuf::from("/h/logs/d/manual__2026-11-22T09:00:00+00:00/t/2.log")
        );
        assert_eq!(
            h.try_dir("d", "../x", "..", 1),
            PathBuf::from("/h/tries/d/.._x/_../1")
        );
    }
}
