//! Conversion of allocated leads (docs/metrics.md, "Conversion"): per ownership spell, did the customer
//! make a purchase within `window` days of the spell's start, while the spell held it?
//!
//! - A spell *matures* once its whole window is observed: start day + window < as_of. Younger
//!   spells are counted apart (`immature`), never as failures.
//! - It *converts* when a purchase (an order with positive net) falls on a day d with
//!   0 ≤ d − start ≤ window and the spell still covers d (a transfer hands the rest of the window
//!   to the next owner, whose own spell starts then).
//! - Days to conversion = first such purchase day − start day; revenue = net of every counted
//!   order row (refunds negative) the converted spell covers within its window.
//! - Follow-ups (optional): hours from the start to the first follow-up of the customer during
//!   the spell; the 24-hour share is over spells at least 24 hours old at as_of.

use crate::day::Day;
use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use polars::prelude::*;

use super::GroupKeys;
use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::grouped;
use super::ownership::{first_between, CustomerOrders, Interner, Ownership, Spell};
use super::periods::Period;
use super::stats::round_to;
use super::stats::wilson_fraction;
use super::Estimate;
use crate::day::DAY_MS;
use crate::money::{Money, Total};

#[derive(Debug, Clone, Copy, Default)]
pub struct Outcome {
    pub matured: bool,
    pub converted: bool,
    pub days_to_conversion: Option<i32>,
    /// Net of the counted order rows, rounded to cents (exact).
    pub revenue: Money,
    pub first_followup_hours: Option<f64>,
    /// At least 24 hours old at as_of (so the 24-hour follow-up share can be judged).
    pub day_old: bool,
}

pub fn outcomes(
    own: &Ownership,
    orders: &CustomerOrders,
    followups: Option<&[Vec<i64>]>,
    window: i32,
    as_of: Day,
) -> Vec<Outcome> {
    let as_of_ms = as_of.start_ms();
    own.spells
        .iter()
        .map(|s| outcome(s, orders, followups, window, as_of, as_of_ms))
        .collect()
}

fn outcome(
    s: &Spell,
    orders: &CustomerOrders,
    followups: Option<&[Vec<i64>]>,
    window: i32,
    as_of: Day,
    as_of_ms: i64,
) -> Outcome {
    let start = s.start_day();
    let until = (start + window + 1).min(s.cover_end(as_of));
    let matured = start + window < as_of.days();
    let first = orders.first_purchase_between(s.customer, start, until);
    let converted = matured && first.is_some();
    let revenue = if converted {
        orders.net_between(s.customer, start, until)
    } else {
        Money(0)
    };
    let first_followup_hours = followups.and_then(|f| {
        let times = f.get(s.customer as usize)?;
        let t = first_between(times, s.start_ms, s.end_ms.unwrap_or(as_of_ms))?;
        Some((t - s.start_ms) as f64 / 3_600_000.0)
    });
    Outcome {
        matured,
        converted,
        days_to_conversion: if converted {
            first.map(|d| d - start)
        } else {
            None
        },
        revenue,
        first_followup_hours,
        day_old: as_of_ms - s.start_ms >= DAY_MS,
    }
}

/// What a conversion table is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversionGroup {
    Owner,
    /// The month the spell started, YYYY-MM.
    Cohort,
    /// The customer's values in the customers-file columns of [`Keys::customer`], by customer index (one output
    /// column each; a multi-valued cell counts the spell in each of its values).
    Customer,
}

#[derive(Default)]
struct Acc {
    spells: u64,
    matured: u64,
    converted: u64,
    days: Vec<f64>,
    revenue: Total,
    followed: u64,
    hours: Vec<f64>,
    day_old: u64,
    within_24h: u64,
}

impl Acc {
    fn add(&mut self, o: &Outcome) {
        self.spells += 1;
        self.matured += u64::from(o.matured);
        self.converted += u64::from(o.converted);
        if let Some(d) = o.days_to_conversion {
            self.days.push(f64::from(d));
        }
        self.revenue.add(o.revenue);
        if let Some(h) = o.first_followup_hours {
            self.followed += 1;
            self.hours.push(h);
        }
        if o.day_old {
            self.day_old += 1;
            if o.first_followup_hours.is_some_and(|h| h <= 24.0) {
                self.within_24h += 1;
            }
        }
    }

    /// Adds another group's spells (two codes with one label: a blank and a `NaN` owner).
    fn merge(&mut self, other: Acc) {
        self.spells += other.spells;
        self.matured += other.matured;
        self.converted += other.converted;
        self.days.extend(other.days);
        self.revenue.0 += other.revenue.0;
        self.followed += other.followed;
        self.hours.extend(other.hours);
        self.day_old += other.day_old;
        self.within_24h += other.within_24h;
    }
}

