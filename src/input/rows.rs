//! Steps over the rows of a table once its columns are typed: the amount of each line of a
//! line-item export, rows without an order ID left out (when the export has IDs elsewhere),
//! and dates far from the rest of their column noted.

use anyhow::{bail, Result};
use polars::prelude::*;

use super::schema::{Binding, Role, TableKind};
use super::source::SourceInfo;
use super::{article, first_null, lines, InputOptions};

/// The amount of every line of a line-item export (docs/metrics.md, "Line items"), saying on
/// stderr how it was computed.
/// `file_row` maps a row of `df` to its data row in the file (rows skipped before count).
pub(super) fn derive_line_amounts(
    df: &DataFrame,
    bindings: &[Binding],
    opts: &InputOptions,
    info: &SourceInfo,
    file_row: &dyn Fn(usize) -> usize,
    notes: &mut Vec<String>,
) -> Result<Int64Chunked> {
    let header = |role: Role| {
        bindings
            .iter()
            .find(|b| b.role == role)
            .map(|b| b.header.as_str())
    };
    let money = |role: Role| -> Result<Option<Int64Chunked>> {
        match df.column(role.name()) {
            Ok(c) => Ok(Some(c.cast(&DataType::Int64)?.i64()?.clone())),
            Err(_) => Ok(None),
        }
    };
    let (Some(quantity), Some(price)) = (money(Role::Quantity)?, money(Role::UnitPrice)?) else {
        bail!(
            "{}: no amount column, and no quantity and unit_price to compute it from",
            info.display
        );
    };
    let discount = money(Role::Discount)?;
    let kind = discount
        .as_ref()
        .map(|d| opts.discount.resolve(d))
        .unwrap_or(lines::DiscountKind::Rate);
    // A rate is a fraction of the line: 3 would take three times its price off.
    if let (Some(d), lines::DiscountKind::Rate) = (&discount, kind) {
        if let Some(row) = d
            .iter()
            .position(|v| v.is_some_and(|v| !(0..=crate::money::SCALE).contains(&v)))
        {
            bail!(
                "{}: row {}: column {:?} (discount): {} is not a discount rate between 0 and 1; \
                 if the column holds money taken off, pass --line-discount amount",
                info.display,
                info.row_number(file_row(row)),
                header(Role::Discount).unwrap_or("discount"),
                crate::money::Money(d.get(row).unwrap_or(0)).to_f64()
            );
        }
    }
    let lines::LineAmounts { amount, overflow } =
        lines::line_amounts(&quantity, &price, discount.as_ref(), kind);
    if let Some(row) = overflow {
        bail!(
            "{}: row {}: quantity × unit price is a trillion or more; check the {:?} and {:?} columns",
            info.display,
            info.row_number(file_row(row)),
            header(Role::Quantity).unwrap_or("quantity"),
            header(Role::UnitPrice).unwrap_or("unit_price"),
        );
    }
    let formula = match (header(Role::Discount), kind) {
        (None, _) => String::new(),
        (Some(d), lines::DiscountKind::Amount) => {
            format!(" − {d:?} (an amount; --line-discount rate if it is a fraction)")
        }
        (Some(d), _) => format!(
            " × (1 − {d:?}) (a fraction{}; --line-discount amount if it is money)",
            if opts.discount == lines::DiscountKind::Auto {
                ": every value lies between 0 and 1"
            } else {
                ""
            }
        ),
    };
    notes.push(format!(
        "{}: no amount column; each line's amount is {:?} × {:?}{formula}",
        info.display,
        header(Role::Quantity).unwrap_or("quantity"),
        header(Role::UnitPrice).unwrap_or("unit_price"),
    ));
    Ok(amount)
}

/// Leaves out the rows whose ID cell is empty (guest checkouts and the like), saying how many and,
/// for orders, their share of the amounts; with `--strict` they are an error instead. Returns
/// the original index of every kept row when some were left out.
pub(super) fn leave_out_rows_without_id(
    df: &mut DataFrame,
    kind: TableKind,
    bindings: &[Binding],
    opts: &InputOptions,
    info: &SourceInfo,
    file_row: &dyn Fn(usize) -> usize,
    notes: &mut Vec<String>,
) -> Result<Option<Vec<usize>>> {
    let Some(id) = kind.id_role() else {
        return Ok(None);
    };
    let Ok(column) = df.column(id.name()) else {
        return Ok(None);
    };
    let empty = column.null_count();
    if empty == 0 {
        return Ok(None);
    }
    let header = bindings
        .iter()
        .find(|b| b.role == id)
        .map_or(id.name(), |b| b.header.as_str());
    if opts.strict {
        let first = first_null(column).unwrap_or(0);
        bail!(
            "{}: row {}, column {:?} ({}): the cell is empty, and with --strict every {} row \
             needs {} {} ({} empty cells in this column)",
            info.display,
            info.row_number(file_row(first)),
            header,
            id,
            kind.singular(),
            article(id.name()),
            id,
            empty
        );
    }
    let rows = df.height();
    let mask = column.is_not_null();
    let share = match df.column(Role::Amount.name()) {
        Ok(amount) if kind == TableKind::Orders => {
            let amount = amount.cast(&DataType::Int64)?;
            let (mut all, mut left_out) = (0i128, 0i128);
            for (a, keep) in amount.i64()?.iter().zip(mask.iter()) {
                let a = a.unwrap_or(0).max(0) as i128;
                all += a;
                if keep != Some(true) {
                    left_out += a;
                }
            }
            if all > 0 {
                format!(
                    ", {} of the positive amounts",
                    percent(left_out as f64 / all as f64)
                )
            } else {
                String::new()
            }
        }
        _ => String::new(),
    };
    let kept: Vec<usize> = mask
        .iter()
        .enumerate()
        .filter(|(_, k)| *k == Some(true))
        .map(|(i, _)| i)
        .collect();
    *df = df.filter(&mask)?;
    notes.push(format!(
        "{}: {empty} of {rows} rows ({}{share}) have no {id} in {header:?} and are left out; \
         --strict makes them an error",
        info.display,
        percent(empty as f64 / rows as f64),
    ));
    Ok(Some(kept))
}

