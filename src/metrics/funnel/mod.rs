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

pub mod rules;
pub mod stages;

use crate::day::Day;
use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use polars::prelude::*;

use crate::metrics::ownership::{Interner, NONE};
use crate::metrics::periods::Period;
use crate::metrics::stats::round_to;
use crate::metrics::stats::wilson_fraction;
use crate::metrics::{Estimate, GroupKeys, UNKNOWN};
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
    pub as_of: Day,
    /// The open stages in funnel order; empty when the order is not known.
    pub stages: Vec<String>,
    /// The opportunity IDs, in the order of `opportunities`.
    pub ids: StringChunked,
    pub opportunities: Vec<Opportunity>,
    pub stays: Vec<Stay>,
    pub has_history: bool,
    /// The labels of every interned value (stages, owners, customers, …).
    pub names: Interner,
    /// The account's customers-file groups per opportunity (`--by COLUMN --customers FILE`).
    pub customer_groups: Option<GroupKeys>,
}

/// Most groupings in one table (one of each kind).
pub const MAX_GROUPS: usize = 7;

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
    /// The account's values in customers-file columns ([`Pipeline::customer_groups`]).
    #[value(skip)]
    Customer,
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
            FunnelGroup::Customer => "customer",
        }
    }

    /// The opportunity's value of this grouping as a small integer (an interned label, or the
    /// month's index), so that millions of opportunities are grouped without a string each.
    fn code(self, o: &Opportunity) -> i64 {
        match self {
            FunnelGroup::Owner => i64::from(o.owner),
            FunnelGroup::Team => i64::from(o.team),
            FunnelGroup::Region => i64::from(o.region),
            FunnelGroup::Product => i64::from(o.product),
            FunnelGroup::Source => i64::from(o.source),
            FunnelGroup::Month => i64::from(Period::Month.index(o.created)),
            // Numbered per combination of values when grouping (Pipeline::groups).
            FunnelGroup::Customer => 0,
        }
    }

    fn label(self, p: &Pipeline, code: i64) -> String {
        match self {
            FunnelGroup::Month => Period::Month.label(code as i32),
            _ => p.names.name(code as u32).to_string(),
        }
    }
}

pub use crate::metrics::stats::quantile;

/// The tables of the funnel (`funnel --show`, `sql funnel --show`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Show {
    /// Per group: counts, win rate, cycle, amounts, weighted pipeline, velocity.
    Summary,
    /// Per stage: reached, advanced, conversion, open and lost there, days in stage.
    Stages,
    /// The open opportunities, highest weighted amount first.
    Open,
}

impl Pipeline {
    /// Reached stage k: its furthest stage is k or later (won deals reached every stage).
    fn reached(&self, o: &Opportunity, k: usize) -> bool {
        o.outcome != Outcome::Invalid
            && (o.outcome == Outcome::Won || o.furthest.is_some_and(|f| usize::from(f) >= k))
    }

    /// Win probability from each open stage, measured on the given closed opportunities; the
    /// plain win rate when the stage order is unknown (one entry for "any stage").
    pub fn win_probabilities<'a>(
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
    pub fn probability(&self, o: &Opportunity, p: &[Option<f64>]) -> Option<f64> {
        if self.stages.is_empty() {
            p[0]
        } else {
            o.furthest
                .and_then(|f| p.get(usize::from(f)).copied().flatten())
        }
    }