/// The spells that started on or after `day`, with their outcomes: what a date range counts
/// (docs/metrics.md, "Periods"; the range's end is the analysis date the outcomes were judged
/// at).
pub fn started_from(
    spells: &[Spell],
    outcomes: &[Outcome],
    day: i32,
) -> (Vec<Spell>, Vec<Outcome>) {
    spells
        .iter()
        .zip(outcomes)
        .filter(|(s, _)| s.start_day() >= day)
        .map(|(s, o)| (*s, *o))
        .unzip()
}

/// The conversion rate of all spells (converted ÷ matured) with its Wilson 95 % interval, as in
/// the `all` row of [`table`]; None while no spell has matured.
pub fn overall(outcomes: &[Outcome]) -> Option<Estimate> {
    let matured = outcomes.iter().filter(|o| o.matured).count();
    let converted = outcomes.iter().filter(|o| o.converted).count();
    (matured > 0).then(|| wilson_fraction(converted as f64, matured as f64).into())
}

pub use super::stats::median;

/// Context for the group keys.
pub struct Keys<'a> {
    pub strings: &'a Interner,
    /// Customers-file groups per customer index (`--by COLUMN --customers FILE`).
    pub customer: Option<&'a GroupKeys>,
}

/// Most group-by columns in one table.
const MAX_GROUPS: usize = 4;

/// One row per group (sorted by the group values), then an `all` row.
pub fn table(
    spells: &[Spell],
    outcomes: &[Outcome],
    by: &[ConversionGroup],
    keys: &Keys,
    with_followups: bool,
) -> Result<DataFrame> {
    // Spells are first grouped by small integer keys (owner ID, source number, month index) —
    // millions of spells, a handful of groups — and the text labels are made once per group.
    // Each key maps to one label, so no two groups merge.
    if by.len() > MAX_GROUPS {
        anyhow::bail!("--by: at most {MAX_GROUPS} groupings");
    }
    // Customer group keys (combinations of customers-file values) numbered as met.
    let mut combo_ids: HashMap<&[String], u64> = HashMap::new();
    let mut combos: Vec<&[String]> = Vec::new();
    let unknown: Vec<String> = keys.customer.map_or(Vec::new(), |c| {
        vec![super::UNKNOWN.to_string(); c.names.len()]
    });
    let mut by_id: HashMap<[u64; MAX_GROUPS], Acc> = HashMap::new();
    let mut all = Acc::default();
    let customer_slot = by.iter().position(|g| *g == ConversionGroup::Customer);
    for (s, o) in spells.iter().zip(outcomes) {
        let mut k = [0u64; MAX_GROUPS];
        for (slot, g) in k.iter_mut().zip(by) {
            *slot = match g {
                ConversionGroup::Owner => u64::from(s.owner),
                ConversionGroup::Cohort => i64::from(Period::Month.index(s.start_day())) as u64,
                ConversionGroup::Customer => 0,
            };
        }
        match (customer_slot, keys.customer) {
            (Some(slot), Some(c)) => {
                let theirs: &[Vec<String>] =
                    c.of.get(s.customer as usize).map_or(&[], |v| v.as_slice());
                let theirs: Vec<&[String]> = if theirs.is_empty() {
                    vec![unknown.as_slice()]
                } else {
                    theirs.iter().map(Vec::as_slice).collect()
                };
                for combo in theirs {
                    let id = *combo_ids.entry(combo).or_insert_with(|| {
                        combos.push(combo);
                        combos.len() as u64 - 1
                    });
                    let mut key = k;
                    key[slot] = id;
                    by_id.entry(key).or_default().add(o);
                }
            }
            _ => by_id.entry(k).or_default().add(o),
        }
        all.add(o);
    }
    let label = |g: ConversionGroup, id: u64| -> Vec<String> {
        match g {
            ConversionGroup::Owner => vec![keys.strings.name(id as u32).to_string()],
            ConversionGroup::Cohort => vec![Period::Month.label(id as i64 as i32)],
            ConversionGroup::Customer => combos[id as usize].to_vec(),
        }
    };
    // Unknown groups after the known ones, then by value; codes with one label are one group.
    let mut groups: grouped::Groups<Acc> = BTreeMap::new();
    for (k, acc) in by_id {
        let labels: Vec<String> = by.iter().zip(k).flat_map(|(g, id)| label(*g, id)).collect();
        let unknown = labels.iter().any(|l| l == super::UNKNOWN);
        groups.entry((unknown, labels)).or_default().merge(acc);
    }
    let names: Vec<String> = by
        .iter()
        .flat_map(|g| match g {
            ConversionGroup::Owner => vec!["owner".to_string()],
            ConversionGroup::Cohort => vec!["cohort".to_string()],
            ConversionGroup::Customer => keys.customer.map_or(Vec::new(), |c| c.names.clone()),
        })
        .collect();
    let (mut cols, mut rows) = grouped::with_all_row(&names, groups, all);
    let mut medians = Vec::new();
    let mut hours = Vec::new();
    for a in rows.iter_mut() {
        medians.push(median(&mut a.days));
        hours.push(median(&mut a.hours).map(|h| round_to(h, 2)));
    }
    let u = |f: &dyn Fn(&Acc) -> u64| rows.iter().map(f).collect::<Vec<u64>>();
    let rates: Vec<Option<f64>> = rows
        .iter()
        .map(|a| {
            let (rate, _, _) = wilson_fraction(a.converted as f64, a.matured as f64);
            (a.matured > 0).then_some(round_to(rate, 4))
        })
        .collect();
    let [ci_low, ci_high] = grouped::wilson_columns(rows.iter().map(|a| (a.converted, a.matured)));
    cols.push(Column::new("spells".into(), u(&|a| a.spells)));
    cols.push(Column::new("matured".into(), u(&|a| a.matured)));
    cols.push(Column::new("immature".into(), u(&|a| a.spells - a.matured)));
    cols.push(Column::new("converted".into(), u(&|a| a.converted)));
    cols.push(Column::new("conversion_rate".into(), rates));
    cols.push(ci_low);
    cols.push(ci_high);
    cols.push(Column::new("median_days_to_conversion".into(), medians));
    cols.push(Column::new(
        "converted_revenue".into(),
        rows.iter()
            .map(|a| a.revenue.to_f64_cents())
            .collect::<Vec<f64>>(),
    ));
    if with_followups {
        cols.push(Column::new("followed_up".into(), u(&|a| a.followed)));
        cols.push(Column::new("median_hours_to_first_followup".into(), hours));
        cols.push(Column::new(
            "followed_up_24h_share".into(),
            rows.iter()
                .map(|a| {
                    (a.day_old > 0).then(|| round_to(a.within_24h as f64 / a.day_old as f64, 4))
                })
                .collect::<Vec<Option<f64>>>(),
        ));
    }
    Ok(DataFrame::new_infer_height(cols)?)
}

