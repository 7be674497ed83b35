//! Order rows grouped by customer without a per-customer allocation.
//!
//! One pass over the rows (in parallel over batches) scatters each row into one of
//! [`PARTITIONS`] partitions chosen by the hash of its customer ID, carrying everything the
//! purchase rule reads (the customer and order IDs as [`Key`]s, the amount, the day, the status).
//! Each partition is then grouped on its own, in cache: an open-addressing table numbers its
//! customers (IDs compared exactly, never by hash alone) and a counting sort makes each
//! customer's rows contiguous, in row order. Nothing goes back to the columns by row number,
//! which on ten million rows costs more than all the rest.

use std::hash::BuildHasher;

use polars::prelude::*;
use rayon::prelude::*;

use crate::input::values::OrderStatus;
pub(super) use crate::keys::Key;

/// Partitions of the customers, by the top bits of their ID's hash.
pub(super) const PARTITION_BITS: u32 = 8;
pub(super) const PARTITIONS: usize = 1 << PARTITION_BITS;

/// Rows per parallel work item of the scatter pass.
const ROW_BATCH: usize = 1 << 16;

/// One order row as the purchase rule reads it: 48 bytes, ten million of them in memory at once.
#[derive(Clone, Copy, Default)]
pub(super) struct Entry {
    pub customer: Key,
    /// [`Key::NONE`] for a row without an order ID.
    pub order: Key,
    pub amount: i64,
    pub day: i32,
    /// The row of the frame (0-based) above the status in the low two bits.
    row_status: u32,
}

const _: () = assert!(std::mem::size_of::<Entry>() == 48);

/// Rows the ledger can number (30 bits; the status takes the other two).
pub(super) const MAX_ROWS: usize = 1 << 30;

impl Entry {
    pub fn row(&self) -> u32 {
        self.row_status >> 2
    }

    pub fn status(&self) -> u8 {
        (self.row_status & 3) as u8
    }
}

/// The rows one batch sent to one partition, with the bytes of their long strings.
#[derive(Default)]
pub(super) struct Piece {
    entries: Vec<Entry>,
    arena: Vec<u8>,
}

/// The columns the scatter pass reads.
pub(super) struct RowColumns<'a> {
    pub ids: &'a StringChunked,
    pub day: &'a Int32Chunked,
    pub amount: &'a Int64Chunked,
    pub status: Option<StatusColumn<'a>>,
    pub order_ids: Option<&'a StringChunked>,
}

