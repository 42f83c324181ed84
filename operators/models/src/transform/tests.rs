use cambium_ml::table::{Column, Field, Table};
use serde_json::{json, Value};

use super::*;

fn table(cols: Vec<(&str, Column)>) -> Table {
    Table::new(
        cols.into_iter()
            .map(|(n, data)| Field {
                name: n.to_string(),
                data,
            })
            .collect(),
    )
    .unwrap()
}

fn spec(v: Value, label: Option<&str>) -> TransformSpec {
    let Value::Object(map) = v else {
        panic!("not an object")
    };
    TransformSpec::from_json(&map, label).unwrap()
}

fn s(v: &[Option<&str>]) -> Column {
    Column::Str(v.iter().map(|x| x.map(str::to_string)).collect())
}

fn train() -> Table {
    table(vec![
        (
            "x",
            Column::Float(vec![Some(1.0), Some(2.0), Some(3.0), Some(4.0)]),
        ),
        ("n", Column::Int(vec![Some(0), Some(10), None, Some(20)])),
        ("c", s(&[Some("b"), Some("a"), Some("b"), Some("c")])),
        ("y", Column::Int(vec![Some(0), Some(1), Some(0), Some(1)])),
    ])
}

#[test]
fn standardize_min_max_one_hot_and_label_left_out() {
    let sp = spec(
        json!({"x": "standardize", "n": {"kind": "min_max", "fill": "mean"}, "c": "one_hot"}),
        Some("y"),
    );
    let g = fit(&train(), &sp).unwrap();
    assert_eq!(g.output_names(), vec!["x", "n", "c=a", "c=b", "c=c"]);
    let m = g.apply(&train()).unwrap();
    let std = (1.25f64).sqrt();
    assert!((m.row(0)[0] - (1.0 - 2.5) / std).abs() < 1e-12);
    // n: min 0, max 20; the missing row is filled with the mean 10 → 0.5
    assert_eq!(m.column("n").unwrap(), vec![0.0, 0.5, 0.5, 1.0]);
    assert_eq!(m.row(0)[2..], [0.0, 1.0, 0.0]);
    // unknown category → all zeros
    let serve = table(vec![
        ("x", Column::Float(vec![Some(2.5)])),
        ("n", Column::Int(vec![Some(30)])),
        ("c", s(&[Some("zzz")])),
    ]);
    let m = g.apply(&serve).unwrap();
    assert_eq!(m.data, vec![0.0, 1.5, 0.0, 0.0, 0.0]);
}

#[test]
fn vocabulary_orders_by_frequency_then_value_and_oov_is_size() {
    let g = fit(
        &train(),
        &spec(json!({"c": "vocabulary", "*": "drop"}), Some("y")),
    )
    .unwrap();
    let serve = table(vec![(
        "c",
        s(&[Some("b"), Some("a"), Some("c"), Some("q")]),
    )]);
    assert_eq!(g.apply(&serve).unwrap().data, vec![0.0, 1.0, 2.0, 3.0]);
    let g = fit(
        &train(),
        &spec(
            json!({"c": {"kind": "vocabulary", "top_k": 1}, "*": "drop"}),
            None,
        ),
    )
    .unwrap();
    assert_eq!(g.apply(&serve).unwrap().data, vec![0.0, 1.0, 1.0, 1.0]);
}

#[test]
fn bucketize_by_quantiles_or_given_boundaries() {
    let g = fit(
        &train(),
        &spec(
            json!({"x": {"kind": "bucketize", "num_buckets": 2}, "*": "drop"}),
            None,
        ),
    )
    .unwrap();
    assert_eq!(
        g.features[0].op,
        FittedOp::Bucketize {
            boundaries: vec![2.5]
        }
    );
    assert_eq!(g.apply(&train()).unwrap().data, vec![0.0, 0.0, 1.0, 1.0]);
    let g = fit(
        &train(),
        &spec(
            json!({"x": {"kind": "bucketize", "boundaries": [2, 3]}, "*": "drop"}),
            None,
        ),
    )
    .unwrap();
    assert_eq!(g.apply(&train()).unwrap().data, vec![0.0, 1.0, 2.0, 2.0]);
}

