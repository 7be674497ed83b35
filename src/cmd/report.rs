//! `crm-eval report --orders FILE [--customers FILE] [--surveys FILE] -o report.xlsx`: every
//! analysis built so far, one sheet each, plus a `notes` sheet saying what is not in it yet.

use anyhow::{bail, Result};
use polars::prelude::*;

use crate::cli::Settings;
use crate::cmd::{load_customer_ids, load_orders, parse_as_of};
use crate::error::usage;
use crate::input::schema::{Role, TableKind};
use crate::input::values::format_days;
use crate::input::{self};
use crate::metrics::abc::{self, AbcOptions};
use crate::metrics::cohort::{self, CohortMetric};
use crate::metrics::lifecycle::{self, LifecycleOptions};
use crate::metrics::nps::{self, NpsGroup, SurveyKind};
use crate::metrics::orders::resolve_as_of;
use crate::metrics::periods::Period;
use crate::metrics::rfm::{self, RfmOptions};
use crate::output::{self, note, Format};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Orders export.
    #[arg(long, value_name = "FILE")]
    pub orders: String,

    /// Customers export (adds potential customers to the lifecycle sheet).
    #[arg(long, value_name = "FILE")]
    pub customers: Option<String>,

    /// Survey responses (adds the NPS sheet).
    #[arg(long, value_name = "FILE")]
    pub surveys: Option<String>,

    /// Analysis date, YYYY-MM-DD (default: the day after the latest order date).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
}

pub fn run(args: Args, settings: &Settings) -> Result<()> {
    let out = &settings.output;
    match out.format {
        Format::Xlsx | Format::Json | Format::Table | Format::Markdown => {}
        other => {
            return Err(usage(format!(
                "a report holds several tables; {other:?} holds one — use -o report.xlsx (or --format json)"
            )
            .to_lowercase()))
        }
    }
    let as_of = parse_as_of(&args.as_of)?;
    let orders = load_orders(
        &args.orders,
        &[Role::OrderId, Role::Status, Role::Margin, Role::Cost],
        settings,
    )?;
    let as_of = Some(resolve_as_of(&orders.df, as_of)?);
    let customer_ids_owned = load_customer_ids(args.customers.as_deref(), settings)?;
    let customer_ids: Option<Vec<&str>> = customer_ids_owned
        .as_ref()
        .map(|v| v.iter().map(String::as_str).collect());

    let rfm_opts = RfmOptions {
        as_of,
        ..RfmOptions::default()
    };
    let rfm_result = rfm::rfm(&orders.df, &rfm_opts)?;
    if rfm_result.customers.height() == 0 {
        bail!("{}: no purchases to report on", orders.info.display);
    }
    let segments = rfm::segment_summary(&rfm_result.customers, &rfm_opts.segments)?;
    let abc_result = abc::abc(
        &orders.df,
        &AbcOptions {
            as_of,
            ..AbcOptions::default()
        },
    )?;
    let tiers = abc::tier_summary(&abc_result.customers)?;
    let life_opts = LifecycleOptions {
        as_of,
        ..LifecycleOptions::default()
    };
    let life = lifecycle::lifecycle(&orders.df, customer_ids.as_deref(), &life_opts)?;
    let stages = lifecycle::stage_summary(&life.customers)?;
    let rates = lifecycle::rates(&orders.df, as_of, Period::Month, life_opts.churn_days)?;
    let cohorts = cohort::cohorts(&orders.df, as_of, Period::Month, CohortMetric::Retention)?;
    let nps_table = match &args.surveys {
        Some(path) => {
            let surveys = input::load(
                path,
                TableKind::Surveys,
                Some(&[Role::Survey, Role::Owner, Role::ResponseDate]),
                &settings.input,
            )?;
            let by: Vec<NpsGroup> = if surveys.has(Role::Owner) {
                vec![NpsGroup::Owner]
            } else {
                vec![]
            };
            Some(nps::nps(&surveys.df, SurveyKind::Nps, &by)?.table)
        }
        None => None,
    };

    let as_of_text = format_days(rfm_result.as_of);
    let mut notes: Vec<(String, String)> = vec![
        ("as_of".into(), as_of_text.clone()),
        ("orders".into(), orders.info.display.clone()),
    ];
    if nps_table.is_none() {
        notes.push(("nps".into(), "not included: pass --surveys FILE".into()));
    }
    for missing in ["clv", "conversion", "recovery", "pool"] {
        notes.push((
            missing.into(),
            "not included: this analysis is not built yet".into(),
        ));
    }
    let notes = DataFrame::new_infer_height(vec![
        Column::new(
            "item".into(),
            notes.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "value".into(),
            notes.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(),
        ),
    ])?;
    let mut sheets: Vec<(&str, &DataFrame)> = vec![
        ("notes", &notes),
        ("segments", &segments),
        ("rfm", &rfm_result.customers),
        ("abc_tiers", &tiers),
        ("abc", &abc_result.customers),
        ("lifecycle_stages", &stages),
        ("lifecycle_rates", &rates),
        ("lifecycle", &life.customers),
        ("cohort", &cohorts.matrix),
    ];
    if let Some(t) = &nps_table {
        sheets.push(("nps", t));
    }
    note(
        out,
        format!("report as of {as_of_text}: {} sheets", sheets.len()),
    );
    output::emit_sheets(&sheets, out)
}
