//! `crm-eval rfm ORDERS`: RFM per customer, or per segment with `--summary`.

use anyhow::Result;

use crate::day::Day;
use crate::error::usage;
use crate::load::groups::ByArgs;
use crate::load::owners::{CustomerColumns, ListArgs};
use crate::load::{
    load_ledger, note_without_purchase, parse_as_of, partitioned, require_purchases, OrdersArgs,
};
use crate::metrics::rfm::{self, default_segments, FrequencyBasis, RfmOptions, Scoring};
use crate::output::{self, note};
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: OrdersArgs,

    /// Read the orders in pieces and build the ledger a partition of customers at a time, so
    /// that memory stays under about this size (e.g. 4GiB; docs/metrics.md "Bounded memory").
    /// Uses temporary files (TMPDIR) about the size of the needed columns.
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<partitioned::MemoryLimit>,

    #[command(flatten)]
    pub scores: ScoreArgs,

    /// One row per segment: customers, shares, revenue, mean recency/frequency/monetary.
    #[arg(long)]
    pub summary: bool,

    #[command(flatten)]
    pub groups: ByArgs,

    #[command(flatten)]
    pub owners: ListArgs,
}

/// How the scores are made (the command's and `sql rfm`'s flags; the config's `[rfm]` fills
/// what they leave out).
#[derive(Debug, clap::Args)]
pub struct ScoreArgs {
    /// What frequency counts: purchases (orders) or distinct purchase days.
    #[arg(long, value_enum)]
    pub frequency: Option<FrequencyBasis>,

    /// Number of quantile scores per dimension (2–10, default 5).
    #[arg(long, value_name = "N")]
    pub bins: Option<u32>,

    /// Recency breakpoints in days, ascending: ≤ first scores highest, e.g. 30,90,180,365.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "DAYS,...",
        allow_negative_numbers = true
    )]
    pub r_breaks: Option<Vec<f64>>,

    /// Frequency breakpoints, ascending: ≤ first scores 1, e.g. 1,2,4,8.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "N,...",
        allow_negative_numbers = true
    )]
    pub f_breaks: Option<Vec<f64>>,

    /// Monetary breakpoints, ascending: ≤ first scores 1, e.g. 100,500,2000,10000.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "AMOUNT,...",
        allow_negative_numbers = true
    )]
    pub m_breaks: Option<Vec<f64>>,
}

/// Validates flags and config into RFM options; every problem is a usage error.
pub fn options(args: &Args, settings: &Settings) -> Result<RfmOptions> {
    score_options(&args.scores, parse_as_of(&args.input.as_of)?, settings)
}

/// [`options`] from the score flags and an analysis date (for `sql rfm` too).
pub fn score_options(
    args: &ScoreArgs,
    as_of: Option<Day>,
    settings: &Settings,
) -> Result<RfmOptions> {
    let cfg = &settings.config.rfm;
    let bins = args.bins.or(cfg.bins).unwrap_or(5);
    if !(2..=10).contains(&bins) {
        // Say where the value came from: a flag, or the config file nobody typed on the line.
        let from = match (args.bins, &settings.config.path) {
            (Some(_), _) | (None, None) => "--bins".to_string(),
            (None, Some(path)) => format!("{path}: [rfm] bins ="),
        };
        return Err(usage(format!("{from} {bins}: expected 2 to 10 scores")));
    }
    let scoring =
        |flag: &str, cli: &Option<Vec<f64>>, conf: &Option<Vec<f64>>| -> Result<Scoring> {
            match cli.as_ref().or(conf.as_ref()) {
                None => Ok(Scoring::Quantile { bins }),
                Some(breaks) => {
                    if breaks.is_empty() || breaks.len() > 9 {
                        return Err(usage(format!("{flag}: expected 1 to 9 breakpoints")));
                    }
                    if breaks.iter().any(|b| !b.is_finite())
                        || breaks.windows(2).any(|w| w[0] >= w[1])
                    {
                        return Err(usage(format!(
                            "{flag} {breaks:?}: breakpoints must be finite and strictly ascending"
                        )));
                    }
                    Ok(Scoring::Breaks(breaks.clone()))
                }
            }
        };
    let (segments, default) = match &cfg.segments {
        Some(rules) if !rules.is_empty() => {
            for (i, rule) in rules.iter().enumerate() {
                for (dim, range) in [("r", rule.r), ("f", rule.f), ("m", rule.m), ("fm", rule.fm)] {
                    if let Some([lo, hi]) = range {
                        if lo > hi || lo == 0 {
                            return Err(usage(format!(
                                "{}: [[rfm.segments]] #{} ({}): {dim} = [{lo}, {hi}] is not a range of scores from 1",
                                settings.config.path.as_deref().unwrap_or("config"),
                                i + 1,
                                rule.name
                            )));
                        }
                    }
                }
            }
            (rules.clone(), false)
        }
        Some(_) => return Err(usage("config [[rfm.segments]] is empty")),
        None => (default_segments(), true),
    };
    Ok(RfmOptions {
        as_of,
        frequency: args.frequency.or(cfg.frequency).unwrap_or_default(),
        r_scoring: scoring("--r-breaks", &args.r_breaks, &cfg.r_breaks)?,
        f_scoring: scoring("--f-breaks", &args.f_breaks, &cfg.f_breaks)?,
        m_scoring: scoring("--m-breaks", &args.m_breaks, &cfg.m_breaks)?,
        segments,
        default_segments: default,
    })
}

