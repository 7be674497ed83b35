//! The purchase ledger: the one place that decides which order rows are purchases
//! (docs/metrics.md, "Orders and purchases"), built once per run and read by every order-based
//! command.
//!
//! The rule, in the order it is applied (each step has a worked example in the definitions
//! document):
//! 1. rows dated on or after `as_of` have not happened yet and are left out;
//! 2. a row whose status is `cancelled` or `unpaid` is not an order row; every other row is;
//! 3. a row's *net* is its amount, negated when the status is `refunded` and the amount positive;
//!    a *refund row* is one with status `refunded` or a negative net;
//! 4. the rows of a customer that share an `order_id` are one order; a row without an order ID
//!    (or a file without the column) is an order of its own;
//! 5. an order is a *purchase* when its net is positive, dated by its earliest positive row; or
//!    when its net is zero and it has no refund row (a free order: a purchase with no spend),
//!    dated by its earliest row; any other order (fully refunded, refund-only) is no purchase;
//! 6. a *purchase day* is a day with at least one purchase; its spend is the sum of their nets.
//!
//! Money movements are kept apart from purchases: every order row's net counts on its own date
//! (a refund dated in March lowers March's revenue), merged per customer and day.
//!
//! Layout: customers get dense codes in ascending order of their ID (byte order), the ID string
//! kept once; per customer, purchases and movements sit in contiguous arrays addressed by
//! offsets, sorted by day. Rows are grouped by customer in partitions of the ID's hash
//! ([`group`]); the rule then runs over blocks of consecutive codes, one block per worker, so
//! every reader of the ledger walks its arrays in order.

pub mod cancel;
mod group;
mod rule;

use anyhow::{anyhow, bail, Result};
use polars::prelude::*;
use rayon::prelude::*;

use crate::day::Day;
use crate::money::Money;
use group::{GroupScratch, RowColumns, StatusColumn};
use rule::{Part, RowExtras};

/// Customers per block (and per parallel work item of the rule).
const BLOCK: usize = 16_384;

/// Code of "no owner" in [`Ledger::purchase_owners`].
pub const NO_OWNER: u32 = u32::MAX;

/// Counts the notes on stderr report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerStats {
    pub rows: usize,
    /// Rows dated on or after `as_of`.
    pub rows_after_as_of: usize,
    /// Cancelled and unpaid rows (not orders).
    pub rows_not_orders: usize,
    pub orders: usize,
    pub purchases: usize,
    /// Purchases with zero net (never refunded).
    pub free_purchases: usize,
    /// Orders that are no purchase: fully refunded, refund-only or negative.
    pub orders_not_purchases: usize,
    /// Customers with rows before `as_of` (cancelled ones too) but no purchase.
    pub customers_without_purchase: usize,
}

impl LedgerStats {
    /// Adds the counts of another part of the rows (`rows` is set once, by the caller).
    pub fn add(&mut self, other: &LedgerStats) {
        self.rows_after_as_of += other.rows_after_as_of;
        self.rows_not_orders += other.rows_not_orders;
        self.orders += other.orders;
        self.purchases += other.purchases;
        self.free_purchases += other.free_purchases;
        self.orders_not_purchases += other.orders_not_purchases;
        self.customers_without_purchase += other.customers_without_purchase;
    }
}

/// What went wrong while building, with the 0-based row of the frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerError {
    /// A customer's net, or a day's, passes what an exact amount can hold.
    Overflow { row: usize },
}

/// See [`Ledger::buyer_summary`].
pub struct Buyers {
    pub codes: Vec<usize>,
    pub first: Vec<i32>,
    pub last: Vec<i32>,
    pub purchases: Vec<i64>,
}

/// The ledger of up to [`BLOCK`] consecutive customer codes: built by one worker and read in
/// place, so the blocks never need concatenating. Offsets are local to the block: customer `i` of the block owns
/// `end[i - 1] .. end[i]` (`0 .. end[0]` for the first).
#[derive(Debug, Clone, Default)]
struct Block {
    purchase_end: Vec<u32>,
    purchase_day: Vec<i32>,
    purchase_net: Vec<Money>,
    /// Empty when the orders have no margin.
    purchase_margin: Vec<Money>,
    /// Empty when the orders have no owner.
    purchase_owner: Vec<u32>,
    movement_end: Vec<u32>,
    movement_day: Vec<i32>,
    movement_net: Vec<Money>,
    movement_margin: Vec<Money>,
    /// Per customer: the refunds' total, as a positive amount.
    refunded: Vec<Money>,
}

