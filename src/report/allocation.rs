//! The allocation sections of the report: conversion of allocated customers, recovery from the
//! pool and the pool rules. They share one load of the event log (and follow-ups), spelled
//! against the report's ledger, and one set of conversion outcomes.

use anyhow::Result;
use polars::prelude::*;

use super::{
    owner_intervals, owner_measures, pct, pick, table, Analysis, Context, Figure, Headline,
    Measure, Parts, Section,
};
use crate::day::Day;
use crate::load::ownership::{self, Files, Loaded};
use crate::metrics::conversion::{self, ConversionGroup, Keys};
use crate::metrics::pool::PoolReport;
use crate::metrics::recovery::{self, RecoveryGroup};
use crate::metrics::Estimate;
use crate::output::charts::Chart;
use crate::output::html;

pub const ALLOCATION: Analysis = Analysis {
    step: "conversion, recovery and pool",
    build,
    kpis: &[
        "lead_conversion_rate",
        "recovery_rate",
        "loyalty_after_recovery",
        "pool_items_overdue",
        "owners_over_cap",
    ],
};

fn build(ctx: &Context) -> Result<Parts> {
    let Some(events) = ctx.events else {
        let mut parts = Parts::default();
        for what in ["conversion", "recovery", "pool"] {
            parts
                .missing
                .push((what, "pass --events FILE (the ownership log)".into()));
        }
        return Ok(parts);
    };
    let files = Files {
        events: Some(events.to_string()),
        orders: None,
        followups: ctx.followups.map(str::to_string),
        customers: None,
        as_of: None,
    };
    let data = ownership::load_with(&files, ctx.orders, ctx.ledger.clone(), ctx.settings)?;
    // One set of conversion outcomes for the conversion sheets and the pool's claim-to-win
    // rate (the pool needs follow-ups, and these include them when given).
    let outcomes = conversion::outcomes(
        &data.own,
        &data.orders,
        data.followups.as_deref(),
        ctx.window,
        data.as_of,
    );
    let mut parts = Parts::default();
    // The rates of a target period count the cases that began in it (the pool is a state).
    let ranged = ctx
        .since
        .map(|day| conversion::started_from(&data.own.spells, &outcomes, day));
    let (spells, counted) = match &ranged {
        Some((spells, counted)) => (spells.as_slice(), counted.as_slice()),
        None => (data.own.spells.as_slice(), outcomes.as_slice()),
    };
    parts
        .sections
        .push(Box::new(ConversionSection::new(&data, spells, counted)?));
    parts.sections.push(Box::new(RecoverySection::new(
        &data, ctx.window, ctx.since,
    )?));
    match &data.followups {
        Some(followups) => parts.sections.push(Box::new(PoolSection {
            report: data.pool_report(followups, &outcomes, ctx.rules)?,
        })),
        None => parts.missing.push((
            "pool",
            "pass --followups FILE (the no-follow-up rule needs it)".into(),
        )),
    }
    // Who should get the pool: `assign` on the same data (a state at as_of, not a period's).
    if ctx.since.is_none() {
        let opts = crate::load::assign::Options {
            by: None,
            leads: None,
            customers: ctx.customers,
            events,
            window: ctx.window,
            per_owner: None,
            owners: &[],
            active_days: 90,
            evaluate: false,
            cutoffs: 1,
            step: 90,
            top: Some(ASSIGN_ROWS),
        };
        match crate::load::assign::recommend(&data, ctx.rules, &opts, &ctx.settings.quiet()) {
            Ok(table) => parts.sections.push(Box::new(AssignSection { table })),
            Err(e) => parts.missing.push(("assign", format!("{e:#}"))),
        }
    }
    Ok(parts)
}

/// Pool customers listed with their recommended owner.
const ASSIGN_ROWS: usize = 50;

/// `assign`: who should get the pool's customers.
struct AssignSection {
    table: DataFrame,
}

impl Section for AssignSection {
    fn sheets(&self) -> Vec<(&'static str, &DataFrame)> {
        vec![("assign", &self.table)]
    }

