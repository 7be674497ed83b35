//! `crm-eval assign` past loading (docs/metrics.md, "Allocation"): the cases, candidates and
//! owners of loaded ownership data, the rates and the allocation table — or the backtest —
//! shared by the command and the report.

use std::collections::HashMap;

use anyhow::Result;
use polars::prelude::*;

use crate::day::iso;
use crate::error::usage;
use crate::load::groups::{parse_by, CustomerGroups};
use crate::load::ownership::Loaded;
use crate::metrics::assign::{self, Candidate, Case, Rates, Taker};
use crate::metrics::conversion;
use crate::metrics::pool::PoolRules;
use crate::metrics::stats::round_to;
use crate::output::note;
use crate::settings::Settings;

/// What `assign` is asked for (the flags of [`crate::cmd::assign::Args`] past loading).
pub struct Options<'a> {
    pub by: Option<&'a str>,
    pub leads: Option<&'a str>,
    pub customers: Option<&'a str>,
    /// The events file, in messages.
    pub events: &'a str,
    pub window: i32,
    pub per_owner: Option<u64>,
    pub owners: &'a [String],
    pub active_days: i32,
    pub evaluate: bool,
    pub cutoffs: usize,
    pub step: i32,
    pub top: Option<usize>,
}

/// The allocation table of loaded ownership data (or with `evaluate`, its backtest), saying on
/// stderr what it decided.
pub fn recommend(
    data: &Loaded,
    rules: &PoolRules,
    opts: &Options,
    settings: &Settings,
) -> Result<DataFrame> {
    let out = &settings.output;
    let as_of = data.as_of;
    // Segments: the --by columns of the customers file (and of the leads file for new leads).
    let by: Vec<String> = match opts.by {
        Some(b) => parse_by(b)?,
        None if opts.customers.is_some() || opts.leads.is_some() => vec!["source".into()],
        None => Vec::new(),
    };
    let groups = match opts.customers {
        Some(path) if !by.is_empty() => Some(CustomerGroups::load(path, &by, settings)?),
        _ => None,
    };
    if groups.is_none() {
        note(
            out,
            "no --customers file: the model tells no segments apart and ranks owners by their \
             overall conversion",
        );
    }
    let mut segments: Vec<String> = Vec::new();
    let mut segment_ids: HashMap<String, u32> = HashMap::new();
    let mut segment_of = |groups: Option<&CustomerGroups>, id: &str| -> u32 {
        let label = groups
            .map(|g| g.of(id).into_iter().next().unwrap_or_default().join(" / "))
            .unwrap_or_default();
        *segment_ids.entry(label.clone()).or_insert_with(|| {
            segments.push(label);
            (segments.len() - 1) as u32
        })
    };
    let outcomes = conversion::outcomes(&data.own, &data.orders, None, opts.window, as_of);
    let mut cases = Vec::new();
    // Net spend of converted spells: over their first year when a year has passed, else over the
    // conversion window (the fallback when the data are younger than a year).
    let mut year_value: HashMap<u32, (f64, f64)> = HashMap::new();
    let mut window_value: HashMap<u32, (f64, f64)> = HashMap::new();
    for (s, o) in data.own.spells.iter().zip(&outcomes) {
        if !o.matured {
            continue;
        }
        let segment = segment_of(groups.as_ref(), data.customers.name(s.customer));
        cases.push(Case {
            owner: s.owner,
            segment,
            converted: o.converted,
            start_day: s.start_day(),
        });
        let start = s.start_day();
        let add = |map: &mut HashMap<u32, (f64, f64)>, net: f64| {
            for key in [segment, u32::MAX] {
                let e = map.entry(key).or_default();
                e.0 += net;
                e.1 += 1.0;
            }
        };
        if o.converted {
            add(&mut window_value, o.revenue.to_f64());
            if start + 365 <= as_of.days() {
                let net = data.orders.net_between(s.customer, start, start + 365);
                add(&mut year_value, net.to_f64());
            }
        }
    }
    if cases.is_empty() {
        return Err(anyhow::anyhow!(
            "{}: no ownership spell has matured ({} days after its start before {}): nothing to \
             learn who converts",
            opts.events,
            opts.window,
            as_of
        ));
    }
    let step = opts.step;
    if opts.evaluate {
        let cutoffs: Vec<i32> = (0..opts.cutoffs)
            .map(|k| (as_of - opts.window - step * (k as i32 + 1)).days())
            .collect();
        let rows = assign::backtest(&cases, &cutoffs, step, opts.window);
        if rows.is_empty() {
            return Err(anyhow::anyhow!(
                "no backtest cutoff has matured spells both before and after it: try fewer \
                 --cutoffs or a shorter --step"
            ));
        }
        note(
            out,
            "observational: reps were not assigned at random, so a rep's rate on a segment also \
             reflects which of its leads they got; the backtest says how well the rates ranked \
             the spells that followed, not what a different allocation would have won",
        );
        return backtest_table(&rows);
    }
    let rates = Rates::fit(&cases);
    let mean_value = |seg: u32| {
        [&year_value, &window_value]
            .iter()
            .find_map(|m| m.get(&seg).or_else(|| m.get(&u32::MAX)))
            .map_or(0.0, |(s, n)| s / n)
    };
    let now_ms = as_of.start_ms();
    let takers = takers(data, rules, opts)?;
    let per_owner = per_owner(rules, opts);
    // Who to allocate: the pool now, or the new leads.
    let reclaim_ms = crate::day::ms_of_days(rules.cooldown.reclaim_days);
    let mut barred: HashMap<u32, Vec<u32>> = HashMap::new();
    for r in &data.own.returns {
        if now_ms - r.at_ms < reclaim_ms {
            barred.entry(r.customer).or_default().push(r.previous_owner);
        }
    }
    let leads_groups = match opts.leads {
        Some(path) => {
            let (g, missing) = CustomerGroups::load_with(path, &by, false, settings)?;
            if !missing.is_empty() {
                note(
                    out,
                    format!(
                        "{path}: no {} column: those leads' segment is unknown, and the model \
                         ranks owners on them by their overall conversion",
                        missing.join(", ")
                    ),
                );
            }
            Some(g)
        }
        None => None,
    };
    let mut candidates: Vec<Candidate> = Vec::new();
    match (opts.leads, &leads_groups) {
        (Some(_), Some(g)) => {
            for id in g.customers() {
                let id = id.to_string();
                let segment = segment_of(Some(g), &id);
                let barred = data
                    .customers
                    .get(&id)
                    .and_then(|c| barred.get(&c).cloned())
                    .unwrap_or_default();
                candidates.push(Candidate {
                    value: mean_value(segment),
                    id,
                    segment,
                    barred,
                });
            }
        }
        _ => {
            for r in data.own.returns.iter().filter(|r| r.next_spell.is_none()) {
                let id = data.customers.name(r.customer).to_string();
                let segment = segment_of(groups.as_ref(), &id);
                candidates.push(Candidate {
                    value: mean_value(segment),
                    segment,
                    barred: barred.get(&r.customer).cloned().unwrap_or_default(),
                    id,
                });
            }
        }
    }
    if candidates.is_empty() {
        return Err(anyhow::anyhow!(
            "nobody to allocate: the pool is empty on {}",
            as_of
        ));
    }
    let decisions = assign::allocate(&candidates, &takers, &rates);
    let full: Vec<&str> = takers
        .iter()
        .filter(|t| t.room == 0)
        .map(|t| t.name.as_str())
        .collect();
    if !full.is_empty() {
        note(
            out,
            format!(
                "{} of {} owners have no room: they hold max_holding ({}) or more now ({})",
                full.len(),
                takers.len(),
                rules.limits.max_holding,
                full.join(", ")
            ),
        );
    }
    let team = rates.all;
    let reason = |c: &Candidate, owner: u32| -> String {
        let name = data.strings.name(owner);
        let pct = |v: f64| format!("{:.0} %", 100.0 * v);
        let seg = &segments[c.segment as usize];
        let team_rate = team.rate().unwrap_or(0.0);
        match rates.cell.get(&(owner, c.segment)) {
            Some(n) if !seg.is_empty() => {
                let s = rates.segment.get(&c.segment).copied().unwrap_or_default();
                format!(
                    "{name} converts {seg} leads at {} ({} of {}) against {} for the team ({} of {})",
                    pct(n.rate().unwrap_or(0.0)),
                    n.converted,
                    n.spells,
                    pct(s.rate().unwrap_or(team_rate)),
                    s.converted,
                    s.spells
                )
            }
            _ => {
                let o = rates.owner.get(&owner).copied().unwrap_or_default();
                let none = if seg.is_empty() {
                    String::new()
                } else if seg.split(" / ").all(|v| v == crate::metrics::UNKNOWN) {
                    format!(" (its {} is unknown)", by.join(" / "))
                } else {
                    format!(" (no {seg} leads yet)")
                };
                format!(
                    "{name} converts {} of leads ({} of {}) against {} for the team{none}",
                    pct(o.rate().unwrap_or(team_rate)),
                    o.converted,
                    o.spells,
                    pct(team_rate)
                )
            }
        }
    };
    // Best expected gain first, then the customers no owner had room for, by ID.
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    let gain = |i: usize| decisions[i].p.map(|p| p * candidates[i].value);
    order.sort_by(|&a, &b| {
        match (gain(a), gain(b)) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then_with(|| candidates[a].id.cmp(&candidates[b].id))
    });
    if let Some(n) = opts.top {
        order.truncate(n);
    }
    let pick = |f: &dyn Fn(usize) -> Option<String>| -> Vec<Option<String>> {
        order.iter().map(|&i| f(i)).collect()
    };
    let mut columns = vec![Column::new(
        "customer_id".into(),
        order
            .iter()
            .map(|&i| candidates[i].id.clone())
            .collect::<Vec<_>>(),
    )];
    for (k, name) in by.iter().enumerate().filter(|_| groups.is_some()) {
        columns.push(Column::new(
            name.as_str().into(),
            pick(&|i| {
                segments[candidates[i].segment as usize]
                    .split(" / ")
                    .nth(k)
                    .map(String::from)
            }),
        ));
    }
    columns.extend([
        Column::new(
            "recommended_owner".into(),
            pick(&|i| decisions[i].owner.map(|o| data.strings.name(o).to_string())),
        ),
        Column::new(
            "p_convert".into(),
            order
                .iter()
                .map(|&i| decisions[i].p.map(|p| round_to(p, 4)))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "expected_value".into(),
            order
                .iter()
                .map(|&i| gain(i).map(|g| round_to(g, 2)))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "runner_up".into(),
            pick(&|i| {
                decisions[i]
                    .runner_up
                    .map(|(o, _)| data.strings.name(o).to_string())
            }),
        ),
        Column::new(
            "runner_up_p_convert".into(),
            order
                .iter()
                .map(|&i| decisions[i].runner_up.map(|(_, p)| round_to(p, 4)))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "reason".into(),
            pick(&|i| match decisions[i].owner {
                Some(o) => Some(reason(&candidates[i], o)),
                None => Some("no owner allowed to take it has room in this batch".into()),
            }),
        ),
        Column::new(
            "owner_load_after".into(),
            order
                .iter()
                .map(|&i| decisions[i].load_after)
                .collect::<Vec<_>>(),
        ),
    ]);
    let table = DataFrame::new_infer_height(columns)?;
    let allocated = decisions.iter().filter(|d| d.owner.is_some()).count();
    note(
        out,
        format!(
            "{} customers to allocate as of {}, {allocated} allocated to {} owners (at most {} \
             each this batch, {} in all; returners barred for {} days); rates from {} matured \
             spells ({}-day window), shrunk by {} spells of evidence",
            candidates.len(),
            as_of,
            takers.len(),
            per_owner,
            rules.limits.max_holding,
            rules.cooldown.reclaim_days,
            cases.len(),
            opts.window,
            assign::STRENGTH
        ),
    );
    Ok(table)
}

