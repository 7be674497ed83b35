//! Predictions from a labelled snapshot (docs/metrics.md, "Snapshot models"): one row per
//! customer or lead with an outcome column (Telco's `Churn`, X Education's `Converted`) and any
//! other columns as features — numbers standardised, categories one-hot with rare levels
//! pooled, placeholders such as `Select` and blanks missing with an indicator — in the same
//! L2-regularised logistic model as `predict churn`, evaluated by k-fold cross-validation
//! beside a base-rate and a best-single-column baseline.

use std::collections::HashMap;

use anyhow::{bail, Result};
use polars::prelude::*;

use super::evaluate::{scores, Scores};
use super::fnv1a as hash;
use super::logistic::{self, Logistic, Matrix};
use crate::metrics::stats::round_to;

pub use crate::input::values::is_placeholder;

/// A feature column as read: numbers or words, `None` where missing.
#[derive(Debug, Clone)]
pub enum Values {
    Numbers(Vec<Option<f64>>),
    Words(Vec<Option<String>>),
}

#[derive(Debug, Clone)]
pub struct FeatureColumn {
    pub name: String,
    pub values: Values,
}

/// How one column becomes features, learnt from training rows only.
#[derive(Debug, Clone)]
enum Encoding {
    /// Its training mean stands in for a missing value, flagged by an indicator when the
    /// training rows have any.
    Number { mean: f64, flag_missing: bool },
    /// One indicator per kept level, `(other)` for the pooled rare and unseen levels, and
    /// `(missing)` when the training rows have any.
    Levels {
        levels: HashMap<String, usize>,
        other: bool,
        missing: bool,
        count: usize,
    },
}

/// The features of a set of columns, fitted on training rows.
#[derive(Debug, Clone)]
pub struct Design {
    encodings: Vec<Encoding>,
    pub names: Vec<String>,
    /// The column of each feature.
    pub column_of: Vec<usize>,
}

/// Levels seen in fewer rows than this (or than 1 % of the training rows, whichever is more) are
/// pooled into `(other)`, and at most [`MAX_LEVELS`] levels of a column are kept.
pub const MIN_LEVEL_ROWS: usize = 10;
pub const MAX_LEVELS: usize = 30;

impl Design {
    /// Learns each column's encoding from `rows`.
    pub fn fit(columns: &[FeatureColumn], rows: &[usize]) -> Design {
        let mut encodings = Vec::new();
        let mut names = Vec::new();
        let mut column_of = Vec::new();
        let min_rows = MIN_LEVEL_ROWS.max(rows.len() / 100);
        for (c, col) in columns.iter().enumerate() {
            match &col.values {
                Values::Numbers(v) => {
                    let seen: Vec<f64> = rows.iter().filter_map(|&i| v[i]).collect();
                    let mean = seen.iter().sum::<f64>() / seen.len().max(1) as f64;
                    let flag_missing = seen.len() < rows.len();
                    names.push(col.name.clone());
                    column_of.push(c);
                    if flag_missing {
                        names.push(format!("{} missing", col.name));
                        column_of.push(c);
                    }
                    encodings.push(Encoding::Number { mean, flag_missing });
                }
                Values::Words(v) => {
                    let mut counts: HashMap<&str, usize> = HashMap::new();
                    let mut missing = false;
                    for &i in rows {
                        match &v[i] {
                            Some(w) => *counts.entry(w.as_str()).or_default() += 1,
                            None => missing = true,
                        }
                    }
                    // Most frequent first, ties by the word, so the design is the same every run.
                    let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();
                    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                    let kept: Vec<&str> = ranked
                        .iter()
                        .filter(|(_, n)| *n >= min_rows)
                        .take(MAX_LEVELS)
                        .map(|(w, _)| *w)
                        .collect();
                    let other = kept.len() < ranked.len();
                    let mut levels = HashMap::new();
                    for w in &kept {
                        levels.insert(w.to_string(), levels.len());
                        names.push(format!("{}={w}", col.name));
                        column_of.push(c);
                    }
                    let mut count = kept.len();
                    if other {
                        names.push(format!("{}=(other)", col.name));
                        column_of.push(c);
                        count += 1;
                    }
                    if missing {
                        names.push(format!("{}=(missing)", col.name));
                        column_of.push(c);
                        count += 1;
                    }
                    encodings.push(Encoding::Levels {
                        levels,
                        other,
                        missing,
                        count,
                    });
                }
            }
        }
        Design {
            encodings,
            names,
            column_of,
        }
    }

