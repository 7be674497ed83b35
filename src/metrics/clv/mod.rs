//! Customer lifetime value: the per-customer repeat-purchase summary, the probabilistic models
//! (BG/NBD, Pareto/NBD, Gamma-Gamma) and the historical formulas (docs/metrics.md, "CLV").
//!
//! Summary convention (as in Fader & Hardie's papers and Python `lifetimes`):
//! - purchases are the ledger's (docs/metrics.md, "Orders and purchases"); the models count
//!   purchase days (or, with `group_by_period`, purchase periods): purchases of the same customer
//!   on the same day are one whose spend is their sum; a zero-amount order never refunded is a
//!   purchase with no spend (CDNOW has such rows, and the published estimates count them);
//! - frequency x = purchases − 1 (repeat purchases); recency t_x = last − first purchase;
//!   T = last observed day (as_of − 1) − first purchase; all times in `unit`;
//! - monetary value m = mean spend of the repeat purchases (the first is left out, as the
//!   Gamma-Gamma model requires).

pub mod bgnbd;
pub mod diagnostics;
pub mod fit;
pub mod gammagamma;
pub mod intervals;
pub mod paretonbd;
pub mod special;
pub mod tables;

use crate::day::Day;
use anyhow::{bail, Result};

use crate::ledger::Ledger;
use crate::metrics::periods::Period;
use crate::metrics::stats::round_to;
use crate::money::Money;

pub use fit::Fit;

/// The time unit of recency, T, horizons and the rate parameters α, β.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TimeUnit {
    Day,
    Week,
    Month,
}

impl TimeUnit {
    /// Days per unit; a month is 365.25 / 12 = 30.4375 days.
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Day => 1.0,
            TimeUnit::Week => 7.0,
            TimeUnit::Month => 365.25 / 12.0,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Day => "days",
            TimeUnit::Week => "weeks",
            TimeUnit::Month => "months",
        }
    }
    fn period(self) -> Option<Period> {
        match self {
            TimeUnit::Day => None,
            TimeUnit::Week => Some(Period::Week),
            TimeUnit::Month => Some(Period::Month),
        }
    }
    /// Months expressed in this unit.
    pub fn per_month(self) -> f64 {
        TimeUnit::Month.days() / self.days()
    }
}

/// Every customer's purchases before `as_of`, one entry per order that is a purchase, read from
/// the ledger (docs/metrics.md, "Orders and purchases").
pub struct Purchases<'a> {
    ledger: &'a Ledger,
    /// Ledger codes of the customers with a purchase, ascending (so in customer ID order).
    buyers: Vec<usize>,
    pub as_of: Day,
    pub after_as_of: usize,
    /// Orders whose net is negative, or zero after a refund: not purchases.
    pub non_positive_orders: usize,
    /// Customers whose every order is such an order.
    pub customers_without_purchase: usize,
    /// Zero-amount orders never refunded: purchases with no spend.
    pub free_orders: usize,
}

impl<'a> Purchases<'a> {
    pub fn len(&self) -> usize {
        self.buyers.len()
    }
    pub fn is_empty(&self) -> bool {
        self.buyers.is_empty()
    }
    pub fn id(&self, i: usize) -> &'a str {
        self.ledger.id(self.buyers[i])
    }
    /// Days and nets of customer `i`'s purchases, by day.
    pub fn orders(&self, i: usize) -> (&'a [i32], &'a [Money]) {
        let c = self.buyers[i];
        (self.ledger.purchase_days(c), self.ledger.purchase_nets(c))
    }
}

/// The customers with a purchase, from the ledger.
pub fn purchases(ledger: &Ledger) -> Purchases<'_> {
    Purchases {
        ledger,
        buyers: ledger.buyers().collect(),
        as_of: ledger.as_of,
        after_as_of: ledger.stats.rows_after_as_of,
        non_positive_orders: ledger.stats.orders_not_purchases,
        customers_without_purchase: ledger.stats.customers_without_purchase,
        free_orders: ledger.stats.free_purchases,
    }
}

