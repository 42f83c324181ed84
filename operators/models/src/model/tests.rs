use cambium_ml::table::Column;
use serde_json::{json, Map, Value};

use super::*;

fn map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

/// Two well-separated blobs in two features, labelled "no"/"yes".
fn blobs() -> (FeatureMatrix, Column) {
    let mut data = Vec::new();
    let mut y = Vec::new();
    for i in 0..40 {
        let t = i as f64 / 10.0;
        let (cx, label) = if i % 2 == 0 {
            (-2.0, "no")
        } else {
            (2.0, "yes")
        };
        data.extend([cx + (t * 7.0).sin() * 0.5, (t * 3.0).cos()]);
        y.push(Some(label.to_string()));
    }
    let x = FeatureMatrix::new(vec!["a".into(), "b".into()], 40, data).unwrap();
    (x, Column::Str(y))
}

fn labels(p: &[Prediction]) -> Vec<String> {
    p.iter()
        .map(|p| match p {
            Prediction::Class { label, .. } => label.clone(),
            Prediction::Value(v) => v.to_string(),
        })
        .collect()
}

#[test]
fn every_classifier_separates_blobs_and_keeps_string_labels() {
    let (x, y) = blobs();
    for alg in ["logistic_regression", "decision_tree", "random_forest"] {
        let m = Model::train(
            alg,
            None,
            &map(json!({"n_trees": 5}))
                .into_iter()
                .filter(|_| alg == "random_forest")
                .collect(),
            &x,
            &y,
        )
        .unwrap();
        assert_eq!(m.task(), Task::Classification);
        assert_eq!(m.classes(), ["no", "yes"]);
        let p = m.predict(&x).unwrap();
        let Column::Str(truth) = &y else {
            unreachable!()
        };
        let truth: Vec<String> = truth.iter().flatten().cloned().collect();
        assert_eq!(labels(&p), truth, "{alg}");
        let Prediction::Class { probabilities, .. } = &p[0] else {
            panic!()
        };
        assert!((probabilities.values().sum::<f64>() - 1.0).abs() < 1e-12);
        let metrics = m.evaluate(&x, &y).unwrap();
        assert_eq!(metrics["accuracy"], 1.0, "{alg}");
        assert!(metrics.contains_key("roc_auc"));
    }
}

#[test]
fn multiclass_logistic_regression_and_forest() {
    let mut data = Vec::new();
    let mut y = Vec::new();
    for i in 0..60 {
        let c = i % 3;
        let j = (i / 3) as f64 * 0.05;
        data.extend([c as f64 * 3.0 + j, -(c as f64) + j]);
        y.push(Some(c as i64 * 10));
    }
    let x = FeatureMatrix::new(vec!["a".into(), "b".into()], 60, data).unwrap();
    let y = Column::Int(y);
    for alg in ["logistic_regression", "random_forest"] {
        let m = Model::train(alg, None, &Map::new(), &x, &y).unwrap();
        // numeric classes sort numerically
        assert_eq!(m.classes(), ["0", "10", "20"]);
        assert_eq!(m.evaluate(&x, &y).unwrap()["accuracy"], 1.0, "{alg}");
    }
}

#[test]
fn regressions_fit_a_line() {
    let xs: Vec<f64> = (0..30).map(|i| i as f64 / 3.0).collect();
    let y = Column::Float(xs.iter().map(|v| Some(3.0 * v - 2.0)).collect());
    let x = FeatureMatrix::new(vec!["v".into()], 30, xs.clone()).unwrap();
    let m = Model::train("linear_regression", None, &Map::new(), &x, &y).unwrap();
    let Estimator::Linear(c) = m.estimator() else {
        panic!()
    };
    assert!((c.weights[0][0] - 3.0).abs() < 1e-9 && (c.intercepts[0] + 2.0).abs() < 1e-9);
    // ridge with a tiny penalty is nearly OLS, with its intercept
    let m = Model::train("ridge", None, &map(json!({"alpha": "0.001"})), &x, &y).unwrap();
    let Estimator::Linear(c) = m.estimator() else {
        panic!()
    };
    assert!((c.weights[0][0] - 3.0).abs() < 1e-3 && (c.intercepts[0] + 2.0).abs() < 1e-2);
    for alg in ["decision_tree", "random_forest"] {
        let m = Model::train(alg, Some(Task::Regression), &Map::new(), &x, &y).unwrap();
        let r2 = m.evaluate(&x, &y).unwrap()["r2"];
        assert!(r2 > 0.95, "{alg}: {r2}");
    }
}

