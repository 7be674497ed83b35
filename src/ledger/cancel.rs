//! Invoice cancellations (docs/metrics.md, "Invoice cancellations"): the step before the
//! purchase rule that gives a cancellation row the order it cancels.
//!
//! Retail and ERP exports record a cancellation as its own invoice whose number carries a
//! prefix (`C536379`) and whose lines have negative quantities. Left alone, such an invoice is a
//! refund-only order of its own and the order it cancels stays a full purchase. Here:
//! 1. the prefix is a cancellation marker when order IDs of the form `C` + digits sit beside
//!    plain numeric ones (a file whose IDs all start with `C` has no marker);
//! 2. a cancellation row is a refund (its amount counts negative whatever its sign);
//! 3. it is netted against the customer's order with the same number without the prefix, when
//!    there is one; otherwise against the customer's latest order, issued at or before the
//!    cancellation (to the second when the export has times of day, by day otherwise), with a
//!    positive line of the same product (when the export names products);
//!    otherwise it stays a refund of its own, on its own date.
//!
//! Linking only rewrites the row's order ID and status; the netting itself is the purchase
//! rule's (steps 3–5 of [`crate::ledger`]).

use std::collections::HashMap;

use anyhow::Result;
use polars::prelude::*;

use crate::input::values::OrderStatus;

/// An order row's moment: (day, milliseconds since midnight; 0 when the export has no times).
type Instant = (i32, i32);

/// How the cancellation rows of a file were linked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cancellations {
    pub rows: usize,
    /// Netted against the order of the same number without the prefix.
    pub by_number: usize,
    /// Netted against the customer's latest order of the same product issued at or before it.
    pub by_product: usize,
    /// Left as refunds of their own.
    pub unlinked: usize,
}

/// The number a cancellation ID cancels: `C536379` → `536379`.
fn cancelled_number(id: &str) -> Option<&str> {
    let rest = id.strip_prefix('C').or_else(|| id.strip_prefix('c'))?;
    (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())).then_some(rest)
}

/// What decides whether a file's `C` prefix marks cancellations (rule 1): cancellation-form IDs
/// and plain numeric IDs, both present. Kept per piece and added up when a file is read in
/// pieces, so that every piece is linked by the decision of the whole file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Marker {
    pub cancellation_ids: bool,
    pub plain_numbers: bool,
}

impl Marker {
    /// The IDs of an orders frame (canonical columns).
    pub fn of(df: &DataFrame) -> Result<Marker> {
        let mut marker = Marker::default();
        let Ok(order_col) = df.column("order_id") else {
            return Ok(marker);
        };
        let ids = order_col.str()?;
        let slices = crate::input::coerce::par_slices(ids.len(), 1 << 20, |offset, len| {
            let mut m = Marker::default();
            for id in ids.slice(offset as i64, len).iter().flatten() {
                if cancelled_number(id).is_some() {
                    m.cancellation_ids = true;
                } else if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
                    m.plain_numbers = true;
                }
                if m.marks() {
                    break;
                }
            }
            m
        });
        slices.into_iter().for_each(|m| marker.add(m));
        Ok(marker)
    }

    pub fn add(&mut self, other: Marker) {
        self.cancellation_ids |= other.cancellation_ids;
        self.plain_numbers |= other.plain_numbers;
    }

    /// The prefix marks cancellations.
    pub fn marks(self) -> bool {
        self.cancellation_ids && self.plain_numbers
    }
}

impl Cancellations {
    pub fn add(&mut self, other: Cancellations) {
        self.rows += other.rows;
        self.by_number += other.by_number;
        self.by_product += other.by_product;
        self.unlinked += other.unlinked;
    }
}

/// Links the cancellation rows of an orders frame (canonical columns) to the orders they
/// cancel, rewriting `order_id` and `status`; `None` when the file has no cancellation marker.
pub fn link(df: &mut DataFrame) -> Result<Option<Cancellations>> {
    let marker = Marker::of(df)?;
    link_marked(df, marker)
}