/// The per-customer summary the models take.
#[derive(Debug, Clone, Default)]
pub struct Customers {
    pub first: Vec<i32>,
    /// Repeat purchases.
    pub x: Vec<u32>,
    /// Recency t_x and age T in `unit`.
    pub tx: Vec<f64>,
    pub t: Vec<f64>,
    /// Mean spend of the repeat purchases (0 without one).
    pub m: Vec<f64>,
    /// Orders and net spend (all purchase orders, for the historical formulas).
    pub orders: Vec<u32>,
    pub spend: Vec<f64>,
}

impl Customers {
    /// Appends the customers of another summary (a partition of customers).
    pub fn append(&mut self, other: Customers) {
        self.first.extend(other.first);
        self.x.extend(other.x);
        self.tx.extend(other.tx);
        self.t.extend(other.t);
        self.m.extend(other.m);
        self.orders.extend(other.orders);
        self.spend.extend(other.spend);
    }

    /// The customers at `order` (indexes), in that order.
    pub fn reordered(&self, order: &[usize]) -> Customers {
        Customers {
            first: order.iter().map(|&i| self.first[i]).collect(),
            x: order.iter().map(|&i| self.x[i]).collect(),
            tx: order.iter().map(|&i| self.tx[i]).collect(),
            t: order.iter().map(|&i| self.t[i]).collect(),
            m: order.iter().map(|&i| self.m[i]).collect(),
            orders: order.iter().map(|&i| self.orders[i]).collect(),
            spend: order.iter().map(|&i| self.spend[i]).collect(),
        }
    }
}

/// How purchases are grouped and measured.
#[derive(Debug, Clone, Copy)]
pub struct Grouping {
    pub unit: TimeUnit,
    /// Group purchases into whole periods of `unit` (lifetimes' `freq="W"`) rather than days
    /// measured in fractional units (`freq="D", freq_multiplier=7`).
    pub by_period: bool,
}

impl Grouping {
    fn key(self, day: i32) -> i32 {
        match (self.by_period, self.unit.period()) {
            (true, Some(p)) => p.index(day),
            _ => day,
        }
    }
    fn span(self, from_key: i32, to_key: i32) -> f64 {
        let gap = f64::from(to_key - from_key);
        if self.by_period && self.unit.period().is_some() {
            gap
        } else {
            gap / self.unit.days()
        }
    }
}

/// Summarises the purchases dated before `end` (exclusive) of customers whose first purchase is
/// before `end`; also returns, per customer, the purchases counted from `end` to `until` (the
/// holdout actuals). Customers are those of `p` in order; `None` where the first purchase is not
/// before `end`.
pub fn summarise(
    p: &Purchases,
    grouping: Grouping,
    end: i32,
    until: i32,
) -> (Vec<usize>, Customers, Vec<u32>) {
    let mut index = Vec::new();
    let mut c = Customers::default();
    let mut later = Vec::new();
    let last_key = grouping.key(end - 1);
    for i in 0..p.len() {
        let (days, nets) = p.orders(i);
        if days[0] >= end {
            continue;
        }
        // Merge orders into purchases: one per key (day or period), spend summed exactly.
        let mut keys: Vec<(i32, Money)> = Vec::new();
        let mut orders_n = 0u32;
        let mut spend = Money::ZERO;
        let mut holdout_keys = 0u32;
        let mut last_holdout_key = None;
        for (&day, &net) in days.iter().zip(nets) {
            if day >= end {
                if day < until {
                    let k = grouping.key(day);
                    if last_holdout_key != Some(k) {
                        holdout_keys += 1;
                        last_holdout_key = Some(k);
                    }
                }
                continue;
            }
            orders_n += 1;
            spend += net;
            let k = grouping.key(day);
            match keys.last_mut() {
                Some((last, total)) if *last == k => *total += net,
                _ => keys.push((k, net)),
            }
        }
        let first = keys[0].0;
        let last = keys[keys.len() - 1].0;
        let x = (keys.len() - 1) as u32;
        let repeat_spend: Money = keys[1..].iter().map(|k| k.1).sum();
        index.push(i);
        c.first.push(days[0]);
        c.x.push(x);
        c.tx.push(grouping.span(first, last));
        c.t.push(grouping.span(first, last_key));
        c.m.push(if x > 0 {
            round_to(repeat_spend.to_f64() / f64::from(x), 6)
        } else {
            0.0
        });
        c.orders.push(orders_n);
        c.spend.push(spend.to_f64_cents());
        later.push(holdout_keys);
    }
    (index, c, later)
}

