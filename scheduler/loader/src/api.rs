//! The Rhai API a DAG file sees: `dag(id, opts)`, one method per registered operator
//! (`d.command(id, opts)`), `d.task(id, "operator", opts)`, `d.chain([...])`, the `>>`
//! operator and `t.after(...)` for dependencies, and `on_object(...)` / `on_asset(...)`.
//! Calls only record what the file declares (with the position of each call) into
//! [`Declarations`]; validation happens afterwards, in `validate`.

use crate::source::Pos;
use rhai::{Array, Dynamic, Engine, ImmutableString, Map, NativeCallContext};
use serde_json::Value;
use std::sync::{Arc, Mutex, MutexGuard};

/// Everything a file declared while it was evaluated.
#[derive(Debug, Default)]
pub struct Declarations {
    pub dags: Vec<RawDag>,
    /// Problems found while evaluating, each with the index of the DAG it concerns.
    pub errors: Vec<RawError>,
}

/// A problem noticed while a file was evaluated.
#[derive(Debug, Clone)]
pub struct RawError {
    pub dag: Option<usize>,
    pub pos: Pos,
    pub message: String,
}

/// A `dag(id, opts)` call.
#[derive(Debug)]
pub struct RawDag {
    pub id: String,
    pub pos: Pos,
    pub opts: Vec<(String, Value)>,
    pub tasks: Vec<RawTask>,
    pub edges: Vec<RawEdge>,
}

/// A task declared on a DAG.
#[derive(Debug)]
pub struct RawTask {
    pub id: String,
    pub operator: String,
    pub pos: Pos,
    pub opts: Vec<(String, Value)>,
}

/// A dependency `up >> down` between two tasks of one DAG (indexes into `RawDag::tasks`).
#[derive(Debug, Clone, Copy)]
pub struct RawEdge {
    pub up: usize,
    pub down: usize,
    pub pos: Pos,
}

/// The DAG object a file gets back from `dag(...)`.
#[derive(Debug, Clone)]
pub struct DagHandle {
    dag: usize,
}

/// A task object returned by `d.command(...)` and the other operator methods.
#[derive(Debug, Clone)]
pub struct TaskHandle {
    dag: usize,
    task: usize,
}

/// The shared, per-evaluation record the registered functions write into.
pub type Shared = Arc<Mutex<Declarations>>;

fn lock(state: &Shared) -> MutexGuard<'_, Declarations> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Converts an options map into JSON values, recording an error for values that are not
/// plain data (a task handle, a function pointer, ...).
fn to_json(
    opts: Map,
    what: &str,
    dag: Option<usize>,
    pos: Pos,
    errors: &mut Vec<RawError>,
    decl: &Declarations,
) -> Vec<(String, Value)> {
    let mut out = Vec::with_capacity(opts.len());
    for (key, value) in opts {
        let value = handles_to_ids(value, decl);
        match rhai::serde::from_dynamic::<Value>(&value) {
            Ok(v) => out.push((key.to_string(), v)),
            Err(_) => errors.push(RawError {
                dag,
                pos,
                message: format!(
                    "option '{key}' of {what} is a {}, which cannot be stored; use strings, numbers, booleans, arrays and maps",
                    value.type_name()
                ),
            }),
        }
    }
    out
}

/// Replaces task handles (in maps and arrays too) by their task ids, so `input: split` names
/// the upstream task `split`. A handle of another DAG is kept, and so rejected by `to_json`.
fn handles_to_ids(value: Dynamic, decl: &Declarations) -> Dynamic {
    if let Some(handle) = value.clone().try_cast::<TaskHandle>() {
        return match decl
            .dags
            .get(handle.dag)
            .and_then(|d| d.tasks.get(handle.task))
        {
            Some(task) => Dynamic::from(task.id.clone()),
            None => value,
        };
    }
    if value.is_map() {
        if let Some(map) = value.clone().try_cast::<Map>() {
            let out: Map = map
                .into_iter()
                .map(|(k, v)| (k, handles_to_ids(v, decl)))
                .collect();
            return Dynamic::from_map(out);
        }
    }
    if value.is_array() {
        if let Some(items) = value.clone().try_cast::<Array>() {
            let out: Array = items.into_iter().map(|v| handles_to_ids(v, decl)).collect();
            return Dynamic::from_array(out);
        }
    }
    value
}

