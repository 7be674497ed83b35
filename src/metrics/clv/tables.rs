//! The CLV analyses as tables: per-customer values, fitted parameters, holdout validation and the
//! historical formulas. `crm-eval clv` and `crm-eval report` both build on these.

use crate::day::Day;
use anyhow::{bail, Result};
use polars::prelude::*;

use super::intervals;
use super::{
    clv_and_expected, expected, fit_purchases, fit_spend, gammagamma::GammaGamma, p_alive,
    parallel_map, purchases, summarise, Customers, Fit, Grouping, Model, Purchases, Summary,
    TimeUnit, Value,
};
use crate::ledger::Ledger;
use crate::metrics::stats::round_to;

#[derive(Debug, Clone, Copy)]
pub struct ClvOptions {
    pub model: Model,
    pub grouping: Grouping,
    pub value: Value,
    /// Historical model: expected lifespan in months.
    pub lifespan_months: f64,
    /// L2 penalty of the purchase model's fit (`--penalty`).
    pub penalty: f64,
    /// L2 penalty of the spend model's fit (`--spend-penalty`).
    pub spend_penalty: f64,
    /// Compute the standard errors of the parameters (for `--params`).
    pub standard_errors: bool,
    pub as_of: Option<Day>,
    pub holdout: Option<Day>,
    /// `--intervals LEVEL`: intervals on the parameters and the predictions (docs/metrics.md,
    /// "CLV intervals").
    pub intervals: Option<f64>,
}

/// Fitted models and the customers they describe.
pub struct Fitted<'a> {
    /// The ID of each fitted customer, in the order of `customers`.
    pub ids: Vec<&'a str>,
    pub customers: Customers,
    pub count_model: Fit,
    pub spend_model: Fit,
    /// Per customer (in the order of `customers`): P(alive), expected purchases over the
    /// horizon, expected spend per purchase and CLV — all finite, or the fit is refused.
    pub predicted: Vec<(f64, f64, f64, f64)>,
}

/// Loads the purchases and fits the count and spend models on every customer up to `as_of`.
pub fn fit_all<'a>(ledger: &'a Ledger, opts: &ClvOptions) -> Result<(Purchases<'a>, Fitted<'a>)> {
    let watch = crate::diag::Stopwatch::new();
    let p = purchases(ledger);
    watch.lap("purchases per customer");
    if p.is_empty() {
        bail!("no purchases before the analysis date");
    }
    let (index, customers, _) = summarise(&p, opts.grouping, p.as_of.days(), p.as_of.days());
    let ids = index.iter().map(|&i| p.id(i)).collect();
    let fitted = fit_customers(ids, customers, opts)?;
    Ok((p, fitted))
}

/// The per-customer summary the fits take, of one ledger (a partition of customers under
/// `--memory-limit`): the customer IDs and their summary, in ledger (ID) order.
pub fn customer_summary(ledger: &Ledger, opts: &ClvOptions) -> (Vec<String>, Customers) {
    let p = purchases(ledger);
    let (index, customers, _) = summarise(&p, opts.grouping, p.as_of.days(), p.as_of.days());
    let ids = index.iter().map(|&i| p.id(i).to_string()).collect();
    (ids, customers)
}

/// The per-customer summary in the column names and meaning of lifetimes 0.11
/// (`summary_data_from_transaction_data`) and PyMC-Marketing (`rfm_summary`): customer_id,
/// frequency (repeat purchase periods), recency (first to last purchase), T (first purchase to
/// as_of), monetary_value (mean spend of the repeat purchases, 0 without one); times in the
/// `--period` unit. `clv --summary-in` reads it back.
pub fn summary_table(ids: &[String], c: &Customers) -> Result<DataFrame> {
    Ok(DataFrame::new_infer_height(vec![
        Column::new("customer_id".into(), ids.to_vec()),
        Column::new("frequency".into(), c.x.clone()),
        Column::new("recency".into(), c.tx.clone()),
        Column::new("T".into(), c.t.clone()),
        Column::new("monetary_value".into(), c.m.clone()),
    ])?)
}

