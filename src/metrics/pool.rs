//! Pool rules (公海规则, docs/metrics.md "Pool rules"): who is due back to the pool, owners over their
//! limits, reclaims inside the cooldown, the pool ranked for re-allocation, and pool health.
//! "Now" is the start of the `as_of` day.

use crate::day::Day;
use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use polars::prelude::*;
use serde::Deserialize;

use super::conversion::Outcome as ConversionOutcome;
use super::ownership::{CustomerOrders, EventKind, Interner, Ownership, NONE};
use super::stats::median;
use super::stats::round_to;
use super::{GroupKeys, UNKNOWN};
use crate::day::{days_of_ms, ms_of_days};

/// The tables of the pool rules (`pool --show`, `sql pool --show`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Section {
    /// Customers due back to the pool.
    Due,
    /// Owners against their limits.
    Owners,
    /// Reclaims inside the cooldown.
    Reclaims,
    /// The pool ranked for re-allocation.
    Priority,
    /// Pool health per pool, then all.
    Health,
}

/// examples/pool-rules.toml, also the built-in default.
pub const DEFAULT_RULES: &str = include_str!("../../examples/pool-rules.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolRules {
    pub recycle: RecycleRules,
    pub limits: Limits,
    pub cooldown: Cooldown,
    pub priority: Priority,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecycleRules {
    /// Due back when now − max(last follow-up, claim) > this many days.
    pub no_followup_days: f64,
    /// Due back when now − claim > this many days without a deal in the spell.
    pub no_deal_days: f64,
    /// Customers who have ever bought are exempt from both rules.
    pub exempt_closed: bool,
    /// List as `due_soon` those due within this many days.
    pub warn_days: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Most customers one owner may hold.
    pub max_holding: u64,
    /// Most claims (from the pool) one owner may make in a day.
    pub max_daily_claims: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cooldown {
    /// The previous owner may not claim a customer back within this many days of returning it.
    pub reclaim_days: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Priority {
    /// Weight of recent activity: follow-ups and days with order rows in the last `activity_days`.
    pub recent_activity: f64,
    /// Weight of past value: net spend to date.
    pub past_value: f64,
    /// Weight of time in the pool (longer waits rank higher, so nobody is left behind).
    pub time_in_pool: f64,
    pub activity_days: i32,
}

impl PoolRules {
    pub fn parse(text: &str) -> std::result::Result<PoolRules, String> {
        let rules: PoolRules = toml::from_str(text).map_err(|e| e.to_string())?;
        let r = &rules.recycle;
        for (name, v) in [
            ("recycle.no_followup_days", r.no_followup_days),
            ("recycle.no_deal_days", r.no_deal_days),
            ("recycle.warn_days", r.warn_days),
            ("cooldown.reclaim_days", rules.cooldown.reclaim_days),
        ] {
            // Bounded: 10¹² days overflowed the millisecond arithmetic into "overdue".
            if !(0.0..=36_600.0).contains(&v) {
                return Err(format!(
                    "{name} = {v}: expected 0 to 36600 days (100 years)"
                ));
            }
        }
        let p = &rules.priority;
        let sum = p.recent_activity + p.past_value + p.time_in_pool;
        if [p.recent_activity, p.past_value, p.time_in_pool]
            .iter()
            .any(|w| w.is_nan() || *w < 0.0)
            || (sum - 1.0).abs() > 1e-9
        {
            return Err(format!(
                "[priority] weights must be 0 or more and sum to 1 (they sum to {sum})"
            ));
        }
        if !(1..=36_600).contains(&p.activity_days) {
            return Err("priority.activity_days: expected 1 to 36600 days".into());
        }
        Ok(rules)
    }
}

/// Everything `pool` reports.
pub struct PoolReport {
    pub due: DataFrame,
    /// Customers past their due date (the `overdue` rows of `due`).
    pub overdue: usize,
    /// Owners holding more than max_holding now, or over max_daily_claims on some day.
    pub owners_over_cap: usize,
    pub owners: DataFrame,
    pub reclaims: DataFrame,
    pub priority: DataFrame,
    pub health: DataFrame,
}

pub struct Inputs<'a> {
    pub own: &'a Ownership,
    pub customers: &'a Interner,
    pub strings: &'a Interner,
    pub orders: &'a CustomerOrders,
    pub followups: &'a [Vec<i64>],
    /// Conversion outcomes of the spells (for the claim-to-win rate).
    pub conversion: &'a [ConversionOutcome],
    pub as_of: Day,
}

fn datetime(ms: Vec<Option<i64>>, name: &str) -> Result<Column> {
    Ok(Column::new(name.into(), ms).cast(&DataType::Datetime(TimeUnit::Milliseconds, None))?)
}

fn date(days: Vec<i32>, name: &str) -> Result<Column> {
    Ok(Column::new(name.into(), days).cast(&DataType::Date)?)
}

pub fn report(i: &Inputs, rules: &PoolRules) -> Result<PoolReport> {
    let (due, overdue) = due(i, rules)?;
    let (owners, owners_over_cap) = owners(i, rules)?;
    Ok(PoolReport {
        due,
        overdue,
        owners,
        owners_over_cap,
        reclaims: reclaims(i, rules)?,
        priority: priority(i, rules)?,
        health: health(
            i,
            &HealthGroups {
                pool: true,
                customer: None,
            },
        )?,
    })
}

/// Held customers due back to the pool now (`overdue`) or within warn_days (`due_soon`).
fn due(i: &Inputs, rules: &PoolRules) -> Result<(DataFrame, usize)> {
    let now = i.as_of.start_ms();
    let r = &rules.recycle;
    let day = crate::day::ms_of_days;
    struct Row {
        customer: u32,
        owner: u32,
        claimed: i64,
        last_followup: Option<i64>,
        rule: &'static str,
        due_ms: i64,
    }
    let mut rows = Vec::new();
    for s in i.own.spells.iter().filter(|s| s.end_ms.is_none()) {
        let purchases = i.orders.purchases_of(s.customer);
        let closed = purchases.iter().any(|&d| d < i.as_of.days());
        if r.exempt_closed && closed {
            continue;
        }
        let times = i
            .followups
            .get(s.customer as usize)
            .map_or(&[][..], |v| v.as_slice());
        let start = times.partition_point(|&t| t < s.start_ms);
        let end = times.partition_point(|&t| t < now);
        let last_followup = times[start..end].last().copied();
        let anchor = last_followup.unwrap_or(s.start_ms).max(s.start_ms);
        let no_followup_due = anchor + day(r.no_followup_days);
        let deal = purchases
            .iter()
            .any(|&d| d >= s.start_day() && d < i.as_of.days());
        let no_deal_due = (!deal).then(|| s.start_ms + day(r.no_deal_days));
        let (rule, due_ms) = match no_deal_due {
            Some(nd) if nd < no_followup_due => ("no_deal", nd),
            Some(nd) if nd == no_followup_due => ("no_followup+no_deal", nd),
            _ => ("no_followup", no_followup_due),
        };
        if due_ms - day(r.warn_days) <= now {
            rows.push(Row {
                customer: s.customer,
                owner: s.owner,
                claimed: s.start_ms,
                last_followup,
                rule,
                due_ms,
            });
        }
    }
    rows.sort_by(|a, b| {
        a.due_ms.cmp(&b.due_ms).then_with(|| {
            i.customers
                .name(a.customer)
                .cmp(i.customers.name(b.customer))
        })
    });
    let days = |ms: i64| round_to(days_of_ms(now - ms), 1);
    let table = DataFrame::new_infer_height(vec![
        Column::new(
            "customer_id".into(),
            rows.iter()
                .map(|r| i.customers.name(r.customer))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "owner".into(),
            rows.iter()
                .map(|r| i.strings.name(r.owner))
                .collect::<Vec<_>>(),
        ),
        datetime(rows.iter().map(|r| Some(r.claimed)).collect(), "held_since")?,
        datetime(
            rows.iter().map(|r| r.last_followup).collect(),
            "last_followup",
        )?,
        Column::new(
            "days_since_followup".into(),
            rows.iter()
                .map(|r| days(r.last_followup.unwrap_or(r.claimed).max(r.claimed)))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "days_held".into(),
            rows.iter().map(|r| days(r.claimed)).collect::<Vec<_>>(),
        ),
        Column::new(
            "rule".into(),
            rows.iter().map(|r| r.rule).collect::<Vec<_>>(),
        ),
        date(
            rows.iter().map(|r| Day::of_ms(r.due_ms).days()).collect(),
            "due_on",
        )?,
        Column::new(
            "status".into(),
            rows.iter()
                .map(|r| {
                    if r.due_ms <= now {
                        "overdue"
                    } else {
                        "due_soon"
                    }
                })
                .collect::<Vec<_>>(),
        ),
    ])?;
    let overdue = rows.iter().filter(|r| r.due_ms <= now).count();
    Ok((table, overdue))
}

/// Per owner: customers held now against max_holding, and claims per day against
/// max_daily_claims over the whole log.
/// The customers each owner holds now (docs/metrics.md, "Pool rules"): their open spells, by
/// owner code. What `max_holding` caps, here and in `assign`.
pub fn holding_now(own: &super::ownership::Ownership) -> HashMap<u32, u64> {
    let mut holding = HashMap::new();
    for s in own.spells.iter().filter(|s| s.end_ms.is_none()) {
        *holding.entry(s.owner).or_default() += 1;
    }
    holding
}

fn owners(i: &Inputs, rules: &PoolRules) -> Result<(DataFrame, usize)> {
    #[derive(Default)]
    struct Acc {
        holding: u64,
        claims_by_day: HashMap<i32, u64>,
    }
    let mut by: BTreeMap<String, Acc> = BTreeMap::new();
    let holding_of = holding_now(i.own);
    for s in &i.own.spells {
        let acc = by.entry(i.strings.name(s.owner).to_string()).or_default();
        acc.holding = holding_of.get(&s.owner).copied().unwrap_or(0);
        if s.start == EventKind::Claim {
            *acc.claims_by_day.entry(s.start_day()).or_default() += 1;
        }
    }
    let limit = rules.limits.max_daily_claims;
    let mut owner = Vec::new();
    let mut holding = Vec::new();
    let mut over = Vec::new();
    let mut max_claims = Vec::new();
    let mut busiest: Vec<Option<i32>> = Vec::new();
    let mut days_over = Vec::new();
    for (name, acc) in by {
        owner.push(name);
        holding.push(acc.holding);
        over.push(acc.holding.saturating_sub(rules.limits.max_holding));
        // Busiest day: most claims, earliest day on ties.
        let top = acc
            .claims_by_day
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)));
        max_claims.push(top.map_or(0, |t| *t.1));
        busiest.push(top.map(|t| *t.0));
        days_over.push(acc.claims_by_day.values().filter(|&&n| n > limit).count() as u64);
    }
    let over_cap = over
        .iter()
        .zip(&days_over)
        .filter(|(o, d)| **o > 0 || **d > 0)
        .count();
    let table = DataFrame::new_infer_height(vec![
        Column::new("owner".into(), owner),
        Column::new("holding".into(), holding),
        Column::new("over_holding_cap".into(), over),
        Column::new("most_claims_in_a_day".into(), max_claims),
        Column::new("busiest_claim_day".into(), busiest).cast(&DataType::Date)?,
        Column::new("days_over_claim_limit".into(), days_over),
    ])?;
    Ok((table, over_cap))
}

