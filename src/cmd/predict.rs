//! `crm-eval predict churn ORDERS [--followups F] [--events F] [--surveys F] [--customers F]
//! [--horizon DAYS] [--evaluate]`: churn risk per customer from a logistic model on documented
//! features, with a rolling-origin backtest beside the recency and P(alive) baselines
//! (docs/metrics.md, "Churn prediction"); `crm-eval predict deal OPPORTUNITIES --history FILE`:
//! the win probability of each open deal, beside the stage-only win rate ("Deal prediction").

use anyhow::Result;
use polars::prelude::DataFrame;

use crate::day::{iso, Day};
use crate::error::usage;
use crate::input::schema::Role;
use crate::ledger::Ledger;
use crate::load::funnel::{load_pipeline, FunnelFiles, FunnelOptions};
use crate::load::owners::{CustomerColumns, ListArgs};
use crate::load::signals::{self, SignalFiles};
use crate::load::snapshot::{Outcome, SnapshotArgs};
use crate::load::{linked_orders, load_orders, note_after_as_of, parse_as_of, require_purchases};
use crate::metrics::funnel::stages::StageWords;
use crate::metrics::predict::evaluate;
use crate::metrics::predict::evaluate::Evaluation;
use crate::metrics::predict::{churn, deal, snapshot, Options};
use crate::output::{self, note};
use crate::settings::Settings;

#[derive(Debug, clap::Subcommand)]
pub enum Predict {
    /// Churn risk: the probability of no purchase in the next --horizon days, per customer.
    Churn(ChurnArgs),
    /// Deal win probability: for each open opportunity, the chance it closes won.
    Deal(DealArgs),
    /// Lead scoring from a labelled lead list: which leads to call first, learnt from the leads'
    /// own columns (converted yes/no), cross-validated.
    Lead(LeadArgs),
}

#[derive(Debug, clap::Args)]
pub struct LeadArgs {
    /// Lead list (CSV/TSV, xlsx, Parquet): one row per lead, a converted column and any
    /// attributes; rows with an empty outcome are new leads to score.
    #[arg(value_name = "LEADS")]
    pub leads: String,

    #[command(flatten)]
    pub attributes: SnapshotArgs,

    /// Only the first N leads of the list.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,

    /// Print only the cross-validation (the same as --show backtest).
    #[arg(long)]
    pub evaluate: bool,

    /// Which tables to write: predictions (default), backtest (the cross-validation),
    /// coefficients.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub show: Vec<Show>,
}

#[derive(Debug, clap::Args)]
pub struct DealArgs {
    /// Opportunities (deals, 商机) export, as for `crm-eval funnel`.
    #[arg(value_name = "OPPORTUNITIES")]
    pub opportunities: String,

    /// Stage history (required: a deal's stage at a past cutoff comes from it).
    #[arg(long = "stage-history", alias = "history", value_name = "FILE")]
    pub history: String,

    /// The open stages in funnel order (default: as `crm-eval funnel`).
    #[arg(long, value_name = "A,B,C", value_delimiter = ',')]
    pub stages: Option<Vec<String>>,

    /// Follow-up log (adds the account's follow-ups in the last 30 days).
    #[arg(long, value_name = "FILE")]
    pub followups: Option<String>,

    /// The model is trained on the deals open this many days before as_of (and closed since).
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub horizon: i32,

    #[command(flatten)]
    pub backtest: BacktestArgs,

    /// Analysis date, YYYY-MM-DD (default: the day after the latest date in the files).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
}

/// The backtest and output flags both predictions take.
#[derive(Debug, clap::Args)]
pub struct BacktestArgs {
    /// Backtest cutoffs (as_of − horizon, then every --step days earlier).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub cutoffs: usize,

    /// Days between backtest cutoffs (default: the horizon).
    #[arg(long, value_name = "DAYS")]
    pub step: Option<i32>,

    /// Print only the backtest (the same as --show backtest).
    #[arg(long)]
    pub evaluate: bool,

    /// Which tables to write (default: predictions; one sheet each in xlsx).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub show: Vec<Show>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Show {
    /// Per customer (churn) or open deal (deal): the probability, its band and three drivers.
    Predictions,
    /// Per backtest cutoff and model: AUC, Brier, log loss, lift and capture in the top 10 %.
    Backtest,
    /// Per backtest cutoff, model and decile: mean predicted and observed rate.
    Calibration,
    /// The fitted model: coefficient of each standardised feature, its mean and sd.
    Coefficients,
    /// churn: the rows the model was trained on: customer_id, churned and every feature.
    Training,
    /// churn: per owner, the customers listed, those at high risk, annual value and value at risk.
    Owners,
}