    fn html<'a>(&'a self, _charts: &'a [Chart], _as_of: Day) -> html::Section<'a> {
        let allocated = self
            .table
            .column("recommended_owner")
            .map_or(0, |c| c.len() - c.null_count());
        let mut notes = Vec::new();
        if allocated == 0 {
            notes.push(
                "No owner has room under the pool rules: every owner who takes customers holds \
                 max_holding or more now (or the rules allow no claims a day), so nobody is allocated. \
                 The table still shows who would be best (runner_up) for each customer; raise \
                 the cap in the rules (--rules) or rebalance the holdings."
                    .to_string(),
            );
        }
        html::Section {
            title: "Who should get the pool".into(),
            notes: vec![format!(
                "The {ASSIGN_ROWS} pool customers with the best expected gain and the owner \
                 likeliest to convert each: the owner's conversion of leads of the same source, \
                 shrunk toward what owner and source say apart, within the pool rules (holding \
                 cap, daily claims, the returner's cooldown). `crm-eval assign --evaluate` \
                 backtests it."
            )]
            .into_iter()
            .chain(notes)
            .collect(),
            charts: vec![],
            tables: vec![table("", &self.table, ASSIGN_ROWS)],
        }
    }
}

struct ConversionSection {
    by_owner: DataFrame,
    by_cohort: DataFrame,
    overall: Option<Estimate>,
    /// Whether owners differ, as one sentence.
    owner_test: Option<String>,
}

impl ConversionSection {
    fn new(
        data: &Loaded,
        spells: &[crate::metrics::ownership::Spell],
        outcomes: &[conversion::Outcome],
    ) -> Result<Self> {
        let keys = Keys {
            strings: &data.strings,
            customer: None,
        };
        let table_by =
            |g| conversion::table(spells, outcomes, &[g], &keys, data.followups.is_some());
        Ok(ConversionSection {
            by_owner: table_by(ConversionGroup::Owner)?,
            by_cohort: table_by(ConversionGroup::Cohort)?,
            overall: conversion::overall(outcomes),
            owner_test: conversion::owner_test(spells, outcomes).map(|t| {
                format!(
                    "Do owners differ? Pearson chi-square {:.2} on {} df over {} owners: {}.",
                    t.statistic,
                    t.df,
                    t.owners,
                    t.p_text()
                )
            }),
        })
    }
}

impl Section for ConversionSection {
    fn sheets(&self) -> Vec<(&'static str, &DataFrame)> {
        vec![
            ("conversion", &self.by_owner),
            ("conversion_cohorts", &self.by_cohort),
        ]
    }

    fn measures(&self) -> Vec<Measure> {
        let mut m: Vec<Measure> = self
            .overall
            .iter()
            .map(|e| Measure::estimate("lead_conversion_rate", e))
            .collect();
        m.extend(
            owner_measures("lead_conversion_rate", &self.by_owner, "conversion_rate")
                .unwrap_or_default(),
        );
        m
    }

    fn headlines(&self) -> Vec<Headline> {
        self.overall
            .iter()
            .map(|e| Headline {
                label: "Lead conversion",
                higher_is_better: Some(true),
                value: Figure::Share(e.value),
                detail: format!("95% CI {} – {}", pct(e.low), pct(e.high)),
            })
            .collect()
    }

    fn charts(&self) -> Result<Vec<Chart>> {
        // Conversion by owner with Wilson intervals, and the overall rate as the reference.
        Ok(vec![owner_intervals(
            &self.by_owner,
            "conversion_rate",
            (
                "conversion_by_owner",
                "Conversion of matured spells by owner, with 95% intervals",
                "conversion rate",
            ),
            self.overall.map(|e| e.value),
        )?])
    }

    fn html<'a>(&'a self, charts: &'a [Chart], _as_of: Day) -> html::Section<'a> {
        html::Section {
            title: "Conversion of allocated customers".into(),
            notes: std::iter::once(
                "A spell converts when the customer buys within the window after the assignment or claim, while still held; spells younger than the window are immature and not counted.".to_string(),
            )
            .chain(self.owner_test.clone())
            .collect(),
            charts: pick(charts, &["conversion_by_owner"]),
            tables: vec![
                table("By owner", &self.by_owner, 50),
                table("By assignment month", &self.by_cohort, 120),
            ],
        }
    }
}

