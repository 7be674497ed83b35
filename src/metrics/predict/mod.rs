//! Predictions (docs/metrics.md, "Churn prediction"): an L2-regularised logistic model on
//! documented features, validated on a rolling-origin time split beside simple baselines.

pub mod churn;
pub mod evaluate;
pub mod logistic;