/// Pearson's chi-square test of independence between owner and conversion, on matured spells.
#[derive(Debug, Clone, PartialEq)]
pub struct ChiSquare {
    pub statistic: f64,
    pub df: u32,
    pub p_value: f64,
    pub owners: usize,
    /// Cells whose expected count is below 5 (the approximation is then rough).
    pub small_cells: usize,
}

impl ChiSquare {
    /// The p-value as a reader takes it: `p = 0.0312`, or `p < 0.0001` (never `p = 0.0000`).
    pub fn p_text(&self) -> String {
        if self.p_value < 0.0001 {
            "p < 0.0001".to_string()
        } else {
            format!("p = {:.4}", self.p_value)
        }
    }
}

pub fn owner_test(spells: &[Spell], outcomes: &[Outcome]) -> Option<ChiSquare> {
    let mut table: BTreeMap<u32, (f64, f64)> = BTreeMap::new();
    for (s, o) in spells.iter().zip(outcomes) {
        if o.matured {
            let e = table.entry(s.owner).or_default();
            if o.converted {
                e.0 += 1.0;
            } else {
                e.1 += 1.0;
            }
        }
    }
    let n: f64 = table.values().map(|(a, b)| a + b).sum();
    let yes: f64 = table.values().map(|(a, _)| a).sum();
    let no = n - yes;
    if table.len() < 2 || yes == 0.0 || no == 0.0 {
        return None;
    }
    let mut statistic = 0.0;
    let mut small_cells = 0;
    for (a, b) in table.values() {
        let row = a + b;
        for (observed, column) in [(a, yes), (b, no)] {
            let expected = row * column / n;
            if expected < 5.0 {
                small_cells += 1;
            }
            statistic += (observed - expected).powi(2) / expected;
        }
    }
    let df = (table.len() - 1) as u32;
    let p_value = ChiSquared::new(f64::from(df)).ok()?.sf(statistic);
    Some(ChiSquare {
        statistic,
        df,
        p_value,
        owners: table.len(),
        small_cells,
    })
}
