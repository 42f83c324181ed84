//! The `transform` operator: fits the `features` spec on the train split of an example_gen
//! task, applies it to every split and saves the fitted graph, which `train` pairs with
//! the model so serving preprocesses raw rows exactly as training did.

use crate::artifacts::{
    input_of, new_artifact, of_kind, read_table, split, write_json, write_tables,
};
use crate::context::{fail, Call, OpError, Runtime};
use crate::record::Produced;
use cambium_data::Format;
use cambium_ml::{Column, Field, Table};
use cambium_models::{fit, TransformSpec};
use serde_json::{json, Map, Value};

/// `transform`.
pub async fn run(rt: &Runtime, call: &Call) -> Result<Produced, OpError> {
    let (task, refs) = input_of(call, "input")?;
    let examples = of_kind(&refs, &["Examples"], "input", &task)?;
    if let Some(t) = examples
        .iter()
        .find(|e| e.properties.get("transformed").and_then(Value::as_bool) == Some(true))
    {
        return Err(fail(format!(
            "option 'input' names task '{task}', whose examples ('{}') are already transformed; name the example_gen task",
            t.name
        )));
    }
    let train_ref = split(&examples, "train")?;
    let label = call.opt_str("label").filter(|s| !s.is_empty());
    let features = call.opt_map("features")?;
    let spec = TransformSpec::from_json(&features, label)
        .map_err(|e| fail(format!("option 'features' of task '{}': {e}", call.task_id)))?;
    let train = read_table(train_ref).await?;
    if let Some(l) = label {
        if train.column(l).is_none() {
            return Err(fail(format!(
                "option 'label': the train split of '{task}' has no column '{l}' (its columns: {})",
                train.names().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let graph = fit(&train, &spec).map_err(|e| {
        fail(format!(
            "fitting the transform on the train split of '{task}': {e}"
        ))
    })?;
    let names = graph.output_names();

    let mut outputs = Vec::new();
    let mut rows = Map::new();
    for raw in &examples {
        let split_name = raw.prop_str("split").unwrap_or(&raw.name).to_string();
        let table = if raw.id == train_ref.id {
            train.clone()
        } else {
            read_table(raw).await?
        };
        let x = graph.apply(&table).map_err(|e| {
            fail(format!(
                "applying the transform to the {split_name} split of '{task}': {e}"
            ))
        })?;
        let mut fields: Vec<Field> = names
            .iter()
            .enumerate()
            .map(|(j, name)| Field {
                name: name.clone(),
                data: Column::Float(
                    (0..x.rows)
                        .map(|i| Some(x.data[i * x.cols() + j]))
                        .collect(),
                ),
            })
            .collect();
        if let Some(l) = label {
            let col = table.column(l).ok_or_else(|| {
                fail(format!(
                    "the {split_name} split of '{task}' has no label column '{l}'"
                ))
            })?;
            fields.push(Field {
                name: l.to_string(),
                data: col.clone(),
            });
        }
        let out = Table::new(fields).map_err(|e| {
            fail(format!(
                "the transformed {split_name} split: {e} (a feature output has the label's name; rename one)"
            ))
        })?;
        let written = write_tables(rt, call, &split_name, Format::Parquet, &[&out]).await?;
        rows.insert(split_name.clone(), Value::from(written.rows));
        outputs.push(new_artifact(
            "Examples",
            &split_name,
            &written.uri,
            &written.fingerprint,
            json!({
                "split": split_name,
                "rows": written.rows,
                "format": "parquet",
                "transformed": true,
                "label": label,
                "source_uri": raw.uri,
                "source_id": raw.id,
                "source_format": raw.format().name(),
            }),
        ));
    }
    let (uri, print) = write_json(rt, call, "transform_graph.json", &graph).await?;
    outputs.push(new_artifact(
        "TransformGraph",
        "transform_graph",
        &uri,
        &print,
        json!({"features": names, "label": label, "inputs": graph.input_features().iter().map(|f| f.name.clone()).collect::<Vec<_>>()}),
    ));
    let mut result = Map::new();
    result.insert("features".into(), json!(names));
    result.insert("label".into(), json!(label));
    result.insert("rows".into(), Value::Object(rows));
    Ok(Produced {
        outputs,
        result,
        message: Some(format!(
            "fitted {} input feature(s) into {} output feature(s) on '{task}'",
            graph.input_features().len(),
            names.len()
        )),
        ..Produced::default()
    })
}
