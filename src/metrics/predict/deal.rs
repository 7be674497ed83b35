//! Deal win probability (docs/metrics.md, "Deal prediction"): for each deal open at a cutoff,
//! features from the pipeline as it stood then (stage from the stage history, never from the
//! export's current stage column) and the label "won" once it closed; a logistic model trained on
//! an earlier cutoff scores the open deals as of as_of, beside the stage-only historical win
//! rate on a rolling-origin backtest.

use std::collections::HashMap;

use anyhow::Result;
use polars::prelude::*;

use super::evaluate::Evaluation;
use super::logistic::{self, Logistic, Matrix};
use super::{coefficients, drivers, holdout, Options};
use crate::day::{iso, Day};
use crate::metrics::funnel::{Outcome, Pipeline};
use crate::metrics::ownership::NONE;
use crate::metrics::stats::round_to;

/// The pooled level of rare and missing sources.
const OTHER: &str = "(other)";

/// The features of the deals open at one cutoff.
pub struct DealFeatures {
    pub cutoff: i32,
    pub ids: Vec<String>,
    pub owner: Vec<String>,
    pub stage: Vec<String>,
    pub amount: Vec<Option<f64>>,
    pub names: Vec<String>,
    pub x: Matrix,
    /// The stage-only baseline: the win rate, among deals closed before the cutoff, of those
    /// that reached the deal's furthest stage.
    pub stage_rate: Vec<f64>,
    pub days_in_stage: Vec<i64>,
    pub age_days: Vec<i64>,
}

/// The sources kept as their own feature: held by at least 1 % of the deals and 10 of them.
pub fn source_levels(p: &Pipeline) -> Vec<String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for o in &p.opportunities {
        if o.source != NONE {
            *counts.entry(p.names.name(o.source)).or_default() += 1;
        }
    }
    let least = (p.opportunities.len() / 100).max(10);
    let mut kept: Vec<String> = counts
        .into_iter()
        .filter(|(_, n)| *n >= least)
        .map(|(v, _)| v.to_string())
        .collect();
    kept.sort();
    if !kept.is_empty() {
        kept.push(OTHER.into());
    }
    kept
}

/// The features of the deals open in `p` (the pipeline as of the cutoff). `stages` is the
/// funnel's stage order (the same at every cutoff); `followups` the follow-up days per account.
pub fn features(
    p: &Pipeline,
    stages: &[String],
    sources: &[String],
    followups: Option<&HashMap<String, Vec<i32>>>,
) -> DealFeatures {
    let cutoff = p.as_of.days();
    // Owners' past results: deals closed before the cutoff.
    let mut record: HashMap<u32, (f64, f64)> = HashMap::new();
    for o in &p.opportunities {
        match o.outcome {
            Outcome::Won => record.entry(o.owner).or_default().0 += 1.0,
            Outcome::Lost => record.entry(o.owner).or_default().1 += 1.0,
            _ => {}
        }
    }
    let probabilities = p.win_probabilities(p.opportunities.iter());
    let overall = {
        let (w, l) = record
            .values()
            .fold((0.0, 0.0), |(a, b), (w, l)| (a + w, b + l));
        if w + l > 0.0 {
            w / (w + l)
        } else {
            0.5
        }
    };
    let mut names: Vec<String> = stages.iter().map(|s| format!("stage={s}")).collect();
    names.extend(
        [
            "days_in_stage",
            "age_days",
            "amount",
            "no_amount",
            "owner_win_rate",
        ]
        .map(String::from),
    );
    if followups.is_some() {
        names.push("followups_30d".into());
    }
    names.extend(sources.iter().map(|s| format!("source={s}")));
    let mut f = DealFeatures {
        cutoff,
        ids: Vec::new(),
        owner: Vec::new(),
        stage: Vec::new(),
        amount: Vec::new(),
        x: Matrix::new(names.len()),
        names,
        stage_rate: Vec::new(),
        days_in_stage: Vec::new(),
        age_days: Vec::new(),
    };
    let empty: Vec<i32> = Vec::new();
    let mut row = Vec::new();
    for (i, o) in p.opportunities.iter().enumerate() {
        if o.outcome != Outcome::Open {
            continue;
        }
        let stage = p.names.name(o.stage).to_string();
        row.clear();
        row.extend(stages.iter().map(|s| f64::from(u8::from(*s == stage))));
        let amount = o.amount.map(|m| m.to_f64());
        let (won, lost) = record.get(&o.owner).copied().unwrap_or_default();
        row.extend([
            f64::from(cutoff - o.last_change),
            f64::from(cutoff - o.created),
            amount.map_or(0.0, |a| a.max(0.0).ln_1p()),
            f64::from(u8::from(amount.is_none())),
            // Smoothed toward one win in two: an owner without closed deals is at 0.5.
            (won + 1.0) / (won + lost + 2.0),
        ]);
        if let Some(fu) = followups {
            let days = if o.customer == NONE {
                &empty
            } else {
                fu.get(p.names.name(o.customer)).unwrap_or(&empty)
            };
            let n =
                days.partition_point(|&d| d < cutoff) - days.partition_point(|&d| d < cutoff - 30);
            row.push((n as f64).ln_1p());
        }
        let source = if o.source == NONE {
            OTHER
        } else {
            p.names.name(o.source)
        };
        let source = if sources.iter().any(|s| s == source) {
            source
        } else {
            OTHER
        };
        row.extend(sources.iter().map(|s| f64::from(u8::from(s == source))));
        f.x.push(&row);
        f.ids.push(p.ids.get(i).unwrap_or("").to_string());
        f.owner.push(p.names.name(o.owner).to_string());
        f.stage.push(stage);
        f.amount.push(amount);
        f.stage_rate
            .push(p.probability(o, &probabilities).unwrap_or(overall));
        f.days_in_stage.push(i64::from(cutoff - o.last_change));
        f.age_days.push(i64::from(cutoff - o.created));
    }
    f
}