/// How many customers one owner may take in this batch: `--per-owner`, else the pool's daily
/// claim limit.
fn per_owner(rules: &PoolRules, opts: &Options) -> u64 {
    opts.per_owner.unwrap_or(rules.limits.max_daily_claims)
}

/// Who takes customers — the owners given, else those who started a spell in the last
/// `--active-days` — and how many more each may hold (the pool's holding limit, at most
/// `--per-owner` or the daily claim limit).
fn takers(data: &Loaded, rules: &PoolRules, opts: &Options) -> Result<Vec<Taker>> {
    let holding = crate::metrics::pool::holding_now(&data.own);
    let mut recent: HashMap<u32, bool> = HashMap::new();
    for s in &data.own.spells {
        if s.start_day() >= (data.as_of - opts.active_days).days() {
            recent.insert(s.owner, true);
        }
    }
    let per_owner = per_owner(rules, opts);
    let mut owner_codes: Vec<u32> = if opts.owners.is_empty() {
        recent.keys().copied().collect()
    } else {
        let mut codes = Vec::new();
        for name in opts.owners {
            match data.strings.get(name.trim()) {
                Some(c) => codes.push(c),
                None => {
                    return Err(usage(format!(
                        "--owners {name}: no spell in {} has this owner",
                        opts.events
                    )))
                }
            }
        }
        codes
    };
    owner_codes.sort_by(|a, b| data.strings.name(*a).cmp(data.strings.name(*b)));
    owner_codes.dedup();
    let takers: Vec<Taker> = owner_codes
        .iter()
        .map(|&o| {
            let h = holding.get(&o).copied().unwrap_or(0);
            Taker {
                owner: o,
                name: data.strings.name(o).to_string(),
                holding: h,
                room: rules.limits.max_holding.saturating_sub(h).min(per_owner),
            }
        })
        .collect();
    if takers.is_empty() {
        return Err(anyhow::anyhow!(
            "no owner started a spell in the {} days before {}: pass --owners or a longer \
             --active-days",
            opts.active_days,
            data.as_of
        ));
    }
    Ok(takers)
}

