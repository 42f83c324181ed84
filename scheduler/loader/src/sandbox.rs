//! The sandbox a DAG file runs in: a Rhai engine without clock, file, network or module
//! access, with `print`/`debug` swallowed, bounded by [`Limits`] (operations, call depth,
//! sizes and a wall-clock budget). Also turns Rhai's errors into messages that say what to
//! change.

use crate::api::{self, Declarations, Shared};
use crate::source::Pos;
use crate::Limits;
use rhai::packages::{
    BasicArrayPackage, BasicMapPackage, BasicMathPackage, BitFieldPackage, CorePackage,
    LogicPackage, MoreStringPackage, Package,
};
use rhai::{Dynamic, Engine, EvalAltResult, ParseError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

rhai::def_package! {
    /// The language features a DAG file may use: Rhai's standard library without time, blobs
    /// or anything else that reaches outside the script.
    DagFilePackage(_lib):
        CorePackage,
        BitFieldPackage,
        LogicPackage,
        BasicMathPackage,
        BasicArrayPackage,
        BasicMapPackage,
        MoreStringPackage
    {}
}

/// The package, built once and shared by every engine.
fn library() -> &'static DagFilePackage {
    static LIB: OnceLock<DagFilePackage> = OnceLock::new();
    LIB.get_or_init(DagFilePackage::new)
}

/// The token of an evaluation stopped for holding more than `Limits::max_memory`.
const OUT_OF_MEMORY: &str = "cambium: out of memory";

/// A problem that stopped the evaluation of a file, with its position.
pub struct Abort {
    pub pos: Pos,
    pub message: String,
}

/// Evaluates `source` in a fresh sandboxed engine and returns what it declared, plus the
/// error that stopped it, if any.
pub fn evaluate(source: &str, limits: &Limits) -> (Declarations, Option<Abort>) {
    let state: Shared = Arc::new(Mutex::new(Declarations::default()));
    let metering = crate::meter::Metering::start();
    let engine = build_engine(&state, limits);
    let outcome = match engine.compile(source) {
        Err(e) => Some(parse_abort(e)),
        Ok(ast) => engine.run_ast(&ast).err().map(|e| eval_abort(*e, limits)),
    };
    drop(engine);
    drop(metering);
    let declarations = match Arc::try_unwrap(state) {
        Ok(m) => m.into_inner().unwrap_or_else(|p| p.into_inner()),
        Err(shared) => std::mem::take(&mut *shared.lock().unwrap_or_else(|p| p.into_inner())),
    };
    (declarations, outcome)
}

fn build_engine(state: &Shared, limits: &Limits) -> Engine {
    let mut engine = Engine::new_raw();
    library().register_into_engine(&mut engine);
    engine.set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new());
    engine.on_print(|_| {});
    engine.on_debug(|_, _, _| {});
    engine.set_strict_variables(true);
    engine.set_max_operations(limits.max_operations);
    engine.set_max_call_levels(limits.max_call_levels);
    engine.set_max_expr_depths(64, 32);
    engine.set_max_string_size(limits.max_string_size);
    engine.set_max_array_size(limits.max_array_size);
    engine.set_max_map_size(limits.max_map_size);
    let deadline = Instant::now() + limits.wall_time;
    let max_memory = limits.max_memory;
    // Checked at every operation: one operation allocates at most about what the script
    // already holds (a copy of a map, say), so memory stays within twice the limit.
    engine.on_progress(move |ops| {
        if crate::meter::held() > max_memory {
            Some(Dynamic::from(OUT_OF_MEMORY.to_string()))
        } else if ops % 512 == 0 && Instant::now() > deadline {
            Some(Dynamic::UNIT)
        } else {
            None
        }
    });
    api::register(&mut engine, state);
    engine
}

fn parse_abort(e: ParseError) -> Abort {
    let pos = Pos::from_rhai(e.position());
    let mut message = format!("syntax error: {}", e.err_type());
    if message.contains("'default' is a reserved keyword") {
        // Rhai reserves `default`; a param declaration needs the key.
        message.push_str(
            "; a param declaration writes it quoted: #{ \"default\": 3, type: \"integer\" }",
        );
    }
    Abort { pos, message }
}