    /// The feature rows of `rows`, in that order.
    pub fn matrix(&self, columns: &[FeatureColumn], rows: &[usize]) -> Matrix {
        let mut x = Matrix::new(self.names.len());
        let mut row = Vec::with_capacity(self.names.len());
        for &i in rows {
            row.clear();
            for (col, enc) in columns.iter().zip(&self.encodings) {
                match (enc, &col.values) {
                    (Encoding::Number { mean, flag_missing }, Values::Numbers(v)) => {
                        row.push(v[i].unwrap_or(*mean));
                        if *flag_missing {
                            row.push(f64::from(u8::from(v[i].is_none())));
                        }
                    }
                    (
                        Encoding::Levels {
                            levels,
                            other,
                            missing,
                            count,
                        },
                        Values::Words(v),
                    ) => {
                        let start = row.len();
                        row.resize(start + count, 0.0);
                        let slot = match &v[i] {
                            Some(w) => levels
                                .get(w)
                                .copied()
                                // An unseen word when no level was pooled: no indicator.
                                .or(other.then_some(levels.len())),
                            None if *missing => Some(levels.len() + usize::from(*other)),
                            None => None,
                        };
                        if let Some(s) = slot {
                            row[start + s] = 1.0;
                        }
                    }
                    _ => unreachable!("an encoding is learnt from its own column"),
                }
            }
            x.push(&row);
        }
        x
    }
}

/// One model's cross-validated scores.
pub struct CvRow {
    pub model: &'static str,
    pub detail: String,
    pub scores: Scores,
}

/// The result of a snapshot model.
pub struct SnapshotModel {
    pub design: Design,
    pub model: Logistic,
    /// Every row's probability under the model fitted on all labelled rows.
    pub probability: Vec<f64>,
    pub cv: Vec<CvRow>,
    pub folds: usize,
    pub labelled: usize,
    pub positive_rate: f64,
}

fn fit_on(
    columns: &[FeatureColumn],
    rows: &[usize],
    y: &[bool],
    ids: &[String],
) -> Result<(Design, Logistic)> {
    let design = Design::fit(columns, rows);
    let x = design.matrix(columns, rows);
    let outcome: Vec<bool> = rows.iter().map(|&i| y[i]).collect();
    let holdout: Vec<bool> = rows
        .iter()
        .map(|&i| (hash(&ids[i]) / 7919) % 5 == 0)
        .collect();
    let model = logistic::fit_chosen(&x, &outcome, &holdout)?;
    Ok((design, model))
}