    /// The groups of `by` (label → opportunity indexes), sorted by label with `(unknown)`
    /// customer groups after the others, then `all`. An opportunity whose account has a
    /// multi-valued customers-file cell is in each of its groups.
    fn groups(&self, by: &[FunnelGroup]) -> Vec<(Vec<String>, Vec<usize>)> {
        // Grouped by integer codes, labelled once per group; codes whose labels are the same
        // (a blank and a `NaN` cell are both `(unknown)`) are one group.
        let mut by_code: HashMap<[i64; MAX_GROUPS], Vec<usize>> = HashMap::new();
        let customer = by
            .iter()
            .position(|g| *g == FunnelGroup::Customer)
            .zip(self.customer_groups.as_ref());
        // Customers-file value combinations, numbered as met.
        let mut combo_ids: HashMap<Vec<String>, i64> = HashMap::new();
        let mut combos: Vec<Vec<String>> = Vec::new();
        if !by.is_empty() {
            for (i, o) in self.opportunities.iter().enumerate() {
                let mut key = [0i64; MAX_GROUPS];
                for (slot, g) in key.iter_mut().zip(by) {
                    *slot = g.code(o);
                }
                match customer {
                    Some((slot, c)) => {
                        for combo in c.keys_of(i) {
                            let next = combos.len() as i64;
                            key[slot] = *combo_ids.entry(combo.clone()).or_insert_with(|| {
                                combos.push(combo);
                                next
                            });
                            by_code.entry(key).or_default().push(i);
                        }
                    }
                    None => by_code.entry(key).or_default().push(i),
                }
            }
        }
        let mut groups: BTreeMap<(bool, Vec<String>), Vec<usize>> = BTreeMap::new();
        for (codes, members) in by_code {
            let labels: Vec<String> = by
                .iter()
                .zip(codes)
                .flat_map(|(g, c)| match g {
                    FunnelGroup::Customer => combos[c as usize].clone(),
                    _ => vec![g.label(self, c)],
                })
                .collect();
            let unknown = customer.is_some() && labels.iter().any(|l| l == UNKNOWN);
            groups.entry((unknown, labels)).or_default().extend(members);
        }
        // Members in file order, whichever codes met first.
        for members in groups.values_mut() {
            members.sort_unstable();
        }
        let mut out: Vec<(Vec<String>, Vec<usize>)> =
            groups.into_iter().map(|((_, k), m)| (k, m)).collect();
        out.push((
            vec![crate::metrics::ALL.to_string(); self.group_names(by).len()],
            (0..self.opportunities.len()).collect(),
        ));
        out
    }