/// Fits the count and spend models on per-customer summaries: the ledger's, or a summary made
/// elsewhere (`clv --summary-in`, e.g. by the SQL of `crm-eval sql clv-summary`).
pub fn fit_customers<'a>(
    ids: Vec<&'a str>,
    customers: Customers,
    opts: &ClvOptions,
) -> Result<Fitted<'a>> {
    let watch = crate::diag::Stopwatch::new();
    let summary = Summary::new(&customers.x, &customers.tx, &customers.t);
    watch.lap("summary");
    let count_model = fit_purchases(opts.model, &summary, opts.penalty, opts.standard_errors)?;
    watch.lap("purchase model fit");
    let spend_model = fit_spend(
        &customers.x,
        &customers.m,
        opts.spend_penalty,
        opts.standard_errors,
    )?;
    watch.lap("spend model fit");
    // One test of whether a fit is usable, for every output (--params, the predictions, the
    // report, check): every customer's prediction is finite.
    let predicted = predict_all(&ids, &customers, &count_model, &spend_model, opts)?;
    watch.lap("predictions");
    Ok(Fitted {
        ids,
        customers,
        count_model,
        spend_model,
        predicted,
    })
}

/// Every customer's P(alive), expected purchases, expected spend and CLV; an error naming the
/// first customer whose prediction is not finite (extreme parameters the fit could not rule
/// out).
fn predict_all(
    ids: &[&str],
    c: &Customers,
    count: &Fit,
    spend: &Fit,
    opts: &ClvOptions,
) -> Result<Vec<(f64, f64, f64, f64)>> {
    let unit = opts.grouping.unit;
    let (cp, sp) = (&count.params, &spend.params);
    let rows = parallel_map(c.x.len(), |i| {
        let (x, tx, t) = (c.x[i], c.tx[i], c.t[i]);
        let spend = GammaGamma::expected_spend(sp, x, c.m[i]);
        let (value, purchases) =
            clv_and_expected(opts.model, cp, unit, opts.value, (x, tx, t), spend);
        (p_alive(opts.model, cp, x, tx, t), purchases, spend, value)
    });
    if let Some(i) = rows
        .iter()
        .position(|r| !(r.0.is_finite() && r.1.is_finite() && r.2.is_finite() && r.3.is_finite()))
    {
        bail!(
            "the {} prediction is not finite for customer {} (x = {}, t_x = {}, T = {}); the fitted \
             parameters may be extreme; try --model historical",
            opts.model.name(),
            ids[i],
            c.x[i],
            c.tx[i],
            c.t[i]
        );
    }
    Ok(rows)
}

/// Totals of some customers' predictions (rows of the per-customer table): customers,
/// mean_p_alive, expected_purchases (their sum), clv (the sum of the customers' CLV, each already
/// rounded to the cent, added as whole cents) and mean_clv.
pub fn summary_of(customers: &DataFrame) -> Result<DataFrame> {
    summary_with(customers, None)
}

/// [`summary_of`], with `delta` (each customer's gradients and the fits' covariance) the
/// interval of each total at `level` by the delta method: the total's gradient is the sum of its
/// customers', so their shared parameter uncertainty is counted once, not added up bound by bound.
pub fn summary_with(
    customers: &DataFrame,
    delta: Option<(&intervals::Delta, f64)>,
) -> Result<DataFrame> {
    let column = |name: &str| -> Result<Vec<f64>> {
        Ok(customers
            .column(name)?
            .cast(&DataType::Float64)?
            .f64()?
            .iter()
            .map(|v| v.unwrap_or(0.0))
            .collect())
    };
    let (alive, purchases, clv) = (
        column("p_alive")?,
        column("expected_purchases")?,
        column("clv")?,
    );
    let n = customers.height();
    let cents: i64 = clv.iter().map(|v| (v * 100.0).round() as i64).sum();
    let mean = |v: &[f64]| (n > 0).then(|| round_to(v.iter().sum::<f64>() / n as f64, 4));
    let mut table = DataFrame::new_infer_height(vec![
        Column::new("customers".into(), [n as i64]),
        Column::new("mean_p_alive".into(), [mean(&alive)]),
        Column::new(
            "expected_purchases".into(),
            [round_to(purchases.iter().sum(), 2)],
        ),
        Column::new("clv".into(), [cents as f64 / 100.0]),
        Column::new(
            "mean_clv".into(),
            [(n > 0).then(|| round_to(cents as f64 / 100.0 / n as f64, 2))],
        ),
    ])?;
    if let Some((delta, level)) = delta {
        // The totals' gradients, then their intervals: not the sum of the customers' bounds.
        let ids = customers.column("customer_id")?.str()?.clone();
        let width = delta.cov.len();
        let (mut g_purchases, mut g_clv) = (vec![0.0; width], vec![0.0; width]);
        for id in ids.iter().flatten() {
            if let Some(g) = delta.by_id.get(id) {
                for k in 0..width {
                    g_purchases[k] += g.purchases[k];
                    g_clv[k] += g.clv[k];
                }
            }
        }
        let z = crate::metrics::stats::normal_quantile(0.5 + level / 2.0);
        let total_purchases: f64 = purchases.iter().sum();
        let (pl, ph) = intervals::log_interval(total_purchases, delta.variance(&g_purchases), z);
        let (cl, ch) = intervals::log_interval(cents as f64 / 100.0, delta.variance(&g_clv), z);
        table.insert_column(
            3,
            Column::new("expected_purchases_low".into(), [round_to(pl, 2)]),
        )?;
        table.insert_column(
            4,
            Column::new("expected_purchases_high".into(), [round_to(ph, 2)]),
        )?;
        table.insert_column(6, Column::new("clv_low".into(), [round_to(cl, 2)]))?;
        table.insert_column(7, Column::new("clv_high".into(), [round_to(ch, 2)]))?;
    }
    Ok(table)
}

