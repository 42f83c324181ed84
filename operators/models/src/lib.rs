//! Cambium's trainable side, free of IO: feature transforms fitted on a train split and
//! applied the same way at serving time ([`transform`]), the built-in models on smartcore
//! ([`model`]), evaluation metrics matching scikit-learn ([`metrics`]), and the
//! [`Predictor`] that pairs a fitted transform with a model for the CLI and the HTTP
//! predict route.

pub mod metrics;
pub mod model;
pub mod predictor;
pub mod transform;

pub use metrics::{ClassProbabilities, MetricsError};
pub use model::{Model, ModelError, Prediction, Task, TrainedModel};
pub use predictor::{PredictError, Predictor};
pub use transform::{fit, FeatureMatrix, TransformError, TransformGraph, TransformSpec};