/// The (x, t_x, T) triples a likelihood is summed over, with identical triples merged into one
/// weighted row (customers who never came back share a handful of triples).
#[derive(Debug, Clone)]
pub struct Summary {
    pub x: Vec<u32>,
    pub tx: Vec<f64>,
    pub t: Vec<f64>,
    pub w: Vec<f64>,
    pub weight: f64,
    pub max_x: u32,
}

impl Summary {
    pub fn new(x: &[u32], tx: &[f64], t: &[f64]) -> Summary {
        let mut rows: Vec<(u32, u64, u64)> = x
            .iter()
            .zip(tx)
            .zip(t)
            .map(|((&x, &tx), &t)| (x, tx.to_bits(), t.to_bits()))
            .collect();
        rows.sort_unstable();
        let mut s = Summary {
            x: Vec::new(),
            tx: Vec::new(),
            t: Vec::new(),
            w: Vec::new(),
            weight: rows.len() as f64,
            max_x: 0,
        };
        for (i, row) in rows.iter().enumerate() {
            if i > 0 && rows[i - 1] == *row {
                if let Some(w) = s.w.last_mut() {
                    *w += 1.0;
                }
                continue;
            }
            s.x.push(row.0);
            s.tx.push(f64::from_bits(row.1));
            s.t.push(f64::from_bits(row.2));
            s.w.push(1.0);
            s.max_x = s.max_x.max(row.0);
        }
        s
    }

    pub fn len(&self) -> usize {
        self.x.len()
    }

    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// The same customers with every time multiplied by `c`.
    fn scaled(&self, c: f64) -> Summary {
        let mut s = self.clone();
        s.tx.iter_mut().for_each(|v| *v *= c);
        s.t.iter_mut().for_each(|v| *v *= c);
        s
    }
}

/// Which purchase-count model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Model {
    /// BG/NBD (Fader, Hardie & Lee 2005).
    #[value(name = "bg-nbd")]
    BgNbd,
    /// Pareto/NBD (Schmittlein, Morrison & Colombo 1987).
    #[value(name = "pareto-nbd")]
    ParetoNbd,
    /// Average order value × purchase frequency × margin × lifespan, and the retention form.
    Historical,
}

impl Model {
    pub fn name(self) -> &'static str {
        match self {
            Model::BgNbd => "bg-nbd",
            Model::ParetoNbd => "pareto-nbd",
            Model::Historical => "historical",
        }
    }
}

