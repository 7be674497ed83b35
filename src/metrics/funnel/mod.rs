//! The sales funnel (销售漏斗) of opportunity exports (docs/metrics.md, "Funnel").
//!
//! - **Win rate** = won ÷ (won + lost) among closed opportunities, with the Wilson 95 % interval;
//!   invalid opportunities are counted apart and left out of every rate.
//! - **Sales cycle** = closed − created in calendar days, for won deals (and apart for lost):
//!   median, 25th and 75th percentiles (linear interpolation between ranks).
//! - **Reached**: with the stages in funnel order, an opportunity has reached every stage up to the
//!   furthest it is known to have entered (stage history, or its current stage); a won deal has
//!   reached them all; a lost one whose last stage is unknown has reached the first.
//! - **Stage conversion** of stage k = reached k + 1 (or won, for the last stage) ÷ reached k;
//!   **days in stage** = days from entering a stage to entering the next one (history only).
//! - **Win probability from stage k** = won ÷ closed among closed opportunities that reached k;
//!   the **weighted pipeline** is Σ open amount × the probability of its furthest stage, measured
//!   on all closed opportunities (not the CRM's typed 赢率).
//! - **Sales velocity** = open opportunities × win rate × average won amount ÷ median won cycle
//!   days: expected money won per day.

pub mod stages;

use std::collections::BTreeMap;

use anyhow::Result;
use polars::prelude::*;

use crate::metrics::nps::wilson_fraction;
use crate::metrics::ownership::{Interner, NONE};
use crate::metrics::periods::Period;
use crate::metrics::rfm::round_to;
use crate::metrics::Estimate;
use crate::money::Money;
pub use stages::Outcome;

/// One opportunity as the funnel reads it, as of as_of.
#[derive(Clone, Debug)]
pub struct Opportunity {
    /// Calendar day created.
    pub created: i32,
    /// Calendar day closed (won, lost or invalid before as_of).
    pub closed: Option<i32>,
    pub outcome: Outcome,
    /// Index in [`Pipeline::stages`] of the furthest open stage reached (None: order unknown).
    pub furthest: Option<u16>,
    /// The current open stage's name (interned in [`Pipeline::names`]; NONE when closed).
    pub stage: u32,
    pub amount: Option<Money>,
    /// The day of the last stage change (history), else the day created.
    pub last_change: i32,
    /// Interned labels (NONE when the export has none).
    pub owner: u32,
    pub customer: u32,
    pub product: u32,
    pub source: u32,
    pub team: u32,
    pub region: u32,
}

/// A completed stay in an open stage (from the stage history).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stay {
    pub opportunity: u32,
    pub stage: u16,
    pub days: i32,
}

/// The opportunities of an export with what the funnel needs to read them.
#[derive(Default)]
pub struct Pipeline {
    pub as_of: i32,
    /// The open stages in funnel order; empty when the order is not known.
    pub stages: Vec<String>,
    pub ids: Vec<String>,
    pub opportunities: Vec<Opportunity>,
    pub stays: Vec<Stay>,
    pub has_history: bool,
    /// The labels of every interned value (stages, owners, customers, …).
    pub names: Interner,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FunnelGroup {
    Owner,
    /// The owner's team (teams file).
    Team,
    /// The owner's region (teams file) or the account's (customers file).
    Region,
    Product,
    Source,
    /// The month the opportunity was created.
    Month,
}

impl FunnelGroup {
    pub fn name(self) -> &'static str {
        match self {
            FunnelGroup::Owner => "owner",
            FunnelGroup::Team => "team",
            FunnelGroup::Region => "region",
            FunnelGroup::Product => "product",
            FunnelGroup::Source => "source",
            FunnelGroup::Month => "month",
        }
    }

    fn label(self, p: &Pipeline, o: &Opportunity) -> String {
        let name = |code: u32| p.names.name(code).to_string();
        match self {
            FunnelGroup::Owner => name(o.owner),
            FunnelGroup::Team => name(o.team),
            FunnelGroup::Region => name(o.region),
            FunnelGroup::Product => name(o.product),
            FunnelGroup::Source => name(o.source),
            FunnelGroup::Month => Period::Month.label(Period::Month.index(o.created)),
        }
    }
}

