//! Serving: a fitted [`TransformGraph`] and a [`TrainedModel`] together, so requests are
//! preprocessed exactly as the training data was. Both `cambium models predict` and the
//! HTTP predict route call [`Predictor::predict_rows`].

use std::collections::BTreeMap;

use cambium_ml::table::{Column, ColumnType, Field, Table, TableError};
use serde_json::{Map, Value};

use crate::model::{ModelError, Prediction, TrainedModel};
use crate::transform::{TransformError, TransformGraph};

/// Errors turning requests into predictions. Each names the row (0-based) and feature where
/// one is at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PredictError {
    /// A request value of the wrong type.
    #[error("row {row}, feature '{feature}': expected {expected}, found {found}")]
    Value {
        row: usize,
        feature: String,
        expected: ColumnType,
        found: String,
    },
    /// The transform and the model weren't trained together.
    #[error(
        "the transform produces features [{transform}] but the model expects [{model}]; \
         pair the model with the transform it was trained on"
    )]
    Mismatch { transform: String, model: String },
    /// The label column needed for evaluation.
    #[error("evaluation needs the label: {0}")]
    Label(String),
    #[error(transparent)]
    Transform(#[from] TransformError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Table(#[from] TableError),
}

/// A transform plus the model trained on its output.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictor {
    /// The fitted preprocessing.
    pub transform: TransformGraph,
    /// The model.
    pub model: TrainedModel,
}

impl Predictor {
    /// Pairs them, checking the transform's outputs are the model's features.
    pub fn new(transform: TransformGraph, model: TrainedModel) -> Result<Predictor, PredictError> {
        let outputs = transform.output_names();
        if outputs != model.feature_names() {
            return Err(PredictError::Mismatch {
                transform: outputs.join(", "),
                model: model.feature_names().join(", "),
            });
        }
        Ok(Predictor { transform, model })
    }

    /// Predictions for every row of `table` (extra columns, the label included, are ignored).
    pub fn table_predict(&self, table: &Table) -> Result<Vec<Prediction>, PredictError> {
        let x = self.transform.apply(table)?;
        Ok(self.model.predict(&x)?)
    }

    /// The model's metrics on `table`, which must hold the transform's label column.
    pub fn evaluate(&self, table: &Table) -> Result<BTreeMap<String, f64>, PredictError> {
        let label = self.transform.label.as_deref().ok_or_else(|| {
            PredictError::Label("the transform was fitted without a label".into())
        })?;
        let y = table
            .column(label)
            .ok_or_else(|| PredictError::Label(format!("column '{label}' is not in the data")))?;
        let x = self.transform.apply(table)?;
        Ok(self.model.evaluate(&x, y)?)
    }

    /// Converts JSON rows to a table of the transform's input features, typed as in the
    /// train split. A field that is absent or `null` is a missing value; fields the
    /// transform doesn't read are ignored. Ints accept integral numbers (`3.0`); floats any
    /// number.
    pub fn rows_to_table(&self, rows: &[Map<String, Value>]) -> Result<Table, PredictError> {
        let mut fields = Vec::new();
        for input in self.transform.input_features() {
            let name = &input.name;
            let bad = |row: usize, v: &Value| PredictError::Value {
                row,
                feature: name.clone(),
                expected: input.column_type,
                found: v.to_string(),
            };
            let values = rows.iter().map(|r| r.get(name).filter(|v| !v.is_null()));
            let data = match input.column_type {
                ColumnType::Int => Column::Int(
                    values
                        .enumerate()
                        .map(|(i, v)| v.map(|v| as_int(v).ok_or_else(|| bad(i, v))).transpose())
                        .collect::<Result<_, _>>()?,
                ),
                ColumnType::Float => Column::Float(
                    values
                        .enumerate()
                        .map(|(i, v)| v.map(|v| v.as_f64().ok_or_else(|| bad(i, v))).transpose())
                        .collect::<Result<_, _>>()?,
                ),
                ColumnType::Bool => Column::Bool(
                    values
                        .enumerate()
                        .map(|(i, v)| v.map(|v| v.as_bool().ok_or_else(|| bad(i, v))).transpose())
                        .collect::<Result<_, _>>()?,
                ),
                ColumnType::Str => Column::Str(
                    values
                        .enumerate()
                        .map(|(i, v)| {
                            v.map(|v| v.as_str().map(str::to_string).ok_or_else(|| bad(i, v)))
                                .transpose()
                        })
                        .collect::<Result<_, _>>()?,
                ),
            };
            fields.push(Field {
                name: name.clone(),
                data,
            });
        }
        if fields.is_empty() {
            // no inputs: still one (empty) row per request
            return Ok(Table::new(vec![Field {
                name: String::new(),
                data: Column::Int(vec![None; rows.len()]),
            }])?);
        }
        Ok(Table::new(fields)?)
    }