impl Block {
    /// An empty block with room for `customers`, their `purchases` and `movements` (margins and
    /// owners when the rows carry them).
    fn with_capacity(
        customers: usize,
        purchases: usize,
        movements: usize,
        extras: &RowExtras,
    ) -> Block {
        let (margin, owner) = (extras.margin.is_some(), extras.owner.is_some());
        let if_ = |yes: bool, n: usize| if yes { n } else { 0 };
        Block {
            purchase_end: Vec::with_capacity(customers),
            purchase_day: Vec::with_capacity(purchases),
            purchase_net: Vec::with_capacity(purchases),
            purchase_margin: Vec::with_capacity(if_(margin, purchases)),
            purchase_owner: Vec::with_capacity(if_(owner, purchases)),
            movement_end: Vec::with_capacity(customers),
            movement_day: Vec::with_capacity(movements),
            movement_net: Vec::with_capacity(movements),
            movement_margin: Vec::with_capacity(if_(margin, movements)),
            refunded: Vec::with_capacity(customers),
        }
    }

    /// Appends customer `i` of `src` (margins and owners when `src` has them).
    fn push_customer(&mut self, src: &Block, i: usize) {
        let p = span(&src.purchase_end, i);
        self.purchase_day
            .extend_from_slice(&src.purchase_day[p.clone()]);
        self.purchase_net
            .extend_from_slice(&src.purchase_net[p.clone()]);
        if !src.purchase_margin.is_empty() {
            self.purchase_margin
                .extend_from_slice(&src.purchase_margin[p.clone()]);
        }
        if !src.purchase_owner.is_empty() {
            self.purchase_owner
                .extend_from_slice(&src.purchase_owner[p]);
        }
        self.purchase_end.push(self.purchase_day.len() as u32);
        let m = span(&src.movement_end, i);
        self.movement_day
            .extend_from_slice(&src.movement_day[m.clone()]);
        self.movement_net
            .extend_from_slice(&src.movement_net[m.clone()]);
        if !src.movement_margin.is_empty() {
            self.movement_margin
                .extend_from_slice(&src.movement_margin[m]);
        }
        self.movement_end.push(self.movement_day.len() as u32);
        self.refunded.push(src.refunded[i]);
    }
}

fn span(end: &[u32], i: usize) -> std::ops::Range<usize> {
    let start = if i == 0 { 0 } else { end[i - 1] };
    start as usize..end[i] as usize
}

#[derive(Debug, Clone, Default)]
pub struct Ledger {
    /// Customer IDs in ascending order; the code of a customer is its position.
    ids: StringChunked,
    pub as_of: Day,
    /// Customer `c` lives in block `c / BLOCK` at position `c % BLOCK`.
    blocks: Vec<Block>,
    has_margin: bool,
    has_owner: bool,
    /// Owner names of [`Ledger::purchase_owners`], in byte order.
    owner_names: Vec<String>,
    pub stats: LedgerStats,
}

impl Ledger {
    /// Builds the ledger of an orders table with canonical columns: customer_id, order_date
    /// (Date), amount (Money units, Int64), and optionally order_id, status, margin or cost
    /// (Money units) and owner. `as_of` defaults to the day after the latest order date.
    pub fn build(orders: &DataFrame, as_of: Option<Day>) -> Result<Ledger> {
        Ledger::from_frame(orders.clone(), as_of)
    }

    /// [`Ledger::build`] that takes the rows and frees them once they are in the partitions
    /// (the ledger's peak memory is then the rows or the partitions, not both for long).
    pub fn from_frame(orders: DataFrame, as_of: Option<Day>) -> Result<Ledger> {
        Ledger::from_frame_with(orders, as_of, false)
    }

