//! `crm-eval check targets.toml --orders FILE [--events F] [--surveys F] …`: measures the KPIs a
//! targets file names (docs/metrics.md, "KPI targets") with the report's analyses on the same
//! inputs, prints one row per target, optionally appends them to a history file, and exits 3
//! when a target is missed (0 when all are met; 1 bad data, 2 usage, as everywhere).

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use polars::prelude::*;

use crate::cmd::report::Inputs;
use crate::day::iso;
use crate::error::{usage, TargetsMissed};
use crate::input::source;
use crate::metrics::targets::{self, Measured, MeasuredKpi, Span, Status, Target, TargetPeriod};
use crate::output::progress::Progress;
use crate::output::{self, note, OutputOptions};
use crate::report::{kpi_catalogue, Context, Report, BY_OWNER_KPIS};
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The targets: a TOML file of [[target]] tables (kpi, min or max, miss = "interval").
    #[arg(value_name = "TARGETS")]
    pub targets: PathBuf,

    #[command(flatten)]
    pub inputs: Inputs,

    /// Append this run's rows to the KPI history FILE (CSV or Parquet), replacing rows of the
    /// same as_of (`report --kpi-history` draws it).
    #[arg(long = "kpi-history", alias = "history", value_name = "FILE")]
    pub history: Option<PathBuf>,
}

pub fn run(args: Args, settings: &Settings) -> Result<()> {
    let out = &settings.output;
    let text = std::fs::read_to_string(&args.targets)
        .map_err(|e| usage(format!("{}: {e}", args.targets.display())))?;
    let catalogue: Vec<&'static str> = kpi_catalogue().collect();
    let targets = targets::parse(&text, &catalogue, BY_OWNER_KPIS)
        .map_err(|e| usage(format!("{}: {e}", args.targets.display())))?;
    args.inputs.check()?;
    if let Some(path) = &args.history {
        // The next run reads it back: only formats it can read.
        if !matches!(
            crate::output::Format::from_path(path),
            Some(crate::output::Format::Csv | crate::output::Format::Parquet)
        ) {
            return Err(crate::error::usage(format!(
                "--kpi-history {}: a history is read back by the next run; name a .csv or \
                 .parquet file",
                path.display()
            )));
        }
        crate::paths::will_rewrite(path, "--kpi-history")?;
    }
    let history_out = match &args.history {
        Some(path) => Some(OutputOptions::resolve(
            None,
            Some(path.clone()),
            false,
            true,
            false,
        )?),
        None => None,
    };
    let progress = Progress::new(2, out.quiet);
    progress.step(format!("loading {}", args.inputs.orders));
    // The data's as_of, the KPIs over everything before it and those of the periods that end
    // on it (the last N days, a month or quarter to date).
    let mut later: Vec<(TargetPeriod, Span)> = Vec::new();
    let (as_of, mut measured) = args.inputs.with_context(settings, None, |ctx| {
        let as_of = ctx.ledger.as_of;
        let mut measured = Measurements::of(ctx, &progress, &targets, None)?;
        for period in periods(&targets) {
            let span = period.window(as_of);
            if span.to == as_of.days() {
                measured.extend(Measurements::of(
                    &ctx.since(span.from),
                    &progress,
                    &targets,
                    Some(period),
                )?);
            } else {
                later.push((period, span));
            }
        }
        Ok((as_of, measured))
    })?;
    drop(progress);
    // A period that ended earlier (a last full month, quarter or week) is measured as of its
    // end: the same inputs again, with the analysis date moved there. Its load notes were said
    // once already.
    let quiet = settings.quiet();
    for (period, span) in later {
        let inputs = Inputs {
            as_of: Some(iso(span.to)),
            ..args.inputs.clone()
        };
        let progress = Progress::new(1, true);
        let m = inputs.with_context(&quiet, None, |ctx| {
            Measurements::of(&ctx.since(span.from), &progress, &targets, Some(period))
        });
        match m {
            Ok(m) => measured.extend(m),
            // The data do not reach back to the period (it ends before the first order): its
            // targets are `no data` rows and the others are still checked, not a failed run.
            Err(e) if crate::error::exit_code(&e) == 1 => note(
                out,
                format!(
                    "period {} ({} … {}): not measured: {e:#}",
                    period.label(),
                    iso(span.from),
                    iso(span.to - 1)
                ),
            ),
            Err(e) => return Err(e),
        }
    }
    let (table, statuses) = targets::table(&targets, &measured.kpis, as_of)?;
    let as_of = as_of.to_string();
    for (what, why) in &measured.missing {
        note(out, format!("{what}: not measured: {why}"));
    }
    if let (Some(path), Some(history)) = (&args.history, &history_out) {
        write_history(path, history, &table, &as_of, settings)?;
    }
    output::emit(&table, out)?;
    let missed = statuses.iter().filter(|s| **s == Status::Missed).count();
    let no_data = statuses.iter().filter(|s| **s == Status::NoData).count();
    if no_data > 0 {
        note(
            out,
            format!("{no_data} of {} targets have no data", targets.len()),
        );
    }
    if missed > 0 {
        // With --quiet the exit status alone says it (main prints nothing for an empty message).
        let message = if out.quiet {
            String::new()
        } else {
            format!(
                "{missed} of {} rows missed their target as of {as_of}",
                statuses.len()
            )
        };
        return Err(anyhow!(TargetsMissed(message)));
    }
    Ok(())
}