/// How `predict churn` orders its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ChurnSort {
    /// Value at risk, highest first.
    Value,
    /// Churn probability, highest first.
    Probability,
}

#[derive(Debug, clap::Args)]
pub struct ChurnArgs {
    /// Orders export (CSV/TSV, optionally .gz/.zst, Parquet, xlsx), or - for standard input.
    #[arg(value_name = "ORDERS", required_unless_present = "snapshot")]
    pub orders: Option<String>,

    /// Analysis date, YYYY-MM-DD: orders on or after it are left out (default: the day after the
    /// latest order date).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,

    /// A labelled snapshot instead of orders: one row per customer with a churn column (yes/no)
    /// and any attributes (IBM's Telco export); learnt from its columns, cross-validated, and the
    /// customers not yet churned listed likeliest to churn first.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["orders", "followups", "events", "surveys", "customers", "as_of"])]
    pub snapshot: Option<String>,

    #[command(flatten)]
    pub attributes: SnapshotArgs,

    /// Follow-up log (adds follow-ups in the last 30/90 days and days since the last one).
    #[arg(long, value_name = "FILE")]
    pub followups: Option<String>,

    /// Ownership event log (adds owner changes and returns to the pool).
    #[arg(long, value_name = "FILE")]
    pub events: Option<String>,

    /// Survey answers with customer and date (adds the latest NPS and CSAT).
    #[arg(long, value_name = "FILE")]
    pub surveys: Option<String>,

    /// Customers export (adds source, industry and region, rare values pooled).
    #[arg(long, value_name = "FILE")]
    pub customers: Option<String>,

    /// Churned = no purchase in this many days after a cutoff.
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub horizon: i32,

    /// Customers who have not bought for more than this many days have already left (the
    /// lifecycle rule, default 180 as in `crm-eval lifecycle`) and are not listed.
    #[arg(long, value_name = "DAYS")]
    pub churn_days: Option<i64>,

    /// List the customers who have already left too.
    #[arg(long)]
    pub include_churned: bool,

    /// Order of the list: value at risk (probability × the year's net spend), or probability.
    #[arg(long, value_enum, default_value_t = ChurnSort::Value)]
    pub sort: ChurnSort,

    /// Only the first N customers of the list.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,

    /// Customers-file columns to print after the owner, e.g. region,industry (needs --customers).
    #[arg(long, value_name = "COLUMN[,COLUMN]")]
    pub columns: Option<String>,

    #[command(flatten)]
    pub backtest: BacktestArgs,
}

pub fn run(command: Predict, settings: &Settings) -> Result<()> {
    match command {
        Predict::Churn(args) => churn(args, settings),
        Predict::Deal(args) => deal(args, settings),
        Predict::Lead(args) => {
            let show = if args.evaluate {
                vec![Show::Backtest]
            } else if args.show.is_empty() {
                vec![Show::Predictions]
            } else {
                args.show.clone()
            };
            from_snapshot(
                &args.leads,
                Outcome::Lead,
                &args.attributes,
                &show,
                args.top,
                settings,
            )
        }
    }
}

/// The tables asked for: --evaluate, --show, or the predictions.
fn shown(b: &BacktestArgs) -> Vec<Show> {
    if b.evaluate {
        vec![Show::Backtest]
    } else if b.show.is_empty() {
        vec![Show::Predictions]
    } else {
        b.show.clone()
    }
}

/// The backtest's AUCs on stderr, a line per cutoff: the validation is always said.
fn say_backtest(evaluations: &[Evaluation], settings: &Settings) {
    let mut cutoffs: Vec<i32> = evaluations.iter().map(|e| e.cutoff).collect();
    cutoffs.dedup();
    for c in cutoffs {
        let line: Vec<String> = evaluations
            .iter()
            .filter(|e| e.cutoff == c)
            .map(|e| {
                format!(
                    "{} {}",
                    e.model,
                    e.scores.auc.map_or("-".into(), |a| format!("{a:.3}"))
                )
            })
            .collect();
        note(
            &settings.output,
            format!("backtest {}: AUC {}", iso(c), line.join(" · ")),
        );
    }
}