/// The linear-interpolation quantile (numpy's default) of sorted values.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

impl Pipeline {
    /// Reached stage k: its furthest stage is k or later (won deals reached every stage).
    fn reached(&self, o: &Opportunity, k: usize) -> bool {
        o.outcome != Outcome::Invalid
            && (o.outcome == Outcome::Won || o.furthest.is_some_and(|f| usize::from(f) >= k))
    }

    /// Win probability from each open stage, measured on the given closed opportunities; the
    /// plain win rate when the stage order is unknown (one entry for "any stage").
    fn win_probabilities<'a>(
        &self,
        opps: impl Iterator<Item = &'a Opportunity>,
    ) -> Vec<Option<f64>> {
        let n = self.stages.len().max(1);
        let (mut won, mut closed) = (vec![0u64; n], vec![0u64; n]);
        for o in opps.filter(|o| matches!(o.outcome, Outcome::Won | Outcome::Lost)) {
            for k in 0..n {
                if self.stages.is_empty() || self.reached(o, k) {
                    closed[k] += 1;
                    won[k] += u64::from(o.outcome == Outcome::Won);
                }
            }
        }
        won.iter()
            .zip(&closed)
            .map(|(&w, &c)| (c > 0).then(|| w as f64 / c as f64))
            .collect()
    }

    /// The probability used to weight an open opportunity.
    fn probability(&self, o: &Opportunity, p: &[Option<f64>]) -> Option<f64> {
        if self.stages.is_empty() {
            p[0]
        } else {
            o.furthest
                .and_then(|f| p.get(usize::from(f)).copied().flatten())
        }
    }

    /// The groups of `by` (label → opportunity indexes), sorted by label, then `all`.
    fn groups(&self, by: &[FunnelGroup]) -> Vec<(Vec<String>, Vec<usize>)> {
        let mut groups: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
        if !by.is_empty() {
            for (i, o) in self.opportunities.iter().enumerate() {
                let key = by.iter().map(|g| g.label(self, o)).collect();
                groups.entry(key).or_default().push(i);
            }
        }
        let mut out: Vec<(Vec<String>, Vec<usize>)> = groups.into_iter().collect();
        out.push((
            vec!["all".to_string(); by.len()],
            (0..self.opportunities.len()).collect(),
        ));
        out
    }
}

/// One output column built row by row.
enum Values {
    Int(Vec<i64>),
    Float(Vec<Option<f64>>),
}

struct Table {
    names: Vec<&'static str>,
    values: Vec<Values>,
}

impl Table {
    fn new(group_by: &[FunnelGroup]) -> (Table, Vec<Vec<String>>) {
        (
            Table {
                names: Vec::new(),
                values: Vec::new(),
            },
            vec![Vec::new(); group_by.len()],
        )
    }

    fn int(&mut self, name: &'static str, v: i64) {
        match self.names.iter().position(|n| *n == name) {
            Some(i) => match &mut self.values[i] {
                Values::Int(col) => col.push(v),
                Values::Float(col) => col.push(Some(v as f64)),
            },
            None => {
                self.names.push(name);
                self.values.push(Values::Int(vec![v]));
            }
        }
    }

    fn float(&mut self, name: &'static str, v: Option<f64>) {
        match self.names.iter().position(|n| *n == name) {
            Some(i) => match &mut self.values[i] {
                Values::Float(col) => col.push(v),
                Values::Int(col) => col.push(v.map_or(0, |x| x as i64)),
            },
            None => {
                self.names.push(name);
                self.values.push(Values::Float(vec![v]));
            }
        }
    }

