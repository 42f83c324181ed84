//! `cache: true` through real runs: a second run with the same rendered options and the same
//! input fingerprints reuses the first run's outputs (and records that it did); changed
//! options run again.

mod common;
use common::{task, Env};

#[test]
fn identical_inputs_and_options_reuse_the_earlier_outputs() {
    let env = Env::new();
    env.write_dag(
        "cached.rhai",
        r#"let d = dag("cached", #{ params: #{ batch: 1 } });
let seed = d.command("seed", #{ cmd: "\"$CAMBIUM_BIN\" examples wine-warehouse" });
let q = d.query("q", #{ conn: "warehouse", sql: "SELECT wine_id, alcohol, quality FROM wine_quality WHERE batch = CAST(? AS INTEGER)", binds: ["{{ params.batch }}"], to: "parquet", cache: true });
let s = d.statistics_gen("s", #{ input: q, cache: true });
seed >> q;
"#,
    );
    let first = env.json(&["dags", "test", "cached"], 0);
    assert!(
        task(&first, "q")["output"].get("cached_from").is_none(),
        "{first}"
    );
    let second = env.json(&["dags", "test", "cached"], 0);
    let q = &task(&second, "q")["output"];
    assert!(q["cached_from"].is_i64(), "the query is reused: {second}");
    assert_eq!(q["rows"], task(&first, "q")["output"]["rows"]);
    assert_eq!(
        q["artifacts"]["dataset"]["uri"],
        task(&first, "q")["output"]["artifacts"]["dataset"]["uri"]
    );
    assert!(
        task(&second, "s")["output"]["cached_from"].is_i64(),
        "{second}"
    );

    let third = env.json(&["dags", "test", "cached", "--conf", r#"{"batch": 2}"#], 0);
    assert!(
        task(&third, "q")["output"].get("cached_from").is_none(),
        "other binds run again: {third}"
    );
    assert_eq!(task(&third, "q")["output"]["rows"], 599);
}