fn check_options(horizon: i32, b: &BacktestArgs) -> Result<Options> {
    let (step, cutoffs) = (b.step.unwrap_or(horizon), b.cutoffs);
    if horizon < 1 || step < 1 {
        return Err(usage("--horizon and --step: expected 1 or more days"));
    }
    if !(1..=60).contains(&cutoffs) {
        return Err(usage(format!(
            "--cutoffs {cutoffs}: expected 1 to 60 backtest cutoffs (each refits the model)"
        )));
    }
    if horizon > 3660 || step > 3660 {
        return Err(usage(
            "--horizon and --step: expected at most 3660 days (ten years)",
        ));
    }
    Ok(Options {
        horizon,
        cutoffs,
        step,
    })
}

fn deal(args: DealArgs, settings: &Settings) -> Result<()> {
    let opts = check_options(args.horizon, &args.backtest)?;
    let show = shown(&args.backtest);
    if show.contains(&Show::Training) || show.contains(&Show::Owners) {
        return Err(usage(
            "--show training and --show owners are for predict churn",
        ));
    }
    let cfg = &settings.config.funnel;
    let files = FunnelFiles {
        opportunities: &args.opportunities,
        history: Some(&args.history),
        teams: None,
        customers: None,
    };
    let options = |as_of: Option<Day>, stages: Option<Vec<String>>| FunnelOptions {
        stages,
        words: StageWords::with(&cfg.won, &cfg.lost, &cfg.invalid),
        as_of,
        stage_from_history: true,
    };
    let stages = args.stages.clone().or_else(|| cfg.stages.clone());
    let run = load_pipeline(
        &files,
        &options(parse_as_of(&args.as_of)?, stages),
        settings,
    )?;
    if run.stages.is_empty() {
        return Err(anyhow::anyhow!(
            "{}: the order of the stages is unknown, and the model reads a deal's stage by it: \
             pass --stages A,B,C",
            args.opportunities
        ));
    }
    let followups = match &args.followups {
        Some(path) => {
            signals::load(
                &SignalFiles {
                    followups: Some(path),
                    events: None,
                    surveys: None,
                    customers: None,
                },
                settings,
            )?
            .followups
        }
        None => None,
    };
    // Past cutoffs quietly, with the stage order of as_of: their load notes were said.
    let quiet = settings.quiet();
    let order = run.stages.clone();
    let result = deal::run(
        &run,
        |day| load_pipeline(&files, &options(Some(day), Some(order.clone())), &quiet),
        followups.as_ref(),
        &opts,
    )?;
    for n in &result.notes {
        note(&settings.output, n);
    }
    note(
        &settings.output,
        format!(
            "win = closed won; model trained on the deals open on {} that have closed since (penalty λ = {}), scoring {} open deals as of {}",
            iso(result.train_cutoff),
            result.model.lambda,
            result.predictions.height(),
            run.as_of
        ),
    );
    say_backtest(&result.evaluations, settings);
    emit(
        &show,
        &Tables {
            predictions: &result.predictions,
            evaluations: &result.evaluations,
            columns: deal::BACKTEST,
            coefficients: result.coefficients()?,
            training: None,
        },
        settings,
    )
}