/// Fits a purchase-count model. Times are rescaled so the longest T is 10 (as lifetimes does) for
/// the optimiser; the reported parameters, log-likelihood and standard errors are in `unit`.
pub fn fit_purchases(model: Model, s: &Summary, penalty: f64, errors: bool) -> Result<Fit> {
    if s.is_empty() {
        bail!("no customers to fit the {} model on", model.name());
    }
    let max_t = s.t.iter().copied().fold(0.0, f64::max);
    if max_t <= 0.0 {
        bail!(
            "every customer's first purchase is on the last observed day: T = 0 leaves nothing to \
             fit (set --as-of later, or use more history)"
        );
    }
    let c = 10.0 / max_t;
    let scaled = s.scaled(c);
    if model == Model::ParetoNbd {
        // Screen with BG/NBD (a fraction of a second) before Pareto/NBD, whose likelihood is
        // slow exactly where a dropout process is missing (its 2F1 terms near z = 1): when
        // BG/NBD finds essentially no dropout, Pareto/NBD cannot find one either.
        if let Some(share) = bgnbd_dropout_share(&scaled, penalty) {
            if share < SCREEN_DROPOUT_SHARE {
                let found = if share == 0.0 {
                    "runs its dropout probability to 0".to_string()
                } else {
                    format!("expects {share:.1e} of them to drop out over the whole history")
                };
                bail!(
                    "pareto-nbd fit: BG/NBD on the same customers {found}. There is no sign of \
                     customers dropping out in this data, so P(alive) cannot be estimated (it \
                     would be 1 for everyone) and expected purchases would not decline; use \
                     --model historical, or more history (a longer period before --as-of)"
                );
            }
        }
    }
    let (found, unscale): (Result<Fit, fit::FitFailure>, [f64; 4]) = match model {
        Model::BgNbd => (
            fit::fit(&bgnbd::BgNbd { data: &scaled }, &[1.0; 4], penalty, errors),
            [1.0, c, 1.0, 1.0],
        ),
        Model::ParetoNbd => (
            fit::fit(
                &paretonbd::ParetoNbd { data: &scaled },
                &[1.0; 4],
                penalty,
                errors,
            ),
            [1.0, c, 1.0, c],
        ),
        Model::Historical => bail!("the historical model has no parameters to fit"),
    };
    let found = found.map_err(|e| anyhow::anyhow!(explain_purchase_fit(model, &e, penalty)))?;
    let params: Vec<f64> = found
        .params
        .iter()
        .zip(unscale)
        .map(|(p, k)| p / k)
        .collect();
    let raw: Box<dyn fit::Likelihood> = match model {
        Model::BgNbd => Box::new(bgnbd::BgNbd { data: s }),
        _ => Box::new(paretonbd::ParetoNbd { data: s }),
    };
    let ll = raw
        .ll(&params)
        .ok_or_else(|| anyhow::anyhow!("{} fit: log-likelihood not finite", model.name()))?;
    if let Some(share) = dropout_share(model, &params, s, max_t) {
        if share < MIN_DROPOUT_SHARE {
            let names = found.names;
            bail!(
                "{} fit: {} = {:.3e}, {} = {:.3e}: the model expects {:.1e} of the customers to \
                 drop out over the whole history. There is no sign of customers dropping out in \
                 this data, so P(alive) cannot be estimated (it would be 1 for everyone) and \
                 expected purchases would not decline; use --model historical, or more history \
                 (a longer period before --as-of)",
                model.name(),
                names[2],
                params[2],
                names[3],
                params[3],
                share
            );
        }
    }
    let std_errors = found
        .std_errors
        .map(|se| se.iter().zip(unscale).map(|(e, k)| e / k).collect());
    Ok(Fit {
        params,
        ll,
        std_errors,
        ..found
    })
}

/// Below this share expected by a BG/NBD screen, Pareto/NBD is not fitted at all (a thousand
/// times below [`MIN_DROPOUT_SHARE`], so only data with no dropout process at all is screened
/// out).
const SCREEN_DROPOUT_SHARE: f64 = 1e-6;

/// BG/NBD's expected dropout share on (time-scaled) data, 0 when its a or b runs to a boundary;
/// `None` when BG/NBD fails otherwise (the screen then says nothing).
fn bgnbd_dropout_share(scaled: &Summary, penalty: f64) -> Option<f64> {
    match fit::fit(&bgnbd::BgNbd { data: scaled }, &[1.0; 4], penalty, false) {
        Ok(f) => dropout_share(Model::BgNbd, &f.params, scaled, 10.0),
        Err(fit::FitFailure::Boundary {
            param: "a" | "b", ..
        }) => Some(0.0),
        Err(_) => None,
    }
}

/// Below this expected share of customers dropping out over the observed history, a purchase
/// model's dropout process is not in the data (docs/metrics.md, "CLV").
pub const MIN_DROPOUT_SHARE: f64 = 1e-3;

/// The share of customers a fitted model expects to drop out over the history: BG/NBD
/// E[p] · (1 + mean x), with E[p] = a / (a + b) the chance of dropping out after a purchase;
/// Pareto/NBD E[μ] · max T, with E[μ] = s / β the dropout rate. (First-order approximations,
/// exact as they go to 0, which is all they are used for.)
fn dropout_share(model: Model, params: &[f64], s: &Summary, max_t: f64) -> Option<f64> {
    let customers: f64 = s.w.iter().sum();
    let mean_x =
        s.x.iter()
            .zip(&s.w)
            .map(|(x, w)| *x as f64 * w)
            .sum::<f64>()
            / customers;
    match model {
        Model::BgNbd => Some(params[2] / (params[2] + params[3]) * (1.0 + mean_x)),
        Model::ParetoNbd => Some(params[2] / params[3] * max_t),
        Model::Historical => None,
    }
}