#[test]
fn log_fill_missing_and_passthrough() {
    let sp = spec(
        json!({"x": "log", "n": {"kind": "fill_missing", "strategy": "median"}, "*": "drop"}),
        None,
    );
    let g = fit(&train(), &sp).unwrap();
    let m = g.apply(&train()).unwrap();
    assert_eq!(m.column("n").unwrap(), vec![0.0, 10.0, 10.0, 20.0]);
    assert!((m.row(0)[0] - 2f64.ln()).abs() < 1e-15);
    let bad = table(vec![
        ("x", Column::Float(vec![Some(0.0), Some(-1.0)])),
        ("n", Column::Int(vec![Some(1), Some(1)])),
    ]);
    let err = g.apply(&bad).unwrap_err().to_string();
    assert!(
        err.starts_with("feature 'x', row 1: log needs values > -1"),
        "{err}"
    );
}

#[test]
fn errors_name_the_feature_and_row() {
    // a string column with the default passthrough
    let err = fit(&train(), &spec(json!({}), Some("y"))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "feature 'c' is a string column and passthrough needs numbers: pick `one_hot` or \
         `vocabulary` for it (or `drop` it)"
    );
    let g = fit(&train(), &spec(json!({"c": "drop"}), Some("y"))).unwrap();
    // a missing value left after the transform
    let err = g.apply(&train()).unwrap_err();
    assert_eq!(
        err,
        TransformError::MissingValue {
            feature: "n".into(),
            row: 2
        }
    );
    // an absent feature
    let t = table(vec![("x", Column::Float(vec![Some(1.0)]))]);
    assert_eq!(
        g.apply(&t).unwrap_err().to_string(),
        "feature 'n' is not in the data: add the column or `drop` the feature"
    );
    // NaN and a string in a numeric transform
    let t = table(vec![
        ("x", Column::Float(vec![Some(1.0), Some(f64::NAN)])),
        ("n", Column::Int(vec![Some(1), Some(1)])),
    ]);
    assert_eq!(
        g.apply(&t).unwrap_err(),
        TransformError::NotANumber {
            feature: "x".into(),
            row: 1
        }
    );
    let t = table(vec![
        ("x", Column::Float(vec![Some(1.0)])),
        ("n", s(&[Some("ten")])),
    ]);
    assert!(g
        .apply(&t)
        .unwrap_err()
        .to_string()
        .starts_with("feature 'n', row 0: found the string \"ten\" but passthrough needs numbers"));
    // a spec naming a feature the data doesn't have
    let err = fit(&train(), &spec(json!({"zz": "log"}), None)).unwrap_err();
    assert_eq!(err, TransformError::MissingFeature("zz".into()));
}

#[test]
fn fill_on_string_columns() {
    let t = table(vec![("c", s(&[Some("a"), None, Some("b"), Some("b")]))]);
    let g = fit(
        &t,
        &spec(
            json!({"c": {"kind": "one_hot", "fill": "most_frequent"}}),
            None,
        ),
    )
    .unwrap();
    assert_eq!(
        g.apply(&t).unwrap().column("c=b").unwrap(),
        vec![0.0, 1.0, 1.0, 1.0]
    );
    let err = fit(
        &t,
        &spec(json!({"c": {"kind": "one_hot", "fill": "mean"}}), None),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("needs a numeric column"), "{err}");
    let g = fit(
        &t,
        &spec(
            json!({"c": {"kind": "fill_missing", "value": "zz"}, "*": "drop"}),
            None,
        ),
    );
    assert!(matches!(g, Err(TransformError::StringFeature { .. })));
}

#[test]
fn constant_columns_and_json_round_trip() {
    let t = table(vec![("k", Column::Int(vec![Some(3), Some(3)]))]);
    let g = fit(&t, &spec(json!({"k": "standardize"}), None)).unwrap();
    assert_eq!(g.apply(&t).unwrap().data, vec![0.0, 0.0]);
    let g = fit(&t, &spec(json!({"k": "min_max"}), None)).unwrap();
    assert_eq!(g.apply(&t).unwrap().data, vec![0.0, 0.0]);

    let sp = spec(
        json!({"x": "standardize", "n": {"kind": "bucketize", "fill": 5}, "c": "one_hot"}),
        Some("y"),
    );
    let g = fit(&train(), &sp).unwrap();
    let text = serde_json::to_string(&g).unwrap();
    let back: TransformGraph = serde_json::from_str(&text).unwrap();
    assert_eq!(back, g);
    assert_eq!(back.apply(&train()).unwrap(), g.apply(&train()).unwrap());
    let inputs: Vec<&str> = g.input_features().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(inputs, vec!["x", "n", "c"]);
}