fn declare_dag(state: &Shared, ctx: &NativeCallContext, id: &str, opts: Map) -> DagHandle {
    let pos = Pos::from_rhai(ctx.call_position());
    let mut st = lock(state);
    let index = st.dags.len();
    let mut errors = Vec::new();
    let opts = to_json(
        opts,
        &format!("DAG '{id}'"),
        Some(index),
        pos,
        &mut errors,
        &st,
    );
    if let Some(prev) = st.dags.iter().find(|d| d.id == id) {
        errors.push(RawError {
            dag: Some(index),
            pos,
            message: format!(
                "DAG id '{id}' is already declared in this file at line {}; give each DAG its own id",
                prev.pos.line
            ),
        });
    }
    st.errors.extend(errors);
    st.dags.push(RawDag {
        id: id.to_string(),
        pos,
        opts,
        tasks: Vec::new(),
        edges: Vec::new(),
    });
    DagHandle { dag: index }
}

fn declare_task(
    state: &Shared,
    ctx: &NativeCallContext,
    d: &DagHandle,
    id: &str,
    operator: &str,
    opts: Map,
) -> TaskHandle {
    let pos = Pos::from_rhai(ctx.call_position());
    let mut st = lock(state);
    let mut errors = Vec::new();
    let opts = to_json(
        opts,
        &format!("task '{id}'"),
        Some(d.dag),
        pos,
        &mut errors,
        &st,
    );
    st.errors.extend(errors);
    let Some(dag) = st.dags.get_mut(d.dag) else {
        return TaskHandle {
            dag: d.dag,
            task: 0,
        };
    };
    if let Some(existing) = dag.tasks.iter().position(|t| t.id == id) {
        let (line, dag_id) = (dag.tasks[existing].pos.line, dag.id.clone());
        st.errors.push(RawError {
            dag: Some(d.dag),
            pos,
            message: format!(
                "task id '{id}' is already used in DAG '{dag_id}' (line {line}); task ids must be unique within a DAG"
            ),
        });
        return TaskHandle {
            dag: d.dag,
            task: existing,
        };
    }
    dag.tasks.push(RawTask {
        id: id.to_string(),
        operator: operator.to_string(),
        pos,
        opts,
    });
    TaskHandle {
        dag: d.dag,
        task: dag.tasks.len() - 1,
    }
}

fn add_edge(state: &Shared, ctx: &NativeCallContext, up: &TaskHandle, down: &TaskHandle) {
    let pos = Pos::from_rhai(ctx.call_position());
    let mut st = lock(state);
    if up.dag != down.dag {
        let name = |st: &Declarations, t: &TaskHandle| {
            let dag = st.dags.get(t.dag);
            let task = dag
                .and_then(|d| d.tasks.get(t.task))
                .map_or("?", |t| t.id.as_str());
            (
                task.to_string(),
                dag.map_or("?", |d| d.id.as_str()).to_string(),
            )
        };
        let (ut, ud) = name(&st, up);
        let (dt, dd) = name(&st, down);
        st.errors.push(RawError {
            dag: Some(down.dag),
            pos,
            message: format!(
                "task '{ut}' of DAG '{ud}' cannot be upstream of task '{dt}' of DAG '{dd}'; dependencies only link tasks of the same DAG"
            ),
        });
        return;
    }
    if let Some(dag) = st.dags.get_mut(up.dag) {
        dag.edges.push(RawEdge {
            up: up.task,
            down: down.task,
            pos,
        });
    }
}

/// The task handles in `items`; anything else is recorded as an error.
fn tasks_of(
    state: &Shared,
    ctx: &NativeCallContext,
    items: &Array,
    what: &str,
    dag: Option<usize>,
) -> Vec<TaskHandle> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item.clone().try_cast::<TaskHandle>() {
            Some(t) => out.push(t),
            None => lock(state).errors.push(RawError {
                dag,
                pos: Pos::from_rhai(ctx.call_position()),
                message: format!(
                    "{what} takes tasks, but item {} of the array is a {}; use the values returned by d.command(...) and the other operator methods",
                    i + 1,
                    item.type_name()
                ),
            }),
        }
    }
    out
}