/// Outcome of each opportunity ID in a pipeline: Some(won) once won or lost.
pub fn outcomes(p: &Pipeline) -> HashMap<String, bool> {
    p.opportunities
        .iter()
        .enumerate()
        .filter_map(|(i, o)| {
            let won = match o.outcome {
                Outcome::Won => true,
                Outcome::Lost => false,
                _ => return None,
            };
            Some((p.ids.get(i)?.to_string(), won))
        })
        .collect()
}

/// Training snapshots: the deals open at the training cutoff and at each of the 5 cutoffs 30
/// days apart before it, stacked (a deal open at several of them is a row for each, at its
/// stage and age then), so the model sees more than the few deals open on one day.
pub const SNAPSHOTS: usize = 6;
pub const SNAPSHOT_DAYS: i32 = 30;

/// The days of the training snapshots that end at `cutoff`, latest first.
pub fn snapshots(cutoff: i32) -> Vec<i32> {
    (0..SNAPSHOTS as i32)
        .map(|k| cutoff - k * SNAPSHOT_DAYS)
        .collect()
}

/// The rows of `f` whose outcome `known` holds, as (row indexes, labels).
fn labelled(f: &DealFeatures, known: &HashMap<String, bool>) -> (Vec<usize>, Vec<bool>) {
    f.ids
        .iter()
        .enumerate()
        .filter_map(|(i, id)| known.get(id).map(|w| (i, *w)))
        .unzip()
}

/// Trains on the deals of the snapshots `fs` with a known outcome, or says why not.
pub fn train(
    fs: &[&DealFeatures],
    known: &HashMap<String, bool>,
) -> std::result::Result<Logistic, String> {
    let p = fs.first().map_or(0, |f| f.x.p);
    let (mut x, mut y, mut ids) = (Matrix::new(p), Vec::new(), Vec::new());
    for f in fs {
        let (pick, labels) = labelled(f, known);
        for (&i, l) in pick.iter().zip(labels) {
            x.push(f.x.row(i));
            y.push(l);
            ids.push(f.ids[i].clone());
        }
    }
    let won = y.iter().filter(|v| **v).count();
    if y.len() < 20 || won == 0 || won == y.len() {
        return Err(format!(
            "{} deal snapshots up to {} have closed since, {won} of them won: too few to train on",
            y.len(),
            fs.first().map_or(String::new(), |f| iso(f.cutoff))
        ));
    }
    logistic::fit_chosen(&x, &y, &holdout(&ids)).map_err(|e| e.to_string())
}

/// The model and the stage-only baseline on the deals of `test` whose outcome is known.
pub fn evaluate(
    model: &Logistic,
    test: &DealFeatures,
    known: &HashMap<String, bool>,
) -> Vec<Evaluation> {
    let (pick, y) = labelled(test, known);
    let p: Vec<f64> = pick
        .iter()
        .map(|&i| model.probability(test.x.row(i)))
        .collect();
    let base: Vec<f64> = pick.iter().map(|&i| test.stage_rate[i]).collect();
    vec![
        Evaluation::of("logistic", test.cutoff, &p, &y),
        Evaluation::of("stage_rate", test.cutoff, &base, &y),
    ]
}

/// The backtest's columns for deals.
pub const BACKTEST: (&str, &str) = ("deals", "win_rate");

/// `likely` from a win probability of 0.6, `possible` from 0.3, else `unlikely`.
pub fn band(p: f64) -> &'static str {
    if p >= 0.6 {
        "likely"
    } else if p >= 0.3 {
        "possible"
    } else {
        "unlikely"
    }
}

