//! One module per operator family; `run` dispatches an invocation to its operator.

mod branch;
mod data;
mod deploy;
mod email;
mod evaluate;
mod quality;
mod sensors;
mod train;
mod transform;
mod tune;

use crate::context::{fail, Call, OpError, Runtime};
use crate::record::Produced;

/// Runs the operator the call names.
pub async fn run(rt: &Runtime, call: &Call) -> Result<Produced, OpError> {
    match call.operator.as_str() {
        "query" => data::query(rt, call).await,
        "export" => data::export(rt, call).await,
        "example_gen" => data::example_gen(rt, call).await,
        "statistics_gen" => quality::statistics_gen(rt, call).await,
        "schema_gen" => quality::schema_gen(rt, call).await,
        "example_validator" => quality::example_validator(rt, call).await,
        "transform" => transform::run(rt, call).await,
        "train" => train::run(rt, call).await,
        "tune_trial" => tune::trial(rt, call).await,
        "tune" => tune::collect(rt, call).await,
        "evaluate" => evaluate::run(rt, call).await,
        "deploy" => deploy::run(rt, call).await,
        "branch" => branch::run(call),
        "email" => email::run(rt, call).await,
        "wait_for_query" => sensors::wait_for_query(rt, call).await,
        "wait_for_object" => sensors::wait_for_object(rt, call).await,
        other => Err(fail(format!(
            "operator '{other}' cannot run in this version of Cambium"
        ))),
    }
}
