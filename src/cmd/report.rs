//! `crm-eval report --orders FILE [--customers F] [--events F] [--followups F] [--surveys F]
//! -o report.xlsx | report.html [--charts DIR]`: every analysis in one workbook (a sheet each) or
//! one self-contained HTML page with a headline and charts. An analysis whose input is missing,
//! or that fails on this data (e.g. a model fit that does not converge), is left out with a note
//! saying why; the rest of the report is still written.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use polars::prelude::*;

use crate::day::Day;
use crate::error::usage;
use crate::input::schema::Role;
use crate::load::ownership::ORDER_ROLES;
use crate::load::{
    build_ledger, load_customer_ids, load_orders, note_after_as_of, parse_as_of, pool_rules,
    require_purchases,
};
use crate::output::charts;
use crate::output::html;
use crate::output::progress::Progress;
use crate::output::{self, note, write_atomically, Format};
use crate::report::{Context, Earlier, Report, ANALYSES};
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub inputs: Inputs,

    /// Also write each chart as DIR/<name>.svg and DIR/<name>.png.
    #[arg(long, value_name = "DIR")]
    pub charts: Option<PathBuf>,

    /// The KPI history that `check --history` keeps: adds its rows and a trend chart per KPI.
    #[arg(long, value_name = "FILE")]
    pub kpi_history: Option<String>,
}

/// The input files and options of `report` and `check` (the same analyses on the same inputs).
#[derive(Clone, Debug, clap::Args)]
pub struct Inputs {
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

    /// Subscriptions or contracts export (adds subscriber retention).
    #[arg(long, value_name = "FILE")]
    pub subscriptions: Option<String>,

    /// Opportunities export (adds the sales funnel).
    #[arg(long, value_name = "FILE")]
    pub opportunities: Option<String>,

    /// Stage history of the opportunities (long form or HubSpot's `Date entered` columns).
    #[arg(long, value_name = "FILE")]
    pub stage_history: Option<String>,

    /// Teams file: owner, team, region (the funnel's teams).
    #[arg(long, value_name = "FILE")]
    pub teams: Option<String>,

    /// Pool rules (TOML; default: the built-in rules, as examples/pool-rules.toml).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<String>,

    /// Conversion and recovery window in days.
    #[arg(long, value_name = "DAYS", default_value_t = 90, value_parser = crate::settings::days)]
    pub window: i32,

    /// Analysis date, YYYY-MM-DD (default: the day after the latest order date).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
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
    args.inputs.check()?;
    if let Some(dir) = &args.charts {
        if dir.exists() && !dir.is_dir() {
            return Err(usage(format!(
                "--charts {}: is a file; expected a directory (it is created if missing)",
                dir.display()
            )));
        }
    }
    let need_charts = out.format == Format::Html || args.charts.is_some();
    // Steps: the orders, each analysis, [charts], writing.
    let steps = 2 + ANALYSES.len() as u64 + u64::from(need_charts);
    let progress = Progress::new(steps, out.quiet);

    progress.step(format!("loading {}", args.inputs.orders));
    // The notes sheet lists every note of the run, also those of quiet steps.
    output::record_notes();
    let (report, first_purchase) =
        args.inputs
            .with_context(settings, args.kpi_history.as_deref(), |ctx| {
                let first = ctx
                    .ledger
                    .buyers()
                    .filter_map(|c| ctx.ledger.purchase_days(c).first().copied())
                    .min();
                Ok((Report::build(ctx, &progress, |_| true)?, first))
            })?;
    // The page's tiles show the change since --window days before, when the data hold a whole
    // window before that date too (the earlier figures would otherwise be of a shorter history).
    let earlier = match (out.format, first_purchase) {
        (Format::Html, Some(first)) if first <= (report.as_of - 2 * args.inputs.window).days() => {
            earlier_headlines(&args, settings, report.as_of - args.inputs.window)
        }
        _ => None,
    };