    /// [`Ledger::from_frame`]; `general_only` never takes the rule's clean-export shortcut (the
    /// tests compare the two).
    fn from_frame_with(
        orders: DataFrame,
        as_of: Option<Day>,
        general_only: bool,
    ) -> Result<Ledger> {
        let watch = crate::diag::Stopwatch::new();
        let day = orders.column("order_date")?.date()?.physical().clone();
        let as_of = match as_of {
            Some(d) => d,
            None => day
                .max()
                .map(|d| Day::new(d) + 1)
                .ok_or_else(|| anyhow!("the orders table has no dated rows"))?,
        };
        let amount = orders
            .column("amount")
            .map_err(|_| anyhow!("no amount column"))?
            .cast(&DataType::Int64)?;
        let optional_str = |name: &str| -> Result<Option<&StringChunked>> {
            match orders.column(name) {
                Ok(c) => Ok(Some(c.str()?)),
                Err(_) => Ok(None),
            }
        };
        if orders.height() >= group::MAX_ROWS {
            bail!(
                "{} order rows: crm-eval numbers at most {} rows in one run; split the file by date",
                orders.height(),
                group::MAX_ROWS - 1
            );
        }
        let status = match orders.column("status") {
            Ok(c) if c.dtype() == &DataType::String => Some(StatusColumn::Words(c.str()?)),
            Ok(c) => Some(StatusColumn::Codes(c.u32()?)),
            Err(_) => None,
        };
        let partitions = group::scatter(&RowColumns {
            ids: orders.column("customer_id")?.str()?,
            day: &day,
            amount: amount.i64()?,
            status,
            order_ids: optional_str("order_id")?,
        });
        let (owner, owner_names) = owner_codes(&orders)?;
        let extras = RowExtras {
            margin: margin_values(&orders)?,
            owner,
        };
        let rows = orders.height();
        drop((amount, day, orders));
        watch.lap("  ledger: rows to partitions");
        // Each partition: its customers grouped, then the purchase rule on each, in cache.
        let parts: Vec<(Part, Vec<group::Key>, Vec<u8>)> = partitions
            .into_par_iter()
            .map_init(
                || (GroupScratch::default(), rule::Scratch::new(general_only)),
                |(group_scratch, rule_scratch), pieces| {
                    let grouped = group::group(pieces, group_scratch);
                    // At most one purchase and one movement per row: room reserved (not
                    // touched, so not resident) instead of growing by doubling.
                    let (customers, rows) = (grouped.customers(), grouped.rows.len());
                    let mut part = Part {
                        block: Block::with_capacity(customers, rows, rows, &extras),
                        ..Part::default()
                    };
                    let mut keys = Vec::with_capacity(grouped.customers());
                    for g in 0..grouped.customers() {
                        let rows = grouped.rows_of(g);
                        keys.push(rows[0].customer);
                        rule::customer(
                            &extras,
                            rows,
                            &grouped.arena,
                            as_of,
                            rule_scratch,
                            &mut part,
                        );
                    }
                    (part, keys, grouped.arena)
                },
            )
            .collect();
        watch.lap("  ledger: purchases per customer");
        if let Some(row) = parts
            .iter()
            .filter_map(|(p, _, _)| p.error.as_ref())
            .map(|LedgerError::Overflow { row }| *row)
            .min()
        {
            bail!(
                "row {}: the amounts of this customer add up past what crm-eval can hold exactly \
                 (about 9 × 10^14); check the amount column for misplaced values",
                row + 2
            );
        }
        // Codes in ascending ID order: they, and so every output, do not depend on the hash.
        let bytes = |p: u32, i: u32| {
            let (_, keys, arena) = &parts[p as usize];
            keys[i as usize].bytes(arena)
        };
        let mut order: Vec<(u128, u32, u32)> = parts
            .iter()
            .enumerate()
            .flat_map(|(p, (_, keys, arena))| {
                keys.iter()
                    .enumerate()
                    .map(move |(i, k)| (k.sort_prefix(arena), p as u32, i as u32))
            })
            .collect();
        order.par_sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| bytes(a.1, a.2).cmp(bytes(b.1, b.2)))
        });
        let ids = StringChunked::from_iter_values(
            PlSmallStr::EMPTY,
            order
                .iter()
                .map(|&(_, p, i)| std::str::from_utf8(bytes(p, i)).unwrap_or_default()),
        );
        watch.lap("  ledger: customers sorted by ID");
        // The partitions' blocks copied into blocks of consecutive codes, once, so that every
        // reader walks the arrays in order.
        let blocks: Vec<Block> = order
            .par_chunks(BLOCK)
            .map(|chunk| {
                // Sized once: growing ten million entries by doubling copied them again.
                let (mut purchases, mut movements) = (0, 0);
                for &(_, p, i) in chunk {
                    let src = &parts[p as usize].0.block;
                    purchases += span(&src.purchase_end, i as usize).len();
                    movements += span(&src.movement_end, i as usize).len();
                }
                let mut block = Block::with_capacity(chunk.len(), purchases, movements, &extras);
                for &(_, p, i) in chunk {
                    block.push_customer(&parts[p as usize].0.block, i as usize);
                }
                block
            })
            .collect();
        watch.lap("  ledger: blocks in code order");
        let mut stats = LedgerStats {
            rows,
            ..LedgerStats::default()
        };
        for (part, _, _) in &parts {
            stats.add(&part.stats);
        }
        Ok(Ledger {
            ids,
            as_of,
            blocks,
            has_margin: extras.margin.is_some(),
            has_owner: extras.owner.is_some(),
            owner_names,
            stats,
        })
    }

    /// The block of customer `c` and its position there.
    fn at(&self, c: usize) -> (&Block, usize) {
        (&self.blocks[c / BLOCK], c % BLOCK)
    }

    fn purchase_span(&self, c: usize) -> (&Block, std::ops::Range<usize>) {
        let (b, i) = self.at(c);
        (b, span(&b.purchase_end, i))
    }

    fn movement_span(&self, c: usize) -> (&Block, std::ops::Range<usize>) {
        let (b, i) = self.at(c);
        (b, span(&b.movement_end, i))
    }

    /// Customers with any order row (with or without a purchase).
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The customer IDs, in code order (ascending).
    pub fn ids(&self) -> &StringChunked {
        &self.ids
    }

    pub fn id(&self, c: usize) -> &str {
        self.ids.get(c).unwrap_or_default()
    }

    /// The code of a customer ID (binary search over the sorted IDs).
    pub fn code(&self, id: &str) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.ids.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.ids.get(mid).unwrap_or_default().cmp(id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// Codes of the customers with at least one purchase, ascending.
    pub fn buyers(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len()).filter(|&c| self.has_purchase(c))
    }

    /// The customers with purchases (ascending code) with their first and last purchase day and
    /// number of purchases: what every per-customer table starts from.
    pub fn buyer_summary(&self) -> Buyers {
        let codes: Vec<usize> = self.buyers().collect();
        let days = |c: &usize| self.purchase_days(*c);
        Buyers {
            first: codes.iter().map(|c| days(c)[0]).collect(),
            last: codes.iter().map(|c| days(c)[days(c).len() - 1]).collect(),
            purchases: codes.iter().map(|c| days(c).len() as i64).collect(),
            codes,
        }
    }

    pub fn has_purchase(&self, c: usize) -> bool {
        !self.purchase_span(c).1.is_empty()
    }

    /// Purchase days of customer `c`, ascending (one entry per purchase; same-day purchases
    /// repeat the day).
    pub fn purchase_days(&self, c: usize) -> &[i32] {
        let (b, r) = self.purchase_span(c);
        &b.purchase_day[r]
    }

    /// Net of each purchase, in the order of [`Ledger::purchase_days`].
    pub fn purchase_nets(&self, c: usize) -> &[Money] {
        let (b, r) = self.purchase_span(c);
        &b.purchase_net[r]
    }

    /// Margin of each purchase, when the orders have a margin or cost column.
    pub fn purchase_margins(&self, c: usize) -> Option<&[Money]> {
        let (b, r) = self.purchase_span(c);
        self.has_margin.then(|| &b.purchase_margin[r])
    }

    /// Owner code of each purchase (the owner on the row that dates it), when exported.
    pub fn purchase_owners(&self, c: usize) -> Option<&[u32]> {
        let (b, r) = self.purchase_span(c);
        self.has_owner.then(|| &b.purchase_owner[r])
    }

    /// Whether the orders had an owner column (the purchases then carry their owners).
    pub fn has_owner(&self) -> bool {
        self.has_owner
    }

    pub fn owner_name(&self, code: u32) -> Option<&str> {
        self.owner_names.get(code as usize).map(String::as_str)
    }

    /// Number of distinct purchase days.
    pub fn purchase_day_count(&self, c: usize) -> usize {
        let days = self.purchase_days(c);
        days.iter()
            .enumerate()
            .filter(|&(i, d)| i == 0 || days[i - 1] != *d)
            .count()
    }

    pub fn first_purchase(&self, c: usize) -> Option<i32> {
        self.purchase_days(c).first().copied()
    }

    pub fn last_purchase(&self, c: usize) -> Option<i32> {
        self.purchase_days(c).last().copied()
    }

    /// The first purchase day in [from, to).
    pub fn first_purchase_between(&self, c: usize, from: i32, to: i32) -> Option<i32> {
        let days = self.purchase_days(c);
        let i = days.partition_point(|&d| d < from);
        days.get(i).copied().filter(|&d| d < to)
    }

    /// Days with a money movement (any order row) of customer `c`, ascending, each once.
    pub fn movement_days(&self, c: usize) -> &[i32] {
        let (b, r) = self.movement_span(c);
        &b.movement_day[r]
    }

    /// Net of each movement day, in the order of [`Ledger::movement_days`].
    pub fn movement_nets(&self, c: usize) -> &[Money] {
        let (b, r) = self.movement_span(c);
        &b.movement_net[r]
    }

    /// Net spend of customer `c`: every order row before `as_of`, refunds included.
    pub fn net(&self, c: usize) -> Money {
        self.movement_nets(c).iter().sum()
    }

    /// Net of the rows dated in [from, to).
    pub fn net_between(&self, c: usize, from: i32, to: i32) -> Money {
        let days = self.movement_days(c);
        let nets = self.movement_nets(c);
        let start = days.partition_point(|&d| d < from);
        let end = days.partition_point(|&d| d < to);
        nets[start..end.max(start)].iter().sum()
    }

    /// Margin of customer `c` (margin column, or amount − cost), when the orders have one.
    pub fn margin(&self, c: usize) -> Option<Money> {
        let (b, r) = self.movement_span(c);
        self.has_margin.then(|| b.movement_margin[r].iter().sum())
    }

    pub fn has_margin(&self) -> bool {
        self.has_margin
    }

    /// Refunds of customer `c` as a positive amount.
    pub fn refunded(&self, c: usize) -> Money {
        let (b, i) = self.at(c);
        b.refunded[i]
    }
}