    /// The output's group columns for `by`: one per grouping, the customers-file columns for
    /// [`FunnelGroup::Customer`].
    fn group_names(&self, by: &[FunnelGroup]) -> Vec<String> {
        by.iter()
            .flat_map(|g| match (g, &self.customer_groups) {
                (FunnelGroup::Customer, Some(c)) => c.names.clone(),
                (FunnelGroup::Customer, None) => Vec::new(),
                _ => vec![g.name().to_string()],
            })
            .collect()
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
    /// A table after `groups` label columns, and those columns to fill.
    fn new(groups: usize) -> (Table, Vec<Vec<String>>) {
        (
            Table {
                names: Vec::new(),
                values: Vec::new(),
            },
            vec![Vec::new(); groups],
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

    fn frame(self, group_names: &[String], labels: Vec<Vec<String>>) -> Result<DataFrame> {
        let mut columns: Vec<Column> = group_names
            .iter()
            .zip(labels)
            .map(|(g, l)| Column::new(g.as_str().into(), l))
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
impl Pipeline {
    /// The opportunities a date range from `day` to as_of counts (docs/metrics.md, "Periods"):
    /// those closed (won, lost or invalid) in it, for the win rate and cycles, and those open at
    /// its end (as_of), for the pipeline; with their stays. A deal closed before `day` is left
    /// out.
    pub fn counted_from(self, day: i32) -> Pipeline {
        let keep: Vec<bool> = self
            .opportunities
            .iter()
            .map(|o| o.outcome == Outcome::Open || o.closed.is_some_and(|c| c >= day))
            .collect();
        // New index of each kept opportunity.
        let mut index = vec![u32::MAX; keep.len()];
        let mut next = 0u32;
        for (i, k) in keep.iter().enumerate() {
            if *k {
                index[i] = next;
                next += 1;
            }
        }
        let mask: BooleanChunked = keep.iter().copied().collect();
        Pipeline {
            ids: self.ids.filter(&mask).unwrap_or_else(|_| self.ids.clone()),
            opportunities: self
                .opportunities
                .into_iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(o, _)| o)
                .collect(),
            stays: self
                .stays
                .into_iter()
                .filter(|s| keep[s.opportunity as usize])
                .map(|s| Stay {
                    opportunity: index[s.opportunity as usize],
                    ..s
                })
                .collect(),
            customer_groups: self.customer_groups.map(|g| GroupKeys {
                of: g
                    .of
                    .into_iter()
                    .zip(&keep)
                    .filter(|(_, k)| **k)
                    .map(|(o, _)| o)
                    .collect(),
                ..g
            }),
            ..self
        }
    }
}

pub fn win_rate(p: &Pipeline) -> Option<Estimate> {
    let count = |o: Outcome| p.opportunities.iter().filter(|x| x.outcome == o).count() as f64;
    let (won, lost) = (count(Outcome::Won), count(Outcome::Lost));
    (won + lost > 0.0).then(|| wilson_fraction(won, won + lost).into())
}

/// The totals of one group that the summary reads, added up in one pass.
#[derive(Clone, Default)]
struct SummaryAcc {
    opportunities: i64,
    open: i64,
    won: i64,
    lost: i64,
    invalid: i64,
    won_cycles: Vec<f64>,
    lost_cycles: Vec<f64>,
    won_amount: i128,
    priced_wins: i64,
    open_amount: i128,
    weighted: f64,
}

impl SummaryAcc {
    fn add(&mut self, o: &Opportunity, weighted: Option<f64>) {
        self.opportunities += 1;
        let cycle = o
            .closed
            .map(|c| f64::from(c - o.created))
            .filter(|d| *d >= 0.0);
        match o.outcome {
            Outcome::Open => {
                self.open += 1;
                if let Some(m) = o.amount {
                    self.open_amount += i128::from(m.0);
                }
                self.weighted += weighted.unwrap_or(0.0);
            }
            Outcome::Won => {
                self.won += 1;
                self.won_cycles.extend(cycle);
                if let Some(m) = o.amount {
                    self.won_amount += i128::from(m.0);
                    self.priced_wins += 1;
                }
            }
            Outcome::Lost => {
                self.lost += 1;
                self.lost_cycles.extend(cycle);
            }
            Outcome::Invalid => self.invalid += 1,
        }
    }
}

impl Pipeline {
    /// The group of each opportunity among `groups` (the last, `all`, when ungrouped).
    /// The groups each opportunity is in besides `all` (the last group).
    fn membership(&self, groups: &[(Vec<String>, Vec<usize>)]) -> Membership {
        let mut offsets = vec![0usize; self.opportunities.len() + 1];
        let named = &groups[..groups.len() - 1];
        for (_, members) in named {
            for &i in members {
                offsets[i + 1] += 1;
            }
        }
        for i in 0..self.opportunities.len() {
            offsets[i + 1] += offsets[i];
        }
        let mut next = offsets.clone();
        let mut of = vec![0usize; offsets[self.opportunities.len()]];
        for (g, (_, members)) in named.iter().enumerate() {
            for &i in members {
                of[next[i]] = g;
                next[i] += 1;
            }
        }
        Membership { offsets, of }
    }
}

/// The groups of each opportunity besides `all`: several when its account has a multi-valued
/// customers-file cell, none without grouping. One list, cut by offsets.
struct Membership {
    offsets: Vec<usize>,
    of: Vec<usize>,
}

impl Membership {
    fn of(&self, opportunity: usize) -> &[usize] {
        &self.of[self.offsets[opportunity]..self.offsets[opportunity + 1]]
    }
}

/// Per group: opportunities, open, won, lost, invalid, win rate with its interval, won and lost
/// cycle quantiles, won and open amounts, weighted pipeline and velocity; then the `all` row.
pub fn summary(p: &Pipeline, by: &[FunnelGroup]) -> Result<DataFrame> {
    let probability = p.win_probabilities(p.opportunities.iter());
    let groups = p.groups(by);
    let all = groups.len() - 1;
    let member = p.membership(&groups);
    let mut acc = vec![SummaryAcc::default(); groups.len()];
    for (i, o) in p.opportunities.iter().enumerate() {
        let weighted = (o.outcome == Outcome::Open)
            .then(|| Some(o.amount?.to_f64() * p.probability(o, &probability)?))
            .flatten();
        for &g in member.of(i) {
            acc[g].add(o, weighted);
        }
        acc[all].add(o, weighted);
    }
    let names = p.group_names(by);
    let (mut t, mut labels) = Table::new(names.len());
    for ((key, _), a) in groups.into_iter().zip(acc.iter_mut()) {
        for (l, v) in labels.iter_mut().zip(key) {
            l.push(v);
        }
        t.int("opportunities", a.opportunities);
        t.int("open", a.open);
        t.int("won", a.won);
        t.int("lost", a.lost);
        t.int("invalid", a.invalid);
        let rate =
            (a.won + a.lost > 0).then(|| wilson_fraction(a.won as f64, (a.won + a.lost) as f64));
        t.float("win_rate", rate.map(|r| round_to(r.0, 4)));
        t.float("ci_low", rate.map(|r| round_to(r.1, 4)));
        t.float("ci_high", rate.map(|r| round_to(r.2, 4)));
        a.won_cycles.sort_by(f64::total_cmp);
        a.lost_cycles.sort_by(f64::total_cmp);
        let q = |v: &[f64], at: f64| quantile(v, at).map(|x| round_to(x, 1));
        let median_cycle = quantile(&a.won_cycles, 0.5);
        t.float("median_cycle_days", median_cycle.map(|x| round_to(x, 1)));
        t.float("cycle_p25_days", q(&a.won_cycles, 0.25));
        t.float("cycle_p75_days", q(&a.won_cycles, 0.75));
        t.float("lost_median_cycle_days", q(&a.lost_cycles, 0.5));
        let avg_won = (a.priced_wins > 0).then(|| a.won_amount as f64 / a.priced_wins as f64 / 1e4);
        t.float("won_amount", Some(money(a.won_amount)));
        t.float("avg_won_amount", avg_won.map(|v| round_to(v, 2)));
        t.float("open_amount", Some(money(a.open_amount)));
        t.float("weighted_pipeline", Some(round_to(a.weighted, 2)));
        let velocity = match (rate, avg_won, median_cycle) {
            (Some(r), Some(avg), Some(days)) if days > 0.0 => {
                Some(round_to(a.open as f64 * r.0 * avg / days, 2))
            }
            _ => None,
        };
        t.float("velocity_per_day", velocity);
    }
    t.frame(&names, labels)
}

/// The totals of one group that the stage table reads, per stage row, added up in one pass.
#[derive(Clone)]
struct StageAcc {
    won: u64,
    lost: u64,
    /// Valid opportunities other than won, by furthest stage (for `reached`).
    at: Vec<u64>,
    lost_at: Vec<u64>,
    open_here: Vec<u64>,
    open_amount: Vec<i128>,
}

impl StageAcc {
    fn new(rows: usize) -> StageAcc {
        StageAcc {
            won: 0,
            lost: 0,
            at: vec![0; rows],
            lost_at: vec![0; rows],
            open_here: vec![0; rows],
            open_amount: vec![0; rows],
        }
    }

    /// `row`: the opportunity's stage row (its furthest stage, or its current stage's place
    /// among the open stages when there is no order).
    fn add(&mut self, o: &Opportunity, row: Option<usize>) {
        match o.outcome {
            Outcome::Invalid => return,
            Outcome::Won => {
                self.won += 1;
                return;
            }
            Outcome::Lost => self.lost += 1,
            Outcome::Open => {}
        }
        let Some(k) = row.filter(|&k| k < self.at.len()) else {
            return;
        };
        self.at[k] += 1;
        match o.outcome {
            Outcome::Lost => self.lost_at[k] += 1,
            Outcome::Open => {
                self.open_here[k] += 1;
                if let Some(m) = o.amount {
                    self.open_amount[k] += i128::from(m.0);
                }
            }
            _ => {}
        }
    }
}

/// Per group and open stage in funnel order (then `won`): reached, advanced, conversion rate,
/// open and lost there, open amount, median days in stage, win probability. Without a stage
/// order, only the open counts and amounts per current stage (stages by name).
pub fn stage_table(p: &Pipeline, by: &[FunnelGroup]) -> Result<DataFrame> {
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
    let n = unordered.len();
    // The stage row of each opportunity.
    let place: HashMap<u32, usize> = if ordered {
        HashMap::new()
    } else {
        p.opportunities
            .iter()
            .filter(|o| o.outcome == Outcome::Open)
            .filter_map(|o| {
                let name = p.names.name(o.stage);
                Some((o.stage, unordered.iter().position(|s| s == name)?))
            })
            .collect()
    };
    let row_of = |o: &Opportunity| -> Option<usize> {
        if ordered {
            o.furthest.map(usize::from)
        } else {
            place.get(&o.stage).copied()
        }
    };
    let groups = p.groups(by);
    let all = groups.len() - 1;
    let member = p.membership(&groups);
    let mut acc = vec![StageAcc::new(n); groups.len()];
    for (i, o) in p.opportunities.iter().enumerate() {
        let row = row_of(o);
        for &g in member.of(i) {
            acc[g].add(o, row);
        }
        acc[all].add(o, row);
    }
    // Days in each stage per group, in one pass over the stays.
    let mut stay_days: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); n]; groups.len()];
    if ordered && p.has_history {
        for s in &p.stays {
            let k = usize::from(s.stage);
            if k >= n {
                continue;
            }
            let days = f64::from(s.days);
            for &g in member.of(s.opportunity as usize) {
                stay_days[g][k].push(days);
            }
            stay_days[all][k].push(days);
        }
    }
    let names = p.group_names(by);
    let (mut t, mut labels) = Table::new(names.len());
    let mut stage_names: Vec<String> = Vec::new();
    for (g, (key, _)) in groups.into_iter().enumerate() {
        let a = &acc[g];
        // reached k = won + valid others whose furthest is k or later.
        let mut reached = vec![0u64; n + 1];
        let mut lost_from = vec![0u64; n + 1];
        for k in (0..n).rev() {
            reached[k] = reached[k + 1] + a.at[k];
            lost_from[k] = lost_from[k + 1] + a.lost_at[k];
        }
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
            let won = a.won as f64;
            if !ordered {
                t.float("reached", None);
                t.float("advanced", None);
                t.float("conversion_rate", None);
            } else if is_won_row {
                t.float("reached", Some(won));
                t.float("advanced", None);
                t.float("conversion_rate", None);
            } else {
                let here = (a.won + reached[k]) as f64;
                let next = if k + 1 < n {
                    (a.won + reached[k + 1]) as f64
                } else {
                    won
                };
                t.float("reached", Some(here));
                t.float("advanced", Some(next));
                t.float(
                    "conversion_rate",
                    (here > 0.0).then(|| round_to(next / here, 4)),
                );
            }
            let (open_here, lost_here, open_amount) = if is_won_row {
                (0, 0, 0)
            } else {
                (
                    a.open_here[k],
                    if ordered { a.lost_at[k] } else { 0 },
                    a.open_amount[k],
                )
            };
            t.int("open_here", open_here as i64);
            t.int("lost_here", lost_here as i64);
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
            // Won ÷ closed among the closed that reached this stage (all closed, unordered).
            let closed = if !ordered {
                a.won + a.lost
            } else if is_won_row {
                a.won
            } else {
                a.won + lost_from[k]
            };
            let prob = if is_won_row {
                Some(1.0)
            } else {
                (closed > 0).then(|| a.won as f64 / closed as f64)
            };
            t.float("win_probability", prob.map(|v| round_to(v, 4)));
        }
    }
    let mut df = t.frame(&names, labels)?;
    df.insert_column(by.len(), Column::new("stage".into(), stage_names))?;
    Ok(df)
}

/// The open opportunities: ID, owner, customer, stage, amount, created, age, days since the last
/// stage change, stale (more than `stale_days`), win probability and weighted amount; highest
/// weighted amount first, then by ID.
pub fn open_table(p: &Pipeline, stale_days: i32) -> Result<DataFrame> {
    let ids: Vec<&str> = p.ids.iter().map(|id| id.unwrap_or_default()).collect();
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
            .then_with(|| ids[a.0].cmp(ids[b.0]))
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
            rows.iter().map(|&(i, _)| ids[i]).collect::<Vec<_>>(),
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
        Column::new(
            "age_days".into(),
            ints(&|o| i64::from(p.as_of.days() - o.created)),
        ),
        Column::new(
            "days_since_change".into(),
            ints(&|o| i64::from(p.as_of.days() - o.last_change)),
        ),
        Column::new(
            "stale".into(),
            rows.iter()
                .map(|&(i, _)| p.as_of.days() - opp(i).last_change > stale_days)
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