/// The per-customer predictions: the table, and its CLV and P(alive) columns as numbers.
pub struct Predictions {
    /// One row per customer, highest CLV first (ties by customer_id): frequency, recency and T
    /// in the unit, monetary value, P(alive), expected purchases over the horizon, expected
    /// spend, CLV.
    pub table: DataFrame,
    /// CLV per customer in money, rounded to cents, in the order of `table`.
    pub clv: Vec<f64>,
    /// P(alive) per customer, rounded to 4 decimals, in the order of `table`.
    pub p_alive: Vec<f64>,
    /// With `--intervals`: each customer's predictions under every parameter draw, by ID.
    pub draws: Option<intervals::Delta>,
}

/// Predicts every fitted customer's purchases, spend and CLV over the horizon.
pub fn customer_table(f: &Fitted, opts: &ClvOptions) -> Result<Predictions> {
    let c = &f.customers;
    let unit = opts.grouping.unit;
    let rows = &f.predicted;
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let clv_cents: Vec<f64> = rows.iter().map(|r| round_to(r.3, 2)).collect();
    order.sort_by(|&a, &b| {
        clv_cents[b]
            .total_cmp(&clv_cents[a])
            .then_with(|| f.ids[a].cmp(f.ids[b]))
    });
    let pick = |g: &dyn Fn(usize) -> f64| order.iter().map(|&i| g(i)).collect::<Vec<f64>>();
    let name = |base: &str| format!("{base}_{}", unit.name());
    let clv = pick(&|i| clv_cents[i]);
    let p_alive = pick(&|i| round_to(rows[i].0, 4));
    let mut table = DataFrame::new_infer_height(vec![
        Column::new(
            "customer_id".into(),
            order.iter().map(|&i| f.ids[i]).collect::<Vec<_>>(),
        ),
        Column::new(
            "frequency".into(),
            order.iter().map(|&i| c.x[i]).collect::<Vec<_>>(),
        ),
        Column::new(name("recency").into(), pick(&|i| round_to(c.tx[i], 4))),
        Column::new(name("t").into(), pick(&|i| round_to(c.t[i], 4))),
        Column::new("monetary_value".into(), pick(&|i| round_to(c.m[i], 2))),
        Column::new("p_alive".into(), p_alive.clone()),
        Column::new(
            "expected_purchases".into(),
            pick(&|i| round_to(rows[i].1, 4)),
        ),
        Column::new(
            "expected_avg_spend".into(),
            pick(&|i| round_to(rows[i].2, 2)),
        ),
        Column::new("clv".into(), clv.clone()),
    ])?;
    let draws = match opts.intervals {
        Some(level) => Some(customer_intervals(f, opts, level, &order, &mut table)?),
        None => None,
    };
    Ok(Predictions {
        table,
        clv,
        p_alive,
        draws,
    })
}