/// Fits Gamma-Gamma on the repeat buyers (x > 0, m > 0).
pub fn fit_spend(x: &[u32], m: &[f64], penalty: f64, errors: bool) -> Result<Fit> {
    let data = gammagamma::Spend::new(x, m);
    let repeat_buyers = data.customers();
    if repeat_buyers < 2.0 {
        bail!(
            "Gamma-Gamma needs repeat buyers, found {repeat_buyers}: too little history for a spend model"
        );
    }
    let model = gammagamma::GammaGamma { data: &data };
    let found = fit::fit(&model, &[1.0, 1.0, 1.0], penalty, errors)
        .map_err(|e| anyhow::anyhow!(explain_spend_fit(&e, penalty)))?;
    if found.get("q") <= 1.0 {
        bail!(
            "gamma-gamma fit: q = {:.3} ≤ 1, so the expected spend per purchase is not finite: \
             a few very large purchases dominate the spend data; {}",
            found.get("q"),
            penalty_advice("--spend-penalty", penalty)
        );
    }
    Ok(found)
}

/// What to try after a failed fit: a penalty when none was given, never the one that failed.
fn penalty_advice(flag: &str, penalty: f64) -> String {
    if penalty == 0.0 {
        format!(
            "try {flag} 0.001 (it pulls the parameters towards moderate values), \
             --model historical, or more history"
        )
    } else {
        format!("{flag} {penalty} did not make it fit: use --model historical, or more history")
    }
}

/// A failed purchase-model fit in terms of the data (docs/metrics.md, "CLV").
fn explain_purchase_fit(model: Model, failure: &fit::FitFailure, penalty: f64) -> String {
    use fit::FitFailure;
    let name = model.name();
    let dropout: &[&str] = match model {
        Model::BgNbd => &["a", "b"],
        _ => &["s", "beta"],
    };
    let (param, what) = match failure {
        FitFailure::Failed(why) => {
            return format!(
                "{name} fit: {why}; {}",
                penalty_advice("--penalty", penalty)
            )
        }
        FitFailure::Boundary { param, value, high } => (
            *param,
            format!(
                "{param} ran to {} ({value:.3e})",
                if *high { "infinity" } else { "0" }
            ),
        ),
        FitFailure::Flat {
            param,
            value,
            log_se,
        } => (
            *param,
            match log_se {
                Some(se) => format!(
                    "{param} = {value:.3e} is not pinned down by the data (its 95 % interval \
                     spans a factor of e^±{:.0})",
                    1.96 * se
                ),
                None => format!(
                    "the likelihood is flat around {param} = {value:.3e} (its curvature is not \
                     negative definite)"
                ),
            },
        ),
    };
    if dropout.contains(&param) {
        format!(
            "{name} fit: {what}. There is no sign of customers dropping out in this data, so \
             P(alive) cannot be estimated (it would be 1 for everyone) and expected purchases \
             would not decline; use --model historical, or more history (a longer period before \
             --as-of)"
        )
    } else {
        format!(
            "{name} fit: {what}. Customers' purchase rates look the same for everyone (r and \
             alpha run off together), so the model cannot tell frequent buyers from rare ones; \
             {}",
            penalty_advice("--penalty", penalty)
        )
    }
}

/// A failed Gamma-Gamma fit in terms of the data.
fn explain_spend_fit(failure: &fit::FitFailure, penalty: f64) -> String {
    use fit::FitFailure;
    let what = match failure {
        FitFailure::Failed(why) => why.clone(),
        FitFailure::Boundary { param, value, high } => format!(
            "{param} ran to {} ({value:.3e}): the spread of spend per purchase between customers \
             is not what the model assumes",
            if *high { "infinity" } else { "0" }
        ),
        FitFailure::Flat { param, value, .. } => {
            format!("{param} = {value:.3e} is not pinned down by the spend data")
        }
    };
    format!(
        "gamma-gamma (spend) fit: {what}; {}",
        penalty_advice("--spend-penalty", penalty)
    )
}

