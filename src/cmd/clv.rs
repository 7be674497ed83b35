//! `crm-eval clv ORDERS`: customer lifetime value per customer (BG/NBD or Pareto/NBD with
//! Gamma-Gamma, or the historical formulas), the fitted parameters, or a holdout validation.

use anyhow::{anyhow, Result};

use crate::day::Day;
use crate::error::usage;
use crate::input::schema::Role;
use crate::load::groups::ByArgs;
use crate::load::owners::{CustomerColumns, ListArgs};
use crate::load::partitioned;
use crate::load::{
    build_ledger, clv_summary, load_orders, note_after_as_of, parse_as_of, parse_day_flag,
};
use crate::metrics::clv::tables::{self, ClvOptions};
use crate::metrics::clv::{
    Fit, Grouping, Model, Purchases, TimeUnit, Value, DEFAULT_LIFESPAN_MONTHS,
};
use crate::output::progress::Progress;
use crate::output::{self, note, OutputOptions};
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Orders export (CSV/TSV, optionally .gz/.zst, Parquet, xlsx), or - for standard input.
    #[arg(value_name = "ORDERS", required_unless_present = "summary_in")]
    pub orders: Option<String>,

    /// Analysis date, YYYY-MM-DD: orders on or after it are left out (default: the day after the
    /// latest order date).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,

    /// Fit and predict from a per-customer summary made elsewhere instead of orders: columns
    /// customer_id, frequency, recency, T, monetary, times in --period units (what `crm-eval sql
    /// clv-summary` computes in a warehouse).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["orders", "as_of", "holdout", "group_by_period"])]
    pub summary_in: Option<String>,

    /// Read the orders in pieces and summarise a partition of customers at a time, so that
    /// memory stays under about this size (e.g. 4GiB; docs/metrics.md "Bounded memory"); the
    /// models are fitted on the summaries. Not with --model historical or --holdout.
    #[arg(long, value_name = "SIZE", conflicts_with_all = ["summary_in", "holdout"])]
    pub memory_limit: Option<partitioned::MemoryLimit>,

    /// Purchase-count model (with Gamma-Gamma for spend), or the historical formulas.
    #[arg(long, value_enum, default_value = "bg-nbd")]
    pub model: Model,

    /// Time unit of recency, T and the rate parameters.
    #[arg(long, value_enum, default_value = "week")]
    pub period: TimeUnit,

    /// Count one purchase per calendar week/month instead of per day (times in whole periods).
    #[arg(long)]
    pub group_by_period: bool,

    /// Months ahead that expected purchases and CLV cover.
    #[arg(long, value_name = "MONTHS", default_value_t = crate::metrics::clv::DEFAULT_VALUE.horizon_months)]
    pub horizon: u32,

    /// Monthly discount rate for CLV (0.01 = 1 % a month).
    #[arg(long, value_name = "RATE", default_value_t = crate::metrics::clv::DEFAULT_VALUE.discount)]
    pub discount: f64,

    /// Profit margin applied to spend (1 = CLV in revenue).
    #[arg(long, value_name = "SHARE", default_value_t = crate::metrics::clv::DEFAULT_VALUE.margin)]
    pub margin: f64,

    /// Historical model: expected customer lifespan in months.
    #[arg(long, value_name = "MONTHS", default_value_t = DEFAULT_LIFESPAN_MONTHS)]
    pub lifespan: f64,

    /// L2 penalty on the purchase model's parameters (as lifetimes' penalizer_coef); helps a
    /// fit that will not converge.
    #[arg(long, value_name = "COEF", default_value_t = 0.0)]
    pub penalty: f64,

    /// L2 penalty on the spend (Gamma-Gamma) model's parameters, apart from --penalty: one
    /// model may need it while the other must stay unpenalised.
    #[arg(long, value_name = "COEF", default_value_t = 0.0)]
    pub spend_penalty: f64,

    /// Show the fitted parameters, standard errors and log-likelihoods instead of customers.
    #[arg(long, conflicts_with = "holdout")]
    pub params: bool,

    /// One row of totals (customers, mean P(alive), expected purchases, CLV) instead of
    /// customers; with --by, one per group.
    #[arg(long, conflicts_with_all = ["holdout", "params"])]
    pub summary: bool,

    #[command(flatten)]
    pub groups: ByArgs,

    #[command(flatten)]
    pub owners: ListArgs,

    /// Write the per-customer summary (customer_id, frequency, recency, T, monetary_value: the
    /// names and units of lifetimes and PyMC-Marketing, times in --period) to FILE (.csv or
    /// .parquet), before fitting: crm-eval as the transactions-to-model step of a notebook.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["summary_in", "memory_limit"])]
    pub summary_out: Option<std::path::PathBuf>,

    /// Validate: fit on orders before DATE, predict DATE .. as_of, compare with what happened.
    #[arg(long, value_name = "DATE")]
    pub holdout: Option<String>,

    /// Intervals at this level (0.9 = 90 %): ci_low/ci_high of each parameter (--params), and
    /// p_alive, expected_purchases and clv _low/_high per customer and on the --summary totals,
    /// from the parameters' fitted uncertainty (delta method); with --holdout,
    /// predicted_low/high: where the holdout's purchases should fall (parameter draws and the
    /// purchase process's noise, simulated).
    #[arg(long, value_name = "LEVEL")]
    pub intervals: Option<f64>,

    /// A model-fit check instead of the customers: tracking (repeat purchases per week, actual
    /// beside expected, over the calibration and the --holdout period), histogram (customers by
    /// repeat purchases in the calibration period, actual beside expected; BG/NBD) or alive
    /// (P(alive) by frequency × recency at the longest age).
    #[arg(long, value_enum, value_name = "CHECK", conflicts_with_all = ["params", "summary"])]
    pub show: Option<Diagnostic>,
}