/// The distinct periods of the targets, in the order of the file.
fn periods(targets: &[Target]) -> Vec<TargetPeriod> {
    let mut out: Vec<TargetPeriod> = Vec::new();
    for p in targets.iter().filter_map(|t| t.period) {
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// What the analyses measured for the targets of one period, and what they could not.
#[derive(Default)]
struct Measurements {
    kpis: Vec<MeasuredKpi>,
    missing: Vec<(&'static str, String)>,
}

impl Measurements {
    /// Runs the analyses that measure a KPI of the period's targets (only those) on the context.
    fn of(
        ctx: &Context,
        progress: &Progress,
        targets: &[Target],
        period: Option<TargetPeriod>,
    ) -> Result<Measurements> {
        let wanted: Vec<&Target> = targets.iter().filter(|t| t.period == period).collect();
        if wanted.is_empty() {
            return Ok(Measurements::default());
        }
        let report = Report::build(ctx, progress, |a| {
            a.kpis.iter().any(|k| wanted.iter().any(|t| t.kpi == *k))
        })?;
        let kpis = report
            .sections
            .iter()
            .flat_map(|s| s.measures())
            .map(|m| MeasuredKpi {
                kpi: m.kpi,
                owner: m.owner,
                period,
                measured: Measured {
                    value: m.value,
                    interval: m.interval,
                },
            })
            .collect();
        Ok(Measurements {
            kpis,
            missing: report.missing,
        })
    }

    fn extend(&mut self, other: Measurements) {
        self.kpis.extend(other.kpis);
        for m in other.missing {
            if !self.missing.contains(&m) {
                self.missing.push(m);
            }
        }
    }
}

/// Appends the rows to the history file (read, merge, write a temporary file, rename).
fn write_history(
    path: &std::path::Path,
    opts: &OutputOptions,
    rows: &DataFrame,
    as_of: &str,
    settings: &Settings,
) -> Result<()> {
    let merged = if path.exists() {
        let display = path.display().to_string();
        let raw = source::open(&display, &settings.input.read)?;
        let (earlier, _) = raw.read(None, &[], &settings.input.read)?;
        targets::merge_history(&earlier, rows, as_of)
            .map_err(|e| anyhow!("--kpi-history {display}: {e}"))?
    } else {
        rows.clone()
    };
    output::emit(&merged, opts)
}
