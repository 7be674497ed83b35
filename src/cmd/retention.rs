//! `crm-eval retention SUBSCRIPTIONS [--by plan] [--show summary|curve|params|subscribers|cohort]`:
//! subscriber churn, the observed retention curve, the sBG/BdW contract churn models and who
//! is likeliest to cancel next.

use anyhow::{bail, Result};

use crate::error::usage;
use crate::load::groups::parse_by;
use crate::metrics::retention::models::{Curve, Model};
use crate::metrics::retention::{self, Options, Unit};
use crate::output::{self, note};
use crate::settings::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Show {
    /// Per group: subscribers, churn rate, median tenure, MRR lost, what the model expects next.
    Summary,
    /// Per group and period: at risk, churned, retention, Kaplan–Meier survival, the model's
    /// survival and retention projected --horizon periods on.
    Curve,
    /// The model's parameters per group, with standard errors, intervals and status.
    Params,
    /// Active subscribers, likeliest to cancel next period first, with residual lifetime and value.
    Subscribers,
    /// Retention by start cohort (needs start dates).
    Cohort,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Subscriptions or contracts export: customer ID with start and end dates (end empty while
    /// active), or a tenure in periods with a churned flag; optionally plan, MRR and owner.
    #[arg(value_name = "SUBSCRIPTIONS")]
    pub subscriptions: String,

    /// What to show.
    #[arg(long, value_enum, default_value = "summary")]
    pub show: Show,

    /// The model's parameters (the same as --show params, as in `crm-eval clv --params`).
    #[arg(long, conflicts_with = "show")]
    pub params: bool,

    /// Groups: the plan or owner column, or any header of the file (e.g. plan or
    /// InternetService), one table part per group and then `all`; each group gets its own fit.
    #[arg(long, value_name = "COLUMN[,COLUMN]")]
    pub by: Option<String>,

    /// The length of a period: what a tenure counts, and the step of the curve and the models.
    #[arg(long, value_enum, default_value = "month")]
    pub period: Unit,

    /// The model: sbg (shifted-beta-geometric) or bdw (beta-discrete-Weibull).
    #[arg(long, value_enum, default_value = "sbg")]
    pub model: Model,

    /// Periods to project the model's survival past the last one observed (--show curve).
    #[arg(long, value_name = "N", default_value_t = 12)]
    pub horizon: u32,

    /// Discount rate per period for the residual lifetime and value (default: 1 % a month,
    /// compounded to the period: 0.0303 a quarter, 0.1268 a year).
    #[arg(long, value_name = "RATE")]
    pub discount: Option<f64>,

    /// Level of the intervals: the Kaplan–Meier band and the parameters' (0.95 = 95 %).
    #[arg(long, value_name = "LEVEL", default_value_t = 0.95)]
    pub intervals: f64,

    /// Rows of one customer are one subscription when the next starts within this many days
    /// after the day after the previous one ends (dated files).
    #[arg(long, value_name = "DAYS", default_value_t = 0)]
    pub grace: u32,

    /// Analysis date, YYYY-MM-DD (dated files): subscriptions ending before it are lost, the
    /// others active (default: the day after the latest start or end date).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
}

pub fn run(args: Args, settings: &Settings) -> Result<()> {
    if !(args.intervals > 0.0 && args.intervals < 1.0) {
        bail!(usage(format!(
            "--intervals {}: expected a level between 0 and 1, e.g. 0.95",
            args.intervals
        )));
    }
    let discount = match args.discount {
        Some(d) if !(d > 0.0 && d < 1.0) => bail!(usage(format!(
            "--discount {d}: expected a rate per period above 0 and below 1, e.g. 0.01"
        ))),
        Some(d) => d,
        None => 1.01f64.powi(args.period.months() as i32) - 1.0,
    };
    if args.horizon > 1200 {
        bail!(usage(format!(
            "--horizon {}: expected at most 1200 periods",
            args.horizon
        )));
    }
    let by = match &args.by {
        Some(b) => parse_by(b)?,
        None => Vec::new(),
    };
    let as_of = crate::load::parse_as_of(&args.as_of)?;
    let grace = i32::try_from(args.grace).unwrap_or(i32::MAX / 2);
    let loaded = crate::load::subscriptions::load(
        &args.subscriptions,
        &by,
        args.period,
        grace,
        as_of,
        settings,
    )?;
    if args.as_of.is_some() && !loaded.dated {
        bail!(usage(format!(
            "--as-of: {} has tenures, not dates; a tenure is counted as of the export",
            loaded.display
        )));
    }
    let opts = Options {
        model: args.model,
        unit: args.period,
        level: args.intervals,
        horizon: args.horizon,
        discount,
        by,
        has_mrr: loaded.has_mrr,
        has_owner: loaded.has_owner,
        has_plan: loaded.has_plan,
        has_start: loaded.dated,
    };
    let subs = &loaded.subscriptions;
    let out = &settings.output;
    let watch = crate::diag::Stopwatch::new();
    let groups = retention::groups(subs, &opts);
    watch.lap("retention fits");
    for g in &groups {
        if let Some(f) = &g.fit {
            if let Some(why) = &f.boundary {
                let name = if opts.by.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", g.key.join(", "))
                };
                let instead = match f.curve {
                    Curve::Weibull { c, .. } => format!(
                        "the discrete Weibull (every subscriber alike, churn changing with \
                         tenure: c = {c:.3}, first-{} churn {:.4})",
                        opts.unit.name(),
                        f.estimates[0].value
                    ),
                    _ => format!(
                        "the geometric (one churn rate for all, {:.4} a {})",
                        f.estimates[0].value,
                        opts.unit.name()
                    ),
                };
                note(out, format!("{name}{why}; {instead} is used instead"));
            }
        }
    }
    let as_of_text = loaded
        .as_of
        .map(|d| format!(" as of {d}"))
        .unwrap_or_default();
    note(
        out,
        format!(
            "{} subscriptions{as_of_text}; periods of a {}; model {}, discount {:.4} a period",
            subs.len(),
            opts.unit.name(),
            opts.model.name(),
            discount
        ),
    );
    let show = if args.params { Show::Params } else { args.show };
    let table = match show {
        Show::Summary => retention::summary(subs, &groups, &opts)?,
        Show::Curve => retention::curve(&groups, &opts)?,
        Show::Params => retention::params(&groups, &opts)?,
        Show::Subscribers => retention::subscribers(subs, &groups, &opts)?,
        Show::Cohort => {
            let Some(as_of) = loaded.as_of else {
                bail!(usage(format!(
                    "--show cohort: {} has tenures, not start dates, so no start cohorts",
                    loaded.display
                )));
            };
            if !opts.by.is_empty() {
                bail!(usage("--show cohort takes no --by"));
            }
            retention::cohorts(subs, opts.unit, as_of)?
        }
    };
    output::emit(&table, out)
}
