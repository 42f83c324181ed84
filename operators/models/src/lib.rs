//! Cambium's trainable side, free of IO: feature transforms fitted on a train split and
//! applied the same way at serving time, the built-in models (on smartcore), evaluation
//! metrics, and the [`Predictor`](predictor) that pairs a transform with a model.

pub mod transform;

pub use transform::{fit, FeatureMatrix, TransformError, TransformGraph, TransformSpec};