fn backtest_table(rows: &[assign::BacktestRow]) -> Result<DataFrame> {
    let r4 = |v: f64| round_to(v, 4);
    let o4 = |v: Option<f64>| v.map(r4);
    Ok(DataFrame::new_infer_height(vec![
        Column::new(
            "cutoff".into(),
            rows.iter().map(|r| iso(r.cutoff)).collect::<Vec<_>>(),
        ),
        Column::new(
            "model".into(),
            rows.iter().map(|r| r.model).collect::<Vec<_>>(),
        ),
        Column::new(
            "spells".into(),
            rows.iter().map(|r| r.spells as u64).collect::<Vec<_>>(),
        ),
        Column::new(
            "conversion_rate".into(),
            rows.iter()
                .map(|r| r4(r.conversion_rate))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "mean_p_convert".into(),
            rows.iter().map(|r| r4(r.mean_p)).collect::<Vec<_>>(),
        ),
        Column::new(
            "auc".into(),
            rows.iter().map(|r| o4(r.scores.auc)).collect::<Vec<_>>(),
        ),
        Column::new(
            "brier".into(),
            rows.iter().map(|r| r4(r.scores.brier)).collect::<Vec<_>>(),
        ),
        Column::new(
            "log_loss".into(),
            rows.iter()
                .map(|r| r4(r.scores.log_loss))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "top_pick_spells".into(),
            rows.iter()
                .map(|r| r.top_pick.map(|t| t.0 as u64))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "top_pick_rate".into(),
            rows.iter()
                .map(|r| r.top_pick.and_then(|t| o4(t.1)))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "other_rate".into(),
            rows.iter()
                .map(|r| r.top_pick.and_then(|t| o4(t.2)))
                .collect::<Vec<_>>(),
        ),
    ])?)
}