/// Claims by the owner who returned the customer, within reclaim_days of the return.
fn reclaims(i: &Inputs, rules: &PoolRules) -> Result<DataFrame> {
    let limit = ms_of_days(rules.cooldown.reclaim_days);
    let mut rows: Vec<(i64, u32, u32, i64)> = i
        .own
        .returns
        .iter()
        .filter_map(|r| {
            let s = &i.own.spells[r.next_spell?];
            (s.start == EventKind::Claim
                && s.owner == r.previous_owner
                && s.owner != NONE
                && s.start_ms - r.at_ms < limit)
                .then_some((s.start_ms, r.customer, s.owner, r.at_ms))
        })
        .collect();
    rows.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| i.customers.name(a.1).cmp(i.customers.name(b.1)))
    });
    Ok(DataFrame::new_infer_height(vec![
        Column::new(
            "customer_id".into(),
            rows.iter()
                .map(|r| i.customers.name(r.1))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "owner".into(),
            rows.iter().map(|r| i.strings.name(r.2)).collect::<Vec<_>>(),
        ),
        datetime(rows.iter().map(|r| Some(r.3)).collect(), "returned_at")?,
        datetime(rows.iter().map(|r| Some(r.0)).collect(), "reclaimed_at")?,
        Column::new(
            "days_between".into(),
            rows.iter()
                .map(|r| round_to(days_of_ms(r.0 - r.3), 2))
                .collect::<Vec<_>>(),
        ),
    ])?)
}

