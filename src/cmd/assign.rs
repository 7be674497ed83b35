//! `crm-eval assign --events E --orders O [--customers C] [--rules R] [--leads FILE]`: the best
//! owner for each customer in the pool (or each new lead), by each owner's conversion of leads
//! like it, within the pool rules' caps; `--evaluate` backtests the model.

use anyhow::Result;

use crate::error::usage;
use crate::load::assign::{recommend, Options};
use crate::load::ownership::{load, Files};
use crate::output;
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub files: Files,

    /// Pool rules (TOML): max_holding, max_daily_claims and reclaim_days are respected
    /// (default: the built-in rules, as examples/pool-rules.toml).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<String>,

    /// New leads to allocate instead of the pool: customer_id and the --by columns.
    #[arg(long, value_name = "FILE")]
    pub leads: Option<String>,

    /// The segments the model tells apart: customers-file columns (default: source, when the
    /// customers file has it), e.g. source,industry.
    #[arg(long, value_name = "COLUMN[,COLUMN]")]
    pub by: Option<String>,

    /// Days after a spell starts in which a purchase counts as its conversion (as `conversion`).
    #[arg(long, value_name = "DAYS", default_value_t = 90, value_parser = crate::settings::days)]
    pub window: i32,

    /// Most customers one owner gets in this batch (default: the rules' max_daily_claims).
    #[arg(long, value_name = "N")]
    pub per_owner: Option<u64>,

    /// The owners who take customers (default: those with a spell started in the last
    /// --active-days days).
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub owners: Vec<String>,

    /// An owner takes customers when they started a spell in this many days before as_of.
    #[arg(long, value_name = "DAYS", default_value_t = 90, value_parser = crate::settings::days)]
    pub active_days: i32,

    /// Print the backtest instead: at earlier cutoffs, how well the rates ranked the spells
    /// that followed, beside the owner's rate, the segment's and round robin.
    #[arg(long)]
    pub evaluate: bool,

    /// Backtest cutoffs: as_of − window − step, then every --step days earlier.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub cutoffs: usize,

    /// Days between backtest cutoffs, and the spells each one scores.
    #[arg(long, value_name = "DAYS", default_value_t = 90, value_parser = crate::settings::days)]
    pub step: i32,

    /// Only the first N customers of the list.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
}

pub fn run(args: Args, settings: &Settings) -> Result<()> {
    if !(1..=60).contains(&args.cutoffs) {
        return Err(usage("--cutoffs: expected 1 to 60"));
    }
    if args.top == Some(0) || args.per_owner == Some(0) {
        return Err(usage("--top and --per-owner: expected 1 or more"));
    }
    let rules = crate::load::pool_rules(args.rules.as_deref())?;
    let data = load(&args.files, true, settings)?;
    let opts = Options {
        by: args.by.as_deref(),
        leads: args.leads.as_deref(),
        customers: args.files.customers.as_deref(),
        events: args.files.events.as_deref().unwrap_or("the events"),
        window: args.window,
        per_owner: args.per_owner,
        owners: &args.owners,
        active_days: args.active_days,
        evaluate: args.evaluate,
        cutoffs: args.cutoffs,
        step: args.step,
        top: args.top,
    };
    let table = recommend(&data, &rules, &opts, settings)?;
    output::emit(&table, &settings.output)
}
