//! The purchase rule applied to one customer's order rows (docs/metrics.md, "Orders and
//! purchases"; the steps are listed in the module documentation of [`crate::ledger`]).

use std::cmp::Ordering;

use super::group::{Entry, Key, NOT_ORDER, NULL_DAY, REFUNDED};
use super::{Block, LedgerError, LedgerStats, NO_OWNER};
use crate::day::Day;
use crate::money::Money;

/// The per-row columns the rule reads by row number (only when the orders have them).
pub(super) struct RowExtras {
    pub margin: Option<Vec<i64>>,
    pub owner: Option<Vec<u32>>,
}

/// One block under construction, with its counts.
#[derive(Default)]
pub(super) struct Part {
    pub block: Block,
    pub stats: LedgerStats,
    pub error: Option<LedgerError>,
}

/// One kept row of a customer.
#[derive(Clone, Copy)]
struct Row {
    order: Key,
    day: i32,
    net: i64,
    margin: i64,
    refund: bool,
    owner: u32,
    row: u32,
}

/// Reused buffers of [`customer`].
#[derive(Default)]
pub(super) struct Scratch {
    rows: Vec<Row>,
    order: Vec<u32>,
    purchases: Vec<(i32, Money, Money, u32)>,
    /// Always take the general path (tests compare it with the clean-export shortcut).
    general_only: bool,
}

impl Scratch {
    pub fn new(general_only: bool) -> Scratch {
        Scratch {
            general_only,
            ..Scratch::default()
        }
    }
}

/// Applies the purchase rule to one customer's rows (in row order), appending the customer to
/// the part's block. `arena` holds the bytes of long order IDs.
pub(super) fn customer(
    extras: &RowExtras,
    entries: &[Entry],
    arena: &[u8],
    as_of: Day,
    s: &mut Scratch,
    part: &mut Part,
) {
    let b = &mut part.block;
    s.rows.clear();
    let mut dated_before_as_of = false;
    for e in entries {
        if e.day == NULL_DAY {
            continue;
        }
        // 1. Rows on or after as_of have not happened yet.
        if e.day >= as_of.days() {
            part.stats.rows_after_as_of += 1;
            continue;
        }
        dated_before_as_of = true;
        // 2. Cancelled and unpaid rows are not order rows.
        let status = e.status();
        if status == NOT_ORDER {
            part.stats.rows_not_orders += 1;
            continue;
        }
        // 3. A refunded row with a positive amount counts negative.
        let sign = |v: i64| if status == REFUNDED && v > 0 { -v } else { v };
        let net = sign(e.amount);
        let r = e.row() as usize;
        s.rows.push(Row {
            order: e.order,
            day: e.day,
            net,
            margin: extras.margin.as_ref().map_or(0, |m| sign(m[r])),
            refund: status == REFUNDED || net < 0,
            owner: extras.owner.as_ref().map_or(NO_OWNER, |o| o[r]),
            row: e.row(),
        });
    }
    let mut overflow = None;
    // Money movements: every order row on its own date, merged per day.
    s.rows.sort_by_key(|x| x.day);
    let mut refunded = 0i64;
    for (i, x) in s.rows.iter().enumerate() {
        if x.net < 0 {
            refunded = refunded.saturating_sub(x.net);
        }
        if i > 0 && s.rows[i - 1].day == x.day {
            let last = b.movement_net.len() - 1;
            match b.movement_net[last].0.checked_add(x.net) {
                Some(v) => b.movement_net[last] = Money(v),
                None => overflow = Some(x.row as usize),
            }
            if extras.margin.is_some() {
                b.movement_margin[last].0 = b.movement_margin[last].0.saturating_add(x.margin);
            }
        } else {
            b.movement_day.push(x.day);
            b.movement_net.push(Money(x.net));
            if extras.margin.is_some() {
                b.movement_margin.push(Money(x.margin));
            }
        }
    }
    b.movement_end.push(b.movement_day.len() as u32);
    b.refunded.push(Money(refunded));
    s.purchases.clear();
    if !s.general_only && each_row_its_own_order(&s.rows, arena) {
        // Steps 4 and 5 when they change nothing (a clean export: no refund, no negative row, no
        // order ID twice): every row is an order of its own, and a purchase — positive, or free
        // and never refunded — dated by its own day.
        part.stats.orders += s.rows.len();
        for x in &s.rows {
            part.stats.free_purchases += usize::from(x.net == 0);
            s.purchases
                .push((x.day, Money(x.net), Money(x.margin), x.owner));
        }
    } else {
        orders_to_purchases(s, arena, &mut part.stats, &mut overflow);
    }
    // Same-day purchases in a fixed order: by net, then margin, then owner in byte order (codes
    // are in byte order of the names), no owner last.
    s.purchases.sort_unstable();
    part.stats.purchases += s.purchases.len();
    if s.purchases.is_empty() && dated_before_as_of {
        part.stats.customers_without_purchase += 1;
    }
    for &(day, net, margin, owner) in &s.purchases {
        b.purchase_day.push(day);
        b.purchase_net.push(net);
        if extras.margin.is_some() {
            b.purchase_margin.push(margin);
        }
        if extras.owner.is_some() {
            b.purchase_owner.push(owner);
        }
    }
    b.purchase_end.push(b.purchase_day.len() as u32);
    if let Some(row) = overflow {
        part.error.get_or_insert(LedgerError::Overflow { row });
    }
}