    fn frame(self, by: &[FunnelGroup], labels: Vec<Vec<String>>) -> Result<DataFrame> {
        let mut columns: Vec<Column> = by
            .iter()
            .zip(labels)
            .map(|(g, l)| Column::new(g.name().into(), l))
            .collect();
        for (name, values) in self.names.into_iter().zip(self.values) {
            columns.push(match values {
                Values::Int(v) => Column::new(name.into(), v),
                Values::Float(v) => Column::new(name.into(), v),
            });
        }
        Ok(DataFrame::new_infer_height(columns)?)
    }
}

fn money(v: i128) -> f64 {
    Money(v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64).to_f64_cents()
}

/// The win rate of all opportunities (won ÷ won + lost) with its Wilson interval; None before any
/// has closed.
pub fn win_rate(p: &Pipeline) -> Option<Estimate> {
    let count = |o: Outcome| p.opportunities.iter().filter(|x| x.outcome == o).count() as f64;
    let (won, lost) = (count(Outcome::Won), count(Outcome::Lost));
    (won + lost > 0.0).then(|| wilson_fraction(won, won + lost).into())
}

/// Per group: opportunities, open, won, lost, invalid, win rate with its interval, won and lost
/// cycle quantiles, won and open amounts, weighted pipeline and velocity; then the `all` row.
pub fn summary(p: &Pipeline, by: &[FunnelGroup]) -> Result<DataFrame> {
    let probability = p.win_probabilities(p.opportunities.iter());
    let (mut t, mut labels) = Table::new(by);
    for (key, members) in p.groups(by) {
        for (l, v) in labels.iter_mut().zip(key) {
            l.push(v);
        }
        let opps = || members.iter().map(|&i| &p.opportunities[i]);
        let count = |o: Outcome| opps().filter(|x| x.outcome == o).count() as i64;
        let (open, won, lost) = (
            count(Outcome::Open),
            count(Outcome::Won),
            count(Outcome::Lost),
        );
        t.int("opportunities", members.len() as i64);
        t.int("open", open);
        t.int("won", won);
        t.int("lost", lost);
        t.int("invalid", count(Outcome::Invalid));
        let rate = (won + lost > 0).then(|| wilson_fraction(won as f64, (won + lost) as f64));
        t.float("win_rate", rate.map(|r| round_to(r.0, 4)));
        t.float("ci_low", rate.map(|r| round_to(r.1, 4)));
        t.float("ci_high", rate.map(|r| round_to(r.2, 4)));
        let cycles = |o: Outcome| {
            let mut v: Vec<f64> = opps()
                .filter(|x| x.outcome == o)
                .filter_map(|x| x.closed.map(|c| f64::from(c - x.created)))
                .filter(|d| *d >= 0.0)
                .collect();
            v.sort_by(f64::total_cmp);
            v
        };
        let won_cycles = cycles(Outcome::Won);
        let q = |v: &[f64], at: f64| quantile(v, at).map(|x| round_to(x, 1));
        let median_cycle = quantile(&won_cycles, 0.5);
        t.float("median_cycle_days", median_cycle.map(|x| round_to(x, 1)));
        t.float("cycle_p25_days", q(&won_cycles, 0.25));
        t.float("cycle_p75_days", q(&won_cycles, 0.75));
        t.float("lost_median_cycle_days", q(&cycles(Outcome::Lost), 0.5));
        let sum = |o: Outcome| -> (i128, i64) {
            opps()
                .filter(|x| x.outcome == o)
                .filter_map(|x| x.amount)
                .fold((0i128, 0i64), |(s, n), m| (s + i128::from(m.0), n + 1))
        };
        let (won_amount, priced_wins) = sum(Outcome::Won);
        let (open_amount, _) = sum(Outcome::Open);
        let avg_won = (priced_wins > 0).then(|| won_amount as f64 / priced_wins as f64 / 1e4);
        t.float("won_amount", Some(money(won_amount)));
        t.float("avg_won_amount", avg_won.map(|v| round_to(v, 2)));
        t.float("open_amount", Some(money(open_amount)));
        let weighted: f64 = opps()
            .filter(|x| x.outcome == Outcome::Open)
            .filter_map(|x| Some(x.amount?.to_f64() * p.probability(x, &probability)?))
            .sum();
        t.float("weighted_pipeline", Some(round_to(weighted, 2)));
        let velocity = match (rate, avg_won, median_cycle) {
            (Some(r), Some(avg), Some(days)) if days > 0.0 => {
                Some(round_to(open as f64 * r.0 * avg / days, 2))
            }
            _ => None,
        };
        t.float("velocity_per_day", velocity);
    }
    t.frame(by, labels)
}

