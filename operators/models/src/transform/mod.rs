//! Feature preprocessing: a [`TransformSpec`] (what the DAG asks for) is fitted on the train
//! split into a [`TransformGraph`] (the learned means, vocabularies, boundaries…), which is
//! saved as JSON and applied identically to every split and at serving time, producing a
//! numeric [`FeatureMatrix`].

mod graph;
mod matrix;
mod spec;

pub use graph::{fit, FittedFeature, FittedFill, FittedOp, InputFeature, TransformGraph};
pub use matrix::FeatureMatrix;
pub use spec::{FeatureSpec, Fill, TransformKind, TransformSpec, KINDS};

/// Errors parsing, fitting or applying a transform. Each names the feature (and the row, a
/// 0-based index, for value errors) and says what to change. None is worth retrying.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TransformError {
    /// The `features` option is invalid; one problem per line.
    #[error("invalid `features`:\n{0}")]
    Spec(String),
    /// A feature the transform needs is not a column of the data.
    #[error("feature '{0}' is not in the data: add the column or `drop` the feature")]
    MissingFeature(String),
    /// A missing value was left after the transform's fill.
    #[error(
        "feature '{feature}', row {row}: the value is missing; give the feature a `fill` \
         (a number, \"mean\", \"median\" or \"most_frequent\") or clean the data"
    )]
    MissingValue { feature: String, row: usize },
    /// A float value is NaN.
    #[error(
        "feature '{feature}', row {row}: the value is NaN; clean the data or treat it as missing"
    )]
    NotANumber { feature: String, row: usize },
    /// A string was found where the feature's transform needs a number.
    #[error(
        "feature '{feature}', row {row}: found the string {value:?} but {kind} needs numbers; \
         use one_hot or vocabulary for string features"
    )]
    StringValue {
        feature: String,
        row: usize,
        value: String,
        kind: &'static str,
    },
    /// A string column was given a numeric transform (or none).
    #[error(
        "feature '{feature}' is a string column and {kind} needs numbers: pick `one_hot` or \
         `vocabulary` for it (or `drop` it)"
    )]
    StringFeature { feature: String, kind: &'static str },
    /// `log` of a value `<= -1`.
    #[error(
        "feature '{feature}', row {row}: log needs values > -1 (ln(1+x)), found {value}; \
         use another transform or shift the data"
    )]
    LogDomain {
        feature: String,
        row: usize,
        value: f64,
    },
    /// The train split has no usable values for a statistic the transform needs.
    #[error("feature '{feature}': {kind} needs at least one non-missing value in the train split")]
    NoTrainValues { feature: String, kind: &'static str },
    /// A fill that doesn't fit the column's type.
    #[error("feature '{feature}': {message}")]
    Fill { feature: String, message: String },
    /// A feature matrix that doesn't hold what it claims.
    #[error("feature matrix: {0}")]
    Matrix(String),
}

#[cfg(test)]
mod tests;