/// The `level` intervals of every customer's P(alive), expected purchases and CLV by the delta
/// method (columns added after each figure), and what the totals' intervals need.
///
/// Each prediction's gradient with respect to the log parameters is taken by forward
/// differences (a step of 1e-5 in ln θ: four more predictions per customer for the purchase
/// model; the spend model moves only the expected spend, which the CLV is proportional to). Its
/// variance is g′Σg, Σ the inverse observed information of the fits (independent of each other),
/// and the interval is symmetric on the scale where the figure is unbounded: logit for P(alive),
/// log for expected purchases and CLV, so the bounds stay in range and hold the point value.
fn customer_intervals(
    f: &Fitted,
    opts: &ClvOptions,
    level: f64,
    order: &[usize],
    table: &mut DataFrame,
) -> Result<intervals::Delta> {
    let delta_cov = intervals::joint_cov(&f.count_model, &f.spend_model).ok_or_else(|| {
        anyhow::anyhow!(
            "--intervals: the fit has no usable covariance (its information matrix is not \
             positive definite), so its uncertainty cannot be measured"
        )
    })?;
    let z = crate::metrics::stats::normal_quantile(0.5 + level / 2.0);
    let c = &f.customers;
    let unit = opts.grouping.unit;
    let count = &f.count_model.params;
    let spend = &f.spend_model.params;
    const STEP: f64 = 1e-5;
    let shifted = |params: &[f64], k: usize| -> Vec<f64> {
        let mut p = params.to_vec();
        p[k] = (p[k].ln() + STEP).exp();
        p
    };
    let count_shifted: Vec<Vec<f64>> = (0..count.len()).map(|k| shifted(count, k)).collect();
    let spend_shifted: Vec<Vec<f64>> = (0..spend.len()).map(|k| shifted(spend, k)).collect();
    let per_customer = parallel_map(c.x.len(), |i| {
        let (x, tx, t) = (c.x[i], c.tx[i], c.t[i]);
        let (alive0, purchases0, spend0, clv0) = f.predicted[i];
        let width = count.len() + spend.len();
        let (mut g_alive, mut g_purchases, mut g_clv) =
            (vec![0.0; width], vec![0.0; width], vec![0.0; width]);
        for (k, theta) in count_shifted.iter().enumerate() {
            let (v, p) = clv_and_expected(opts.model, theta, unit, opts.value, (x, tx, t), spend0);
            g_alive[k] = (p_alive(opts.model, theta, x, tx, t) - alive0) / STEP;
            g_purchases[k] = (p - purchases0) / STEP;
            g_clv[k] = (v - clv0) / STEP;
        }
        // CLV is proportional to the expected spend.
        let per_spend = if spend0 != 0.0 { clv0 / spend0 } else { 0.0 };
        for (k, theta) in spend_shifted.iter().enumerate() {
            let moved = GammaGamma::expected_spend(theta, x, c.m[i]);
            g_clv[count.len() + k] = per_spend * (moved - spend0) / STEP;
        }
        let bounds = [
            intervals::logit_interval(alive0, delta_cov.variance(&g_alive), z),
            intervals::log_interval(purchases0, delta_cov.variance(&g_purchases), z),
            intervals::log_interval(clv0, delta_cov.variance(&g_clv), z),
        ];
        (
            bounds,
            intervals::Gradients {
                purchases: g_purchases,
                clv: g_clv,
            },
        )
    });
    let column = |k: usize, high: bool, decimals: i32| -> Vec<f64> {
        order
            .iter()
            .map(|&i| {
                let (lo, hi) = per_customer[i].0[k];
                round_to(if high { hi } else { lo }, decimals)
            })
            .collect()
    };
    // After p_alive (5), expected_purchases and clv, each pair right after its figure.
    for (after, name, k, decimals) in [
        ("p_alive", "p_alive", 0, 4),
        ("expected_purchases", "expected_purchases", 1, 4),
        ("clv", "clv", 2, 2),
    ] {
        let at = table
            .get_column_names()
            .iter()
            .position(|n| n.as_str() == after)
            .map_or(table.width(), |p| p + 1);
        table.insert_column(
            at,
            Column::new(format!("{name}_low").into(), column(k, false, decimals)),
        )?;
        table.insert_column(
            at + 1,
            Column::new(format!("{name}_high").into(), column(k, true, decimals)),
        )?;
    }
    let by_id = per_customer
        .into_iter()
        .enumerate()
        .map(|(i, (_, d))| (f.ids[i].to_string(), d))
        .collect();
    Ok(intervals::Delta {
        by_id,
        cov: delta_cov.cov,
    })
}