/// The open deals as of as_of: opportunity_id, owner, stage, amount, win_probability, band,
/// driver_1..3 (what raises the probability most), days_in_stage, age_days; highest probability
/// first, ties by opportunity_id.
pub fn predictions(model: &Logistic, f: &DealFeatures) -> Result<DataFrame> {
    let p: Vec<f64> = (0..f.x.rows())
        .map(|i| model.probability(f.x.row(i)))
        .collect();
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(f.ids[a].cmp(&f.ids[b])));
    let d: Vec<Vec<String>> = order
        .iter()
        .map(|&i| drivers(model, &f.names, f.x.row(i)))
        .collect();
    let driver = |k: usize| -> Vec<Option<&str>> {
        d.iter().map(|v| v.get(k).map(String::as_str)).collect()
    };
    let text = |v: &'_ [String]| -> Vec<String> { order.iter().map(|&i| v[i].clone()).collect() };
    Ok(DataFrame::new_infer_height(vec![
        Column::new("opportunity_id".into(), text(&f.ids)),
        Column::new("owner".into(), text(&f.owner)),
        Column::new("stage".into(), text(&f.stage)),
        Column::new(
            "amount".into(),
            order
                .iter()
                .map(|&i| f.amount[i].map(|a| round_to(a, 2)))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "win_probability".into(),
            order.iter().map(|&i| round_to(p[i], 4)).collect::<Vec<_>>(),
        ),
        Column::new(
            "band".into(),
            order.iter().map(|&i| band(p[i])).collect::<Vec<_>>(),
        ),
        Column::new("driver_1".into(), driver(0)),
        Column::new("driver_2".into(), driver(1)),
        Column::new("driver_3".into(), driver(2)),
        Column::new(
            "days_in_stage".into(),
            order
                .iter()
                .map(|&i| f.days_in_stage[i])
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "age_days".into(),
            order.iter().map(|&i| f.age_days[i]).collect::<Vec<_>>(),
        ),
    ])?)
}

/// A run: the scoring model, its predictions, the backtest and what was left out.
pub struct DealRun {
    pub model: Logistic,
    pub names: Vec<String>,
    pub train_cutoff: i32,
    pub predictions: DataFrame,
    pub evaluations: Vec<Evaluation>,
    pub notes: Vec<String>,
}

impl DealRun {
    pub fn coefficients(&self) -> Result<DataFrame> {
        coefficients(&self.model, &self.names)
    }
}

/// `pipeline_at(day)`: the pipeline as it stood on a day (stages from the history only);
/// `run`: the one of as_of.
pub fn run(
    run: &Pipeline,
    mut pipeline_at: impl FnMut(Day) -> Result<Pipeline>,
    followups: Option<&HashMap<String, Vec<i32>>>,
    opts: &Options,
) -> Result<DealRun> {
    let h = opts.horizon;
    let as_of = run.as_of.days();
    let stages = run.stages.clone();
    let sources = source_levels(run);
    let train_cutoff = as_of - h;
    let tests: Vec<i32> = opts.tests(run.as_of).iter().map(|d| d.days()).collect();
    // Every day a model reads: its features, and the outcomes known by then.
    let mut days = vec![as_of];
    days.extend(snapshots(train_cutoff));
    for &e in &tests {
        days.push(e);
        days.extend(snapshots(e - h));
    }
    let mut built: HashMap<i32, (DealFeatures, HashMap<String, bool>)> = HashMap::new();
    for day in days {
        if built.contains_key(&day) {
            continue;
        }
        let p = if day == as_of {
            None
        } else {
            Some(pipeline_at(Day::new(day))?)
        };
        let p = p.as_ref().unwrap_or(run);
        built.insert(
            day,
            (features(p, &stages, &sources, followups), outcomes(p)),
        );
    }
    let mut notes = Vec::new();
    let known_now = &built[&as_of].1;
    let stacked = |cutoff: i32| -> Vec<&DealFeatures> {
        snapshots(cutoff).iter().map(|d| &built[d].0).collect()
    };
    let model = train(&stacked(train_cutoff), known_now).map_err(|why| {
        anyhow::anyhow!(
            "cannot train the deal model on the cutoff {} (as_of − {h} days): {why}; use a \
             longer --horizon or more history",
            iso(train_cutoff)
        )
    })?;
    let predictions = predictions(&model, &built[&as_of].0)?;
    let names = built[&as_of].0.names.clone();
    let mut evaluations = Vec::new();
    for e in tests {
        // Trained on the deals open at e − h that closed before e; scored on those open at e
        // that have closed by as_of.
        match train(&stacked(e - h), &built[&e].1) {
            Ok(m) => evaluations.extend(evaluate(&m, &built[&e].0, &built[&as_of].1)),
            Err(why) => notes.push(format!(
                "backtest cutoff {} left out: training before it: {why}",
                iso(e)
            )),
        }
    }
    Ok(DealRun {
        model,
        names,
        train_cutoff,
        predictions,
        evaluations,
        notes,
    })
}
