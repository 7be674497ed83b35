//! How good a probability is (docs/metrics.md, "Churn prediction", "Backtest"): AUC, Brier score,
//! log loss, lift and capture in the top 10 %, and a calibration table by decile; and the
//! backtest tables of `predict churn` and `predict deal`.

use anyhow::Result;
use polars::prelude::*;

use crate::day::iso;
use crate::metrics::stats::round_to;

/// The scores of one model on one evaluation set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    pub auc: Option<f64>,
    pub brier: f64,
    pub log_loss: f64,
    pub lift_top10: Option<f64>,
    pub capture_top10: Option<f64>,
}

/// AUC: the chance that a random positive is scored above a random negative, ties counting half
/// (the Mann–Whitney statistic over average ranks). None without both outcomes.
pub fn auc(p: &[f64], y: &[bool]) -> Option<f64> {
    let positives = y.iter().filter(|v| **v).count() as f64;
    let negatives = y.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    // Average ranks (1-based) over runs of equal scores.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && p[order[j + 1]] == p[order[i]] {
            j += 1;
        }
        let average = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += order[i..=j].iter().filter(|&&k| y[k]).count() as f64 * average;
        i = j + 1;
    }
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

/// The rows in order of falling probability, ties by row (a stated, stable order).
fn ranked(p: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
    order
}

pub fn scores(p: &[f64], y: &[bool]) -> Scores {
    let n = y.len().max(1) as f64;
    let truth = |i: usize| f64::from(u8::from(y[i]));
    let brier = (0..y.len()).map(|i| (p[i] - truth(i)).powi(2)).sum::<f64>() / n;
    let log_loss = (0..y.len())
        .map(|i| {
            let q = p[i].clamp(1e-15, 1.0 - 1e-15);
            if y[i] {
                -q.ln()
            } else {
                -(1.0 - q).ln()
            }
        })
        .sum::<f64>()
        / n;
    // Top 10 %: the ceil(n / 10) highest probabilities.
    let positives = y.iter().filter(|v| **v).count() as f64;
    let top = y.len().div_ceil(10);
    let (lift_top10, capture_top10) = if positives > 0.0 && top > 0 {
        let hits = ranked(p)[..top].iter().filter(|&&i| y[i]).count() as f64;
        let rate = hits / top as f64;
        (Some(rate / (positives / n)), Some(hits / positives))
    } else {
        (None, None)
    };
    Scores {
        auc: auc(p, y),
        brier,
        log_loss,
        lift_top10,
        capture_top10,
    }
}

/// One decile of the calibration table: rows ranked by probability, highest first, cut into ten
/// groups of (nearly) equal size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decile {
    pub decile: usize,
    pub rows: usize,
    pub mean_probability: f64,
    pub observed_rate: f64,
}

pub fn calibration(p: &[f64], y: &[bool]) -> Vec<Decile> {
    let order = ranked(p);
    let n = order.len();
    (0..10)
        .filter_map(|d| {
            let (from, to) = (d * n / 10, (d + 1) * n / 10);
            let rows = &order[from..to];
            (!rows.is_empty()).then(|| Decile {
                decile: d + 1,
                rows: rows.len(),
                mean_probability: rows.iter().map(|&i| p[i]).sum::<f64>() / rows.len() as f64,
                observed_rate: rows.iter().filter(|&&i| y[i]).count() as f64 / rows.len() as f64,
            })
        })
        .collect()
}

/// One model's scores at one backtest cutoff, with its calibration.
pub struct Evaluation {
    pub model: &'static str,
    pub cutoff: i32,
    /// Customers or deals scored, and the share of them with the outcome.
    pub rows: usize,
    pub positive_rate: f64,
    pub scores: Scores,
    pub calibration: Vec<Decile>,
}

impl Evaluation {
    pub fn of(model: &'static str, cutoff: i32, p: &[f64], y: &[bool]) -> Evaluation {
        Evaluation {
            model,
            cutoff,
            rows: y.len(),
            positive_rate: y.iter().filter(|v| **v).count() as f64 / y.len().max(1) as f64,
            scores: scores(p, y),
            calibration: calibration(p, y),
        }
    }
}

