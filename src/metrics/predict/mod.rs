//! Predictions (docs/metrics.md, "Churn prediction"): an L2-regularised logistic model on
//! documented features, validated on a rolling-origin time split beside simple baselines.

pub mod churn;
pub mod deal;
pub mod evaluate;
pub mod logistic;
pub mod snapshot;

use crate::day::Day;
use anyhow::Result;
use polars::prelude::*;

use crate::metrics::stats::round_to;
use logistic::Logistic;

/// The horizon and the backtest's cutoffs of a prediction.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Days after a cutoff in which the outcome is watched (churn: a purchase; deals: the
    /// training cutoff's distance before as_of).
    pub horizon: i32,
    /// Backtest cutoffs: as_of − horizon, then every `step` days earlier.
    pub cutoffs: usize,
    pub step: i32,
}

impl Options {
    /// The backtest's evaluation cutoffs, latest first.
    pub fn tests(&self, as_of: Day) -> Vec<Day> {
        (0..self.cutoffs)
            .map(|k| as_of - self.horizon - k as i32 * self.step)
            .collect()
    }
}

/// A stable fold of the training rows for choosing λ: a fifth of them by a hash of their ID
/// (FNV-1a), so reruns pick the same rows.
pub fn holdout(ids: &[String]) -> Vec<bool> {
    ids.iter().map(|id| fnv1a(id) % 5 == 0).collect()
}

/// FNV-1a of an ID: the stable hash that places a row in a fold, the same on every run and
/// machine.
pub fn fnv1a(id: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// The three features that raise a row's probability most (positive coefficient ×
/// standardised value, largest first; ties in feature order). An indicator (`source=ads`,
/// `stage=Proposal`) is named only when the row has it: "not from ads" is no driver.
pub fn drivers(model: &Logistic, names: &[String], row: &[f64]) -> Vec<String> {
    driver_indices(model, names, row)
        .into_iter()
        .map(|j| names[j].clone())
        .collect()
}

/// [`drivers`] as positions in `names`.
pub fn driver_indices(model: &Logistic, names: &[String], row: &[f64]) -> Vec<usize> {
    let parts = model.contributions(row);
    let mut order: Vec<usize> = (0..parts.len())
        .filter(|&j| parts[j] > 0.0 && !(names[j].contains('=') && row[j] == 0.0))
        .collect();
    order.sort_by(|&a, &b| parts[b].total_cmp(&parts[a]).then(a.cmp(&b)));
    order.truncate(3);
    order
}

/// feature, coefficient (on the standardised feature), mean, sd; the intercept first, then the
/// features in model order.
pub fn coefficients(m: &Logistic, features: &[String]) -> Result<DataFrame> {
    let mut names = vec!["(intercept)".to_string()];
    names.extend(features.iter().cloned());
    let mut coef = vec![round_to(m.intercept, 6)];
    coef.extend(m.coef.iter().map(|c| round_to(*c, 6)));
    let mut mean = vec![None];
    mean.extend(m.scale.mean.iter().map(|v| Some(round_to(*v, 6))));
    let mut sd = vec![None];
    sd.extend(m.scale.sd.iter().map(|v| Some(round_to(*v, 6))));
    Ok(DataFrame::new_infer_height(vec![
        Column::new("feature".into(), names),
        Column::new("coefficient".into(), coef),
        Column::new("mean".into(), mean),
        Column::new("sd".into(), sd),
    ])?)
}