/// Per-customer predictions of a fitted purchase model.
pub fn p_alive(model: Model, params: &[f64], x: u32, tx: f64, t: f64) -> f64 {
    match model {
        Model::BgNbd => bgnbd::BgNbd::p_alive(params, x, tx, t),
        _ => paretonbd::ParetoNbd::p_alive(params, x, tx, t),
    }
}

/// E[Y(h) | x, t_x, T].
pub fn expected(model: Model, params: &[f64], x: u32, tx: f64, t: f64, h: f64) -> f64 {
    match model {
        Model::BgNbd => bgnbd::BgNbd::expected(params, x, tx, t, h),
        _ => paretonbd::ParetoNbd::expected(params, x, tx, t, h),
    }
}

/// The CLV settings a run takes when nothing says otherwise — `clv`'s flag defaults and the
/// report's section, one definition for both.
pub const DEFAULT_VALUE: Value = Value {
    horizon_months: 12,
    discount: 0.01,
    margin: 1.0,
};
/// The historical model's customer lifespan in months, by default.
pub const DEFAULT_LIFESPAN_MONTHS: f64 = 36.0;

/// Settings of the CLV sum.
#[derive(Debug, Clone, Copy)]
pub struct Value {
    pub horizon_months: u32,
    /// Monthly discount rate.
    pub discount: f64,
    pub margin: f64,
}

/// CLV = Σ_{i=1..H} margin × spend × (E[Y(i months)] − E[Y((i−1) months)]) / (1 + d)^i.
/// Also returns E[Y] over the whole horizon (the last point of the same curve).
pub fn clv_and_expected(
    model: Model,
    params: &[f64],
    unit: TimeUnit,
    value: Value,
    (x, tx, t): (u32, f64, f64),
    spend: f64,
) -> (f64, f64) {
    let month = unit.per_month();
    let hs: Vec<f64> = (1..=value.horizon_months)
        .map(|i| f64::from(i) * month)
        .collect();
    let curve = match model {
        Model::BgNbd => bgnbd::BgNbd::expected_many(params, x, tx, t, &hs),
        _ => {
            // P(alive) does not depend on the horizon: compute it once.
            let alive = paretonbd::ParetoNbd::p_alive(params, x, tx, t);
            hs.iter()
                .map(|&h| paretonbd::ParetoNbd::expected_given_alive(params, x, t, h, alive))
                .collect()
        }
    };
    let mut total = 0.0;
    let mut before = 0.0;
    for (i, &now) in curve.iter().enumerate() {
        let i = i as i32 + 1;
        total += value.margin * spend * (now - before) / (1.0 + value.discount).powi(i);
        before = now;
    }
    (total, before)
}

/// Runs `f` over `0..n` on all cores, results in order.
pub fn parallel_map<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map(|t| t.get())
        .unwrap_or(1);
    if n < 1024 || threads == 1 {
        return (0..n).map(f).collect();
    }
    let chunk = n.div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let f = &f;
                scope.spawn(move || {
                    (k * chunk..((k + 1) * chunk).min(n))
                        .map(f)
                        .collect::<Vec<T>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_failures_are_explained_without_circular_advice() {
        let runaway = fit::FitFailure::Boundary {
            param: "r",
            value: 5e11,
            high: true,
        };
        let e = explain_purchase_fit(Model::ParetoNbd, &runaway, 0.0);
        assert!(
            e.contains("r ran to infinity") && e.contains("look the same"),
            "{e}"
        );
        assert!(e.contains("try --penalty 0.001"), "{e}");
        let e = explain_purchase_fit(Model::ParetoNbd, &runaway, 0.001);
        assert!(
            !e.contains("try --penalty") && e.contains("--penalty 0.001 did not"),
            "{e}"
        );
        let no_dropout = fit::FitFailure::Boundary {
            param: "b",
            value: 1e9,
            high: true,
        };
        let e = explain_purchase_fit(Model::BgNbd, &no_dropout, 0.0);
        assert!(
            e.contains("no sign of customers dropping out") && !e.contains("--penalty"),
            "{e}"
        );
        let e = explain_spend_fit(&fit::FitFailure::Failed("x".into()), 0.01);
        assert!(
            e.contains("--spend-penalty 0.01 did not") && !e.contains("try --spend"),
            "{e}"
        );
    }
}