/// Share of the values strictly below each value: the lowest value (often 0 activity or 0 spend,
/// shared by many) scores 0, so a crowd of ties at the bottom does not lift anyone.
fn below(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = values.len().max(1) as f64;
    values
        .iter()
        .map(|v| sorted.partition_point(|x| x < v) as f64 / n)
        .collect()
}

/// Customers in the pool now, ranked: score = Σ weight × percentile of recent activity, past
/// value and days in pool (each the share of pool customers with a strictly lower value); ties
/// by customer_id.
fn priority(i: &Inputs, rules: &PoolRules) -> Result<DataFrame> {
    let now = i.as_of.start_ms();
    let p = &rules.priority;
    let from_ms = (i.as_of - p.activity_days).start_ms();
    let from_day = (i.as_of - p.activity_days).days();
    let in_pool: Vec<&super::ownership::PoolReturn> = i
        .own
        .returns
        .iter()
        .filter(|r| r.next_spell.is_none())
        .collect();
    let activity: Vec<f64> = in_pool
        .iter()
        .map(|r| {
            let f = i.followups.get(r.customer as usize).map_or(0, |t| {
                t.partition_point(|&x| x < now) - t.partition_point(|&x| x < from_ms)
            });
            let o = i
                .orders
                .order_days_between(r.customer, from_day, i.as_of.days());
            (f + o) as f64
        })
        .collect();
    let value: Vec<f64> = in_pool
        .iter()
        .map(|r| {
            i.orders
                .net_between(r.customer, i32::MIN, i.as_of.days())
                .to_f64_cents()
        })
        .collect();
    let waited: Vec<f64> = in_pool
        .iter()
        .map(|r| round_to(days_of_ms(now - r.at_ms), 2))
        .collect();
    let (na, nv, nw) = (below(&activity), below(&value), below(&waited));
    let score: Vec<f64> = (0..in_pool.len())
        .map(|k| {
            round_to(
                p.recent_activity * na[k] + p.past_value * nv[k] + p.time_in_pool * nw[k],
                6,
            )
        })
        .collect();
    let mut order: Vec<usize> = (0..in_pool.len()).collect();
    let name = |k: usize| i.customers.name(in_pool[k].customer);
    order.sort_by(|&a, &b| {
        score[b]
            .total_cmp(&score[a])
            .then_with(|| name(a).cmp(name(b)))
    });
    Ok(DataFrame::new_infer_height(vec![
        Column::new("rank".into(), (1..=order.len() as u64).collect::<Vec<_>>()),
        Column::new(
            "customer_id".into(),
            order.iter().map(|&k| name(k)).collect::<Vec<_>>(),
        ),
        Column::new(
            "pool".into(),
            order
                .iter()
                .map(|&k| i.strings.name(in_pool[k].pool))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "previous_owner".into(),
            order
                .iter()
                .map(|&k| i.strings.name(in_pool[k].previous_owner))
                .collect::<Vec<_>>(),
        ),
        datetime(
            order.iter().map(|&k| Some(in_pool[k].at_ms)).collect(),
            "in_pool_since",
        )?,
        Column::new(
            "days_in_pool".into(),
            order.iter().map(|&k| waited[k]).collect::<Vec<_>>(),
        ),
        Column::new(
            "recent_activity".into(),
            order.iter().map(|&k| activity[k]).collect::<Vec<_>>(),
        ),
        Column::new(
            "past_value".into(),
            order.iter().map(|&k| value[k]).collect::<Vec<_>>(),
        ),
        Column::new(
            "score".into(),
            order.iter().map(|&k| score[k]).collect::<Vec<_>>(),
        ),
    ])?)
}

