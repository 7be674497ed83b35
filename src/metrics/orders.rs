//! Order semantics shared by every metric: which rows are orders, what they are worth net of
//! refunds, and which orders are purchases (SPEC.md, "RFM" and "Inputs").

use anyhow::{anyhow, Result};
use polars::prelude::*;

/// Net amount of an order row: refunds count negative whatever sign the export used.
pub fn net_amount_expr(has_status: bool) -> Expr {
    signed_expr(col("amount"), has_status)
}

/// `value` negated on refund rows when the export wrote it positive.
pub fn signed_expr(value: Expr, has_status: bool) -> Expr {
    if has_status {
        when(
            col("status")
                .eq(lit("refunded"))
                .and(value.clone().gt(lit(0.0))),
        )
        .then(lit(0.0) - value.clone())
        .otherwise(value)
    } else {
        value
    }
}

/// Rows that are orders at all: cancelled and unpaid rows are not.
pub fn counted_rows_expr(has_status: bool) -> Expr {
    if has_status {
        col("status")
            .is_null()
            .or(col("status").eq(lit("paid")))
            .or(col("status").eq(lit("refunded")))
    } else {
        lit(true)
    }
}

/// Net amount of every row: 0 for rows that are not orders (cancelled, unpaid).
pub fn row_net_expr(has_status: bool) -> Expr {
    when(counted_rows_expr(has_status))
        .then(net_amount_expr(has_status))
        .otherwise(lit(0.0))
        .alias("net")
}

/// One row per order: customer_id, net (sum of its rows), and purchase_date — the date of its first
/// positive row when the order's net is positive (a purchase), else null.
///
/// With an `order_id` column, refund rows of the same order net against it, so a fully refunded
/// order is no purchase; without one, every row is its own order.
pub fn order_level(orders: LazyFrame, has_order_id: bool, has_status: bool) -> LazyFrame {
    let rows = orders.select([
        col("customer_id"),
        col("order_date"),
        row_net_expr(has_status),
        if has_order_id {
            col("order_id")
        } else {
            lit(NULL).alias("order_id")
        },
    ]);
    let per_order = if has_order_id {
        rows.with_column(positive_date("net", "order_date"))
            .group_by([col("customer_id"), col("order_id")])
            .agg([
                col("net").sum().alias("net"),
                col("purchase_date").min().alias("order_date"),
            ])
    } else {
        rows
    };
    per_order.with_column(positive_date("net", "order_date"))
}

/// Like [`order_level`], for the CLV models: a zero-amount order that was never refunded (a free
/// item, a 0.00 line in CDNOW) is a purchase with no spend, because the published CLV estimates
/// count it; a fully refunded or cancelled order is still no purchase. Columns: customer_id, net,
/// purchase_date (null when no purchase), free (a zero-amount purchase).
pub fn order_level_with_free(orders: LazyFrame, has_order_id: bool, has_status: bool) -> LazyFrame {
    let rows = orders.select([
        col("customer_id"),
        col("order_date"),
        row_net_expr(has_status),
        counted_rows_expr(has_status)
            .cast(DataType::Int32)
            .alias("counted"),
        (row_net_expr(has_status).lt(lit(0.0)))
            .cast(DataType::Int32)
            .alias("refunds"),
        if has_order_id {
            col("order_id")
        } else {
            lit(NULL).alias("order_id")
        },
    ]);
    let per_order = if has_order_id {
        rows.with_column(positive_date("net", "order_date").alias("positive_date"))
            .group_by([col("customer_id"), col("order_id")])
            .agg([
                col("net").sum().alias("net"),
                col("positive_date").min().alias("positive_date"),
                col("order_date").min().alias("order_date"),
                col("counted").sum().alias("counted"),
                col("refunds").sum().alias("refunds"),
            ])
    } else {
        rows.with_column(col("order_date").alias("positive_date"))
    };
    let free = col("net")
        .eq(lit(0.0))
        .and(col("counted").gt(lit(0)))
        .and(col("refunds").eq(lit(0)));
    per_order.select([
        col("customer_id"),
        col("net"),
        when(col("net").gt(lit(0.0)))
            .then(col("positive_date"))
            .when(free.clone())
            .then(col("order_date"))
            .otherwise(lit(NULL).cast(DataType::Date))
            .alias("purchase_date"),
        free.alias("free"),
    ])
}

/// `date` where `net` is positive (a purchase), else null.
fn positive_date(net: &str, date: &str) -> Expr {
    when(col(net).gt(lit(0.0)))
        .then(col(date))
        .otherwise(lit(NULL).cast(DataType::Date))
        .alias("purchase_date")
}