/// The fitted parameters: one row each, with standard errors, then the log-likelihood and the
/// number of customers per model.
pub fn params_table(f: &Fitted, opts: &ClvOptions) -> Result<DataFrame> {
    let mut model = Vec::new();
    let mut parameter = Vec::new();
    let mut estimate = Vec::new();
    let mut std_error: Vec<Option<f64>> = Vec::new();
    let (mut ci_low, mut ci_high): (Vec<Option<f64>>, Vec<Option<f64>>) = (Vec::new(), Vec::new());
    let z = opts
        .intervals
        .map(|level| crate::metrics::stats::normal_quantile(0.5 + level / 2.0));
    let mut unit = Vec::new();
    let time = opts.grouping.unit.name();
    for (name, fit) in [
        (opts.model.name(), &f.count_model),
        ("gamma-gamma", &f.spend_model),
    ] {
        for (k, p) in fit.names.iter().enumerate() {
            model.push(name);
            parameter.push(p.to_string());
            estimate.push(round_to(fit.params[k], 6));
            std_error.push(fit.std_errors.as_ref().map(|se| round_to(se[k], 6)));
            let bounds = z
                .zip(fit.std_errors.as_ref())
                .map(|(z, se)| intervals::wald_log(fit.params[k], se[k], z));
            ci_low.push(bounds.map(|b| round_to(b.0, 6)));
            ci_high.push(bounds.map(|b| round_to(b.1, 6)));
            unit.push(match *p {
                "alpha" | "beta" => time,
                "gamma" => "money",
                _ => "",
            });
        }
        for (p, v) in [("log_likelihood", fit.ll), ("customers", fit.customers)] {
            model.push(name);
            parameter.push(p.to_string());
            estimate.push(round_to(v, 4));
            std_error.push(None);
            ci_low.push(None);
            ci_high.push(None);
            unit.push("");
        }
    }
    let mut columns = vec![
        Column::new("model".into(), model),
        Column::new("parameter".into(), parameter),
        Column::new("estimate".into(), estimate),
        Column::new("std_error".into(), std_error),
    ];
    if z.is_some() {
        columns.push(Column::new("ci_low".into(), ci_low));
        columns.push(Column::new("ci_high".into(), ci_high));
    }
    columns.push(Column::new("unit".into(), unit));
    Ok(DataFrame::new_infer_height(columns)?)
}

/// Calibration/holdout validation: fit on purchases before `holdout`, predict the purchases from
/// `holdout` to `as_of` for the customers known at `holdout`, and compare per calibration
/// frequency (0 … 6, 7+) and overall.
pub struct Holdout<'a> {
    pub table: DataFrame,
    pub fit: Fit,
    pub length: f64,
    pub actual: f64,
    pub predicted: f64,
    pub mae: f64,
    pub rmse: f64,
    pub customers: usize,
    pub purchases: Purchases<'a>,
    /// The calibration summary the fit was made on.
    pub calibration: Customers,
}