#[test]
fn fixed_seed_is_deterministic_and_models_round_trip() {
    let (x, y) = blobs();
    let hp = map(json!({"n_trees": 7, "seed": "3", "max_depth": 4}));
    let a = Model::train("random_forest", None, &hp, &x, &y).unwrap();
    let b = Model::train("random_forest", None, &hp, &x, &y).unwrap();
    assert_eq!(a.to_json().unwrap(), b.to_json().unwrap());
    for alg in ["random_forest", "logistic_regression", "decision_tree"] {
        let m = Model::train(alg, None, &Map::new(), &x, &y).unwrap();
        let back = TrainedModel::from_bytes(&m.to_bytes().unwrap()).unwrap();
        assert_eq!(back.predict(&x).unwrap(), m.predict(&x).unwrap());
        assert_eq!(back.hyperparameters(), m.hyperparameters());
    }
}

#[test]
fn errors_are_clear() {
    let (x, y) = blobs();
    let err = Model::train("svm", None, &Map::new(), &x, &y).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown algorithm 'svm'; valid ones: decision_tree, linear_regression, logistic_regression, random_forest, ridge"
    );
    let err = Model::train(
        "logistic_regression",
        None,
        &map(json!({"n_trees": 3})),
        &x,
        &y,
    )
    .unwrap_err();
    assert!(err.to_string().contains("valid ones: alpha"));
    let err = Model::train("linear_regression", None, &Map::new(), &x, &y).unwrap_err();
    assert!(matches!(err, ModelError::WrongTask { .. }));
    let one = Column::Str(vec![Some("a".into()); 40]);
    assert!(Model::train("decision_tree", None, &Map::new(), &x, &one)
        .unwrap_err()
        .to_string()
        .contains("at least two classes"));

    let m = Model::train("logistic_regression", None, &Map::new(), &x, &y).unwrap();
    let other = FeatureMatrix::new(vec!["b".into(), "a".into()], 0, vec![]).unwrap();
    assert!(matches!(
        m.predict(&other),
        Err(ModelError::Features { .. })
    ));
    for bad in [
        &b"\x00\x01"[..],
        b"{\"a\": 1}",
        b"{\"format\": \"cambium-model/1\"}",
        b"[1, 2",
    ] {
        let err = TrainedModel::from_bytes(bad).unwrap_err();
        assert!(matches!(err, ModelError::Load(_)), "{err}");
    }
    // a model file whose coefficients don't match its features
    let mut v: Value = serde_json::from_str(&m.to_json().unwrap()).unwrap();
    v["feature_names"] = json!(["a"]);
    let err = TrainedModel::from_json(&v.to_string()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("not a usable Cambium model file: the coefficients"),
        "{err}"
    );
}

#[test]
fn task_inference() {
    assert_eq!(
        Task::infer(&Column::Bool(vec![Some(true)])),
        Task::Classification
    );
    assert_eq!(
        Task::infer(&Column::Int((0..20).map(Some).collect())),
        Task::Classification
    );
    assert_eq!(
        Task::infer(&Column::Int((0..21).map(Some).collect())),
        Task::Regression
    );
    assert_eq!(
        Task::infer(&Column::Float(vec![Some(1.0)])),
        Task::Regression
    );
}