struct RecoverySection {
    by_owner: DataFrame,
    by_reason: DataFrame,
    overall: Option<Estimate>,
    loyalty: Option<Estimate>,
}

impl RecoverySection {
    /// `since`: only the returns to the pool from that day on.
    fn new(data: &Loaded, window: i32, since: Option<i32>) -> Result<Self> {
        let mut episodes = recovery::from_events(&data.own, data.as_of);
        if let Some(day) = since {
            recovery::began_from(&mut episodes, day);
        }
        let returns = recovery::outcomes(&episodes, &data.orders, window, data.as_of);
        let table_by = |g| recovery::table(&episodes, &returns, &[g], &data.strings, None, true);
        Ok(RecoverySection {
            by_owner: table_by(RecoveryGroup::Owner)?,
            by_reason: table_by(RecoveryGroup::Reason)?,
            overall: recovery::overall(&returns),
            loyalty: recovery::loyalty(&returns),
        })
    }
}

impl Section for RecoverySection {
    fn sheets(&self) -> Vec<(&'static str, &DataFrame)> {
        vec![
            ("recovery", &self.by_owner),
            ("recovery_reasons", &self.by_reason),
        ]
    }

    fn measures(&self) -> Vec<Measure> {
        self.overall
            .iter()
            .map(|e| Measure::estimate("recovery_rate", e))
            .chain(
                self.loyalty
                    .iter()
                    .map(|e| Measure::estimate("loyalty_after_recovery", e)),
            )
            .chain(
                owner_measures("recovery_rate", &self.by_owner, "recovery_rate")
                    .unwrap_or_default(),
            )
            .collect()
    }

    fn headlines(&self) -> Vec<Headline> {
        self.overall
            .iter()
            .map(|e| Headline {
                label: "Win-back from the pool",
                higher_is_better: Some(true),
                value: Figure::Share(e.value),
                detail: "of matured returns recovered".into(),
            })
            .collect()
    }

    fn html<'a>(&'a self, _charts: &'a [Chart], _as_of: Day) -> html::Section<'a> {
        html::Section {
            title: "Recovery from the pool".into(),
            notes: vec!["A return to the pool is recovered when the customer buys within the window after the next assignment or claim.".into()],
            charts: vec![],
            tables: vec![
                table("By recovering owner", &self.by_owner, 50),
                table("By recycle reason", &self.by_reason, 50),
            ],
        }
    }
}

struct PoolSection {
    report: PoolReport,
}

impl Section for PoolSection {
    fn measures(&self) -> Vec<Measure> {
        vec![
            Measure::of("pool_items_overdue", self.report.overdue as f64),
            Measure::of("owners_over_cap", self.report.owners_over_cap as f64),
        ]
    }

    fn sheets(&self) -> Vec<(&'static str, &DataFrame)> {
        let p = &self.report;
        vec![
            ("pool_health", &p.health),
            ("pool_due", &p.due),
            ("pool_owners", &p.owners),
            ("pool_reclaims", &p.reclaims),
            ("pool_priority", &p.priority),
        ]
    }

    fn html<'a>(&'a self, _charts: &'a [Chart], as_of: Day) -> html::Section<'a> {
        let p = &self.report;
        html::Section {
            title: "Pool rules".into(),
            notes: vec![format!(
                "As of {}: {} customers due back (or due soon), {} reclaims inside the cooldown, {} customers in the pool.",
                as_of,
                p.due.height(),
                p.reclaims.height(),
                p.priority.height()
            )],
            charts: vec![],
            tables: vec![
                table("Pool health", &p.health, 50),
                table("Owners", &p.owners, 50),
                table("Due back to the pool", &p.due, 20),
                table("Pool, ranked for re-allocation", &p.priority, 20),
            ],
        }
    }
}