/// The status column: [`OrderStatus`] codes as the input layer loads them, or the words of a
/// frame built by hand.
pub(super) enum StatusColumn<'a> {
    Codes(&'a UInt32Chunked),
    Words(&'a StringChunked),
}

/// What a status means to the rule (docs/metrics.md, "Orders and purchases", steps 2 and 3).
fn rule_status(status: Option<OrderStatus>) -> u8 {
    match status {
        Some(OrderStatus::Refunded) => REFUNDED,
        Some(OrderStatus::Cancelled | OrderStatus::Unpaid) => NOT_ORDER,
        Some(OrderStatus::Paid) | None => PLAIN,
    }
}

/// Day of a row without a date (such rows are left out by the rule).
pub(super) const NULL_DAY: i32 = i32::MIN;
/// Status codes: a plain order row, a refund, not an order row (cancelled, unpaid).
pub(super) const PLAIN: u8 = 0;
pub(super) const REFUNDED: u8 = 1;
pub(super) const NOT_ORDER: u8 = 2;

/// Scatters every row with a customer ID into its partition. Returns, per partition, its
/// pieces in row order.
pub(super) fn scatter(cols: &RowColumns) -> Vec<Vec<Piece>> {
    let n = cols.ids.len();
    let batches: Vec<Vec<Piece>> = (0..n.div_ceil(ROW_BATCH))
        .into_par_iter()
        .map(|b| {
            let offset = b * ROW_BATCH;
            scatter_batch(cols, offset, ROW_BATCH.min(n - offset))
        })
        .collect();
    let mut partitions: Vec<Vec<Piece>> = (0..PARTITIONS)
        .map(|_| Vec::with_capacity(batches.len()))
        .collect();
    for batch in batches {
        for (p, piece) in batch.into_iter().enumerate() {
            if !piece.entries.is_empty() {
                partitions[p].push(piece);
            }
        }
    }
    partitions
}

fn scatter_batch(cols: &RowColumns, offset: usize, len: usize) -> Vec<Piece> {
    let hasher = foldhash::fast::FixedState::with_seed(0);
    let off = offset as i64;
    // The batch's values column by column: each a zero-copy slice read in order.
    let day: Vec<i32> = cols
        .day
        .slice(off, len)
        .iter()
        .map(|d| d.unwrap_or(NULL_DAY))
        .collect();
    let amount: Vec<i64> = cols
        .amount
        .slice(off, len)
        .iter()
        .map(|a| a.unwrap_or(0))
        .collect();
    let status: Vec<u8> = match &cols.status {
        Some(StatusColumn::Codes(c)) => c
            .slice(off, len)
            .iter()
            .map(|c| rule_status(c.and_then(OrderStatus::from_code)))
            .collect(),
        Some(StatusColumn::Words(w)) => w
            .slice(off, len)
            .iter()
            .map(|w| rule_status(w.and_then(OrderStatus::parse)))
            .collect(),
        None => vec![PLAIN; len],
    };
    let order_ids = cols.order_ids.map(|o| o.slice(off, len));
    let mut orders = order_ids.as_ref().map(|o| o.iter());
    let expected = len / PARTITIONS + len / (4 * PARTITIONS) + 4;
    let mut pieces: Vec<Piece> = (0..PARTITIONS)
        .map(|_| Piece {
            entries: Vec::with_capacity(expected),
            arena: Vec::new(),
        })
        .collect();
    for (i, id) in cols.ids.slice(off, len).iter().enumerate() {
        let order = orders.as_mut().and_then(|o| o.next()).flatten();
        // A row without a customer belongs to nobody.
        let Some(id) = id else { continue };
        let hash = hasher.hash_one(id);
        let piece = &mut pieces[(hash >> (64 - PARTITION_BITS)) as usize];
        let customer = Key::new(id, &mut piece.arena);
        let order = match order {
            Some(o) if !o.is_empty() => Key::new(o, &mut piece.arena),
            _ => Key::NONE,
        };
        piece.entries.push(Entry {
            customer,
            order,
            amount: amount[i],
            day: day[i],
            row_status: ((offset + i) as u32) << 2 | u32::from(status[i]),
        });
    }
    pieces
}

/// Reused buffers of [`group`].
#[derive(Default)]
pub(super) struct GroupScratch {
    /// (hash << 32) | (customer + 1); 0 is an empty slot.
    table: Vec<u64>,
    customer_of: Vec<u32>,
    /// The (rebased) customer key of each customer's first row.
    first_key: Vec<Key>,
    next: Vec<u32>,
    rows: Vec<Entry>,
}

/// One partition grouped by customer: customer `g`'s rows are `rows[start[g]..start[g + 1]]`,
/// in row order; customers are numbered in the order of their first row.
pub(super) struct Grouped<'s> {
    pub rows: &'s [Entry],
    pub start: Vec<u32>,
    /// The bytes of the partition's long strings.
    pub arena: Vec<u8>,
}

impl Grouped<'_> {
    pub fn customers(&self) -> usize {
        self.start.len() - 1
    }

    pub fn rows_of(&self, g: usize) -> &[Entry] {
        &self.rows[self.start[g] as usize..self.start[g + 1] as usize]
    }
}