/// Fits the model on the rows with a label (`label[i]` Some) and scores every row; evaluates by
/// `folds`-fold cross-validation (a row's fold is a hash of its ID) against the base rate and
/// the best single column (chosen on each fold's training rows by log loss).
pub fn fit(
    columns: &[FeatureColumn],
    label: &[Option<bool>],
    ids: &[String],
    folds: usize,
) -> Result<SnapshotModel> {
    let labelled: Vec<usize> = (0..label.len()).filter(|&i| label[i].is_some()).collect();
    let y: Vec<bool> = label.iter().map(|l| l.unwrap_or(false)).collect();
    let positives = labelled.iter().filter(|&&i| y[i]).count();
    if positives == 0 || positives == labelled.len() {
        bail!(
            "{positives} of {} labelled rows have the outcome: a model needs both outcomes",
            labelled.len()
        );
    }
    let fold_of: Vec<usize> = ids
        .iter()
        .map(|id| (hash(id) % folds as u64) as usize)
        .collect();
    let mut chosen: HashMap<usize, usize> = HashMap::new();
    let results: Vec<Result<([Scores; 3], usize)>> =
        crate::metrics::clv::parallel_map(folds, |k| {
            let train: Vec<usize> = labelled
                .iter()
                .copied()
                .filter(|&i| fold_of[i] != k)
                .collect();
            let test: Vec<usize> = labelled
                .iter()
                .copied()
                .filter(|&i| fold_of[i] == k)
                .collect();
            let truth: Vec<bool> = test.iter().map(|&i| y[i]).collect();
            let (design, model) = fit_on(columns, &train, &y, ids)?;
            let x = design.matrix(columns, &test);
            let p: Vec<f64> = (0..test.len())
                .map(|r| model.probability(x.row(r)))
                .collect();
            let base = train.iter().filter(|&&i| y[i]).count() as f64 / train.len() as f64;
            let (one_p, c) = one_column(columns, &train, &test, &y, base);
            Ok((
                [
                    scores(&p, &truth),
                    scores(&one_p, &truth),
                    scores(&vec![base; test.len()], &truth),
                ],
                c,
            ))
        });
    let mut per_fold: Vec<[Scores; 3]> = Vec::with_capacity(folds);
    for r in results {
        let (s, c) = r?;
        per_fold.push(s);
        *chosen.entry(c).or_default() += 1;
    }
    let mut columns_chosen: Vec<(usize, usize)> = chosen.into_iter().collect();
    columns_chosen.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let one_detail = columns_chosen
        .iter()
        .map(|(c, n)| {
            let name = columns.get(*c).map_or("(none)", |col| col.name.as_str());
            format!("{name} ({n} of {folds} folds)")
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mean = |m: usize| mean_scores(per_fold.iter().map(|f| f[m]));
    let cv = vec![
        CvRow {
            model: "logistic",
            detail: format!("{} columns", columns.len()),
            scores: mean(0),
        },
        CvRow {
            model: "one_column",
            detail: one_detail,
            scores: mean(1),
        },
        CvRow {
            model: "base_rate",
            detail: "the training rows' rate".into(),
            scores: mean(2),
        },
    ];
    let (design, model) = fit_on(columns, &labelled, &y, ids)?;
    let all: Vec<usize> = (0..label.len()).collect();
    let x = design.matrix(columns, &all);
    let probability = (0..all.len())
        .map(|i| model.probability(x.row(i)))
        .collect();
    Ok(SnapshotModel {
        design,
        model,
        probability,
        cv,
        folds,
        labelled: labelled.len(),
        positive_rate: positives as f64 / labelled.len() as f64,
    })
}

/// The single column whose model fits the training rows best (log loss, the first on a tie),
/// and its probabilities for `test`; the base rate when no column fits.
fn one_column(
    columns: &[FeatureColumn],
    train: &[usize],
    test: &[usize],
    y: &[bool],
    base: f64,
) -> (Vec<f64>, usize) {
    let outcome: Vec<bool> = train.iter().map(|&i| y[i]).collect();
    let mut best: Option<(f64, usize, Design, Logistic)> = None;
    for c in 0..columns.len() {
        let one = &columns[c..=c];
        let d = Design::fit(one, train);
        let x = d.matrix(one, train);
        let Ok(m) = logistic::fit(&x, &outcome, 1e-3) else {
            continue;
        };
        let loss = logistic::log_loss(&m, &x, &outcome);
        if best.as_ref().is_none_or(|(l, ..)| loss < *l) {
            best = Some((loss, c, d, m));
        }
    }
    match best {
        Some((_, c, d, m)) => {
            let x = d.matrix(&columns[c..=c], test);
            (
                (0..test.len()).map(|r| m.probability(x.row(r))).collect(),
                c,
            )
        }
        None => (vec![base; test.len()], usize::MAX),
    }
}

/// The mean of each score over the folds (a score a fold cannot give, e.g. AUC of a fold with one
/// outcome, is left out of its mean).
fn mean_scores(folds: impl Iterator<Item = Scores>) -> Scores {
    let all: Vec<Scores> = folds.collect();
    let mean = |f: &dyn Fn(&Scores) -> Option<f64>| {
        let v: Vec<f64> = all.iter().filter_map(f).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    Scores {
        auc: mean(&|s| s.auc),
        brier: mean(&|s| Some(s.brier)).unwrap_or(f64::NAN),
        log_loss: mean(&|s| Some(s.log_loss)).unwrap_or(f64::NAN),
        lift_top10: mean(&|s| s.lift_top10),
        capture_top10: mean(&|s| s.capture_top10),
    }
}

/// The cross-validation table: model, detail, folds, rows, positive_rate, auc, brier, log_loss,
/// lift_top10, capture_top10.
pub fn cv_table(m: &SnapshotModel, rate_name: &str) -> Result<DataFrame> {
    let r = |v: f64| round_to(v, 4);
    let o = |v: Option<f64>| v.map(r);
    let n = m.cv.len();
    Ok(DataFrame::new_infer_height(vec![
        Column::new(
            "model".into(),
            m.cv.iter().map(|c| c.model).collect::<Vec<_>>(),
        ),
        Column::new(
            "detail".into(),
            m.cv.iter().map(|c| c.detail.clone()).collect::<Vec<_>>(),
        ),
        Column::new("folds".into(), vec![m.folds as u64; n]),
        Column::new("rows".into(), vec![m.labelled as u64; n]),
        Column::new(rate_name.into(), vec![r(m.positive_rate); n]),
        Column::new(
            "auc".into(),
            m.cv.iter().map(|c| o(c.scores.auc)).collect::<Vec<_>>(),
        ),
        Column::new(
            "brier".into(),
            m.cv.iter().map(|c| r(c.scores.brier)).collect::<Vec<_>>(),
        ),
        Column::new(
            "log_loss".into(),
            m.cv.iter()
                .map(|c| r(c.scores.log_loss))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "lift_top10".into(),
            m.cv.iter()
                .map(|c| o(c.scores.lift_top10))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "capture_top10".into(),
            m.cv.iter()
                .map(|c| o(c.scores.capture_top10))
                .collect::<Vec<_>>(),
        ),
    ])?)
}

/// The three features that raise a row's probability most, in words: `Lead Source=Reference`,
/// `tenure 2 (low)`.
pub fn drivers(m: &SnapshotModel, columns: &[FeatureColumn], row: usize) -> Vec<String> {
    let x = m.design.matrix(columns, &[row]);
    let values = x.row(0);
    super::driver_indices(&m.model, &m.design.names, values)
        .into_iter()
        .map(|j| {
            let name = &m.design.names[j];
            if name.contains('=') || name.ends_with(" missing") {
                name.clone()
            } else {
                let high = values[j] > m.model.scale.mean[j];
                format!(
                    "{name} {} ({})",
                    if values[j].fract() == 0.0 {
                        format!("{:.0}", values[j])
                    } else {
                        format!("{:.2}", values[j])
                    },
                    if high { "high" } else { "low" }
                )
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rare_levels_pool_and_missing_cells_get_an_indicator() {
        let words: Vec<Option<String>> = (0..100)
            .map(|i| match i {
                0..=59 => Some("a".to_string()),
                60..=89 => Some("b".to_string()),
                90..=94 => Some("rare".to_string()),
                _ => None,
            })
            .collect();
        let numbers: Vec<Option<f64>> = (0..100).map(|i| (i != 7).then_some(i as f64)).collect();
        let cols = vec![
            FeatureColumn {
                name: "w".into(),
                values: Values::Words(words),
            },
            FeatureColumn {
                name: "n".into(),
                values: Values::Numbers(numbers),
            },
        ];
        let rows: Vec<usize> = (0..100).collect();
        let d = Design::fit(&cols, &rows);
        assert_eq!(
            d.names,
            ["w=a", "w=b", "w=(other)", "w=(missing)", "n", "n missing"]
        );
        let x = d.matrix(&cols, &[92, 97, 7]);
        assert_eq!(&x.row(0)[..4], [0.0, 0.0, 1.0, 0.0]);
        assert_eq!(&x.row(1)[..4], [0.0, 0.0, 0.0, 1.0]);
        // Row 7's number is missing: the mean of the others stands in, flagged.
        let mean = (0..100).filter(|&i| i != 7).sum::<usize>() as f64 / 99.0;
        assert_eq!(&x.row(2)[4..], [mean, 1.0]);
        assert!(is_placeholder(" Select ") && is_placeholder("") && !is_placeholder("No"));
    }

    #[test]
    fn cross_validation_finds_a_planted_signal_and_beats_the_baselines() {
        // y = 1 for level "hot" 80 % of the time, 10 % otherwise; a noise number.
        let n = 2000;
        let mut state = 42u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut words = Vec::new();
        let mut noise = Vec::new();
        let mut label = Vec::new();
        for _ in 0..n {
            let hot = next() < 0.3;
            words.push(Some(if hot { "hot" } else { "cold" }.to_string()));
            noise.push(Some(next()));
            label.push(Some(next() < if hot { 0.8 } else { 0.1 }));
        }
        let cols = vec![
            FeatureColumn {
                name: "temp".into(),
                values: Values::Words(words),
            },
            FeatureColumn {
                name: "noise".into(),
                values: Values::Numbers(noise),
            },
        ];
        let ids: Vec<String> = (0..n).map(|i| format!("r{i}")).collect();
        let m = fit(&cols, &label, &ids, 5).unwrap();
        let auc = |k: usize| m.cv[k].scores.auc.unwrap();
        assert!(auc(0) > 0.8, "{}", auc(0));
        assert!((auc(2) - 0.5).abs() < 1e-9, "the base rate ranks nobody");
        assert!(
            m.cv[1].detail.starts_with("temp (5 of 5"),
            "{}",
            m.cv[1].detail
        );
        assert_eq!(drivers(&m, &cols, words_row(&cols, "hot")), ["temp=hot"]);
    }

    fn words_row(cols: &[FeatureColumn], word: &str) -> usize {
        match &cols[0].values {
            Values::Words(w) => w.iter().position(|v| v.as_deref() == Some(word)).unwrap(),
            Values::Numbers(_) => 0,
        }
    }
}