/// The groups of the pool health table: by pool, by customers-file columns, or both (pool
/// first).
pub struct HealthGroups<'a> {
    pub pool: bool,
    pub customer: Option<&'a GroupKeys>,
}

/// Per group (by default per pool), then `all`: spells started, returns (recycle + release),
/// recycle rate = returns ÷ spells, customers in the pool now, median days in the pool before
/// the next spell, and the claim-to-win rate = claimed spells converted ÷ claimed spells
/// matured. A customer of a multi-valued customers-file cell counts in each of its groups;
/// `(unknown)` groups come after the others.
pub fn health(i: &Inputs, groups: &HealthGroups) -> Result<DataFrame> {
    #[derive(Default)]
    struct Acc {
        spells: u64,
        returns: u64,
        in_pool: u64,
        waits: Vec<f64>,
        claims_matured: u64,
        claims_won: u64,
    }
    let keys = |pool: u32, customer: u32| -> Vec<(bool, Vec<String>)> {
        let prefix = if groups.pool {
            vec![i.strings.name(pool).to_string()]
        } else {
            Vec::new()
        };
        GroupKeys::prefixed(groups.customer, prefix, customer as usize)
            .into_iter()
            .map(|k| {
                (
                    groups.customer.is_some() && k.iter().any(|v| v == UNKNOWN),
                    k,
                )
            })
            .collect()
    };
    let mut by: BTreeMap<(bool, Vec<String>), Acc> = BTreeMap::new();
    let mut all = Acc::default();
    for (s, o) in i.own.spells.iter().zip(i.conversion) {
        let add = |acc: &mut Acc| {
            acc.spells += 1;
            if s.start == EventKind::Claim && o.matured {
                acc.claims_matured += 1;
                acc.claims_won += u64::from(o.converted);
            }
        };
        for k in keys(s.pool, s.customer) {
            add(by.entry(k).or_default());
        }
        add(&mut all);
    }
    for r in &i.own.returns {
        let wait = r
            .next_spell
            .map(|s| days_of_ms(i.own.spells[s].start_ms - r.at_ms));
        let add = |acc: &mut Acc| {
            acc.returns += 1;
            match wait {
                Some(w) => acc.waits.push(w),
                None => acc.in_pool += 1,
            }
        };
        for k in keys(r.pool, r.customer) {
            add(by.entry(k).or_default());
        }
        add(&mut all);
    }
    let mut names: Vec<String> = Vec::new();
    if groups.pool {
        names.push("pool".into());
    }
    if let Some(c) = groups.customer {
        names.extend(c.names.iter().cloned());
    }
    let mut labels: Vec<Vec<String>> = vec![Vec::new(); names.len()];
    for (_, key) in by.keys() {
        for (l, v) in labels.iter_mut().zip(key) {
            l.push(v.clone());
        }
    }
    for l in labels.iter_mut() {
        l.push(super::ALL.into());
    }
    let mut rows: Vec<Acc> = by.into_values().collect();
    rows.push(all);
    let ratio = |n: u64, d: u64| (d > 0).then(|| round_to(n as f64 / d as f64, 4));
    let medians: Vec<Option<f64>> = rows
        .iter_mut()
        .map(|a| median(&mut a.waits).map(|m| round_to(m, 2)))
        .collect();
    let mut columns: Vec<Column> = names
        .iter()
        .zip(labels)
        .map(|(n, l)| Column::new(n.as_str().into(), l))
        .collect();
    columns.extend([
        Column::new(
            "spells".into(),
            rows.iter().map(|a| a.spells).collect::<Vec<_>>(),
        ),
        Column::new(
            "returns".into(),
            rows.iter().map(|a| a.returns).collect::<Vec<_>>(),
        ),
        Column::new(
            "recycle_rate".into(),
            rows.iter()
                .map(|a| ratio(a.returns, a.spells))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "in_pool_now".into(),
            rows.iter().map(|a| a.in_pool).collect::<Vec<_>>(),
        ),
        Column::new("median_days_in_pool".into(), medians),
        Column::new(
            "claims_matured".into(),
            rows.iter().map(|a| a.claims_matured).collect::<Vec<_>>(),
        ),
        Column::new(
            "claim_to_win_rate".into(),
            rows.iter()
                .map(|a| ratio(a.claims_won, a.claims_matured))
                .collect::<Vec<_>>(),
        ),
    ]);
    Ok(DataFrame::new_infer_height(columns)?)
}