/// model, cutoff, ROWS, RATE, auc, brier, log_loss, lift_top10, capture_top10 (`names`: what
/// the rows are and what their rate is, e.g. customers and churn_rate).
pub fn backtest_table(rows: &[Evaluation], names: (&str, &str)) -> Result<DataFrame> {
    let r = |v: f64| round_to(v, 4);
    let opt = |f: &dyn Fn(&Scores) -> Option<f64>| -> Vec<Option<f64>> {
        rows.iter().map(|e| f(&e.scores).map(r)).collect()
    };
    Ok(DataFrame::new_infer_height(vec![
        Column::new(
            "model".into(),
            rows.iter().map(|e| e.model).collect::<Vec<_>>(),
        ),
        Column::new(
            "cutoff".into(),
            rows.iter().map(|e| iso(e.cutoff)).collect::<Vec<_>>(),
        ),
        Column::new(
            names.0.into(),
            rows.iter().map(|e| e.rows as u64).collect::<Vec<_>>(),
        ),
        Column::new(
            names.1.into(),
            rows.iter().map(|e| r(e.positive_rate)).collect::<Vec<_>>(),
        ),
        Column::new("auc".into(), opt(&|s| s.auc)),
        Column::new("brier".into(), opt(&|s| Some(s.brier))),
        Column::new("log_loss".into(), opt(&|s| Some(s.log_loss))),
        Column::new("lift_top10".into(), opt(&|s| s.lift_top10)),
        Column::new("capture_top10".into(), opt(&|s| s.capture_top10)),
    ])?)
}

/// model, cutoff, decile, rows (named `names.0`), mean_probability, observed_rate.
pub fn calibration_table(rows: &[Evaluation], names: (&str, &str)) -> Result<DataFrame> {
    let mut model = Vec::new();
    let mut cutoff = Vec::new();
    let mut decile = Vec::new();
    let mut count = Vec::new();
    let mut mean = Vec::new();
    let mut observed = Vec::new();
    for e in rows {
        for d in &e.calibration {
            model.push(e.model);
            cutoff.push(iso(e.cutoff));
            decile.push(d.decile as u64);
            count.push(d.rows as u64);
            mean.push(round_to(d.mean_probability, 4));
            observed.push(round_to(d.observed_rate, 4));
        }
    }
    Ok(DataFrame::new_infer_height(vec![
        Column::new("model".into(), model),
        Column::new("cutoff".into(), cutoff),
        Column::new("decile".into(), decile),
        Column::new(names.0.into(), count),
        Column::new("mean_probability".into(), mean),
        Column::new("observed_rate".into(), observed),
    ])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_ordered_pairs_and_ties_half() {
        // Positives 0.9, 0.4; negatives 0.4, 0.1: pairs (0.9>0.4, 0.9>0.1, 0.4=0.4, 0.4>0.1)
        // = 3.5 of 4.
        let p = [0.9, 0.4, 0.4, 0.1];
        let y = [true, true, false, false];
        assert_eq!(auc(&p, &y), Some(0.875));
        assert_eq!(auc(&p, &[true; 4]), None);
    }

    #[test]
    fn brier_log_loss_lift_and_calibration_by_hand() {
        // 20 rows: the top two (p 0.9) are positive, then 0.1 for all; 4 positives in all.
        let mut p = vec![0.9, 0.9];
        p.extend(vec![0.1; 18]);
        let mut y = vec![true, true];
        y.extend((0..18).map(|i| i < 2));
        let s = scores(&p, &y);
        // Brier: 2 × 0.01 + 2 × 0.81 + 16 × 0.01 = 1.8, / 20.
        assert!((s.brier - 0.09).abs() < 1e-12);
        let ll = (2.0 * -(0.9f64).ln() + 2.0 * -(0.1f64).ln() + 16.0 * -(0.9f64).ln()) / 20.0;
        assert!((s.log_loss - ll).abs() < 1e-12);
        // Top 10 % = 2 rows, both positive: rate 1 over a base of 0.2 → lift 5; capture 2 of 4.
        assert_eq!(s.lift_top10, Some(5.0));
        assert_eq!(s.capture_top10, Some(0.5));
        let c = calibration(&p, &y);
        assert_eq!(c.len(), 10);
        assert_eq!((c[0].rows, c[0].observed_rate), (2, 1.0));
        assert!((c[0].mean_probability - 0.9).abs() < 1e-12);
    }
}