fn churn(args: ChurnArgs, settings: &Settings) -> Result<()> {
    let opts = check_options(args.horizon, &args.backtest)?;
    let show = shown(&args.backtest);
    let out = &settings.output;
    if let Some(path) = &args.snapshot {
        return from_snapshot(
            path,
            Outcome::Churn,
            &args.attributes,
            &show,
            args.top,
            settings,
        );
    }
    let a = &args.attributes;
    if a.label.is_some() || a.id.is_some() || !a.exclude.is_empty() || a.folds != 5 {
        return Err(usage(
            "--label, --id, --exclude and --folds are for a snapshot: predict churn --snapshot \
             FILE (or predict lead FILE)",
        ));
    }
    let Some(orders_path) = &args.orders else {
        return Err(usage("predict churn: give ORDERS or --snapshot FILE"));
    };
    let as_of = parse_as_of(&args.as_of)?;
    let table = load_orders(orders_path, &[Role::Owner], settings)?;
    let (orders, info) = linked_orders(table, out)?;
    let ledger =
        Ledger::build(&orders, as_of).map_err(|e| anyhow::anyhow!("{}: {e}", info.display))?;
    note_after_as_of(out, ledger.stats.rows_after_as_of, ledger.as_of);
    require_purchases(&info, &ledger.stats, ledger.as_of)?;
    let signals = signals::load(
        &SignalFiles {
            followups: args.followups.as_deref(),
            events: args.events.as_deref(),
            surveys: args.surveys.as_deref(),
            customers: args.customers.as_deref(),
        },
        settings,
    )?;
    let churn_days = args
        .churn_days
        .unwrap_or(crate::metrics::lifecycle::LifecycleOptions::default().churn_days);
    if churn_days < 1 {
        return Err(usage(format!(
            "--churn-days {churn_days}: expected 1 or more days"
        )));
    }
    if args.top == Some(0) {
        return Err(usage("--top 0: expected 1 or more rows"));
    }
    let list = churn::ListOptions {
        churned_after: (!args.include_churned).then_some(churn_days),
        by_probability: args.sort == ChurnSort::Probability,
        top: args.top,
    };
    let mut columns = CustomerColumns::default();
    columns.add_purchases(&ledger);
    columns.load_files(
        args.customers.as_deref(),
        &ListArgs {
            events: args.events.clone(),
            columns: args.columns.clone(),
            top: None,
        },
        ledger.as_of,
        settings,
    )?;
    let watch = crate::diag::Stopwatch::new();
    let progress = crate::output::progress::Progress::new(
        churn::step_count(&opts, ledger.as_of) as u64,
        out.quiet,
    );
    let mut result = churn::run(&orders, &ledger, &signals, &opts, &list, &|s| {
        progress.step(s.to_string())
    })?;
    drop(progress);
    result.predictions = columns.attach(result.predictions)?;
    watch.lap("churn features, fits and backtest");
    for n in &result.notes {
        note(out, n);
    }
    note(
        out,
        format!(
            "churn = no purchase in {} days; model trained on the {} customers of {} (outcomes to {}, penalty λ = {}), listing {} customers as of {}{}",
            args.horizon,
            result.training.height(),
            result.train_cutoff,
            ledger.as_of,
            result.fitted.model.lambda,
            result.predictions.height(),
            ledger.as_of,
            match list.churned_after {
                Some(days) => format!(
                    " (not those without a purchase for more than {days} days: they have left, \
                     as `lifecycle` says; --include-churned lists them)"
                ),
                None => String::new(),
            }
        ),
    );
    say_backtest(&result.evaluations, settings);
    emit(
        &show,
        &Tables {
            predictions: &result.predictions,
            evaluations: &result.evaluations,
            columns: churn::BACKTEST,
            coefficients: result.fitted.coefficients()?,
            training: Some(&result.training),
        },
        settings,
    )
}

