//! `crm-eval report --orders FILE [--customers F] [--events F] [--followups F] [--surveys F]
//! -o report.xlsx | report.html [--charts DIR]`: every analysis in one workbook (a sheet each) or
//! one self-contained HTML page with a headline and charts. An analysis whose input is missing,
//! or that fails on this data (e.g. a model fit that does not converge), is left out with a note
//! saying why; the rest of the report is still written.

use std::path::PathBuf;

use std::sync::Arc;

use anyhow::{bail, Result};
use polars::prelude::*;

use crate::cli::Settings;
use crate::cmd::ownership::{self, Files, Loaded};
use crate::cmd::{build_ledger, load_customer_ids, load_orders, parse_as_of};
use crate::error::usage;
use crate::input::schema::{Role, TableKind};
use crate::input::values::format_days;
use crate::input::{self};
use crate::metrics::abc::{self, AbcOptions};
use crate::metrics::clv::tables::{self as clv, ClvOptions};
use crate::metrics::clv::{Grouping, Model, TimeUnit, Value};
use crate::metrics::cohort::{self, CohortMetric};
use crate::metrics::conversion::{self, ConversionGroup, Keys};
use crate::metrics::lifecycle::{self, LifecycleOptions};
use crate::metrics::nps::{self, NpsGroup, SurveyKind};
use crate::metrics::periods::Period;
use crate::metrics::pool::{self, PoolRules};
use crate::metrics::recovery::{self, RecoveryGroup};
use crate::metrics::rfm::{self, RfmOptions};
use crate::output::charts::{self, Chart, Heatmap, Intervals};
use crate::output::html::{self, grouped, Card, HtmlTable, Page, Section};
use crate::output::progress::Progress;
use crate::output::{self, column_cells, note, write_atomically, Format};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Orders export.
    #[arg(long, value_name = "FILE")]
    pub orders: String,

    /// Customers export (adds potential customers to the lifecycle sheet).
    #[arg(long, value_name = "FILE")]
    pub customers: Option<String>,

    /// Ownership event log (adds conversion, recovery and, with --followups, pool).
    #[arg(long, value_name = "FILE")]
    pub events: Option<String>,

    /// Follow-up log (adds follow-up speed to conversion, and the pool checks).
    #[arg(long, value_name = "FILE")]
    pub followups: Option<String>,

    /// Survey responses (adds NPS and CSAT).
    #[arg(long, value_name = "FILE")]
    pub surveys: Option<String>,

    /// Pool rules (TOML; default: the built-in rules, as examples/pool-rules.toml).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<String>,

    /// Conversion and recovery window in days.
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub window: i32,

    /// Also write each chart as DIR/<name>.svg and DIR/<name>.png.
    #[arg(long, value_name = "DIR")]
    pub charts: Option<PathBuf>,

    /// Analysis date, YYYY-MM-DD (default: the day after the latest order date).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
}

/// Every table of the report, and the reasons for those left out.
struct Tables {
    as_of: i32,
    orders_file: String,
    rfm: rfm::Rfm,
    segments: DataFrame,
    abc: DataFrame,
    tiers: DataFrame,
    abc_cut: (f64, f64),
    life: DataFrame,
    stages: DataFrame,
    rates: DataFrame,
    cohort: DataFrame,
    clv: Option<(DataFrame, DataFrame)>,
    conversion: Option<(DataFrame, DataFrame, Option<String>)>,
    recovery: Option<(DataFrame, DataFrame)>,
    pool: Option<pool::PoolReport>,
    /// NPS and CSAT overall, and by owner when the file has owners.
    nps: Option<(DataFrame, Option<DataFrame>)>,
    /// (analysis, why it is not included)
    missing: Vec<(String, String)>,
}