pub fn run(args: Args, settings: &Settings) -> Result<()> {
    if args.groups.by.is_some() && !args.summary {
        return Err(usage("--by groups the summary: pass --summary"));
    }
    let opts = options(&args, settings)?;
    // The orders' owner column, when there is one, gives each buyer's latest-purchase owner.
    let by_owner = args.groups.by.as_deref() == Some(crate::load::owners::OWNER);
    let mut columns = CustomerColumns::shown(!args.summary || by_owner);
    let roles = columns.order_roles();
    let scored = match partitioned::chosen_limit(args.memory_limit, &args.input.orders, settings)? {
        None => {
            let (orders, ledger) = load_ledger(&args.input, roles, settings)?;
            require_purchases(&orders, &ledger.stats, ledger.as_of)?;
            let watch = crate::diag::Stopwatch::new();
            let result = rfm::rfm(&ledger, &opts)?;
            watch.lap("rfm scores");
            columns.add_purchases(&ledger);
            (result.customers, ledger.stats, result.as_of)
        }
        Some(limit) => {
            // A partition of customers at a time; the scores are quantiles of everyone, so
            // they are given once the summaries are put together.
            let run = partitioned::each_partition(&args.input, limit, roles, settings, |ledger| {
                rfm::purchase_summary(ledger, opts.frequency)
            })?;
            require_purchases(&run.info, &run.stats, run.as_of)?;
            let summary = partitioned::by_customer(run.results)?;
            let watch = crate::diag::Stopwatch::new();
            let customers = rfm::score_customers(summary, run.as_of, &opts)?;
            watch.lap("rfm scores");
            columns.add_purchase_owners(run.purchase_owners);
            (customers, run.stats, run.as_of)
        }
    };
    let (customers, stats, as_of) = scored;
    columns.load_files(
        args.groups.customers.as_deref(),
        &args.owners,
        as_of,
        settings,
    )?;
    let customers = columns.attach(customers)?;
    let out = &settings.output;
    note(
        out,
        format!(
            "{} customers scored from {} order rows, as of {}",
            customers.height(),
            stats.rows,
            as_of
        ),
    );
    note_without_purchase(out, &stats);
    if let Some(groups) = args.groups.load(Some((&columns, &customers)), settings)? {
        let table = groups.summarise(&customers, settings, |c| {
            rfm::segment_summary(c, &opts.segments)
        })?;
        output::emit(&table, out)
    } else if args.summary {
        let summary = rfm::segment_summary(&customers, &opts.segments)?;
        output::emit(&summary, out)
    } else {
        output::emit(&columns.top(customers), out)
    }
}
