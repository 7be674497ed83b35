//! Recovery (win-back) success (docs/metrics.md, "Recovery").
//!
//! An *episode* starts when a customer is recycled or released to the pool (from the event log),
//! or, without a log, when it churns: `churn_days` pass after a purchase with no next purchase
//! (the churn day = that purchase + churn_days). It is *recovered* when a purchase falls within
//! `window` days (0 ≤ d − start ≤ window) of the recovery start: the customer's next spell start
//! (covered by that spell), or the churn day.
//! - Matured: start + window < as_of, where start is the next spell (reclaimed) or the return /
//!   churn day (not reclaimed). Immature episodes are counted apart, never as failures.
//! - Value added: net of the counted order rows in the recovery window. Loyalty: a recovered
//!   customer who buys again within `window` days after the recovering purchase; judged once that
//!   window has closed (`loyalty_base`).

use crate::day::Day;
use std::collections::BTreeMap;

use anyhow::Result;
use polars::prelude::*;

use super::GroupKeys;

use super::grouped;
use super::ownership::{CustomerOrders, Interner, Ownership, NONE};
use super::periods::Period;
use super::stats::median;
use super::stats::round_to;
use super::stats::wilson_fraction;
use super::Estimate;
use crate::money::{Money, Total};

#[derive(Debug, Clone)]
pub struct Episode {
    pub customer: u32,
    /// Day the customer left (recycle/release day, or churn day).
    pub day: i32,
    /// Recovering owner: the next spell's owner (events), or the order owner of the last
    /// purchase before churning; NONE when nobody.
    pub owner: u32,
    pub previous_owner: u32,
    pub reason: u32,
    pub pool: u32,
    /// Recovery start: the next spell's start day, or the churn day.
    pub start: Option<i32>,
    /// First day no longer covered (the next spell's cover end), or None for no limit.
    pub until: Option<i32>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Outcome {
    pub matured: bool,
    pub reclaimed: bool,
    pub recovered: bool,
    pub days_to_recovery: Option<i32>,
    /// Net of the order rows in the recovery window, rounded to cents (exact).
    pub value: Money,
    pub loyalty_judged: bool,
    pub repurchased: bool,
}

/// Keeps the episodes that began on or after `day`: a date range's returns to the pool (or churn
/// days) (docs/metrics.md, "Periods").
pub fn began_from(episodes: &mut Vec<Episode>, day: i32) {
    episodes.retain(|e| e.day >= day);
}

/// Episodes from the pool returns of the event log.
pub fn from_events(own: &Ownership, as_of: Day) -> Vec<Episode> {
    own.returns
        .iter()
        .map(|r| {
            let next = r.next_spell.map(|s| &own.spells[s]);
            Episode {
                customer: r.customer,
                day: Day::of_ms(r.at_ms).days(),
                owner: next.map_or(NONE, |s| s.owner),
                previous_owner: r.previous_owner,
                reason: r.reason,
                pool: r.pool,
                start: next.map(|s| s.start_day()),
                until: next.map(|s| s.cover_end(as_of)),
            }
        })
        .collect()
}

/// Episodes from purchase gaps longer than `churn_days` (no event log needed).
pub fn from_churn(
    orders: &CustomerOrders,
    churn_days: i32,
    as_of: Day,
    churned: u32,
) -> Vec<Episode> {
    let as_of = as_of.days();
    let mut out = Vec::new();
    for c in orders.customers() {
        let days = orders.purchases_of(c);
        for (i, &d) in days.iter().enumerate() {
            let next = days.get(i + 1).copied().unwrap_or(as_of);
            let churn = d + churn_days;
            if next > churn && churn < as_of {
                out.push(Episode {
                    customer: c,
                    day: churn,
                    owner: orders.purchase_owner(c, i),
                    previous_owner: orders.purchase_owner(c, i),
                    reason: churned,
                    pool: NONE,
                    start: Some(churn),
                    until: None,
                });
            }
        }
    }
    out
}

pub fn outcomes(
    episodes: &[Episode],
    orders: &CustomerOrders,
    window: i32,
    as_of: Day,
) -> Vec<Outcome> {
    episodes
        .iter()
        .map(|e| {
            let from = e.start.unwrap_or(e.day);
            let matured = from + window < as_of.days();
            let Some(start) = e.start else {
                return Outcome {
                    matured,
                    ..Outcome::default()
                };
            };
            let until = (start + window + 1).min(e.until.unwrap_or(i32::MAX));
            let first = orders.first_purchase_between(e.customer, start, until);
            let recovered = matured && first.is_some();
            let mut o = Outcome {
                matured,
                reclaimed: true,
                recovered,
                ..Outcome::default()
            };
            if let (true, Some(p)) = (recovered, first) {
                o.days_to_recovery = Some(p - start);
                o.value = orders.net_between(e.customer, start, until);
                o.loyalty_judged = p + window < as_of.days();
                o.repurchased = o.loyalty_judged
                    && orders
                        .first_purchase_between(e.customer, p + 1, p + window + 1)
                        .is_some();
            }
            o
        })
        .collect()
}

/// The recovery rate of all episodes (recovered ÷ matured) with its Wilson 95 % interval, as in
/// the `all` row of [`table`]; None while no episode has matured.
pub fn overall(outcomes: &[Outcome]) -> Option<Estimate> {
    let matured = outcomes.iter().filter(|o| o.matured).count();
    let recovered = outcomes.iter().filter(|o| o.recovered).count();
    (matured > 0).then(|| wilson_fraction(recovered as f64, matured as f64).into())
}

/// Loyalty after recovery of all episodes (repurchased ÷ loyalty_base, the `loyalty_rate` of
/// the `all` row of [`table`]) with its Wilson 95 % interval; None while no recovery has been
/// judged.
pub fn loyalty(outcomes: &[Outcome]) -> Option<Estimate> {
    let judged = outcomes.iter().filter(|o| o.loyalty_judged).count();
    let repurchased = outcomes.iter().filter(|o| o.repurchased).count();
    (judged > 0).then(|| wilson_fraction(repurchased as f64, judged as f64).into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryGroup {
    /// The recovering owner (next spell), or the last order's owner for churn.
    Owner,
    /// The owner who lost the customer.
    PreviousOwner,
    /// The recycle reason (`churned` without an event log).
    Reason,
    Pool,
    /// Month the customer left, YYYY-MM.
    Month,
    /// The customer's customers-file groups (one column each; see [`GroupKeys`]).
    Customer,
}

impl RecoveryGroup {
    /// The group of a `--by` name, `None` for a customers-file column.
    pub fn from_name(name: &str) -> Option<RecoveryGroup> {
        Some(match name.replace('-', "_").as_str() {
            "owner" => RecoveryGroup::Owner,
            "previous_owner" => RecoveryGroup::PreviousOwner,
            "reason" => RecoveryGroup::Reason,
            "pool" => RecoveryGroup::Pool,
            "month" => RecoveryGroup::Month,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            RecoveryGroup::Owner => "owner",
            RecoveryGroup::PreviousOwner => "previous_owner",
            RecoveryGroup::Reason => "reason",
            RecoveryGroup::Pool => "pool",
            RecoveryGroup::Month => "month",
            RecoveryGroup::Customer => "",
        }
    }
}

#[derive(Default)]
struct Acc {
    episodes: u64,
    matured: u64,
    reclaimed: u64,
    recovered: u64,
    days: Vec<f64>,
    value: Total,
    loyalty_base: u64,
    repurchased: u64,
}

impl Acc {
    fn count(&mut self, o: &Outcome) {
        self.episodes += 1;
        self.matured += u64::from(o.matured);
        self.reclaimed += u64::from(o.matured && o.reclaimed);
        self.recovered += u64::from(o.recovered);
        if let Some(d) = o.days_to_recovery {
            self.days.push(f64::from(d));
        }
        self.value.add(o.value);
        self.loyalty_base += u64::from(o.loyalty_judged);
        self.repurchased += u64::from(o.repurchased);
    }
}

/// One row per group, sorted, then `all`. `with_reclaim` adds the reclaimed column (event log).
pub fn table(
    episodes: &[Episode],
    outcomes: &[Outcome],
    by: &[RecoveryGroup],
    strings: &Interner,
    customer: Option<&GroupKeys>,
    with_reclaim: bool,
) -> Result<DataFrame> {
    let label = |e: &Episode, g: RecoveryGroup| -> String {
        match g {
            RecoveryGroup::Owner => {
                if e.owner == NONE && with_reclaim && e.start.is_none() {
                    "(pool)".into()
                } else {
                    strings.name(e.owner).to_string()
                }
            }
            RecoveryGroup::PreviousOwner => strings.name(e.previous_owner).to_string(),
            RecoveryGroup::Reason => strings.name(e.reason).to_string(),
            RecoveryGroup::Pool => strings.name(e.pool).to_string(),
            RecoveryGroup::Month => Period::Month.label(Period::Month.index(e.day)),
            RecoveryGroup::Customer => String::new(),
        }
    };
    // The group keys of an episode: one, or one per value of a multi-valued customer cell.
    let keys_of = |e: &Episode| -> Vec<Vec<String>> {
        let mut keys: Vec<Vec<String>> = vec![Vec::new()];
        for g in by {
            if *g == RecoveryGroup::Customer {
                let theirs =
                    customer.map_or_else(|| vec![Vec::new()], |c| c.keys_of(e.customer as usize));
                keys = keys
                    .iter()
                    .flat_map(|k| {
                        theirs.iter().map(move |t| {
                            let mut k = k.clone();
                            k.extend(t.iter().cloned());
                            k
                        })
                    })
                    .collect();
            } else {
                for k in &mut keys {
                    k.push(label(e, *g));
                }
            }
        }
        keys
    };
    let names: Vec<String> = by
        .iter()
        .flat_map(|g| match g {
            RecoveryGroup::Customer => customer.map_or(Vec::new(), |c| c.names.clone()),
            g => vec![g.name().to_string()],
        })
        .collect();
    // Unknown customer groups after the known ones.
    let mut groups: grouped::Groups<Acc> = BTreeMap::new();
    let mut all = Acc::default();
    for (e, o) in episodes.iter().zip(outcomes) {
        for k in keys_of(e) {
            let is_unknown =
                by.contains(&RecoveryGroup::Customer) && k.iter().any(|v| v == super::UNKNOWN);
            groups.entry((is_unknown, k)).or_default().count(o);
        }
        all.count(o);
    }
    let (mut cols, mut rows) = grouped::with_all_row(&names, groups, all);
    let medians: Vec<Option<f64>> = rows.iter_mut().map(|a| median(&mut a.days)).collect();
    let u = |f: &dyn Fn(&Acc) -> u64| rows.iter().map(f).collect::<Vec<u64>>();
    let ratio = |num: &dyn Fn(&Acc) -> f64, den: &dyn Fn(&Acc) -> f64| {
        rows.iter()
            .map(|a| (den(a) > 0.0).then(|| round_to(num(a) / den(a), 4)))
            .collect::<Vec<Option<f64>>>()
    };
    let [ci_low, ci_high] = grouped::wilson_columns(rows.iter().map(|a| (a.recovered, a.matured)));
    cols.push(Column::new("episodes".into(), u(&|a| a.episodes)));
    cols.push(Column::new("matured".into(), u(&|a| a.matured)));
    cols.push(Column::new(
        "immature".into(),
        u(&|a| a.episodes - a.matured),
    ));
    if with_reclaim {
        cols.push(Column::new("reclaimed".into(), u(&|a| a.reclaimed)));
    }
    cols.push(Column::new("recovered".into(), u(&|a| a.recovered)));
    cols.push(Column::new(
        "recovery_rate".into(),
        ratio(&|a| a.recovered as f64, &|a| a.matured as f64),
    ));
    cols.push(ci_low);
    cols.push(ci_high);
    cols.push(Column::new("median_days_to_recovery".into(), medians));
    cols.push(Column::new(
        "value_added".into(),
        rows.iter()
            .map(|a| a.value.to_f64_cents())
            .collect::<Vec<f64>>(),
    ));
    cols.push(Column::new(
        "value_per_recovered".into(),
        rows.iter()
            .map(|a| (a.recovered > 0).then(|| a.value.per_cents(a.recovered)))
            .collect::<Vec<Option<f64>>>(),
    ));
    cols.push(Column::new("loyalty_base".into(), u(&|a| a.loyalty_base)));
    cols.push(Column::new("repurchased".into(), u(&|a| a.repurchased)));
    cols.push(Column::new(
        "loyalty_rate".into(),
        ratio(&|a| a.repurchased as f64, &|a| a.loyalty_base as f64),
    ));
    Ok(DataFrame::new_infer_height(cols)?)
}
