//! `clv --summary-in FILE`: a per-customer summary made elsewhere (the SQL of `crm-eval sql
//! clv-summary` in a warehouse, or lifetimes' `summary_data_from_transaction_data`), read as the
//! models take it (docs/metrics.md, "CLV", "Summaries made elsewhere"). Columns by name:
//! customer_id, frequency (repeat purchases), recency (t_x), T, monetary (mean repeat spend),
//! times in the `--period` unit; crm-eval's own `clv` output (`recency_week`, `t_week`,
//! `monetary_value`) reads back too.

use anyhow::{bail, Result};
use polars::prelude::*;

use crate::input::schema::normalise_header;
use crate::input::source;
use crate::metrics::clv::{Customers, TimeUnit};
use crate::money::Money;
use crate::settings::Settings;

/// The largest age T a summary row may give: a century in days, the finest --period unit.
const MAX_AGE: f64 = 36_525.0;

/// The column of `df` named by one of `names` (headers compared as normalised).
fn find(df: &DataFrame, names: &[String], what: &str, file: &str) -> Result<String> {
    let headers: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    for name in names {
        if let Some(h) = headers
            .iter()
            .find(|h| normalise_header(h) == normalise_header(name))
        {
            return Ok(h.clone());
        }
    }
    bail!(
        "{file}: no {what} column (expected one of {}; the file has {})",
        names.join(", "),
        headers.join(", ")
    )
}

/// The customer IDs and their (x, t_x, T, m), checked row by row.
pub fn read(path: &str, unit: TimeUnit, settings: &Settings) -> Result<(Vec<String>, Customers)> {
    let opts = &settings.input.read;
    let raw = source::open(path, opts)?;
    let (df, info) = raw.read(None, &[], opts)?;
    let file = info.display.as_str();
    let u = unit.name();
    let names = |v: &[&str]| -> Vec<String> { v.iter().map(|s| s.to_string()).collect() };
    let id = find(&df, &names(&["customer_id", "id"]), "customer_id", file)?;
    let x = find(&df, &names(&["frequency", "x"]), "frequency", file)?;
    let tx = find(
        &df,
        &[
            "recency".to_string(),
            format!("recency_{u}"),
            "t_x".to_string(),
        ],
        "recency",
        file,
    )?;
    let t = find(
        &df,
        &["T".to_string(), format!("t_{u}"), "age".to_string()],
        "T",
        file,
    )?;
    let m = find(
        &df,
        &names(&["monetary", "monetary_value", "m"]),
        "monetary",
        file,
    )?;
    let ids = df.column(&id)?.cast(&DataType::String)?;
    let ids = ids.str()?;
    let number = |name: &str| -> Result<Vec<Option<f64>>> {
        let c = df.column(name)?;
        let c = if c.dtype() == &DataType::String {
            c.str()?
                .iter()
                .map(|v| v.and_then(|v| v.trim().parse::<f64>().ok()))
                .collect::<Vec<_>>()
        } else {
            c.cast(&DataType::Float64)?.f64()?.iter().collect()
        };
        Ok(c)
    };
    let (xs, txs, ts, ms) = (number(&x)?, number(&tx)?, number(&t)?, number(&m)?);
    let mut out_ids = Vec::with_capacity(df.height());
    let mut c = Customers::default();
    for row in 0..df.height() {
        let at = |column: &str, expected: &str| {
            format!(
                "{file}: row {}: column {column}: {expected}",
                info.row_number(row)
            )
        };
        let Some(id) = ids.get(row).filter(|s| !s.trim().is_empty()) else {
            bail!(at(&id, "is empty; expected a customer ID"));
        };
        let xv = xs[row]
            .filter(|v| *v >= 0.0 && v.fract() == 0.0 && *v < 1e9)
            .ok_or_else(|| {
                anyhow::anyhow!(at(
                    &x,
                    "expected a whole number of repeat purchases, from 0 to a billion"
                ))
            })?;
        let tv = ts[row]
            .filter(|v| v.is_finite() && *v >= 0.0 && *v <= MAX_AGE)
            .ok_or_else(|| {
                anyhow::anyhow!(at(
                    &t,
                    &format!("expected the customer's age in {u}, from 0 to {MAX_AGE}")
                ))
            })?;
        let txv = txs[row]
            .filter(|v| v.is_finite() && *v >= 0.0 && *v <= tv)
            .ok_or_else(|| {
                anyhow::anyhow!(at(
                    &tx,
                    &format!(
                        "expected the time of the last repeat purchase in {u}, from 0 to T ({tv})"
                    )
                ))
            })?;
        if xv == 0.0 && txv != 0.0 {
            bail!(at(
                &tx,
                "is not 0 but frequency is 0 (no repeat purchase, so recency is 0)"
            ));
        }
        let mv = ms[row]
            .filter(|v| *v >= 0.0 && Money::from_f64(*v).is_some())
            .ok_or_else(|| {
                anyhow::anyhow!(at(
                    &m,
                    "expected the mean repeat spend, 0 or more and below a trillion (the bound \
                     on an order amount)"
                ))
            })?;
        out_ids.push(id.trim().to_string());
        c.first.push(0);
        c.x.push(xv as u32);
        c.tx.push(txv);
        c.t.push(tv);
        c.m.push(mv);
        c.orders.push(xv as u32 + 1);
        c.spend.push(mv * xv);
    }
    if out_ids.is_empty() {
        bail!("{file}: no customers in the summary");
    }
    Ok((out_ids, c))
}