/// A date is far from the rest of its column when it lies more than 20 years plus ten times the
/// median absolute deviation from the median (a robust spread: one `9999-12-31` placeholder or a
/// millisecond epoch read as seconds does not move it). Such dates are noted on stderr, since
/// they would otherwise set as_of centuries away without a word.
const FAR_DAYS: i64 = 20 * 366;

/// A note naming the dates of a date column that lie far outside the rest (with their rows).
pub(super) fn far_dates(column: &Column, binding: &Binding, info: &SourceInfo) -> Option<String> {
    // Days of the cells, read twice without a copy of the column.
    let Far {
        count,
        first: far,
        low,
        high,
    } = match column.dtype() {
        DataType::Date => {
            let d = column.date().ok()?.physical();
            if d.null_count() == 0 {
                // The arrays' own values: iterating them is several times faster than `iter()`.
                let arrays: Vec<&[i32]> =
                    d.downcast_iter().map(|a| a.values().as_slice()).collect();
                far_days(d.len(), || {
                    arrays
                        .iter()
                        .flat_map(|a| a.iter().map(|&d| Some(i64::from(d))))
                })?
            } else {
                far_days(d.len(), || d.iter().map(|d| d.map(i64::from)))?
            }
        }
        DataType::Datetime(_, _) => {
            let ms = column.datetime().ok()?.physical();
            far_days(ms.len(), || {
                ms.iter().map(|ms| ms.map(|ms| ms.div_euclid(86_400_000)))
            })?
        }
        _ => return None,
    };
    let show = |d: i64| crate::day::iso(d.clamp(i32::MIN as i64, i32::MAX as i64) as i32);
    let listed: Vec<String> = far
        .iter()
        .map(|&(i, d)| format!("row {} ({})", info.row_number(i), show(d)))
        .collect();
    Some(format!(
        "{}: {} {} value{} in {:?} {} far outside the rest ({} … {}): {}{}; \
         the analysis date follows the latest date unless --as-of is given",
        info.display,
        count,
        binding.role,
        if count == 1 { "" } else { "s" },
        binding.header,
        if count == 1 { "lies" } else { "lie" },
        show(low),
        show(high),
        listed.join(", "),
        if count > 5 { ", …" } else { "" }
    ))
}

/// The far days of a column of `n` days (see [`FAR_DAYS`]): how many, the first five with their
/// rows, and the range of the others; None when none is far (or too few days to judge).
fn far_days<I: Iterator<Item = Option<i64>>>(n: usize, days: impl Fn() -> I) -> Option<Far> {
    // Median and median absolute deviation of an evenly spaced sample of at most 100,000
    // values: cheap, and the same on every run.
    let step = (n / 100_000).max(1);
    let mut sample: Vec<i64> = days().step_by(step).flatten().collect();
    if sample.len() < 2 {
        return None;
    }
    sample.sort_unstable();
    let median = sample[sample.len() / 2];
    let mut deviation: Vec<i64> = sample.iter().map(|d| (d - median).abs()).collect();
    deviation.sort_unstable();
    let reach = FAR_DAYS + 10 * deviation[deviation.len() / 2];
    let (low, high) = (median - reach, median + reach);
    let mut far: Vec<(usize, i64)> = Vec::new();
    let mut count = 0usize;
    let (mut lo_in, mut hi_in) = (i64::MAX, i64::MIN);
    for (i, d) in days().enumerate() {
        let Some(d) = d else { continue };
        if d < low || d > high {
            count += 1;
            if far.len() < 5 {
                far.push((i, d));
            }
        } else {
            lo_in = lo_in.min(d);
            hi_in = hi_in.max(d);
        }
    }
    (count > 0).then_some(Far {
        count,
        first: far,
        low: lo_in,
        high: hi_in,
    })
}

/// What [`far_days`] finds.
struct Far {
    count: usize,
    /// The first five far days, with their positions.
    first: Vec<(usize, i64)>,
    /// The range of the days not far.
    low: i64,
    high: i64,
}

/// A share as a percentage with one decimal (`24.9%`).
fn percent(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}
