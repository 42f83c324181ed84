//! `cambium --help` as a newcomer reads it, through the real binary: every group names all
//! its subcommands, global options stand apart from a command's own, positionals and dates
//! say what they are and how to write them, and `completions` works. (The exhaustive walk of
//! every command and argument is the unit test in `src/cli.rs`.)

mod common;
use common::BIN;
use std::process::Command;

/// `cambium ARGS` with a clean environment; its stdout (exit 0 asserted).
fn help(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("CAMBIUM_HOME")
        .env_remove("CAMBIUM_DAGS_FOLDER")
        .env_remove("CAMBIUM_DATABASE_URL")
        .output()
        .expect("run cambium");
    assert_eq!(
        out.status.code(),
        Some(0),
        "cambium {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The names listed under "Commands:" in a help text.
fn listed_commands(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // Wrapped descriptions are indented further than the names.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// The section of a help text under `heading` (up to the next heading).
fn section<'a>(text: &'a str, heading: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|l| l.trim_end() != heading)
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .collect()
}

#[test]
fn every_group_names_every_subcommand_in_its_own_help_and_the_top_level() {
    let top = help(&["--help"]);
    let groups = listed_commands(&top);
    assert!(groups.len() >= 10, "{top}");
    let mut checked = 0;
    for group in &groups {
        let text = help(&[group, "--help"]);
        let subs = listed_commands(&text);
        if subs.is_empty() {
            continue;
        }
        checked += 1;
        let about = first_paragraph(&text);
        let top_line = entry(&top, group);
        for sub in &subs {
            assert!(
                about.contains(sub.as_str()),
                "`{group} --help` about omits {sub}: {about}"
            );
            assert!(
                top_line.contains(sub.as_str()),
                "`--help` line of {group} omits {sub}: {top_line}"
            );
        }
    }
    assert!(checked >= 8, "only {checked} groups");
    assert!(first_paragraph(&help(&["users", "--help"])).contains("delete"));
    assert!(first_paragraph(&help(&["models", "--help"])).contains("predict"));
}

/// The first paragraph of a help text (the about), lines joined.
fn first_paragraph(text: &str) -> String {
    text.lines()
        .take_while(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A command's entry in a "Commands:" list, wrapped lines joined.
fn entry(text: &str, name: &str) -> String {
    let mut lines = text
        .lines()
        .skip_while(|l| l.split_whitespace().next() != Some(name) || !l.starts_with("  "));
    let Some(first) = lines.next() else {
        return String::new();
    };
    let indent = |l: &str| l.len() - l.trim_start().len();
    let first_indent = indent(first);
    let mut out = first.to_string();
    for line in lines.take_while(|l| !l.trim().is_empty() && indent(l) > first_indent) {
        out.push(' ');
        out.push_str(line.trim());
    }
    out
}

#[test]
fn global_options_are_listed_apart_from_a_commands_own() {
    for args in [
        &["dags", "test", "--help"][..],
        &["tasks", "logs", "--help"],
        &["users", "create", "--help"],
    ] {
        let text = help(args);
        let own = section(&text, "Options:").join("\n");
        let global = section(&text, "Global options:").join("\n");
        for flag in ["--home", "--dags", "--database-url", "--output"] {
            assert!(
                global.contains(flag),
                "{args:?}: {flag} not under Global options:\n{text}"
            );
            assert!(
                !own.contains(flag),
                "{args:?}: {flag} among the own options:\n{text}"
            );
        }
    }
}

#[test]
fn positionals_and_dates_say_what_they_are_and_their_format() {
    let text = help(&["dags", "test", "--help"]);
    let args = section(&text, "Arguments:").join("\n");
    assert!(
        args.contains("<DAG_ID>") && args.contains("dag_id"),
        "{text}"
    );
    let own = section(&text, "Options:").join("\n");
    assert!(
        own.contains("--conf") && own.contains("JSON object"),
        "{text}"
    );
    assert!(
        own.contains("--logical-date") && own.contains("RFC 3339"),
        "{text}"
    );
    assert!(own.contains("YYYY-MM-DD"), "{text}");

    let text = help(&["dags", "backfill", "--help"]);
    let own = section(&text, "Options:").join("\n");
    for needle in ["--start", "--end", "RFC 3339", "YYYY-MM-DD", "logical date"] {
        assert!(own.contains(needle), "no {needle}:\n{text}");
    }

    // The short help puts each description on its argument's line.
    let text = help(&["tasks", "logs", "-h"]);
    let args = section(&text, "Arguments:");
    assert_eq!(
        args.iter()
            .filter(|l| l.trim_start().starts_with('<'))
            .count(),
        3,
        "{text}"
    );
    for line in args.iter().filter(|l| l.trim_start().starts_with('<')) {
        assert!(
            line.split_whitespace().count() > 1,
            "undescribed: {line}\n{text}"
        );
    }
}

#[test]
fn next_run_labels_are_explained() {
    let list = help(&["dags", "list", "--help"]);
    assert!(
        list.contains("RUN_AFTER") && list.contains("next_run"),
        "{list}"
    );
    let next = help(&["dags", "next-runs", "--help"]);
    assert!(
        next.contains("logical date") && next.contains("RUN_AFTER"),
        "{next}"
    );
}

#[test]
fn completions_are_documented_and_work() {
    let text = help(&["completions", "--help"]);
    assert!(text.contains("<SHELL>"), "{text}");
    for shell in ["bash", "zsh", "fish"] {
        assert!(text.contains(shell), "{text}");
        let script = help(&["completions", shell]);
        assert!(script.contains("cambium"), "{shell}");
        // The generated script knows every group.
        assert!(
            script.contains("backfill") && script.contains("predict"),
            "{shell}"
        );
    }
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/cli.md"))
        .expect("docs/cli.md");
    assert!(docs.contains("cambium completions bash"), "docs/cli.md");
}