pub fn holdout<'a>(ledger: &'a Ledger, opts: &ClvOptions, holdout: Day) -> Result<Holdout<'a>> {
    let p = purchases(ledger);
    if holdout >= p.as_of {
        bail!(
            "--holdout {} is not before the analysis date {}: nothing left to predict",
            holdout,
            p.as_of
        );
    }
    let (_, c, actual) = summarise(&p, opts.grouping, holdout.days(), p.as_of.days());
    if c.x.is_empty() {
        bail!("no customer bought before --holdout {}", holdout);
    }
    let summary = Summary::new(&c.x, &c.tx, &c.t);
    let fit = fit_purchases(opts.model, &summary, opts.penalty, opts.standard_errors)?;
    let g = opts.grouping;
    let length = if g.by_period {
        // Whole periods from the holdout's first to the last observed one.
        let key = |d: i32| match g.unit {
            TimeUnit::Week => crate::metrics::periods::Period::Week.index(d),
            TimeUnit::Month => crate::metrics::periods::Period::Month.index(d),
            TimeUnit::Day => d,
        };
        f64::from(key(p.as_of.days() - 1) - key(holdout.days() - 1))
    } else {
        f64::from(p.as_of - holdout) / g.unit.days()
    };
    let predicted = parallel_map(c.x.len(), |i| {
        expected(opts.model, &fit.params, c.x[i], c.tx[i], c.t[i], length)
    });
    const TOP: usize = 7;
    let mut n = [0usize; TOP + 1];
    let mut act = [0.0f64; TOP + 1];
    let mut pred = [0.0f64; TOP + 1];
    let (mut abs, mut sq) = (0.0, 0.0);
    for i in 0..c.x.len() {
        let b = (c.x[i] as usize).min(TOP);
        n[b] += 1;
        act[b] += f64::from(actual[i]);
        pred[b] += predicted[i];
        let err = predicted[i] - f64::from(actual[i]);
        abs += err.abs();
        sq += err * err;
    }
    let total_n = c.x.len();
    // With --intervals: the predictive interval of each row's purchases (parameter uncertainty
    // and the purchase process's noise), from simulated holdouts.
    let predictive = match opts.intervals {
        Some(level) => {
            let bucket: Vec<usize> = c.x.iter().map(|&x| (x as usize).min(TOP)).collect();
            let totals = intervals::holdout_totals(
                opts.model,
                &fit,
                (&c.x, &c.tx, &c.t),
                length,
                &bucket,
                TOP + 1,
            )
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--intervals: the fit has no usable covariance (its information matrix is \
                     not positive definite), so its uncertainty cannot be drawn"
                )
            })?;
            let bounds: Vec<(f64, f64)> = (0..=TOP + 1)
                .map(|g| {
                    let mut values: Vec<f64> = totals.iter().map(|t| t[g]).collect();
                    intervals::interval(&mut values, level)
                })
                .collect();
            Some(bounds)
        }
        None => None,
    };
    let (mut low, mut high) = (Vec::new(), Vec::new());
    let mut bound = |g: usize| {
        if let Some(b) = &predictive {
            low.push(round_to(b[g].0, 2));
            high.push(round_to(b[g].1, 2));
        }
    };
    let mut label = Vec::new();
    let mut customers = Vec::new();
    let mut actual_mean = Vec::new();
    let mut predicted_mean = Vec::new();
    let mut actual_total = Vec::new();
    let mut predicted_total = Vec::new();
    let mut push = |l: String, n: usize, a: f64, p: f64| {
        label.push(l);
        customers.push(n as u64);
        actual_mean.push(if n > 0 {
            round_to(a / n as f64, 4)
        } else {
            0.0
        });
        predicted_mean.push(if n > 0 {
            round_to(p / n as f64, 4)
        } else {
            0.0
        });
        actual_total.push(a);
        predicted_total.push(round_to(p, 2));
    };
    for b in 0..=TOP {
        if n[b] > 0 {
            let l = if b == TOP {
                format!("{TOP}+")
            } else {
                b.to_string()
            };
            push(l, n[b], act[b], pred[b]);
            bound(b);
        }
    }
    let (a_sum, p_sum) = (act.iter().sum::<f64>(), pred.iter().sum::<f64>());
    push(crate::metrics::ALL.into(), total_n, a_sum, p_sum);
    bound(TOP + 1);
    let mut table = DataFrame::new_infer_height(vec![
        Column::new("calibration_frequency".into(), label),
        Column::new("customers".into(), customers),
        Column::new("actual_mean".into(), actual_mean),
        Column::new("predicted_mean".into(), predicted_mean),
        Column::new("actual_purchases".into(), actual_total),
        Column::new("predicted_purchases".into(), predicted_total),
    ])?;
    if predictive.is_some() {
        table.with_column(Column::new("predicted_low".into(), low))?;
        table.with_column(Column::new("predicted_high".into(), high))?;
    }
    Ok(Holdout {
        table,
        fit,
        length,
        actual: a_sum,
        predicted: p_sum,
        mae: abs / total_n as f64,
        rmse: (sq / total_n as f64).sqrt(),
        customers: total_n,
        purchases: p,
        calibration: c,
    })
}