/// Per group and open stage in funnel order (then `won`): reached, advanced, conversion rate,
/// open and lost there, open amount, median days in stage, win probability. Without a stage
/// order, only the open counts and amounts per current stage (stages by name).
pub fn stage_table(p: &Pipeline, by: &[FunnelGroup]) -> Result<DataFrame> {
    let (mut t, mut labels) = Table::new(by);
    let mut stage_names: Vec<String> = Vec::new();
    let ordered = !p.stages.is_empty();
    let unordered: Vec<String> = if ordered {
        p.stages.clone()
    } else {
        let mut names: Vec<String> = p
            .opportunities
            .iter()
            .filter(|o| o.outcome == Outcome::Open)
            .map(|o| p.names.name(o.stage).to_string())
            .collect();
        names.sort();
        names.dedup();
        names
    };
    let groups = p.groups(by);
    // Days in each stage per group, in one pass over the stays (the last group is `all`).
    let n = unordered.len();
    let mut group_of = vec![usize::MAX; p.opportunities.len()];
    for (g, (_, members)) in groups.iter().enumerate().take(groups.len() - 1) {
        for &i in members {
            group_of[i] = g;
        }
    }
    let mut stay_days: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); n]; groups.len()];
    if ordered && p.has_history {
        let all = groups.len() - 1;
        for s in &p.stays {
            let k = usize::from(s.stage);
            if k >= n {
                continue;
            }
            let days = f64::from(s.days);
            if let Some(g) = group_of
                .get(s.opportunity as usize)
                .filter(|&&g| g != usize::MAX)
            {
                stay_days[*g][k].push(days);
            }
            stay_days[all][k].push(days);
        }
    }
    for (g, (key, members)) in groups.into_iter().enumerate() {
        let opps: Vec<&Opportunity> = members.iter().map(|&i| &p.opportunities[i]).collect();
        let probability = p.win_probabilities(opps.iter().copied());
        let rows = if ordered { n + 1 } else { n };
        for k in 0..rows {
            for (l, v) in labels.iter_mut().zip(&key) {
                l.push(v.clone());
            }
            let is_won_row = ordered && k == n;
            stage_names.push(if is_won_row {
                "won".to_string()
            } else {
                unordered[k].clone()
            });
            let at_stage = |o: &&&Opportunity| {
                if ordered {
                    o.furthest == Some(k as u16)
                } else {
                    p.names.name(o.stage) == unordered[k]
                }
            };
            let open_here: Vec<&&Opportunity> = opps
                .iter()
                .filter(|o| o.outcome == Outcome::Open)
                .filter(at_stage)
                .collect();
            let reached = |k: usize| opps.iter().filter(|o| p.reached(o, k)).count() as i64;
            let won = opps.iter().filter(|o| o.outcome == Outcome::Won).count() as i64;
            if !ordered {
                t.float("reached", None);
                t.float("advanced", None);
                t.float("conversion_rate", None);
            } else if is_won_row {
                t.float("reached", Some(won as f64));
                t.float("advanced", None);
                t.float("conversion_rate", None);
            } else {
                let here = reached(k);
                let next = if k + 1 < n { reached(k + 1) } else { won };
                t.float("reached", Some(here as f64));
                t.float("advanced", Some(next as f64));
                t.float(
                    "conversion_rate",
                    (here > 0).then(|| round_to(next as f64 / here as f64, 4)),
                );
            }
            t.int("open_here", open_here.len() as i64);
            let lost_here = if ordered && !is_won_row {
                opps.iter()
                    .filter(|o| o.outcome == Outcome::Lost && o.furthest == Some(k as u16))
                    .count() as i64
            } else {
                0
            };
            t.int("lost_here", lost_here);
            let open_amount: i128 = open_here
                .iter()
                .filter_map(|o| o.amount)
                .map(|m| i128::from(m.0))
                .sum();
            t.float("open_amount", Some(money(open_amount)));
            let mut days: Vec<f64> = if is_won_row {
                Vec::new()
            } else {
                std::mem::take(&mut stay_days[g][k])
            };
            days.sort_by(f64::total_cmp);
            t.float(
                "median_days_in_stage",
                quantile(&days, 0.5).map(|d| round_to(d, 1)),
            );
            let prob = if !ordered {
                probability[0]
            } else if is_won_row {
                Some(1.0)
            } else {
                probability[k]
            };
            t.float("win_probability", prob.map(|v| round_to(v, 4)));
        }
    }
    let mut df = t.frame(by, labels)?;
    df.insert_column(by.len(), Column::new("stage".into(), stage_names))?;
    Ok(df)
}

