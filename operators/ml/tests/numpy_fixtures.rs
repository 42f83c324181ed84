//! Statistics and drift distances agree with numpy and scipy to 1e-9 on the data sets in
//! `fixtures/numpy_fixtures.json`, which `fixtures/make_fixtures.py` generates (Python is
//! needed only to regenerate the fixture, not to run this test).

use cambium_ml::drift::histogram_jensen_shannon;
use cambium_ml::stats::feature_statistics;
use cambium_ml::{jensen_shannon, l_infinity, Column, FeatureStatistics, NumericStats, ValueCount};
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/numpy_fixtures.json");

fn fixture() -> Value {
    serde_json::from_str(FIXTURE).expect("fixture is valid JSON")
}

/// Equal to 1e-9 relative (1e-12 absolute near zero).
fn close(name: &str, got: f64, want: f64) {
    let tol = 1e-9 * want.abs() + 1e-12;
    assert!(
        (got - want).abs() <= tol,
        "{name}: got {got:e}, numpy/scipy say {want:e}"
    );
}

fn num(v: &Value) -> f64 {
    v.as_f64().expect("a number")
}

/// Floats are strings (exact repr), NaN is "nan", missing is null, ints are numbers.
fn float_of(v: &Value) -> f64 {
    v.as_str()
        .map(|s| {
            if s == "nan" {
                f64::NAN
            } else {
                s.parse().expect("a float string")
            }
        })
        .expect("a float string")
}

fn column(case: &Value) -> Column {
    let values = case["values"].as_array().expect("values");
    match case["type"].as_str() {
        Some("int") => Column::Int(values.iter().map(Value::as_i64).collect()),
        _ => Column::Float(
            values
                .iter()
                .map(|v| (!v.is_null()).then(|| float_of(v)))
                .collect(),
        ),
    }
}

fn numeric_case<'a>(fx: &'a Value, name: &str) -> &'a Value {
    fx["numeric"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == name))
        .expect("case exists")
}

fn stats_of(case: &Value) -> FeatureStatistics {
    let name = case["name"].as_str().expect("name");
    feature_statistics(name, &column(case))
}

fn numeric(f: &FeatureStatistics) -> &NumericStats {
    f.numeric.as_ref().expect("numeric stats")
}

#[test]
fn numeric_statistics_match_numpy() {
    let fx = fixture();
    let cases = fx["numeric"].as_array().expect("numeric cases");
    assert!(cases.len() >= 10);
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let e = &case["expected"];
        let f = stats_of(case);
        let n = numeric(&f);
        let field = |what: &str| format!("{name}.{what}");
        assert_eq!(f.count, e["count"].as_u64().expect("count"), "{name}");
        assert_eq!(f.missing, e["missing"].as_u64().expect("missing"), "{name}");
        assert_eq!(n.nan_count, e["nan_count"].as_u64().expect("nan"), "{name}");
        assert_eq!(n.zeros, e["zeros"].as_u64().expect("zeros"), "{name}");
        assert_eq!(
            n.distinct,
            e["distinct"].as_u64().expect("distinct"),
            "{name}"
        );
        close(&field("min"), n.min.expect("min"), num(&e["min"]));
        close(&field("max"), n.max.expect("max"), num(&e["max"]));
        close(&field("mean"), n.mean.expect("mean"), num(&e["mean"]));
        close(&field("std"), n.std.expect("std"), num(&e["std"]));
        let q = e["quantiles"].as_array().expect("quantiles");
        assert_eq!(n.quantiles.len(), q.len(), "{name}");
        for (i, (got, want)) in n.quantiles.iter().zip(q).enumerate() {
            close(&field(&format!("quantile[{i}]")), *got, num(want));
        }
        let counts: Vec<u64> = e["histogram_counts"]
            .as_array()
            .expect("counts")
            .iter()
            .map(|c| c.as_u64().expect("count"))
            .collect();
        assert_eq!(n.histogram.counts, counts, "{name} histogram counts");
        let edges = e["histogram_edges"].as_array().expect("edges");
        assert_eq!(n.histogram.edges.len(), edges.len(), "{name}");
        for (i, (got, want)) in n.histogram.edges.iter().zip(edges).enumerate() {
            close(&field(&format!("edge[{i}]")), *got, num(want));
        }
    }
}

#[test]
fn numeric_drift_matches_scipy_jensen_shannon() {
    let fx = fixture();
    let cases = fx["numeric_drift"].as_array().expect("drift cases");
    for case in cases {
        let (a, b) = (
            case["a"].as_str().expect("a"),
            case["b"].as_str().expect("b"),
        );
        let fa = stats_of(numeric_case(&fx, a));
        let fb = stats_of(numeric_case(&fx, b));
        let js = histogram_jensen_shannon(&numeric(&fa).histogram, &numeric(&fb).histogram);
        close(&format!("JS({a}, {b})"), js, num(&case["js"]));
    }
}

#[test]
fn jensen_shannon_of_vectors_matches_scipy() {
    let fx = fixture();
    for (i, case) in fx["js_vectors"]
        .as_array()
        .expect("vector cases")
        .iter()
        .enumerate()
    {
        let vec_of = |k: &str| -> Vec<f64> {
            case[k]
                .as_array()
                .expect("vector")
                .iter()
                .map(float_of)
                .collect()
        };
        let js = jensen_shannon(&vec_of("p"), &vec_of("q"));
        close(&format!("js_vectors[{i}]"), js, num(&case["js"]));
    }
}

#[test]
fn categorical_frequencies_and_l_infinity_match_python() {
    let fx = fixture();
    for (i, case) in fx["categorical"]
        .as_array()
        .expect("categorical cases")
        .iter()
        .enumerate()
    {
        let stats = |k: &str| {
            let values = case[k]
                .as_array()
                .expect("values")
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect();
            feature_statistics(k, &Column::Str(values))
                .categorical
                .expect("categorical stats")
        };
        let (a, b) = (stats("a"), stats("b"));
        for (side, got) in [("top_a", &a.top_values), ("top_b", &b.top_values)] {
            let want: Vec<ValueCount> = case[side]
                .as_array()
                .expect("top values")
                .iter()
                .map(|p| ValueCount {
                    value: p[0].as_str().expect("value").to_string(),
                    count: p[1].as_u64().expect("count"),
                })
                .collect();
            assert_eq!(got, &want, "categorical[{i}].{side}");
        }
        close(
            &format!("categorical[{i}] L-infinity"),
            l_infinity(&a.top_values, &b.top_values),
            num(&case["linf"]),
        );
    }
}