/// `clv --show`: the model-fit checks (docs/metrics.md, "CLV diagnostics").
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Diagnostic {
    Tracking,
    Histogram,
    Alive,
}

/// The `--show` table of a fit: `purchases` and the calibration end are needed for tracking.
fn diagnostic(
    show: Diagnostic,
    opts: &ClvOptions,
    fit: &Fit,
    customers: &crate::metrics::clv::Customers,
    purchases: Option<(&Purchases, Day)>,
) -> Result<polars::prelude::DataFrame> {
    use crate::metrics::clv::diagnostics;
    match (show, purchases) {
        (Diagnostic::Tracking, Some((p, end))) => {
            diagnostics::tracking(p, opts.model, &fit.params, opts.grouping, end)
        }
        (Diagnostic::Tracking, None) => Err(usage(
            "--show tracking follows purchases week by week: it needs the orders, not a \
             --summary-in summary",
        )),
        (Diagnostic::Histogram, _) => diagnostics::histogram(opts.model, &fit.params, customers),
        (Diagnostic::Alive, _) => diagnostics::alive_matrix(
            opts.model,
            &fit.params,
            customers,
            opts.grouping.unit.name(),
        ),
    }
}

pub fn run(args: Args, settings: &Settings) -> Result<()> {
    if args.horizon == 0 || args.horizon > 1200 {
        return Err(usage("--horizon: expected 1 to 1200 months"));
    }
    if !(0.0..1.0).contains(&args.discount) {
        return Err(usage(format!(
            "--discount {}: expected a monthly rate from 0 up to (not including) 1",
            args.discount
        )));
    }
    if !(args.margin > 0.0 && args.margin <= 1.0) {
        return Err(usage(format!(
            "--margin {}: expected a share above 0 and at most 1",
            args.margin
        )));
    }
    if !(args.lifespan > 0.0 && args.lifespan.is_finite()) {
        return Err(usage("--lifespan: expected a number of months above 0"));
    }
    for (flag, value) in [
        ("--penalty", args.penalty),
        ("--spend-penalty", args.spend_penalty),
    ] {
        if !(value >= 0.0 && value.is_finite()) {
            return Err(usage(format!("{flag} {value}: expected 0 or more")));
        }
    }
    let holdout = parse_day_flag("--holdout", &args.holdout)?;
    if let Some(level) = args.intervals {
        if !(level > 0.0 && level < 1.0) {
            return Err(usage(format!(
                "--intervals {level}: expected a level between 0 and 1, e.g. 0.9"
            )));
        }
        if args.model == Model::Historical {
            return Err(usage(
                "--intervals: the historical model has no fitted uncertainty; use --model bg-nbd \
                 or pareto-nbd",
            ));
        }
    }
    if args.show == Some(Diagnostic::Histogram) && args.model != Model::BgNbd {
        return Err(usage(
            "--show histogram is computed for --model bg-nbd only (the Pareto/NBD's count \
             distribution is not implemented); --show tracking and alive work for both",
        ));
    }
    if args.groups.by.is_some() && !args.summary {
        return Err(usage("--by groups the summary: pass --summary"));
    }
    if args.model == Model::Historical
        && (holdout.is_some() || args.params || args.summary || args.show.is_some())
    {
        return Err(usage(
            "--holdout, --params, --summary and --show need a fitted model: --model bg-nbd or \
             pareto-nbd",
        ));
    }
    let opts = ClvOptions {
        model: args.model,
        grouping: Grouping {
            unit: args.period,
            by_period: args.group_by_period,
        },
        value: Value {
            horizon_months: args.horizon,
            discount: args.discount,
            margin: args.margin,
        },
        lifespan_months: args.lifespan,
        penalty: args.penalty,
        spend_penalty: args.spend_penalty,
        standard_errors: args.params || args.intervals.is_some(),
        as_of: parse_as_of(&args.as_of)?,
        holdout,
        intervals: args.intervals,
    };
    let out = &settings.output;
    if let Some(path) = &args.summary_in {
        if args.model == Model::Historical {
            return Err(usage(
                "--summary-in needs a fitted model: --model bg-nbd or pareto-nbd",
            ));
        }
        let (ids, customers) = clv_summary::read(path, args.period, settings)?;
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let fitted =
            tables::fit_customers(ids, customers, &opts).map_err(|e| anyhow!("{path}: {e}"))?;
        // No orders, so no purchase owners; and no date to read who held whom in the events.
        if args.owners.events.is_some() {
            return Err(usage(
                "--events with --summary-in: a summary has no analysis date to read the owners \
                 at; give the owners in --customers FILE (its owner column)",
            ));
        }
        let mut columns = CustomerColumns::default();
        columns.load_files(
            args.groups.customers.as_deref(),
            &args.owners,
            Day::default(),
            settings,
        )?;
        return emit_fitted(&fitted, &args, &opts, &columns, settings, path);
    }
    let orders_path = args.orders.clone().unwrap_or_default();
    let limit = if args.model == Model::Historical || holdout.is_some() {
        if args.memory_limit.is_some() {
            return Err(usage(
                "--memory-limit: clv fits from summaries of partitions; not with --model historical or --holdout",
            ));
        }
        None
    } else {
        partitioned::chosen_limit(args.memory_limit, &orders_path, settings)?
    };
    if let Some(limit) = limit {
        return partitioned_fit(&args, &orders_path, limit, &opts, settings);
    }
    let progress = Progress::new(3, out.quiet);
    progress.step(format!("loading {orders_path}"));
    let watch = crate::diag::Stopwatch::new();
    let orders = load_orders(&orders_path, &[Role::Owner], settings)?;
    watch.lap("loading the orders");
    let (orders, ledger) = build_ledger(orders, opts.as_of, &settings.output)?;
    if let Some(path) = &args.summary_out {
        write_summary(path, &ledger, &opts, settings)?;
    }
    let mut columns = CustomerColumns::default();
    columns.add_purchases(&ledger);
    columns.load_files(
        args.groups.customers.as_deref(),
        &args.owners,
        ledger.as_of,
        settings,
    )?;
    progress.step(match (args.model, holdout) {
        (Model::Historical, _) => "historical CLV".to_string(),
        (m, Some(_)) => format!("fitting {} on the calibration period", m.name()),
        (m, None) => format!("fitting {} and gamma-gamma", m.name()),
    });
    let file = &orders.display;
    let with_file = |e: anyhow::Error| anyhow!("{file}: {e}");

    if args.model == Model::Historical {
        let h = tables::historical(&ledger, &opts).map_err(with_file)?;
        note_purchases(out, &h.purchases);
        note(
            out,
            format!(
                "historical CLV of {} customers as of {}: lifespan {} months, margin {}, {}",
                h.table.height(),
                h.as_of,
                args.lifespan,
                args.margin,
                match h.retention {
                    Some(r) => format!(
                        "yearly retention r = {r:.4} (bought in both of the last two years / in the earlier one)"
                    ),
                    None => "no retention_clv: less than two years of purchases".into(),
                }
            ),
        );
        drop(progress);
        return output::emit(&columns.top(columns.attach(h.table)?), out);
    }

    if let Some(day) = holdout {
        let h = tables::holdout(&ledger, &opts, day).map_err(with_file)?;
        note_purchases(out, &h.purchases);
        note(out, describe_fit(args.model, &h.fit));
        let error = if h.actual > 0.0 {
            format!(" ({:+.1} %)", (h.predicted / h.actual - 1.0) * 100.0)
        } else {
            String::new()
        };
        note(
            out,
            format!(
                "holdout {} .. {} ({:.2} {}): {} customers, predicted {:.1} repeat purchases vs {} actual{error}; per customer MAE {:.4}, RMSE {:.4}",
                day,
                h.purchases.as_of - 1,
                h.length,
                args.period.name(),
                h.customers,
                h.predicted,
                h.actual,
                h.mae,
                h.rmse
            ),
        );
        drop(progress);
        if let Some(show) = args.show {
            let table = diagnostic(
                show,
                &opts,
                &h.fit,
                &h.calibration,
                Some((&h.purchases, day)),
            )
            .map_err(with_file)?;
            return output::emit(&table, out);
        }
        return output::emit(&h.table, out);
    }

    let (purchases, fitted) = tables::fit_all(&ledger, &opts).map_err(with_file)?;
    note_purchases(out, &purchases);
    drop(progress);
    if let Some(show) = args.show {
        note(out, describe_fit(args.model, &fitted.count_model));
        let table = diagnostic(
            show,
            &opts,
            &fitted.count_model,
            &fitted.customers,
            Some((&purchases, purchases.as_of)),
        )
        .map_err(with_file)?;
        return output::emit(&table, out);
    }
    emit_fitted(
        &fitted,
        &args,
        &opts,
        &columns,
        settings,
        &format!("as of {}", purchases.as_of),
    )
}