    /// Predicts each JSON row: `{"prediction": <label or number>}`, plus
    /// `"probabilities": {"<class>": p, ...}` for classifiers. Labels print with the type of
    /// the training label (`1`, `true` or `"cat"`).
    pub fn predict_rows(&self, rows: &[Map<String, Value>]) -> Result<Vec<Value>, PredictError> {
        let table = self.rows_to_table(rows)?;
        let predictions = self.table_predict(&table)?;
        Ok(predictions.into_iter().map(|p| self.to_json(p)).collect())
    }

    fn to_json(&self, p: Prediction) -> Value {
        let mut out = Map::new();
        match p {
            Prediction::Value(v) => {
                out.insert("prediction".into(), number(v));
            }
            Prediction::Class {
                label,
                probabilities,
            } => {
                out.insert("prediction".into(), self.label_json(label));
                let probs: Map<String, Value> = probabilities
                    .into_iter()
                    .map(|(c, p)| (c, number(p)))
                    .collect();
                out.insert("probabilities".into(), Value::Object(probs));
            }
        }
        Value::Object(out)
    }

    /// A class label as JSON of the training label's type.
    fn label_json(&self, label: String) -> Value {
        match self.model.label_type() {
            ColumnType::Int => label.parse::<i64>().map(Value::from).ok(),
            ColumnType::Float => label.parse::<f64>().ok().map(number),
            ColumnType::Bool => label.parse::<bool>().map(Value::from).ok(),
            ColumnType::Str => None,
        }
        .unwrap_or(Value::String(label))
    }
}

fn as_int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|x| x.fract() == 0.0 && x.abs() < 9.0e15)
            .map(|x| x as i64)
    })
}

fn number(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::Model;
    use crate::transform::{fit, TransformSpec};

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    fn train() -> Table {
        let n = 40;
        Table::new(vec![
            Field {
                name: "size".into(),
                data: Column::Float((0..n).map(|i| Some(i as f64)).collect()),
            },
            Field {
                name: "color".into(),
                data: Column::Str(
                    (0..n)
                        .map(|i| Some(if i % 2 == 0 { "red" } else { "blue" }.to_string()))
                        .collect(),
                ),
            },
            Field {
                name: "label".into(),
                data: Column::Int((0..n).map(|i| Some(i64::from(i >= 20))).collect()),
            },
        ])
        .unwrap()
    }

    fn predictor() -> Predictor {
        let spec = TransformSpec::from_json(
            &obj(json!({"size": {"kind": "standardize", "fill": "mean"}, "color": "one_hot"})),
            Some("label"),
        )
        .unwrap();
        let t = train();
        let g = fit(&t, &spec).unwrap();
        let m = Model::train(
            "logistic_regression",
            None,
            &Map::new(),
            &g.apply(&t).unwrap(),
            t.column("label").unwrap(),
        )
        .unwrap();
        Predictor::new(g, m).unwrap()
    }

    #[test]
    fn json_rows_predict_with_the_label_type_and_probabilities() {
        let p = predictor();
        let out = p
            .predict_rows(&[
                obj(json!({"size": 2, "color": "red", "extra": [1]})),
                obj(json!({"size": 38.5, "color": "green"})),
                obj(json!({"color": "blue"})),
            ])
            .unwrap();
        assert_eq!(out[0]["prediction"], json!(0));
        assert_eq!(out[1]["prediction"], json!(1));
        let probs = out[0]["probabilities"].as_object().unwrap();
        let total: f64 = probs.values().map(|v| v.as_f64().unwrap()).sum();
        assert!((total - 1.0).abs() < 1e-12);
        assert!(probs.contains_key("0") && probs.contains_key("1"));
        // a missing size was filled with the train mean, 19.5: right at the boundary
        assert!(out[2]["probabilities"]["1"].as_f64().unwrap() > 0.2);
        let metrics = p.evaluate(&train()).unwrap();
        assert_eq!(metrics["accuracy"], 1.0);
    }

    #[test]
    fn wrong_types_name_the_row_and_feature() {
        let p = predictor();
        let err = p
            .predict_rows(&[
                obj(json!({"size": 1, "color": "red"})),
                obj(json!({"size": 1, "color": 7})),
            ])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "row 1, feature 'color': expected string, found 7"
        );
        let err = p
            .predict_rows(&[obj(json!({"size": "big", "color": "red"}))])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "row 0, feature 'size': expected float, found \"big\""
        );
        let err = p.predict_rows(&[obj(json!({"size": 1}))]).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("feature 'color', row 0: the value is missing"));
    }

    #[test]
    fn a_model_from_another_transform_is_refused() {
        let p = predictor();
        let spec = TransformSpec::from_json(&obj(json!({"color": "drop"})), Some("label")).unwrap();
        let other = fit(&train(), &spec).unwrap();
        let err = Predictor::new(other, p.model).unwrap_err();
        assert!(matches!(err, PredictError::Mismatch { .. }));
    }
}