/// The open opportunities: ID, owner, customer, stage, amount, created, age, days since the last
/// stage change, stale (more than `stale_days`), win probability and weighted amount; highest
/// weighted amount first, then by ID.
pub fn open_table(p: &Pipeline, stale_days: i32) -> Result<DataFrame> {
    let probability = p.win_probabilities(p.opportunities.iter());
    let mut rows: Vec<(usize, Option<f64>)> = p
        .opportunities
        .iter()
        .enumerate()
        .filter(|(_, o)| o.outcome == Outcome::Open)
        .map(|(i, o)| (i, p.probability(o, &probability)))
        .collect();
    let weighted = |i: usize, prob: Option<f64>| -> Option<f64> {
        Some(round_to(p.opportunities[i].amount?.to_f64() * prob?, 2))
    };
    rows.sort_by(|a, b| {
        let (wa, wb) = (weighted(a.0, a.1), weighted(b.0, b.1));
        wb.unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&wa.unwrap_or(f64::NEG_INFINITY))
            .then_with(|| p.ids[a.0].cmp(&p.ids[b.0]))
    });
    let opp = |i: usize| &p.opportunities[i];
    let text = |f: &dyn Fn(&Opportunity) -> u32| -> Vec<Option<&str>> {
        rows.iter()
            .map(|&(i, _)| {
                let code = f(opp(i));
                (code != NONE).then(|| p.names.name(code))
            })
            .collect()
    };
    let ints = |f: &dyn Fn(&Opportunity) -> i64| {
        rows.iter().map(|&(i, _)| f(opp(i))).collect::<Vec<i64>>()
    };
    Ok(DataFrame::new_infer_height(vec![
        Column::new(
            "opportunity_id".into(),
            rows.iter()
                .map(|&(i, _)| p.ids[i].as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new("owner".into(), text(&|o| o.owner)),
        Column::new("customer_id".into(), text(&|o| o.customer)),
        Column::new("stage".into(), text(&|o| o.stage)),
        Column::new(
            "amount".into(),
            rows.iter()
                .map(|&(i, _)| opp(i).amount.map(Money::to_f64_cents))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "created_at".into(),
            rows.iter()
                .map(|&(i, _)| opp(i).created)
                .collect::<Vec<i32>>(),
        )
        .cast(&DataType::Date)?,
        Column::new("age_days".into(), ints(&|o| i64::from(p.as_of - o.created))),
        Column::new(
            "days_since_change".into(),
            ints(&|o| i64::from(p.as_of - o.last_change)),
        ),
        Column::new(
            "stale".into(),
            rows.iter()
                .map(|&(i, _)| p.as_of - opp(i).last_change > stale_days)
                .collect::<Vec<bool>>(),
        ),
        Column::new(
            "win_probability".into(),
            rows.iter()
                .map(|&(_, pr)| pr.map(|v| round_to(v, 4)))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "weighted_amount".into(),
            rows.iter()
                .map(|&(i, pr)| weighted(i, pr))
                .collect::<Vec<_>>(),
        ),
    ])?)
}

#[cfg(test)]
mod tests;