/// Historical CLV per customer. With tenure = months from the first purchase to as_of (at least
/// one month): purchases_per_month = orders / tenure; avg_order_value = net spend / orders, net
/// spend being the ledger's (every movement before as_of, refunds of their own included: the
/// same figure as rfm's monetary, docs/metrics.md "Orders and purchases");
/// historical_clv = avg_order_value × purchases_per_month × margin × lifespan; retention_clv =
/// yearly margin × r / (1 + d − r), r the measured yearly retention, d the yearly discount.
pub struct Historical<'a> {
    pub table: DataFrame,
    pub retention: Option<f64>,
    pub as_of: Day,
    pub purchases: Purchases<'a>,
}

pub fn historical<'a>(ledger: &'a Ledger, opts: &ClvOptions) -> Result<Historical<'a>> {
    let p = purchases(ledger);
    if p.is_empty() {
        bail!("no purchases before the analysis date");
    }
    let as_of = p.as_of.days();
    let day = Grouping {
        unit: TimeUnit::Day,
        by_period: false,
    };
    let (index, c, _) = summarise(&p, day, as_of, as_of);
    // Net spend is one definition in every command: the ledger's net, not the purchases' sum.
    let net: Vec<f64> = index
        .iter()
        .map(|&k| p.ledger.net(p.buyers[k]).to_f64_cents())
        .collect();
    let retention = yearly_retention(&p, as_of);
    let yearly_discount = (1.0 + opts.value.discount).powi(12) - 1.0;
    let month = TimeUnit::Month.days();
    let mut rows: Vec<(usize, [f64; 5])> = (0..c.x.len())
        .map(|i| {
            let tenure = (f64::from(as_of - c.first[i]) / month).max(1.0);
            let orders_n = f64::from(c.orders[i]);
            let aov = net[i] / orders_n;
            let per_month = orders_n / tenure;
            let hist = aov * per_month * opts.value.margin * opts.lifespan_months;
            let yearly = aov * per_month * 12.0 * opts.value.margin;
            let ret = retention
                .map(|r| yearly * r / (1.0 + yearly_discount - r))
                .unwrap_or(f64::NAN);
            (
                i,
                [
                    round_to(tenure, 2),
                    round_to(aov, 2),
                    round_to(per_month, 4),
                    round_to(hist, 2),
                    round_to(ret, 2),
                ],
            )
        })
        .collect();
    let id = |i: usize| p.id(index[i]);
    rows.sort_by(|a, b| b.1[3].total_cmp(&a.1[3]).then_with(|| id(a.0).cmp(id(b.0))));
    let col = |k: usize| rows.iter().map(|r| r.1[k]).collect::<Vec<f64>>();
    let table = DataFrame::new_infer_height(vec![
        Column::new(
            "customer_id".into(),
            rows.iter().map(|r| id(r.0)).collect::<Vec<_>>(),
        ),
        Column::new(
            "orders".into(),
            rows.iter().map(|r| c.orders[r.0]).collect::<Vec<_>>(),
        ),
        Column::new(
            "net_spend".into(),
            rows.iter().map(|r| net[r.0]).collect::<Vec<_>>(),
        ),
        Column::new(
            "first_purchase".into(),
            rows.iter().map(|r| c.first[r.0]).collect::<Vec<_>>(),
        )
        .cast(&DataType::Date)?,
        Column::new("tenure_months".into(), col(0)),
        Column::new("avg_order_value".into(), col(1)),
        Column::new("purchases_per_month".into(), col(2)),
        Column::new("historical_clv".into(), col(3)),
        Column::new(
            "retention_clv".into(),
            rows.iter()
                .map(|r| r.1[4].is_finite().then_some(r.1[4]))
                .collect::<Vec<_>>(),
        ),
    ])?;
    Ok(Historical {
        table,
        retention,
        as_of: p.as_of,
        purchases: p,
    })
}

/// Share of the customers who bought in the year before last (as_of − 730 .. as_of − 365) who
/// bought again in the last year; `None` without anyone in the earlier year.
fn yearly_retention(p: &Purchases, as_of: i32) -> Option<f64> {
    let (mut base, mut kept) = (0u64, 0u64);
    for i in 0..p.len() {
        let (days, _) = p.orders(i);
        let earlier = days.iter().any(|&d| d >= as_of - 730 && d < as_of - 365);
        if earlier {
            base += 1;
            if days.iter().any(|&d| d >= as_of - 365 && d < as_of) {
                kept += 1;
            }
        }
    }
    (base > 0).then(|| kept as f64 / base as f64)
}