/// Registers the DAG-file API on `engine`, recording into `state`.
pub fn register(engine: &mut Engine, state: &Shared) {
    engine.register_type_with_name::<DagHandle>("Dag");
    engine.register_type_with_name::<TaskHandle>("Task");

    let s = state.clone();
    engine.register_fn(
        "dag",
        move |ctx: NativeCallContext, id: ImmutableString, opts: Map| {
            declare_dag(&s, &ctx, &id, opts)
        },
    );
    let s = state.clone();
    engine.register_fn("dag", move |ctx: NativeCallContext, id: ImmutableString| {
        declare_dag(&s, &ctx, &id, Map::new())
    });

    for op in cambium_operators::registry::operators() {
        let name = op.name;
        let s = state.clone();
        engine.register_fn(
            name,
            move |ctx: NativeCallContext, d: &mut DagHandle, id: ImmutableString, opts: Map| {
                declare_task(&s, &ctx, d, &id, name, opts)
            },
        );
        let s = state.clone();
        engine.register_fn(
            name,
            move |ctx: NativeCallContext, d: &mut DagHandle, id: ImmutableString| {
                declare_task(&s, &ctx, d, &id, name, Map::new())
            },
        );
    }

    let s = state.clone();
    engine.register_fn(
        "task",
        move |ctx: NativeCallContext,
              d: &mut DagHandle,
              id: ImmutableString,
              operator: ImmutableString,
              opts: Map| declare_task(&s, &ctx, d, &id, &operator, opts),
    );
    let s = state.clone();
    engine.register_fn(
        "task",
        move |ctx: NativeCallContext,
              d: &mut DagHandle,
              id: ImmutableString,
              operator: ImmutableString| {
            declare_task(&s, &ctx, d, &id, &operator, Map::new())
        },
    );

    let s = state.clone();
    engine.register_fn(
        "chain",
        move |ctx: NativeCallContext, d: &mut DagHandle, items: Array| {
            let tasks = tasks_of(&s, &ctx, &items, "d.chain([...])", Some(d.dag));
            for pair in tasks.windows(2) {
                add_edge(&s, &ctx, &pair[0], &pair[1]);
            }
        },
    );

    let s = state.clone();
    engine.register_fn(
        ">>",
        move |ctx: NativeCallContext, a: TaskHandle, b: TaskHandle| {
            add_edge(&s, &ctx, &a, &b);
            b
        },
    );
    let s = state.clone();
    engine.register_fn(
        ">>",
        move |ctx: NativeCallContext, a: TaskHandle, b: Array| {
            for t in tasks_of(&s, &ctx, &b, "task >> [...]", Some(a.dag)) {
                add_edge(&s, &ctx, &a, &t);
            }
            b
        },
    );
    let s = state.clone();
    engine.register_fn(
        ">>",
        move |ctx: NativeCallContext, a: Array, b: TaskHandle| {
            for t in tasks_of(&s, &ctx, &a, "[...] >> task", Some(b.dag)) {
                add_edge(&s, &ctx, &t, &b);
            }
            b
        },
    );
    let s = state.clone();
    engine.register_fn(
        "after",
        move |ctx: NativeCallContext, b: &mut TaskHandle, a: TaskHandle| {
            add_edge(&s, &ctx, &a, b);
            b.clone()
        },
    );
    let s = state.clone();
    engine.register_fn(
        "after",
        move |ctx: NativeCallContext, b: &mut TaskHandle, a: Array| {
            for t in tasks_of(&s, &ctx, &a, "t.after([...])", Some(b.dag)) {
                add_edge(&s, &ctx, &t, b);
            }
            b.clone()
        },
    );

    let s = state.clone();
    engine.register_get("id", move |t: &mut TaskHandle| -> ImmutableString {
        let st = lock(&s);
        let id = st.dags.get(t.dag).and_then(|d| d.tasks.get(t.task));
        id.map_or_else(ImmutableString::new, |t| t.id.as_str().into())
    });
    let s = state.clone();
    engine.register_get("id", move |d: &mut DagHandle| -> ImmutableString {
        let st = lock(&s);
        st.dags
            .get(d.dag)
            .map_or_else(ImmutableString::new, |d| d.id.as_str().into())
    });

    engine.register_fn(
        "on_object",
        |store: ImmutableString, prefix: ImmutableString, opts: Map| on_object(store, prefix, opts),
    );
    engine.register_fn(
        "on_object",
        |store: ImmutableString, prefix: ImmutableString| on_object(store, prefix, Map::new()),
    );
    engine.register_fn("on_asset", |name: ImmutableString| -> Map {
        let mut m = Map::new();
        m.insert("type".into(), Dynamic::from("asset"));
        m.insert("name".into(), Dynamic::from(name));
        m
    });
}

fn on_object(store: ImmutableString, prefix: ImmutableString, opts: Map) -> Map {
    let mut m = Map::new();
    m.insert("type".into(), Dynamic::from("object"));
    m.insert("store".into(), Dynamic::from(store));
    m.insert("prefix".into(), Dynamic::from(prefix));
    m.insert("options".into(), Dynamic::from_map(opts));
    m
}