fn eval_abort(mut e: EvalAltResult, limits: &Limits) -> Abort {
    // Errors inside a script function carry the call site; report the innermost problem.
    while let EvalAltResult::ErrorInFunctionCall(_, _, inner, _) = e {
        e = *inner;
    }
    let pos = Pos::from_rhai(e.take_position());
    let message = match &e {
        EvalAltResult::ErrorTerminated(token, ..)
            if token.clone().into_string().is_ok_and(|t| t == OUT_OF_MEMORY) =>
        {
            format!(
                "evaluating this file needed more than {} MiB of memory (the limit for one DAG file); a DAG file should only declare DAGs (is something growing in a loop?)",
                limits.max_memory >> 20
            )
        }
        EvalAltResult::ErrorTerminated(..) => format!(
            "evaluating this file took longer than {:?}; a DAG file should only declare DAGs (is there an endless loop?)",
            limits.wall_time
        ),
        EvalAltResult::ErrorTooManyOperations(..) => format!(
            "evaluating this file needed more than {} operations; a DAG file should only declare DAGs (is there an endless loop?)",
            limits.max_operations
        ),
        EvalAltResult::ErrorStackOverflow(..) => format!(
            "functions call each other more than {} levels deep; is there an endless recursion?",
            limits.max_call_levels
        ),
        EvalAltResult::ErrorDataTooLarge(what, ..) => format!(
            "{what} grew beyond the limit for DAG files (strings {} bytes, arrays {} items, maps {} entries)",
            limits.max_string_size, limits.max_array_size, limits.max_map_size
        ),
        EvalAltResult::ErrorTooManyModules(..) => {
            "DAG files cannot import modules; put everything in the file".to_string()
        }
        EvalAltResult::ErrorModuleNotFound(name, ..) => {
            format!("DAG files cannot import modules ('{name}'); put everything in the file")
        }
        EvalAltResult::ErrorFunctionNotFound(signature, ..) => function_not_found(signature),
        EvalAltResult::ErrorRuntime(value, ..) => format!("the file threw an error: {value}"),
        other => other.to_string(),
    };
    Abort { pos, message }
}

/// Rewrites Rhai's "function not found" for the DAG-file API: an unknown method on a DAG
/// object is an unknown operator, with the nearest one suggested.
fn function_not_found(signature: &str) -> String {
    use cambium_operators::registry::{closest, operators};
    let (name, args) = match signature.split_once(" (") {
        Some((n, rest)) => (n.trim(), rest.trim_end_matches(')')),
        None => (signature.trim(), ""),
    };
    let first = args.split(", ").next().unwrap_or("");
    let ops = || operators().map(|o| o.name);
    let is_operator = ops().any(|o| o == name);
    match (first, name) {
        ("Dag", "task") => "d.task(...) takes a task id, an operator name and an options map: d.task(\"id\", \"command\", #{ ... })".into(),
        ("Dag", "chain") => "d.chain(...) takes an array of tasks: d.chain([a, b, c])".into(),
        ("Dag", _) if is_operator => format!(
            "d.{name}(...) takes a task id and an options map: d.{name}(\"id\", #{{ ... }})"
        ),
        ("Dag", _) => {
            let known: Vec<&str> = ops().chain(["task", "chain"]).collect();
            match closest(name, ops().chain(["task", "chain"])) {
                Some(s) => format!("unknown operator '{name}' (did you mean '{s}'?)"),
                None => format!(
                    "unknown operator '{name}'; DAG objects have the methods: {}",
                    known.join(", ")
                ),
            }
        }
        ("Task", "after") => "t.after(...) takes a task or an array of tasks".into(),
        ("Task", _) if name == ">>" => format!(
            "'>>' links tasks: a >> b, a >> [b, c] or [a, b] >> c; here the right side is {}",
            args.split(", ").nth(1).unwrap_or("something else")
        ),
        ("Task", _) => match closest(name, ["after", "id"]) {
            Some(s) => format!("tasks have no method '{name}' (did you mean '{s}'?)"),
            None => format!("tasks have no method '{name}'; use a >> b or b.after(a) for dependencies"),
        },
        (_, ">>") => "'>>' links tasks: a >> b, a >> [b, c] or [a, b] >> c".into(),
        (_, "dag") => "dag(...) takes a DAG id and an options map: dag(\"id\", #{ schedule: \"@daily\", ... })".into(),
        _ if is_operator => format!(
            "{name}(...) is a method of a DAG object: let d = dag(\"id\", #{{}}); d.{name}(\"task_id\", #{{ ... }})"
        ),
        _ => format!("unknown function: {signature}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_unknown_operator() {
        assert_eq!(
            function_not_found("comand (Dag, &str | ImmutableString | String, Map)"),
            "unknown operator 'comand' (did you mean 'command'?)"
        );
        assert!(function_not_found("zzzzzz (Dag)").contains("methods: command, query, export"));
        assert!(function_not_found("command (Dag, i64, Map)").contains("d.command(\"id\""));
        assert!(function_not_found("aftr (Task, Task)").contains("did you mean 'after'"));
        assert!(function_not_found("foo (i64)").starts_with("unknown function"));
    }
}