pub fn run(args: Args, settings: &Settings) -> Result<()> {
    let out = &settings.output;
    match out.format {
        Format::Xlsx | Format::Json | Format::Table | Format::Markdown | Format::Html => {}
        other => {
            return Err(usage(format!(
                "a report holds several tables; {other:?} holds one — use -o report.xlsx, -o report.html (or --format json)"
            )
            .to_lowercase()))
        }
    }
    if args.window < 1 {
        return Err(usage("--window: expected 1 or more days"));
    }
    if let Some(dir) = &args.charts {
        if dir.exists() && !dir.is_dir() {
            return Err(usage(format!(
                "--charts {}: is a file; expected a directory (it is created if missing)",
                dir.display()
            )));
        }
    }
    let rules = crate::cmd::pool::load_rules(args.rules.as_deref())?;
    // Steps: orders, RFM/ABC, CLV, lifecycle, [events ×2], [surveys], [charts], writing.
    let steps = 5
        + 2 * u64::from(args.events.is_some())
        + u64::from(args.surveys.is_some())
        + u64::from(out.format == Format::Html || args.charts.is_some());
    let progress = Progress::new(steps, out.quiet);
    let t = compute(&args, &rules, settings, &progress)?;

    let notes = notes_table(&t)?;
    let mut sheets: Vec<(&str, &DataFrame)> = vec![
        ("notes", &notes),
        ("segments", &t.segments),
        ("rfm", &t.rfm.customers),
        ("abc_tiers", &t.tiers),
        ("abc", &t.abc),
    ];
    if let Some((customers, params)) = &t.clv {
        sheets.push(("clv", customers));
        sheets.push(("clv_params", params));
    }
    sheets.extend([
        ("lifecycle_stages", &t.stages),
        ("lifecycle_rates", &t.rates),
        ("lifecycle", &t.life),
        ("cohort", &t.cohort),
    ]);
    if let Some((by_owner, by_cohort, _)) = &t.conversion {
        sheets.push(("conversion", by_owner));
        sheets.push(("conversion_cohorts", by_cohort));
    }
    if let Some((by_owner, by_reason)) = &t.recovery {
        sheets.push(("recovery", by_owner));
        sheets.push(("recovery_reasons", by_reason));
    }
    if let Some(p) = &t.pool {
        sheets.extend([
            ("pool_health", &p.health),
            ("pool_due", &p.due),
            ("pool_owners", &p.owners),
            ("pool_reclaims", &p.reclaims),
            ("pool_priority", &p.priority),
        ]);
    }
    if let Some((overall, by_owner)) = &t.nps {
        sheets.push(("nps", overall));
        if let Some(b) = by_owner {
            sheets.push(("nps_by_owner", b));
        }
    }

    let need_charts = out.format == Format::Html || args.charts.is_some();
    let chart_list = if need_charts {
        progress.step("drawing charts");
        make_charts(&t)?
    } else {
        vec![]
    };
    if let Some(dir) = &args.charts {
        charts::write_charts(dir, &chart_list)?;
        note(
            out,
            format!(
                "{} charts written to {} (SVG and PNG)",
                chart_list.len(),
                dir.display()
            ),
        );
    }
    progress.step("writing");
    for (what, why) in &t.missing {
        note(out, format!("{what}: not included: {why}"));
    }
    if out.format == Format::Html {
        let page = page(&t, &chart_list)?;
        let write = |w: &mut dyn std::io::Write| html::write_page(&page, w);
        drop(progress);
        match &out.path {
            Some(path) => write_atomically(path, write)?,
            None => {
                let mut stdout = std::io::stdout().lock();
                write(&mut stdout)?;
            }
        }
        note(
            out,
            format!(
                "report as of {}: {} sections, {} charts",
                format_days(t.as_of),
                page.sections.len(),
                chart_list.len()
            ),
        );
        return Ok(());
    }
    drop(progress);
    note(
        out,
        format!(
            "report as of {}: {} sheets",
            format_days(t.as_of),
            sheets.len()
        ),
    );
    output::emit_sheets(&sheets, out)
}