    let charts = if need_charts {
        progress.step("drawing charts");
        report.charts()?
    } else {
        Vec::new()
    };
    if let Some(dir) = &args.charts {
        charts::write_charts(dir, charts.iter().flatten())?;
        note(
            out,
            format!(
                "{} charts written to {} (SVG and PNG)",
                charts.iter().map(Vec::len).sum::<usize>(),
                dir.display()
            ),
        );
    }
    progress.step("writing");
    // What the run said so far (the sections left out are rows of their own).
    let recorded = output::recorded_notes();
    for (what, why) in &report.missing {
        note(out, format!("{what}: not included: {why}"));
    }
    if out.format == Format::Html {
        let page = report.page(&charts, earlier.as_ref());
        let write = |w: &mut dyn std::io::Write| html::write_page(&page, w);
        drop(progress);
        match &out.path {
            Some(path) => write_atomically(path, write)?,
            None => write(&mut std::io::stdout().lock())?,
        }
        note(
            out,
            format!(
                "report as of {}: {} sections, {} charts",
                report.as_of,
                page.sections.len(),
                charts.iter().map(Vec::len).sum::<usize>()
            ),
        );
        return Ok(());
    }
    drop(progress);
    let notes = report.notes(&args.inputs.files(), &recorded)?;
    let mut sheets: Vec<(&str, &DataFrame)> = vec![("notes", &notes)];
    sheets.extend(report.sheets());
    note(
        out,
        format!("report as of {}: {} sheets", report.as_of, sheets.len()),
    );
    output::emit_sheets(&sheets, None, out)
}

/// The report's headlines as of `as_of` (the same inputs and settings, quietly), for the change
/// on each tile; `None` when that earlier report cannot be built (no purchase by then).
fn earlier_headlines(args: &Args, settings: &Settings, as_of: Day) -> Option<Earlier> {
    let mut inputs = args.inputs.clone();
    inputs.as_of = Some(as_of.to_string());
    let mut quiet = settings.clone();
    quiet.output.quiet = true;
    let hidden = Progress::new(0, true);
    let watch = crate::diag::Stopwatch::new();
    let earlier = inputs
        .with_context(&quiet, None, |ctx| Report::build(ctx, &hidden, |_| true))
        .ok()?;
    watch.lap("the earlier report, for the tiles' changes");
    Some(Earlier {
        as_of,
        headlines: earlier.headlines(),
    })
}

impl Inputs {
    /// The input files given, by their flag's name (for the notes sheet).
    pub fn files(&self) -> Vec<(&'static str, &str)> {
        [
            ("orders", Some(self.orders.as_str())),
            ("customers", self.customers.as_deref()),
            ("events", self.events.as_deref()),
            ("followups", self.followups.as_deref()),
            ("surveys", self.surveys.as_deref()),
            ("subscriptions", self.subscriptions.as_deref()),
            ("opportunities", self.opportunities.as_deref()),
            ("stage_history", self.stage_history.as_deref()),
            ("teams", self.teams.as_deref()),
            ("rules", self.rules.as_deref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
    }

    /// Usage mistakes, before any file is read.
    pub fn check(&self) -> Result<()> {
        if self.opportunities.is_none() && (self.stage_history.is_some() || self.teams.is_some()) {
            return Err(usage(
                "--stage-history and --teams describe the opportunities: pass --opportunities FILE too",
            ));
        }
        Ok(())
    }

    /// Loads the orders into the one ledger of the run (docs/metrics.md, "Orders and
    /// purchases") and runs `f` on the context every analysis reads.
    pub fn with_context<T>(
        &self,
        settings: &Settings,
        kpi_history: Option<&str>,
        f: impl FnOnce(&Context) -> Result<T>,
    ) -> Result<T> {
        let rules = pool_rules(self.rules.as_deref())?;
        let as_of = parse_as_of(&self.as_of)?;
        let mut roles = vec![Role::Margin, Role::Cost];
        roles.extend(ORDER_ROLES);
        let orders = load_orders(&self.orders, &roles, settings)?;
        let (orders, ledger) = build_ledger(orders, as_of, &settings.output)?;
        let ledger = Arc::new(ledger);
        note_after_as_of(
            &settings.output,
            ledger.stats.rows_after_as_of,
            ledger.as_of,
        );
        require_purchases(&orders, &ledger.stats, ledger.as_of)?;
        let ctx = Context {
            settings,
            orders: &orders,
            customer_ids: load_customer_ids(self.customers.as_deref(), settings)?,
            customers: self.customers.as_deref(),
            ledger,
            events: self.events.as_deref(),
            followups: self.followups.as_deref(),
            surveys: self.surveys.as_deref(),
            subscriptions: self.subscriptions.as_deref(),
            opportunities: self.opportunities.as_deref(),
            stage_history: self.stage_history.as_deref(),
            teams: self.teams.as_deref(),
            rules: &rules,
            window: self.window,
            kpi_history,
            since: None,
        };
        f(&ctx)
    }
}