/// [`link`] with the marker decided beforehand (over every piece of a file): the frame holds
/// all the rows of its customers, not necessarily the IDs that decide the marker.
pub fn link_marked(df: &mut DataFrame, marker: Marker) -> Result<Option<Cancellations>> {
    if !marker.marks() {
        return Ok(None);
    }
    let Ok(order_col) = df.column("order_id") else {
        return Ok(None);
    };
    let order_ids = order_col.str()?.clone();
    let cancellations: Vec<usize> = order_ids
        .iter()
        .enumerate()
        .filter(|(_, id)| id.is_some_and(|id| cancelled_number(id).is_some()))
        .map(|(i, _)| i)
        .collect();
    if cancellations.is_empty() {
        return Ok(Some(Cancellations::default()));
    }
    let customers = df.column("customer_id")?.str()?.clone();
    let days = df.column("order_date")?.date()?.physical().clone();
    // Order rows at their time of day when the export has one (midnight otherwise): a
    // cancellation joins only an order issued at or before it.
    let times = match df.column(crate::input::ORDER_TIME) {
        Ok(c) => Some(c.i32()?.clone()),
        Err(_) => None,
    };
    let when = |i: usize| -> Option<Instant> {
        let time = times.as_ref().and_then(|t| t.get(i)).unwrap_or(0);
        Some((days.get(i)?, time))
    };
    let amounts = df.column("amount")?.cast(&DataType::Int64)?;
    let amounts = amounts.i64()?;
    let products = match df.column("product") {
        Ok(c) => Some(c.str()?.clone()),
        Err(_) => None,
    };
    // What the customers with a cancellation bought: their order numbers, and per product
    // the orders with a positive line (day, order ID).
    let with_cancellation: std::collections::HashSet<&str> = cancellations
        .iter()
        .filter_map(|&i| customers.get(i))
        .collect();
    let is_cancellation = {
        let mut mask = vec![false; df.height()];
        for &i in &cancellations {
            mask[i] = true;
        }
        mask
    };
    let mut numbers: std::collections::HashSet<(&str, &str)> = Default::default();
    // (customer, product) → the orders with a positive line: (when, order ID).
    let mut bought: HashMap<(&str, &str), Vec<(Instant, &str)>> = HashMap::new();
    for (i, &cancellation) in is_cancellation.iter().enumerate() {
        if cancellation {
            continue;
        }
        let (Some(customer), Some(order)) = (customers.get(i), order_ids.get(i)) else {
            continue;
        };
        if !with_cancellation.contains(customer) {
            continue;
        }
        numbers.insert((customer, order));
        if let (Some(products), Some(at), Some(amount)) = (&products, when(i), amounts.get(i)) {
            if let Some(product) = products.get(i).filter(|_| amount > 0) {
                bought
                    .entry((customer, product))
                    .or_default()
                    .push((at, order));
            }
        }
    }
    for orders in bought.values_mut() {
        orders.sort_unstable();
    }
    let mut stats = Cancellations {
        rows: cancellations.len(),
        ..Cancellations::default()
    };
    let mut new_ids: Vec<Option<String>> =
        order_ids.iter().map(|s| s.map(str::to_string)).collect();
    for &i in &cancellations {
        let (Some(customer), Some(id)) = (customers.get(i), order_ids.get(i)) else {
            continue;
        };
        let number = cancelled_number(id).unwrap_or(id);
        if numbers.contains(&(customer, number)) {
            new_ids[i] = Some(number.to_string());
            stats.by_number += 1;
            continue;
        }
        let earlier = match (&products, when(i)) {
            (Some(products), Some(at)) => products.get(i).and_then(|product| {
                let orders = bought.get(&(customer, product))?;
                // The latest order issued at or before the cancellation (to the millisecond
                // when the export has times, by day otherwise; the greatest (day, time, ID) of
                // those: a stated tie rule).
                let n = orders.partition_point(|&(t, _)| t <= at);
                n.checked_sub(1).map(|k| orders[k].1)
            }),
            _ => None,
        };
        match earlier {
            Some(order) => {
                new_ids[i] = Some(order.to_string());
                stats.by_product += 1;
            }
            None => stats.unlinked += 1,
        }
    }
    let refunded = OrderStatus::Refunded.code();
    let status: UInt32Chunked = match df.column("status") {
        Ok(c) => c
            .u32()?
            .iter()
            .zip(&is_cancellation)
            .map(|(s, &c)| if c { Some(refunded) } else { s })
            .collect(),
        Err(_) => is_cancellation
            .iter()
            .map(|&c| {
                Some(if c {
                    refunded
                } else {
                    OrderStatus::Paid.code()
                })
            })
            .collect(),
    };
    let new_ids =
        StringChunked::from_iter_options(PlSmallStr::from_static("order_id"), new_ids.into_iter());
    df.with_column(new_ids.into_column())?;
    df.with_column(
        status
            .with_name(PlSmallStr::from_static("status"))
            .into_column(),
    )?;
    Ok(Some(stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancellation_numbers() {
        assert_eq!(cancelled_number("C536379"), Some("536379"));
        assert_eq!(cancelled_number("c12"), Some("12"));
        assert_eq!(cancelled_number("C"), None);
        assert_eq!(cancelled_number("CX12"), None);
        assert_eq!(cancelled_number("536379"), None);
    }

    type Row = (&'static str, &'static str, i32, i64, &'static str);

    fn frame(rows: &[Row]) -> DataFrame {
        let col = |f: fn(&Row) -> &'static str, name: &str| {
            Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
        };
        DataFrame::new_infer_height(vec![
            col(|r| r.0, "customer_id"),
            col(|r| r.1, "order_id"),
            Column::new(
                "order_date".into(),
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )
            .cast(&DataType::Date)
            .unwrap(),
            Column::new(
                "amount".into(),
                rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            ),
            col(|r| r.4, "product"),
        ])
        .unwrap()
    }

    #[test]
    fn linked_by_number_then_by_product_else_alone() {
        let mut df = frame(&[
            ("a", "100", 1, 50, "x"),
            ("a", "C100", 3, -20, "x"), // same number
            ("a", "101", 2, 30, "y"),
            ("a", "102", 4, 30, "y"),
            ("a", "C900", 3, -10, "y"), // product y, latest on or before day 3: 101
            ("b", "C100", 3, -5, "x"),  // b never bought: unlinked
            ("a", "C901", 0, -5, "y"),  // before any purchase of y: unlinked
        ]);
        let stats = link(&mut df).unwrap().unwrap();
        assert_eq!(
            stats,
            Cancellations {
                rows: 4,
                by_number: 1,
                by_product: 1,
                unlinked: 2
            }
        );
        let ids: Vec<&str> = df
            .column("order_id")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|s| s.unwrap())
            .collect();
        assert_eq!(ids, ["100", "100", "101", "102", "101", "C100", "C901"]);
        let status: Vec<u32> = df
            .column("status")
            .unwrap()
            .u32()
            .unwrap()
            .iter()
            .map(|s| s.unwrap())
            .collect();
        assert_eq!(status, [0, 1, 0, 0, 1, 1, 1]);
    }

    #[test]
    fn ids_that_all_start_with_c_are_no_marker() {
        let mut df = frame(&[("a", "C1", 1, 5, "x"), ("a", "C2", 2, 5, "x")]);
        assert_eq!(link(&mut df).unwrap(), None);
    }
}