fn compute(
    args: &Args,
    rules: &PoolRules,
    settings: &Settings,
    progress: &Progress,
) -> Result<Tables> {
    let as_of = parse_as_of(&args.as_of)?;
    progress.step(format!("loading {}", args.orders));
    let mut roles = vec![Role::Margin, Role::Cost];
    roles.extend(ownership::ORDER_ROLES);
    let orders = load_orders(&args.orders, &roles, settings)?;
    // One ledger for every sheet (docs/metrics.md, "Orders and purchases").
    let ledger = Arc::new(build_ledger(&orders, as_of)?);
    let as_of = ledger.as_of;
    let customer_ids_owned = load_customer_ids(args.customers.as_deref(), settings)?;
    let customer_ids: Option<Vec<&str>> = customer_ids_owned
        .as_ref()
        .map(|v| v.iter().map(String::as_str).collect());
    let mut missing: Vec<(String, String)> = Vec::new();

    progress.step("RFM and ABC");
    let rfm_opts = RfmOptions::default();
    let rfm_result = rfm::rfm(&ledger, &rfm_opts)?;
    if rfm_result.customers.height() == 0 {
        bail!("{}: no purchases to report on", orders.info.display);
    }
    let segments = rfm::segment_summary(&rfm_result.customers, &rfm_opts.segments)?;
    let abc_result = abc::abc(&ledger, &AbcOptions::default())?;
    let tiers = abc::tier_summary(&abc_result.customers)?;

    progress.step("customer lifetime value");
    let clv_opts = ClvOptions {
        model: Model::BgNbd,
        grouping: Grouping {
            unit: TimeUnit::Week,
            by_period: false,
        },
        value: Value {
            horizon_months: 12,
            discount: 0.01,
            margin: 1.0,
        },
        lifespan_months: 36.0,
        penalty: 0.0,
        standard_errors: true,
        as_of: Some(as_of),
        holdout: None,
    };
    let clv_tables = clv::fit_all(&ledger, &clv_opts).and_then(|f| {
        Ok((
            clv::customer_table(&f, &clv_opts)?,
            clv::params_table(&f, &clv_opts)?,
        ))
    });
    let clv_tables = match clv_tables {
        Ok(t) => Some(t),
        Err(e) => {
            missing.push(("clv".into(), format!("the BG/NBD fit failed: {e}")));
            None
        }
    };

    progress.step("lifecycle and cohorts");
    let life_opts = LifecycleOptions::default();
    let life = lifecycle::lifecycle(&ledger, customer_ids.as_deref(), &life_opts)?;
    let stages = lifecycle::stage_summary(&life.customers)?;
    let rates = lifecycle::rates(&ledger, Period::Month, life_opts.churn_days)?;
    let cohorts = cohort::cohorts(&ledger, Period::Month, CohortMetric::Retention)?;

    let (mut conversion_tables, mut recovery_tables, mut pool_report) = (None, None, None);
    if args.events.is_some() {
        progress.step(format!(
            "loading {}",
            args.events.as_deref().unwrap_or_default()
        ));
        let files = Files {
            events: args.events.clone(),
            orders: None,
            followups: args.followups.clone(),
            customers: None,
            as_of: None,
        };
        let data =
            ownership::load_with(&files, &orders, Some(ledger.clone()), Some(as_of), settings)?;
        progress.step("conversion, recovery and pool");
        // One set of conversion outcomes for the conversion sheets and the pool's claim-to-win
        // rate (the pool needs follow-ups, and these include them when given).
        let outcomes = conversion::outcomes(
            &data.own,
            &data.orders,
            data.followups.as_deref(),
            args.window,
            data.as_of,
        );
        conversion_tables = Some(conversion_tables_of(&data, &outcomes)?);
        let episodes = recovery::from_events(&data.own, data.as_of);
        let returns = recovery::outcomes(&episodes, &data.orders, args.window, data.as_of);
        let recovery_by = |g| recovery::table(&episodes, &returns, &[g], &data.strings, true);
        recovery_tables = Some((
            recovery_by(RecoveryGroup::Owner)?,
            recovery_by(RecoveryGroup::Reason)?,
        ));
        match &data.followups {
            Some(followups) => {
                pool_report = Some(crate::cmd::pool::pool_report(
                    &data, followups, &outcomes, rules,
                )?);
            }
            None => missing.push((
                "pool".into(),
                "pass --followups FILE (the no-follow-up rule needs it)".into(),
            )),
        }
    } else {
        for what in ["conversion", "recovery", "pool"] {
            missing.push((what.into(), "pass --events FILE (the ownership log)".into()));
        }
    }

    let nps_table = match &args.surveys {
        Some(path) => {
            progress.step(format!("loading {path}"));
            let surveys = input::load(
                path,
                TableKind::Surveys,
                Some(&[Role::Survey, Role::Owner, Role::ResponseDate]),
                &settings.input,
            )?;
            let overall = nps::nps(&surveys.df, SurveyKind::Nps, &[])?.table;
            let by_owner = if surveys.has(Role::Owner) {
                Some(nps::nps(&surveys.df, SurveyKind::Nps, &[NpsGroup::Owner])?.table)
            } else {
                None
            };
            Some((overall, by_owner))
        }
        None => {
            missing.push(("nps".into(), "pass --surveys FILE".into()));
            None
        }
    };

    Ok(Tables {
        as_of: rfm_result.as_of,
        orders_file: orders.info.display.clone(),
        segments,
        abc: abc_result.customers,
        tiers,
        abc_cut: (AbcOptions::default().a, AbcOptions::default().b),
        life: life.customers,
        stages,
        rates,
        cohort: cohorts.matrix,
        clv: clv_tables,
        conversion: conversion_tables,
        recovery: recovery_tables,
        pool: pool_report,
        nps: nps_table,
        rfm: rfm_result,
        missing,
    })
}