/// The default analysis date: the day after the latest order date (so reruns agree).
pub fn default_as_of(orders: &DataFrame) -> Result<Option<i32>> {
    let dates = orders
        .column("order_date")?
        .as_materialized_series()
        .date()?
        .physical()
        .clone();
    Ok(dates.max().map(|d| d + 1))
}

/// Order rows dated before `as_of` (days since 1970-01-01), and how many were left out.
pub fn before_as_of(orders: &DataFrame, as_of: i32) -> Result<(LazyFrame, usize)> {
    let after = orders
        .column("order_date")?
        .as_materialized_series()
        .date()?
        .physical()
        .iter()
        .filter(|d| d.is_some_and(|d| d >= as_of))
        .count();
    let kept = orders
        .clone()
        .lazy()
        .filter(col("order_date").lt(lit(as_of).cast(DataType::Date)));
    Ok((kept, after))
}

/// Collects on the streaming engine, which aggregates in parallel partitions; on 10 million
/// rows it is about twice as fast as the in-memory one here (bench/rfm.py).
pub fn collect(lf: LazyFrame) -> PolarsResult<DataFrame> {
    Ok(lf.collect_with_engine(Engine::Streaming)?.unwrap_single())
}

/// `--as-of` when given, else the day after the latest order date.
pub fn resolve_as_of(orders: &DataFrame, as_of: Option<i32>) -> Result<i32> {
    match as_of {
        Some(d) => Ok(d),
        None => default_as_of(orders)?.ok_or_else(|| anyhow!("the orders table has no rows")),
    }
}

pub fn has_column(df: &DataFrame, name: &str) -> bool {
    df.get_column_names().iter().any(|c| c.as_str() == name)
}

/// A text column as string slices (null as "").
pub fn str_values<'a>(df: &'a DataFrame, name: &str) -> Result<Vec<&'a str>> {
    Ok(df
        .column(name)?
        .str()?
        .iter()
        .map(|s| s.unwrap_or_default())
        .collect())
}

/// A Date column as days since 1970-01-01.
pub fn day_values(df: &DataFrame, name: &str) -> Result<Vec<Option<i32>>> {
    Ok(df.column(name)?.date()?.physical().iter().collect())
}

/// A list column flattened: every row's values in one single-chunk Series, row `g` holding
/// `offsets[g] .. offsets[g + 1]`. Reads list aggregates without building a Series per row.
pub fn flatten_list(column: &Column) -> Result<(Vec<usize>, Series)> {
    let list = column.list()?.rechunk();
    let Some(array) = list.downcast_iter().next() else {
        return Ok((
            vec![0],
            Series::new_empty(PlSmallStr::EMPTY, &DataType::Null),
        ));
    };
    let first = *array.offsets().first() as usize;
    let last = *array.offsets().last() as usize;
    // The values buffer may hold more than this array's rows (a sliced array): keep only theirs.
    let inner = Series::try_from((PlSmallStr::EMPTY, array.values().clone()))?
        .slice(first as i64, last - first)
        .rechunk();
    let offsets = array
        .offsets()
        .iter()
        .map(|&o| o as usize - first)
        .collect();
    Ok((offsets, inner))
}

/// The values of a numeric list column, nulls read as 0, one slice per row.
pub struct ListValues<T: PolarsNumericType> {
    offsets: Vec<usize>,
    values: Vec<T::Native>,
}

impl<T: PolarsNumericType> ListValues<T> {
    pub fn new(column: &Column) -> Result<ListValues<T>> {
        let (offsets, inner) = flatten_list(column)?;
        let inner = inner.cast(&T::get_static_dtype())?;
        let values = inner
            .unpack::<T>()?
            .iter()
            .map(|v| v.unwrap_or_default())
            .collect();
        Ok(ListValues { offsets, values })
    }

    pub fn get(&self, row: usize) -> &[T::Native] {
        &self.values[self.offsets[row]..self.offsets[row + 1]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_values_of_a_sliced_list_column() {
        let rows = Series::new(
            "l".into(),
            [
                Series::new("".into(), [1i32, 2]),
                Series::new("".into(), [3i32]),
                Series::new("".into(), [4i32, 5, 6]),
            ],
        );
        // Skipping the first row leaves the values buffer with the first row's values in front.
        let sliced = rows.slice(1, 2).into_column();
        let v = ListValues::<Int32Type>::new(&sliced).unwrap();
        assert_eq!(v.get(0), [3]);
        assert_eq!(v.get(1), [4, 5, 6]);
        let whole = ListValues::<Int32Type>::new(&rows.into_column()).unwrap();
        assert_eq!(whole.get(0), [1, 2]);
    }
}