pub(super) fn group(pieces: Vec<Piece>, s: &mut GroupScratch) -> Grouped<'_> {
    let n: usize = pieces.iter().map(|p| p.entries.len()).sum();
    // One arena for the partition: each piece's long strings move by the bytes before them.
    let mut arena = Vec::with_capacity(pieces.iter().map(|p| p.arena.len()).sum());
    let mut base = Vec::with_capacity(pieces.len());
    for piece in &pieces {
        base.push(arena.len());
        arena.extend_from_slice(&piece.arena);
    }
    let entries = || {
        pieces
            .iter()
            .zip(&base)
            .flat_map(|(p, &b)| p.entries.iter().map(move |e| (e, b)))
    };
    // Number the customers: linear probing on a hash of the key (equal IDs have equal keys when
    // inline, equal bytes when not); a slot's hash is compared before the IDs are.
    let cap = (2 * n).next_power_of_two().max(16);
    let mask = cap - 1;
    s.table.clear();
    s.table.resize(cap, 0);
    s.customer_of.clear();
    s.first_key.clear();
    for (e, b) in entries() {
        let mut key = e.customer;
        key.rebase(b);
        let hash = key.hash(&arena);
        let mut slot = hash as usize & mask;
        let customer = loop {
            let v = s.table[slot];
            if v == 0 {
                s.first_key.push(key);
                s.table[slot] = (u64::from(hash) << 32) | s.first_key.len() as u64;
                break s.first_key.len() as u32 - 1;
            }
            let g = (v & 0xffff_ffff) as u32 - 1;
            if (v >> 32) as u32 == hash && s.first_key[g as usize].same(&key, &arena) {
                break g;
            }
            slot = (slot + 1) & mask;
        };
        s.customer_of.push(customer);
    }
    // Counting sort by customer (stable: each customer's rows stay in row order).
    let k = s.first_key.len();
    let mut start = vec![0u32; k + 1];
    for &g in &s.customer_of {
        start[g as usize + 1] += 1;
    }
    for g in 0..k {
        start[g + 1] += start[g];
    }
    s.next.clear();
    s.next.extend_from_slice(&start[..k]);
    s.rows.clear();
    s.rows.resize(n, Entry::default());
    for ((e, b), &g) in entries().zip(&s.customer_of) {
        let at = &mut s.next[g as usize];
        let row = &mut s.rows[*at as usize];
        *row = *e;
        row.customer.rebase(b);
        row.order.rebase(b);
        *at += 1;
    }
    Grouped {
        rows: &s.rows,
        start,
        arena,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_grouped_by_customer_in_row_order() {
        let ids = StringChunked::from_slice(
            "customer_id".into(),
            &[
                "a",
                "customer-long-id-1",
                "a",
                "b",
                "customer-long-id-1",
                "a",
            ],
        );
        let day = Int32Chunked::from_slice("d".into(), &[1, 2, 3, 4, 5, 6]);
        let amount = Int64Chunked::from_slice("a".into(), &[10, 20, 30, 40, 50, 60]);
        let cols = RowColumns {
            ids: &ids,
            day: &day,
            amount: &amount,
            status: None,
            order_ids: None,
        };
        let mut customers: Vec<(String, Vec<u32>)> = Vec::new();
        let mut scratch = GroupScratch::default();
        for pieces in scatter(&cols) {
            let g = group(pieces, &mut scratch);
            for c in 0..g.customers() {
                let rows = g.rows_of(c);
                let id = String::from_utf8(rows[0].customer.bytes(&g.arena).to_vec()).unwrap();
                assert!(rows
                    .iter()
                    .all(|r| r.customer.same(&rows[0].customer, &g.arena)));
                customers.push((id, rows.iter().map(|r| r.row()).collect()));
            }
        }
        customers.sort();
        assert_eq!(
            customers,
            [
                ("a".to_string(), vec![0, 2, 5]),
                ("b".to_string(), vec![3]),
                ("customer-long-id-1".to_string(), vec![1, 4]),
            ]
        );
    }
}