/// The fitted models' output: --params, --summary (with --by), or the customers.
fn emit_fitted(
    fitted: &tables::Fitted,
    args: &Args,
    opts: &ClvOptions,
    columns: &CustomerColumns,
    settings: &Settings,
    source: &str,
) -> Result<()> {
    let out = &settings.output;
    note(out, describe_fit(args.model, &fitted.count_model));
    if let Some(show) = args.show {
        let table = diagnostic(show, opts, &fitted.count_model, &fitted.customers, None)?;
        return output::emit(&table, out);
    }
    note(out, describe_fit(Model::Historical, &fitted.spend_model));
    if args.params {
        return output::emit(&tables::params_table(fitted, opts)?, out);
    }
    let watch = crate::diag::Stopwatch::new();
    let predictions = tables::customer_table(fitted, opts)?;
    let draws = predictions.draws;
    let table = columns.attach(predictions.table)?;
    watch.lap("predictions");
    note(
        out,
        format!(
            "CLV of {} customers {source}: times in {}, horizon {} months ({:.2} {}), discount {} a month, margin {}",
            fitted.customers.x.len(),
            args.period.name(),
            args.horizon,
            f64::from(args.horizon) * args.period.per_month(),
            args.period.name(),
            args.discount,
            args.margin
        ),
    );
    if let (Some(level), Some(_)) = (opts.intervals, &draws) {
        note(
            out,
            format!(
                "intervals: {:.0} % from the parameters' fitted uncertainty by the delta method \
                 (the model's uncertainty, not the purchase process's own noise)",
                level * 100.0,
            ),
        );
    }
    if args.summary {
        let with = draws.as_ref().zip(opts.intervals);
        let summary = |df: &polars::prelude::DataFrame| tables::summary_with(df, with);
        let table = match args.groups.load(Some((columns, &table)), settings)? {
            Some(groups) => groups.summarise(&table, settings, summary)?,
            None => summary(&table)?,
        };
        return output::emit(&table, out);
    }
    output::emit(&columns.top(table), out)
}