/// What a prediction can write: its predictions, backtest (with the names of its row and rate
/// columns), calibration, coefficients and, for churn, its training rows.
/// `predict lead FILE`, `predict churn --snapshot FILE`: a model from a labelled snapshot's own
/// columns (docs/metrics.md, "Snapshot models"), cross-validated; the rows without the outcome
/// listed likeliest first.
fn from_snapshot(
    path: &str,
    outcome: Outcome,
    args: &SnapshotArgs,
    show: &[Show],
    top: Option<usize>,
    settings: &Settings,
) -> Result<()> {
    if !(2..=20).contains(&args.folds) {
        return Err(usage(format!(
            "--folds {}: expected 2 to 20 folds",
            args.folds
        )));
    }
    if top == Some(0) {
        return Err(usage("--top 0: expected 1 or more rows"));
    }
    if let Some(s) = show
        .iter()
        .find(|s| !matches!(s, Show::Predictions | Show::Backtest | Show::Coefficients))
    {
        return Err(usage(format!(
            "--show {}: a snapshot model shows predictions, backtest (its cross-validation) or \
             coefficients",
            format!("{s:?}").to_lowercase()
        )));
    }
    let snap = crate::load::snapshot::load(path, outcome, args, settings)?;
    let watch = crate::diag::Stopwatch::new();
    let model = snapshot::fit(&snap.columns, &snap.label, &snap.ids, args.folds)
        .map_err(|e| anyhow::anyhow!("{}: {e}", snap.display))?;
    watch.lap("snapshot model and cross-validation");
    let (id_name, p_name, rate_name, what) = match outcome {
        Outcome::Churn => (
            "customer_id",
            "churn_probability",
            "churn_rate",
            "customers not churned",
        ),
        Outcome::Lead => (
            "lead_id",
            "conversion_probability",
            "conversion_rate",
            "leads not converted",
        ),
    };
    let auc = |k: usize| {
        model.cv[k]
            .scores
            .auc
            .map_or("-".to_string(), |a| format!("{a:.3}"))
    };
    note(
        &settings.output,
        format!(
            "{}: outcome {:?}, {} labelled rows ({:.1} % positive), {} columns learnt from; \
             {}-fold cross-validated AUC: model {} · best single column {} · base rate {}",
            snap.display,
            snap.label_header,
            model.labelled,
            100.0 * model.positive_rate,
            snap.columns.len(),
            model.folds,
            auc(0),
            auc(1),
            auc(2)
        ),
    );
    // The rows still to act on: without the outcome yet (not churned, not converted, or unlabelled).
    let mut rows: Vec<usize> = (0..snap.ids.len())
        .filter(|&i| snap.label[i] != Some(true))
        .collect();
    rows.sort_by(|&a, &b| {
        model.probability[b]
            .total_cmp(&model.probability[a])
            .then(a.cmp(&b))
    });
    if let Some(n) = top {
        rows.truncate(n);
    }
    let mut drivers: [Vec<Option<String>>; 3] = Default::default();
    for &i in &rows {
        let d = snapshot::drivers(&model, &snap.columns, i);
        for (k, slot) in drivers.iter_mut().enumerate() {
            slot.push(d.get(k).cloned());
        }
    }
    let [d1, d2, d3] = drivers;
    let predictions = DataFrame::new_infer_height(vec![
        polars::prelude::Column::new(
            id_name.into(),
            rows.iter()
                .map(|&i| snap.ids[i].clone())
                .collect::<Vec<_>>(),
        ),
        polars::prelude::Column::new(
            p_name.into(),
            rows.iter()
                .map(|&i| crate::metrics::stats::round_to(model.probability[i], 4))
                .collect::<Vec<_>>(),
        ),
        polars::prelude::Column::new("driver_1".into(), d1),
        polars::prelude::Column::new("driver_2".into(), d2),
        polars::prelude::Column::new("driver_3".into(), d3),
    ])?;
    if show.contains(&Show::Predictions) {
        note(
            &settings.output,
            format!(
                "{} {what} listed, likeliest first (the model fitted on every labelled row)",
                predictions.height()
            ),
        );
    }
    let mut tables: Vec<(&str, DataFrame)> = Vec::new();
    for s in show {
        tables.push(match s {
            Show::Backtest => ("backtest", snapshot::cv_table(&model, rate_name)?),
            Show::Coefficients => (
                "coefficients",
                crate::metrics::predict::coefficients(&model.model, &model.design.names)?,
            ),
            _ => ("predictions", predictions.clone()),
        });
    }
    let sheets: Vec<(&str, &DataFrame)> = tables.iter().map(|(n, df)| (*n, df)).collect();
    output::emit_sheets(
        &sheets,
        Some(sheets[0].0).filter(|_| sheets.len() == 1),
        &settings.output,
    )
}

struct Tables<'a> {
    predictions: &'a DataFrame,
    evaluations: &'a [Evaluation],
    columns: (&'static str, &'static str),
    coefficients: DataFrame,
    training: Option<&'a DataFrame>,
}

/// Writes the tables of `show`, one sheet each.
fn emit(show: &[Show], t: &Tables, settings: &Settings) -> Result<()> {
    let mut tables: Vec<(&str, DataFrame)> = Vec::new();
    for s in show {
        tables.push(match s {
            Show::Predictions => ("predictions", t.predictions.clone()),
            Show::Backtest => (
                "backtest",
                evaluate::backtest_table(t.evaluations, t.columns)?,
            ),
            Show::Calibration => (
                "calibration",
                evaluate::calibration_table(t.evaluations, t.columns)?,
            ),
            Show::Coefficients => ("coefficients", t.coefficients.clone()),
            Show::Training => match t.training {
                Some(df) => ("training", df.clone()),
                None => return Err(usage("--show training is for predict churn")),
            },
            Show::Owners => match t.training {
                Some(_) => ("owners", churn::by_owner(t.predictions)?),
                None => return Err(usage("--show owners is for predict churn")),
            },
        });
    }
    let sheets: Vec<(&str, &DataFrame)> = tables.iter().map(|(n, df)| (*n, df)).collect();
    output::emit_sheets(
        &sheets,
        Some(sheets[0].0).filter(|_| sheets.len() == 1),
        &settings.output,
    )
}