/// Conversion by owner and by cohort, and the owner test as one line.
fn conversion_tables_of(
    data: &Loaded,
    outcomes: &[conversion::Outcome],
) -> Result<(DataFrame, DataFrame, Option<String>)> {
    let keys = Keys {
        strings: &data.strings,
        source: None,
    };
    let table_by =
        |g| conversion::table(&data.own, outcomes, &[g], &keys, data.followups.is_some());
    let test = conversion::owner_test(&data.own, outcomes).map(|t| {
        format!(
            "Do owners differ? Pearson chi-square {:.2} on {} df over {} owners: p = {:.4}.",
            t.statistic, t.df, t.owners, t.p_value
        )
    });
    Ok((
        table_by(ConversionGroup::Owner)?,
        table_by(ConversionGroup::Cohort)?,
        test,
    ))
}

fn notes_table(t: &Tables) -> Result<DataFrame> {
    let mut notes: Vec<(String, String)> = vec![
        ("as_of".into(), format_days(t.as_of)),
        ("orders".into(), t.orders_file.clone()),
    ];
    for (what, why) in &t.missing {
        notes.push((what.clone(), format!("not included: {why}")));
    }
    Ok(DataFrame::new_infer_height(vec![
        Column::new(
            "item".into(),
            notes.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "value".into(),
            notes.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(),
        ),
    ])?)
}