/// `--summary-out`: the models' per-customer summary, written before any fit (so a notebook gets
/// it even when the fit here would refuse the data).
fn write_summary(
    path: &std::path::Path,
    ledger: &crate::ledger::Ledger,
    opts: &ClvOptions,
    settings: &Settings,
) -> Result<()> {
    if !matches!(
        crate::output::Format::from_path(path),
        Some(crate::output::Format::Csv | crate::output::Format::Parquet)
    ) {
        return Err(usage(format!(
            "--summary-out {}: name a .csv or .parquet file",
            path.display()
        )));
    }
    crate::paths::will_write(path, "--summary-out")?;
    let (ids, customers) = tables::customer_summary(ledger, opts);
    let table = tables::summary_table(&ids, &customers)?;
    let out = OutputOptions::resolve(None, Some(path.to_path_buf()), false, true, false)?;
    output::emit(&table, &out)?;
    note(
        &settings.output,
        format!(
            "{}: the summary of {} customers (lifetimes' and PyMC-Marketing's columns, times in {})",
            path.display(),
            ids.len(),
            opts.grouping.unit.name()
        ),
    );
    Ok(())
}

/// One line per fitted model for stderr. `Model::Historical` stands for the Gamma-Gamma spend model.
fn describe_fit(model: Model, fit: &Fit) -> String {
    let name = if model == Model::Historical {
        "gamma-gamma"
    } else {
        model.name()
    };
    let params = fit
        .names
        .iter()
        .zip(&fit.params)
        .map(|(n, p)| format!("{n} {p:.4}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{name}: {params}; log-likelihood {:.2} over {} customers ({} iterations)",
        fit.ll, fit.customers, fit.iterations
    )
}

/// `clv` under a memory limit: the per-customer summary of each partition of customers, put in
/// customer ID order (the ledger's), then the fits and predictions as from one ledger.
fn partitioned_fit(
    args: &Args,
    orders_path: &str,
    limit: partitioned::MemoryLimit,
    opts: &ClvOptions,
    settings: &Settings,
) -> Result<()> {
    let input = crate::load::OrdersArgs {
        orders: orders_path.to_string(),
        as_of: args.as_of.clone(),
    };
    let run = partitioned::each_partition(&input, limit, &[Role::Owner], settings, |ledger| {
        Ok(tables::customer_summary(ledger, opts))
    })?;
    let mut columns = CustomerColumns::default();
    columns.add_purchase_owners(run.purchase_owners);
    columns.load_files(
        args.groups.customers.as_deref(),
        &args.owners,
        run.as_of,
        settings,
    )?;
    let stats = &run.stats;
    let mut ids: Vec<String> = Vec::new();
    let mut customers = crate::metrics::clv::Customers::default();
    for (part_ids, part) in run.results {
        ids.extend(part_ids);
        customers.append(part);
    }
    if ids.is_empty() {
        return Err(anyhow!(
            "{orders_path}: no purchases before the analysis date"
        ));
    }
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_unstable_by(|&a, &b| ids[a].cmp(&ids[b]));
    let customers = customers.reordered(&order);
    let ids: Vec<&str> = order.iter().map(|&i| ids[i].as_str()).collect();
    note_purchase_counts(
        &settings.output,
        stats.free_purchases,
        stats.orders_not_purchases,
        stats.customers_without_purchase,
    );
    let fitted =
        tables::fit_customers(ids, customers, opts).map_err(|e| anyhow!("{orders_path}: {e}"))?;
    emit_fitted(
        &fitted,
        args,
        opts,
        &columns,
        settings,
        &format!("as of {}", run.as_of),
    )
}

fn note_purchases(out: &OutputOptions, p: &Purchases) {
    note_after_as_of(out, p.after_as_of, p.as_of);
    note_purchase_counts(
        out,
        p.free_orders,
        p.non_positive_orders,
        p.customers_without_purchase,
    );
}

/// Says on stderr which orders are not purchases and which count with no spend.
fn note_purchase_counts(
    out: &OutputOptions,
    free_orders: usize,
    non_positive_orders: usize,
    customers_without_purchase: usize,
) {
    if free_orders > 0 {
        note(
            out,
            format!(
                "{} zero-amount orders (never refunded) count as purchases with no spend",
                free_orders
            ),
        );
    }
    if non_positive_orders > 0 {
        note(
            out,
            format!(
                "{} orders with a negative net amount, or zero after a refund, are not purchases{}",
                non_positive_orders,
                if customers_without_purchase > 0 {
                    format!(
                        "; {} customers have no purchase left and are not valued",
                        customers_without_purchase
                    )
                } else {
                    String::new()
                }
            ),
        );
    }
}
