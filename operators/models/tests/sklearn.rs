//! Compares our metrics and logistic regression with scikit-learn's, using the reference
//! values in `fixtures/sklearn.json` (written by `fixtures/make_fixtures.py`; no Python is
//! needed to run these tests).
#![allow(clippy::unwrap_used)] // a test: a panic is the failure report

use cambium_ml::table::{Column, Field, Table};
use cambium_models::metrics::{classification_metrics, regression_metrics, ClassProbabilities};
use cambium_models::{fit, Model, TransformSpec};
use serde_json::{Map, Value};

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/sklearn.json")).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_f64().unwrap())
        .collect()
}

fn assert_close(case: &str, got: &std::collections::BTreeMap<String, f64>, expected: &Value) {
    for (name, want) in expected.as_object().unwrap() {
        let want = want.as_f64().unwrap();
        let have = got[name];
        assert!(
            (have - want).abs() <= 1e-9,
            "{case} {name}: ours {have}, sklearn {want}"
        );
    }
}

#[test]
fn metrics_agree_with_sklearn() {
    let f = fixture();
    for case in f["classification"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let proba = ClassProbabilities {
            classes: strings(&case["classes"]),
            rows: case["proba"]
                .as_array()
                .unwrap()
                .iter()
                .map(floats)
                .collect(),
        };
        let got = classification_metrics(
            &strings(&case["y_true"]),
            &strings(&case["y_pred"]),
            Some(&proba),
        )
        .unwrap();
        assert_close(name, &got, &case["expected"]);
    }
    for case in f["regression"].as_array().unwrap() {
        let got = regression_metrics(&floats(&case["y_true"]), &floats(&case["y_pred"])).unwrap();
        assert_close(case["name"].as_str().unwrap(), &got, &case["expected"]);
    }
}

#[test]
fn logistic_regression_is_within_a_point_of_sklearn() {
    let f = fixture();
    for case in f["logistic"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let rows: Vec<Vec<f64>> = case["x"].as_array().unwrap().iter().map(floats).collect();
        let mut fields: Vec<Field> = strings(&case["features"])
            .into_iter()
            .enumerate()
            .map(|(j, n)| Field {
                name: n,
                data: Column::Float(rows.iter().map(|r| Some(r[j])).collect()),
            })
            .collect();
        fields.push(Field {
            name: "label".into(),
            data: Column::Int(
                case["y"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(Value::as_i64)
                    .collect(),
            ),
        });
        let table = Table::new(fields).unwrap();
        let idx = |k: &str| -> Vec<usize> {
            case[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect()
        };
        let (train, test) = (table.take(&idx("train")), table.take(&idx("test")));
        let features: Map<String, Value> = serde_json::from_str(r#"{"*": "standardize"}"#).unwrap();
        let spec = TransformSpec::from_json(&features, Some("label")).unwrap();
        let graph = fit(&train, &spec).unwrap();
        let model = Model::train(
            "logistic_regression",
            None,
            &Map::new(),
            &graph.apply(&train).unwrap(),
            train.column("label").unwrap(),
        )
        .unwrap();
        let ours = model
            .evaluate(&graph.apply(&test).unwrap(), test.column("label").unwrap())
            .unwrap()["accuracy"];
        let theirs = case["sklearn_accuracy"].as_f64().unwrap();
        println!("{name}: ours {ours:.4}, sklearn {theirs:.4}");
        assert!(
            (ours - theirs).abs() <= 0.01,
            "{name}: ours {ours}, sklearn {theirs}"
        );
    }
}