/// Steps 4 and 5 of the rule: the rows of one order ID together (rows without one each alone),
/// netted; an order is a purchase when its net is positive (dated by its earliest positive row)
/// or zero and never refunded (a free order, dated by its earliest row).
fn orders_to_purchases(
    s: &mut Scratch,
    arena: &[u8],
    stats: &mut LedgerStats,
    overflow: &mut Option<usize>,
) {
    // 4. The rows of one order ID together (rows without one each alone), in row order.
    s.order.clear();
    s.order.extend(0..s.rows.len() as u32);
    let rows = &s.rows;
    s.order.sort_unstable_by(|&a, &b| {
        let (x, y) = (&rows[a as usize], &rows[b as usize]);
        let by_order = if x.order.is_empty() && y.order.is_empty() {
            Ordering::Equal
        } else {
            x.order.group_cmp(&y.order, arena)
        };
        by_order.then(x.row.cmp(&y.row))
    });
    let same_order = |x: &Row, y: &Row| !x.order.is_empty() && x.order.same(&y.order, arena);
    let mut start = 0;
    while start < s.order.len() {
        let first = &rows[s.order[start] as usize];
        let mut end = start + 1;
        while end < s.order.len() && same_order(first, &rows[s.order[end] as usize]) {
            end += 1;
        }
        let (mut net, mut margin, mut refund) = (0i64, 0i64, false);
        let mut dated: Option<Row> = None; // earliest positive row
        let mut earliest: Option<Row> = None;
        for &i in &s.order[start..end] {
            let x = rows[i as usize];
            match net.checked_add(x.net) {
                Some(v) => net = v,
                None => *overflow = Some(x.row as usize),
            }
            margin = margin.saturating_add(x.margin);
            refund |= x.refund;
            if x.net > 0 && dated.is_none_or(|d| (x.day, x.row) < (d.day, d.row)) {
                dated = Some(x);
            }
            if earliest.is_none_or(|d| (x.day, x.row) < (d.day, d.row)) {
                earliest = Some(x);
            }
        }
        stats.orders += 1;
        // 5. A purchase: positive net, dated by its earliest positive row; or zero net and never
        // refunded (a free order), dated by its earliest row.
        let purchase = if net > 0 {
            dated
        } else if net == 0 && !refund {
            stats.free_purchases += 1;
            earliest
        } else {
            None
        };
        match purchase {
            Some(row) => s
                .purchases
                .push((row.day, Money(net), Money(margin), row.owner)),
            None => stats.orders_not_purchases += 1,
        }
        start = end;
    }
}

/// Whether steps 4 and 5 would leave every row an order and a purchase of its own: no refund and
/// no negative row, and no order ID on two rows (rows without one are alone anyway). Pairwise
/// for a customer's few rows; sorted beyond [`PAIRWISE`].
fn each_row_its_own_order(rows: &[Row], arena: &[u8]) -> bool {
    if rows.iter().any(|x| x.refund) {
        return false;
    }
    let keyed = |x: &&Row| !x.order.is_empty();
    if rows.len() <= PAIRWISE {
        for (i, x) in rows.iter().enumerate().filter(|(_, x)| keyed(x)) {
            if rows[i + 1..]
                .iter()
                .filter(keyed)
                .any(|y| x.order.same(&y.order, arena))
            {
                return false;
            }
        }
        return true;
    }
    let mut keys: Vec<&Key> = rows.iter().filter(keyed).map(|x| &x.order).collect();
    keys.sort_unstable_by(|a, b| a.group_cmp(b, arena));
    keys.windows(2).all(|w| !w[0].same(w[1], arena))
}

/// Rows of one customer up to which [`each_row_its_own_order`] compares pairs.
const PAIRWISE: usize = 32;