/// A column as floats (nulls and non-numbers as None).
fn floats(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>> {
    let c = df.column(name)?.cast(&DataType::Float64)?;
    Ok(c.f64()?.iter().collect())
}

/// A column as display text.
fn texts(df: &DataFrame, name: &str) -> Result<Vec<String>> {
    let c = df.column(name)?;
    Ok(column_cells(c)?.iter().map(|c| c.text()).collect())
}

/// The row of a grouped table whose first column is "all".
fn all_row(df: &DataFrame) -> Result<Option<usize>> {
    let first = df.get_column_names()[0].to_string();
    Ok(texts(df, &first)?.iter().position(|s| s == "all"))
}

/// Rows of a grouped table other than the "all" row.
fn group_rows(df: &DataFrame) -> Result<Vec<usize>> {
    let first = df.get_column_names()[0].to_string();
    Ok(texts(df, &first)?
        .iter()
        .enumerate()
        .filter(|(_, s)| *s != "all")
        .map(|(i, _)| i)
        .collect())
}

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

fn make_charts(t: &Tables) -> Result<Vec<Chart>> {
    let mut out = Vec::new();
    let customers = &t.rfm.customers;

    // RFM: customers per R × F score.
    let r = floats(customers, "r_score")?;
    let f = floats(customers, "f_score")?;
    let levels = r.iter().chain(&f).flatten().fold(1.0f64, |m, &v| m.max(v)) as usize;
    let mut grid = vec![vec![0.0f64; levels]; levels];
    for (r, f) in r.iter().zip(&f) {
        if let (Some(r), Some(f)) = (r, f) {
            if *r >= 1.0 && *f >= 1.0 {
                grid[levels - *r as usize][*f as usize - 1] += 1.0;
            }
        }
    }
    out.push(charts::heatmap(&Heatmap {
        name: "rfm_heatmap",
        title: "Customers by recency and frequency score",
        x_desc: "F score (higher = more purchases)",
        y_desc: "R score (higher = more recent)",
        columns: (1..=levels).map(|i| i.to_string()).collect(),
        rows: (1..=levels).rev().map(|i| i.to_string()).collect(),
        values: grid
            .into_iter()
            .map(|row| row.into_iter().map(Some).collect())
            .collect(),
        cell_text: &|v| format!("{v:.0}"),
        scale_max: None,
    })?);

    // Segments by customers.
    let seg_names = texts(&t.segments, "segment")?;
    let seg_customers: Vec<f64> = floats(&t.segments, "customers")?
        .into_iter()
        .map(|v| v.unwrap_or(0.0))
        .collect();
    let seg_share: Vec<f64> = floats(&t.segments, "revenue_share")?
        .into_iter()
        .map(|v| v.unwrap_or(0.0))
        .collect();
    let value_labels: Vec<String> = seg_customers
        .iter()
        .zip(&seg_share)
        .map(|(c, s)| format!("{c:.0} · {} of revenue", pct(*s)))
        .collect();
    out.push(charts::bars(
        "segments",
        "Customers per RFM segment",
        "customers (label: share of revenue)",
        &seg_names,
        &seg_customers,
        &value_labels,
    )?);

    // ABC Pareto curve, at most ~500 points.
    let cum = floats(&t.abc, "cumulative_share")?;
    let n = cum.len().max(1);
    let step = n.div_ceil(500);
    let mut points = vec![(0.0, 0.0)];
    for (i, v) in cum.iter().enumerate() {
        if (i + 1) % step == 0 || i + 1 == n {
            points.push(((i + 1) as f64 / n as f64, v.unwrap_or(0.0)));
        }
    }
    let reach = |level: f64| {
        cum.iter()
            .position(|v| v.is_some_and(|v| v >= level - 1e-12))
            .map_or(1.0, |i| (i + 1) as f64 / n as f64)
    };
    let (a, b) = t.abc_cut;
    out.push(charts::share_curve(
        "abc_pareto",
        "Pareto curve of customer value (ABC)",
        ("share of customers, highest value first", "share of value"),
        &points,
        &[
            (
                a,
                format!("A: top {} of customers bring {}", pct(reach(a)), pct(a)),
            ),
            (b, format!("A+B: top {} bring {}", pct(reach(b)), pct(b))),
        ],
    )?);

    // CLV distribution, clipped at the 99th percentile.
    if let Some((clv_table, _)) = &t.clv {
        let mut values: Vec<f64> = floats(clv_table, "clv")?.into_iter().flatten().collect();
        values.sort_by(f64::total_cmp);
        if !values.is_empty() {
            let p99 = values[((values.len() - 1) as f64 * 0.99).round() as usize];
            out.push(charts::histogram(
                "clv_distribution",
                "12-month CLV per customer (BG/NBD + Gamma-Gamma)",
                (
                    &format!(
                        "CLV; the last bar holds everything above the 99th percentile ({})",
                        charts::compact(p99)
                    ),
                    "customers",
                ),
                &values,
                p99,
                40,
            )?);
        }
    }

    // Cohort retention: the last 12 cohorts × the first 12 periods.
    let cohort_names = texts(&t.cohort, "cohort")?;
    let periods: Vec<String> = t
        .cohort
        .get_column_names()
        .iter()
        .filter(|n| n.starts_with("period_"))
        .map(|n| n.to_string())
        .take(12)
        .collect();
    let first = cohort_names.len().saturating_sub(12);
    let mut rows: Vec<Vec<Option<f64>>> = vec![Vec::new(); cohort_names.len() - first];
    for p in &periods {
        let v = floats(&t.cohort, p)?;
        for (k, row) in rows.iter_mut().enumerate() {
            row.push(v[first + k]);
        }
    }
    // Period 0 is 100 % by definition; the colours spread over the later periods.
    let later_max = rows
        .iter()
        .flat_map(|r| r.iter().skip(1).flatten())
        .fold(0.0f64, |m, &v| m.max(v));
    out.push(charts::heatmap(&Heatmap {
        name: "cohort_retention",
        title: "Monthly cohort retention (share of the cohort buying in month k)",
        x_desc: "months since first purchase",
        y_desc: "cohort (first purchase month)",
        columns: periods
            .iter()
            .map(|p| p.trim_start_matches("period_").to_string())
            .collect(),
        rows: cohort_names[first..].to_vec(),
        values: rows,
        cell_text: &|v| format!("{:.0}%", v * 100.0),
        scale_max: Some(later_max.max(0.05)),
    })?);

    // Conversion by owner with Wilson intervals.
    if let Some((by_owner, _, _)) = &t.conversion {
        let rows = group_rows(by_owner)?;
        let owners = texts(by_owner, "owner")?;
        let rate = floats(by_owner, "conversion_rate")?;
        let lo = floats(by_owner, "ci_low")?;
        let hi = floats(by_owner, "ci_high")?;
        let get = |v: &[Option<f64>], i: usize| v[i].unwrap_or(f64::NAN);
        let overall = all_row(by_owner)?.map(|i| get(&rate, i));
        out.push(charts::intervals(&Intervals {
            name: "conversion_by_owner",
            title: "Conversion of matured spells by owner, with 95% intervals",
            x_desc: "conversion rate",
            labels: rows.iter().map(|&i| owners[i].clone()).collect(),
            values: rows
                .iter()
                .map(|&i| (get(&rate, i), get(&lo, i), get(&hi, i)))
                .collect(),
            reference: overall
                .filter(|v| v.is_finite())
                .map(|v| (v, format!("all owners: {}", pct(v)))),
        })?);
    }
    Ok(out)
}

fn page<'a>(t: &'a Tables, charts: &'a [Chart]) -> Result<Page<'a>> {
    let chart = |name: &str| charts.iter().find(|c| c.name == name);
    let customers = t.rfm.customers.height();
    let revenue: f64 = floats(&t.rfm.customers, "monetary")?
        .into_iter()
        .flatten()
        .sum();
    let mut cards = vec![
        Card {
            label: "Customers who bought".into(),
            value: grouped(customers as f64, 0),
            detail: format!("as of {}", format_days(t.as_of)),
        },
        Card {
            label: "Net revenue".into(),
            value: grouped(revenue, 0),
            detail: format!(
                "{} per customer",
                grouped(revenue / customers.max(1) as f64, 2)
            ),
        },
    ];
    let tier_names = texts(&t.tiers, "tier")?;
    if let Some(i) = tier_names.iter().position(|s| s == "A") {
        let cs = floats(&t.tiers, "customer_share")?[i].unwrap_or(0.0);
        let vs = floats(&t.tiers, "value_share")?[i].unwrap_or(0.0);
        cards.push(Card {
            label: "Tier A customers".into(),
            value: pct(cs),
            detail: format!("bring {} of revenue", pct(vs)),
        });
    }
    let stage_names = texts(&t.stages, "stage")?;
    if let Some(i) = stage_names.iter().position(|s| s == "churned") {
        let share = floats(&t.stages, "customer_share")?[i].unwrap_or(0.0);
        cards.push(Card {
            label: "Churned".into(),
            value: pct(share),
            detail: "of customers (lifecycle stage)".into(),
        });
    }
    if let Some((clv_table, _)) = &t.clv {
        let total: f64 = floats(clv_table, "clv")?.into_iter().flatten().sum();
        let alive: Vec<f64> = floats(clv_table, "p_alive")?
            .into_iter()
            .flatten()
            .collect();
        let mean_alive = alive.iter().sum::<f64>() / alive.len().max(1) as f64;
        cards.push(Card {
            label: "Expected 12-month value".into(),
            value: grouped(total, 0),
            detail: format!("BG/NBD; mean P(alive) {}", pct(mean_alive)),
        });
    }
    if let Some((by_owner, _, _)) = &t.conversion {
        if let Some(i) = all_row(by_owner)? {
            let rate = floats(by_owner, "conversion_rate")?[i].unwrap_or(f64::NAN);
            let lo = floats(by_owner, "ci_low")?[i].unwrap_or(f64::NAN);
            let hi = floats(by_owner, "ci_high")?[i].unwrap_or(f64::NAN);
            cards.push(Card {
                label: "Lead conversion".into(),
                value: pct(rate),
                detail: format!("95% CI {} – {}", pct(lo), pct(hi)),
            });
        }
    }
    if let Some((by_owner, _)) = &t.recovery {
        if let Some(i) = all_row(by_owner)? {
            let rate = floats(by_owner, "recovery_rate")?[i].unwrap_or(f64::NAN);
            cards.push(Card {
                label: "Win-back from the pool".into(),
                value: pct(rate),
                detail: "of matured returns recovered".into(),
            });
        }
    }
    if let Some((overall, _)) = &t.nps {
        let surveys = texts(overall, "survey")?;
        if let Some(i) = surveys.iter().position(|s| s == "nps") {
            let score = floats(overall, "score")?[i].unwrap_or(f64::NAN);
            let lo = floats(overall, "score_low")?[i].unwrap_or(f64::NAN);
            let hi = floats(overall, "score_high")?[i].unwrap_or(f64::NAN);
            cards.push(Card {
                label: "NPS".into(),
                value: format!("{score:.1}"),
                detail: format!("95% CI {lo:.1} to {hi:.1} points"),
            });
        }
    }
    let table = |title: &str, df: &'a DataFrame, max_rows: usize| HtmlTable {
        title: title.into(),
        df,
        max_rows,
    };
    let mut sections = vec![
        Section {
            title: "RFM segments".into(),
            notes: vec![
                "Recency, frequency and monetary scores 1–5 by quintile (5 = best); segments by the rules in the README.".into(),
            ],
            charts: [chart("rfm_heatmap"), chart("segments")].into_iter().flatten().collect(),
            tables: vec![table("", &t.segments, 50)],
        },
        Section {
            title: "ABC tiers".into(),
            notes: vec![format!(
                "Customers ranked by net revenue; A = the top customers bringing {} of it, B the next {}, C the rest.",
                pct(t.abc_cut.0),
                pct(t.abc_cut.1 - t.abc_cut.0)
            )],
            charts: chart("abc_pareto").into_iter().collect(),
            tables: vec![table("", &t.tiers, 10)],
        },
    ];
    if let Some((clv_table, params)) = &t.clv {
        sections.push(Section {
            title: "Customer lifetime value".into(),
            notes: vec![
                "BG/NBD purchases and Gamma-Gamma spend, fitted by maximum likelihood on weekly times; CLV = expected spend over 12 months discounted at 1% a month, margin 1 (revenue).".into(),
            ],
            charts: chart("clv_distribution").into_iter().collect(),
            tables: vec![
                table("Fitted parameters", params, 20),
                table("Highest CLV", clv_table, 15),
            ],
        });
    }
    sections.push(Section {
        title: "Lifecycle and cohorts".into(),
        notes: vec![],
        charts: chart("cohort_retention").into_iter().collect(),
        tables: vec![table("Lifecycle stages", &t.stages, 20)],
    });
    if let Some((by_owner, by_cohort, test)) = &t.conversion {
        sections.push(Section {
            title: "Conversion of allocated customers".into(),
            notes: std::iter::once(
                "A spell converts when the customer buys within the window after the assignment or claim, while still held; spells younger than the window are immature and not counted.".to_string(),
            )
            .chain(test.clone())
            .collect(),
            charts: chart("conversion_by_owner").into_iter().collect(),
            tables: vec![
                table("By owner", by_owner, 50),
                table("By assignment month", by_cohort, 120),
            ],
        });
    }
    if let Some((by_owner, by_reason)) = &t.recovery {
        sections.push(Section {
            title: "Recovery from the pool".into(),
            notes: vec!["A return to the pool is recovered when the customer buys within the window after the next assignment or claim.".into()],
            charts: vec![],
            tables: vec![
                table("By recovering owner", by_owner, 50),
                table("By recycle reason", by_reason, 50),
            ],
        });
    }
    if let Some(p) = &t.pool {
        sections.push(Section {
            title: "Pool rules".into(),
            notes: vec![format!(
                "As of {}: {} customers due back (or due soon), {} reclaims inside the cooldown, {} customers in the pool.",
                format_days(t.as_of),
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
        });
    }
    if let Some((overall, by_owner)) = &t.nps {
        let mut tables = vec![table("", overall, 10)];
        if let Some(b) = by_owner {
            tables.push(table("By owner", b, 100));
        }
        sections.push(Section {
            title: "NPS and CSAT".into(),
            notes: vec!["NPS in points (−100…100): % promoters (9–10) − % detractors (0–6); CSAT: % of 4–5 on 1–5; 95% intervals.".into()],
            charts: vec![],
            tables,
        });
    }
    if !t.missing.is_empty() {
        sections.push(Section {
            title: "Not in this report".into(),
            notes: t
                .missing
                .iter()
                .map(|(what, why)| format!("{what}: {why}"))
                .collect(),
            ..Section::default()
        });
    }
    Ok(Page {
        title: "CRM report".into(),
        subtitle: format!(
            "{} · as of {} · crm-eval report",
            t.orders_file,
            format_days(t.as_of)
        ),
        cards,
        sections,
    })
}
