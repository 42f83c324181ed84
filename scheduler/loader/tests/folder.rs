//! `DagFolder` and `watch`: the content-hash cache, cross-file checks and change notices.

use cambium_loader::{watch, DagFolder, Limits};
use std::time::Duration;

fn dag_file(id: &str, task: &str) -> String {
    format!("let d = dag(\"{id}\");\nd.command(\"{task}\", #{{ cmd: \"true\" }});\n")
}

fn ids(folder: &DagFolder) -> Vec<String> {
    folder.dags().map(|d| d.dag_id.clone()).collect()
}

#[test]
fn refresh_picks_up_new_changed_and_deleted_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("team/ml")).expect("mkdir");
    std::fs::write(dir.path().join("a.rhai"), dag_file("a", "t")).expect("write");
    std::fs::write(dir.path().join("team/ml/b.rhai"), dag_file("b", "t")).expect("write");
    std::fs::write(dir.path().join("notes.txt"), "not a dag").expect("write");
    let mut folder = DagFolder::new(dir.path().to_path_buf(), Limits::default());

    let r = folder.refresh();
    let files: Vec<&str> = r.changed.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(files, ["a.rhai", "team/ml/b.rhai"]);
    assert!(r.removed.is_empty());
    assert_eq!(ids(&folder), ["a", "b"]);
    assert_eq!(folder.evaluations(), 2);
    assert_eq!(
        folder.dags().nth(1).map(|d| d.file.as_str()),
        Some("team/ml/b.rhai")
    );

    // Nothing changed: nothing is evaluated again.
    let r = folder.refresh();
    assert!(r.changed.is_empty() && r.removed.is_empty());
    assert_eq!(folder.evaluations(), 2);

    // A change, a new file with an error, a deletion.
    std::fs::write(dir.path().join("a.rhai"), dag_file("a", "renamed")).expect("write");
    std::fs::write(dir.path().join("c.rhai"), "let d = dag(\"c\"\n").expect("write");
    std::fs::remove_file(dir.path().join("team/ml/b.rhai")).expect("rm");
    let r = folder.refresh();
    let files: Vec<&str> = r.changed.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(files, ["a.rhai", "c.rhai"]);
    assert_eq!(r.removed, ["team/ml/b.rhai"]);
    assert_eq!(folder.evaluations(), 4);
    assert_eq!(
        folder.dags().next().map(|d| d.tasks[0].task_id.as_str()),
        Some("renamed")
    );
    let errors = folder.errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].file, "c.rhai");
    assert!(errors[0].line >= 1 && errors[0].column >= 1);
}

#[test]
fn seeded_files_are_not_evaluated_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.rhai"), dag_file("a", "t")).expect("write");
    let mut first = DagFolder::new(dir.path().to_path_buf(), Limits::default());
    first.refresh();
    let known: Vec<_> = first.files().cloned().collect();

    let mut second = DagFolder::new(dir.path().to_path_buf(), Limits::default());
    second.seed(known);
    let r = second.refresh();
    assert!(r.changed.is_empty(), "{r:?}");
    assert_eq!(second.evaluations(), 0);
    assert_eq!(ids(&second), ["a"]);
}

#[test]
fn duplicate_dag_id_across_files_is_an_error_in_the_later_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.rhai"), dag_file("same", "t")).expect("write");
    std::fs::write(
        dir.path().join("b.rhai"),
        format!("// b\n{}", dag_file("same", "u")),
    )
    .expect("write");
    let mut folder = DagFolder::new(dir.path().to_path_buf(), Limits::default());
    folder.refresh();
    assert_eq!(ids(&folder), ["same"]);
    assert_eq!(
        folder.dags().next().map(|d| d.file.as_str()),
        Some("a.rhai")
    );
    let errors = folder.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        (errors[0].file.as_str(), errors[0].line, errors[0].column),
        ("b.rhai", 2, 9)
    );
    assert!(
        errors[0]
            .message
            .contains("'same' is also declared in a.rhai"),
        "{}",
        errors[0]
    );

    // Removing the first file lets the second one's DAG load.
    std::fs::remove_file(dir.path().join("a.rhai")).expect("rm");
    let r = folder.refresh();
    assert_eq!(r.removed, ["a.rhai"]);
    assert_eq!(
        r.changed
            .iter()
            .map(|f| f.file.as_str())
            .collect::<Vec<_>>(),
        ["b.rhai"]
    );
    assert!(folder.errors().is_empty());
    assert_eq!(
        folder.dags().next().map(|d| d.file.as_str()),
        Some("b.rhai")
    );
}

#[test]
fn watch_notices_a_new_file_within_a_second() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_watcher, rx) = watch(dir.path()).expect("watch");
    std::fs::write(dir.path().join("new.rhai"), dag_file("n", "t")).expect("write");
    rx.recv_timeout(Duration::from_secs(1))
        .expect("a change notice within 1 s");
}