/// A Money column (Int64 units) as plain values, nulls 0; None without the column.
fn money_values(df: &DataFrame, name: &str) -> Result<Option<Vec<i64>>> {
    let Ok(column) = df.column(name) else {
        return Ok(None);
    };
    let values = column.cast(&DataType::Int64)?;
    Ok(Some(values.i64()?.iter().map(|v| v.unwrap_or(0)).collect()))
}

/// The margin of each row: the margin column, else amount − cost, else none.
fn margin_values(df: &DataFrame) -> Result<Option<Vec<i64>>> {
    if let Some(margin) = money_values(df, "margin")? {
        return Ok(Some(margin));
    }
    let Some(cost) = money_values(df, "cost")? else {
        return Ok(None);
    };
    let Some(amount) = money_values(df, "amount")? else {
        return Ok(None);
    };
    Ok(Some(
        amount
            .iter()
            .zip(&cost)
            .map(|(a, c)| a.saturating_sub(*c))
            .collect(),
    ))
}

/// Owner codes per row (in order of first appearance) and their names.
fn owner_codes(df: &DataFrame) -> Result<(Option<Vec<u32>>, Vec<String>)> {
    let Ok(column) = df.column("owner") else {
        return Ok((None, Vec::new()));
    };
    let mut names: Vec<String> = Vec::new();
    let mut index: std::collections::HashMap<&str, u32, foldhash::fast::FixedState> =
        Default::default();
    let ca = column.str()?;
    let mut codes = Vec::with_capacity(ca.len());
    for owner in ca.iter() {
        let code = match owner.map(str::trim).filter(|o| !o.is_empty()) {
            Some(o) => *index.entry(o).or_insert_with(|| {
                names.push(o.to_string());
                names.len() as u32 - 1
            }),
            None => NO_OWNER,
        };
        codes.push(code);
    }
    // Codes in byte order of the names, so that same-day purchases ordered by owner code are in
    // a stated order (docs/metrics.md "Orders and purchases", rule 6), not the file's.
    let mut by_name: Vec<u32> = (0..names.len() as u32).collect();
    by_name.sort_unstable_by(|&a, &b| names[a as usize].cmp(&names[b as usize]));
    let mut rank = vec![0u32; names.len()];
    for (r, &code) in by_name.iter().enumerate() {
        rank[code as usize] = r as u32;
    }
    for code in codes.iter_mut().filter(|c| **c != NO_OWNER) {
        *code = rank[*code as usize];
    }
    let names = by_name
        .iter()
        .map(|&code| std::mem::take(&mut names[code as usize]))
        .collect();
    Ok((Some(codes), names))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::day::Day;

    fn day(s: &str) -> i32 {
        Day::parse(s).map(Day::days).unwrap()
    }

    fn money(x: f64) -> i64 {
        Money::from_f64(x).unwrap().0
    }

    /// customer, order, date, amount, status
    fn frame(rows: &[(&str, Option<&str>, &str, f64, &str)]) -> DataFrame {
        let days: Vec<i32> = rows.iter().map(|r| day(r.2)).collect();
        DataFrame::new_infer_height(vec![
            Column::new(
                "customer_id".into(),
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            ),
            Column::new(
                "order_id".into(),
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            ),
            Column::new("order_date".into(), days)
                .cast(&DataType::Date)
                .unwrap(),
            Column::new(
                "amount".into(),
                rows.iter().map(|r| money(r.3)).collect::<Vec<_>>(),
            ),
            Column::new(
                "status".into(),
                rows.iter().map(|r| r.4).collect::<Vec<_>>(),
            ),
        ])
        .unwrap()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        /// The clean-export shortcut and the general rule give the same ledger, on clean files
        /// (where the shortcut is taken) and on files with repeats, refunds and negatives.
        #[test]
        fn the_shortcut_and_the_general_rule_agree(
            rows in proptest::collection::vec(
                (0u8..6, proptest::option::of(0u16..40), 0i32..60, -2i64..6, 0u8..8, 0u8..3),
                1..120,
            ),
            clean in proptest::bool::ANY,
        ) {
            let n = rows.len();
            let order = |i: usize, o: Option<u16>| -> Option<String> {
                // Clean: unique IDs, some long (past the inline 12 bytes), some missing.
                if clean { o.map(|_| format!("order-number-{i:06}")) } else { o.map(|o| o.to_string()) }
            };
            let df = DataFrame::new_infer_height(vec![
                Column::new("customer_id".into(), rows.iter().map(|r| format!("C{}", r.0)).collect::<Vec<_>>()),
                Column::new("order_id".into(), rows.iter().enumerate().map(|(i, r)| order(i, r.1)).collect::<Vec<_>>()),
                Column::new("order_date".into(), rows.iter().map(|r| 19_000 + r.2).collect::<Vec<i32>>())
                    .cast(&DataType::Date).unwrap(),
                Column::new("amount".into(), rows.iter().map(|r| {
                    let v = if clean { r.3.abs() } else { r.3 };
                    v * 2_500
                }).collect::<Vec<i64>>()),
                Column::new("status".into(), rows.iter().map(|r| match (clean, r.4) {
                    (false, 0) => "refunded",
                    (false, 1) => "cancelled",
                    _ => "paid",
                }).collect::<Vec<_>>()),
                Column::new("owner".into(), rows.iter().map(|r| format!("rep{}", r.5)).collect::<Vec<_>>()),
            ]).unwrap();
            proptest::prop_assert_eq!(df.height(), n);
            let as_of = Some(Day::new(19_055));
            let fast = Ledger::from_frame_with(df.clone(), as_of, false).unwrap();
            let general = Ledger::from_frame_with(df, as_of, true).unwrap();
            proptest::prop_assert_eq!(format!("{fast:?}"), format!("{general:?}"));
        }
    }

    #[test]
    fn the_purchase_rule_worked_example() {
        // The example of docs/metrics.md, "Orders and purchases".
        let df = frame(&[
            ("A", Some("1"), "2024-01-05", 100.0, "paid"),
            ("A", Some("1"), "2024-01-20", 40.0, "refunded"), // partial refund of order 1
            ("A", Some("2"), "2024-02-01", 50.0, "paid"),
            ("A", Some("2"), "2024-02-03", -50.0, "paid"), // order 2 fully refunded
            ("A", Some("3"), "2024-02-01", 0.0, "paid"),   // free order
            ("A", Some("4"), "2024-03-01", 70.0, "cancelled"),
            ("A", None, "2024-03-02", 20.0, "paid"),
            ("A", None, "2024-03-02", 30.0, "paid"), // no order ID: its own order
            ("B", Some("9"), "2024-01-10", 60.0, "refunded"), // refund-only
            ("C", Some("5"), "2024-04-01", 10.0, "paid"), // on as_of: not yet
        ]);
        let l = Ledger::build(&df, Some(Day::new(day("2024-04-01")))).unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l.id(0), "A");
        assert_eq!(
            l.purchase_days(0),
            [
                day("2024-01-05"),
                day("2024-02-01"),
                day("2024-03-02"),
                day("2024-03-02")
            ]
        );
        let nets: Vec<f64> = l.purchase_nets(0).iter().map(|m| m.to_f64()).collect();
        assert_eq!(nets, [60.0, 0.0, 20.0, 30.0]);
        assert_eq!(l.purchase_day_count(0), 3);
        assert_eq!(l.net(0).to_f64(), 110.0);
        assert_eq!(l.refunded(0).to_f64(), 90.0);
        assert_eq!(
            l.net_between(0, day("2024-01-01"), day("2024-02-01"))
                .to_f64(),
            60.0
        );
        assert!(!l.has_purchase(1));
        assert_eq!(l.net(1).to_f64(), -60.0);
        assert!(!l.has_purchase(2));
        assert_eq!(l.code("B"), Some(1));
        assert_eq!(l.code("Z"), None);
        let s = l.stats;
        assert_eq!(s.rows_after_as_of, 1);
        assert_eq!(s.rows_not_orders, 1);
        assert_eq!(s.orders, 6);
        assert_eq!(s.purchases, 4);
        assert_eq!(s.free_purchases, 1);
        assert_eq!(s.orders_not_purchases, 2);
        assert_eq!(s.customers_without_purchase, 1);
        assert_eq!(l.buyers().collect::<Vec<_>>(), [0]);
    }

    #[test]
    fn without_order_ids_every_row_is_an_order() {
        let df = frame(&[
            ("A", None, "2024-01-05", 100.0, "paid"),
            ("A", None, "2024-01-07", -30.0, "paid"),
            ("A", None, "2024-01-07", 0.0, "refunded"),
        ])
        .drop("order_id")
        .unwrap();
        let l = Ledger::build(&df, None).unwrap();
        assert_eq!(l.as_of.days(), day("2024-01-08"));
        assert_eq!(l.purchase_days(0), [day("2024-01-05")]);
        assert_eq!(l.net(0).to_f64(), 70.0);
        assert_eq!(l.stats.orders_not_purchases, 2);
    }

    #[test]
    fn a_refund_dated_before_its_order_still_nets() {
        let df = frame(&[
            ("A", Some("1"), "2024-01-03", -10.0, "paid"),
            ("A", Some("1"), "2024-01-05", 25.5, "paid"),
        ]);
        let l = Ledger::build(&df, None).unwrap();
        assert_eq!(l.purchase_days(0), [day("2024-01-05")]);
        assert_eq!(l.purchase_nets(0), [Money(155_000)]);
    }
}
