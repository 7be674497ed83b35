//! Ownership spells from the event log (docs/metrics.md, "Conversion", "Recovery", "Pool rules").
//!
//! An *ownership spell* runs from an `assign`, `claim` or `transfer` (to the event's owner) of a
//! customer until the customer's next `recycle`, `release`, `transfer`, `assign` or `claim`, or
//! is still open at `as_of`. A `recycle` or `release` also opens a *pool stay* (公海), which
//! lasts until the next spell starts. Events are taken in time order per customer (ties in file
//! order); problems are counted with examples, never silently dropped.

use std::collections::HashMap;

use anyhow::Result;
use polars::prelude::*;
use rayon::prelude::*;

use std::sync::Arc;

use crate::input::values::WordCache;
use crate::keys::{dense_codes, NO_CODE};
use crate::ledger::Ledger;
use crate::money::Money;

use crate::day::Day;

/// The ownership event types, after synonyms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Assign,
    Claim,
    Transfer,
    Recycle,
    Release,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Assign => "assign",
            EventKind::Claim => "claim",
            EventKind::Transfer => "transfer",
            EventKind::Recycle => "recycle",
            EventKind::Release => "release",
        }
    }

    pub const ACCEPTED: &'static str = "assign/分配, claim/领取, transfer/转移, \
        recycle/回收/退回公海, release/释放/放弃";

    /// The words of each event type (compared trimmed and lowercased), written once for the
    /// loader and for the SQL (`crate::sql`).
    pub const WORDS: [(EventKind, &'static [&'static str]); 5] = [
        (
            EventKind::Assign,
            &[
                "assign",
                "assigned",
                "assignment",
                "allocate",
                "allocated",
                "allocation",
                "distribute",
                "分配",
                "指派",
                "分派",
                "已分配",
                "分配客户",
            ],
        ),
        (
            EventKind::Claim,
            &[
                "claim",
                "claimed",
                "receive",
                "received",
                "pick",
                "take",
                "领取",
                "认领",
                "抢占",
                "已领取",
                "领取客户",
            ],
        ),
        (
            EventKind::Transfer,
            &[
                "transfer",
                "transferred",
                "reassign",
                "reassigned",
                "handover",
                "转移",
                "转交",
                "转移客户",
                "变更负责人",
                "移交",
            ],
        ),
        (
            EventKind::Recycle,
            &[
                "recycle",
                "recycled",
                "reclaim",
                "reclaimed",
                "return",
                "returned",
                "back",
                "回收",
                "收回",
                "退回公海",
                "自动回收",
                "回收公海",
                "放入公海",
            ],
        ),
        (
            EventKind::Release,
            &[
                "release",
                "released",
                "abandon",
                "abandoned",
                "give up",
                "drop",
                "释放",
                "放弃",
                "退回",
                "主动退回",
                "放弃客户",
            ],
        ),
    ];

    pub fn parse(raw: &str) -> Option<EventKind> {
        let s = raw.trim().to_lowercase();
        Self::WORDS
            .iter()
            .find(|(_, words)| words.contains(&s.as_str()))
            .map(|(kind, _)| *kind)
    }

    pub fn starts_spell(self) -> bool {
        matches!(
            self,
            EventKind::Assign | EventKind::Claim | EventKind::Transfer
        )
    }
}

/// Strings shared by many rows (customer IDs, owners, reasons, pools) as small integers.
///
/// Millions of rows are looked up, so the map uses foldhash with a fixed seed (SipHash cost
/// about half of `conversion`'s time on 10 million orders) and numbers are handed out in the order
/// strings are first seen, which is deterministic.
#[derive(Debug, Default)]
pub struct Interner {
    index: HashMap<Box<str>, u32, foldhash::fast::FixedState>,
    pub names: Vec<String>,
}

pub const NONE: u32 = u32::MAX;

impl Interner {
    pub fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.to_string());
        self.index.insert(s.into(), i);
        i
    }
    pub fn opt(&mut self, s: Option<&str>) -> u32 {
        match s {
            Some(s) if !s.trim().is_empty() => self.id(s.trim()),
            _ => NONE,
        }
    }
    pub fn get(&self, s: &str) -> Option<u32> {
        self.index.get(s).copied()
    }
    pub fn name(&self, i: u32) -> &str {
        if i == NONE {
            ""
        } else {
            &self.names[i as usize]
        }
    }
    pub fn len(&self) -> usize {
        self.names.len()
    }
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Event {
    pub customer: u32,
    pub time_ms: i64,
    pub kind: EventKind,
    pub owner: u32,
    pub reason: u32,
    pub pool: u32,
    /// Spreadsheet row (header = 1).
    pub row: u32,
}

#[derive(Debug, Clone, Copy)]
pub struct Spell {
    pub customer: u32,
    pub owner: u32,
    /// The pool named on the starting event.
    pub pool: u32,
    pub start_ms: i64,
    pub start: EventKind,
    /// None while the spell is open at as_of.
    pub end_ms: Option<i64>,
    pub end: Option<EventKind>,
}

impl Spell {
    pub fn start_day(&self) -> i32 {
        Day::of_ms(self.start_ms).days()
    }
    /// First day not covered: a spell ended by recycle/release still covers its last day (nobody
    /// else holds the customer that day); one ended by a hand-over leaves that day to the next
    /// owner; an open spell covers up to as_of.
    pub fn cover_end(&self, as_of: Day) -> i32 {
        match (self.end_ms, self.end) {
            (Some(ms), Some(EventKind::Recycle | EventKind::Release)) => Day::of_ms(ms).days() + 1,
            (Some(ms), _) => Day::of_ms(ms).days(),
            (None, _) => as_of.days(),
        }
    }
}

/// A recycle or release: the customer goes to the pool.
#[derive(Debug, Clone, Copy)]
pub struct PoolReturn {
    pub customer: u32,
    pub at_ms: i64,
    pub kind: EventKind,
    /// The owner who lost the customer (the spell's owner, else the event's).
    pub previous_owner: u32,
    pub reason: u32,
    pub pool: u32,
    /// The next spell of the customer, if any (index into `Ownership::spells`).
    pub next_spell: Option<usize>,
}

/// Counts of what was odd in the event log, with a few examples each.
#[derive(Debug, Default)]
pub struct EventIssues {
    pub unknown: Vec<(u32, String)>,
    pub unknown_count: usize,
    pub out_of_order: usize,
    pub out_of_order_examples: Vec<u32>,
    pub end_without_spell: usize,
    pub end_without_spell_examples: Vec<u32>,
    pub missing_time: usize,
    pub after_as_of: usize,
}

impl EventIssues {
    /// One line per kind of problem, for stderr.
    pub fn lines(&self, file: &str) -> Vec<String> {
        let rows = |v: &[u32]| {
            v.iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = Vec::new();
        if self.unknown_count > 0 {
            let ex = self
                .unknown
                .iter()
                .map(|(r, v)| format!("row {r}: {v:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            out.push(format!(
                "{file}: {} events of an unknown type skipped ({ex}); expected {}",
                self.unknown_count,
                EventKind::ACCEPTED
            ));
        }
        if self.out_of_order > 0 {
            out.push(format!(
                "{file}: {} events are earlier than the customer's previous row (rows {}); taken in time order",
                self.out_of_order,
                rows(&self.out_of_order_examples)
            ));
        }
        if self.end_without_spell > 0 {
            out.push(format!(
                "{file}: {} recycle/release events come while nobody holds the customer (rows {}); counted as pool returns, no spell ends",
                self.end_without_spell,
                rows(&self.end_without_spell_examples)
            ));
        }
        if self.missing_time > 0 {
            out.push(format!(
                "{file}: {} events without an event time skipped",
                self.missing_time
            ));
        }
        if self.after_as_of > 0 {
            out.push(format!(
                "{file}: {} events on or after the analysis date left out",
                self.after_as_of
            ));
        }
        out
    }
}

const EXAMPLES: usize = 5;

/// Spells and pool returns of every customer.
#[derive(Debug, Default)]
pub struct Ownership {
    pub spells: Vec<Spell>,
    pub returns: Vec<PoolReturn>,
    pub issues: EventIssues,
}

/// Reads an events table (customer_id, event_time, event; owner, reason, pool optional) into
/// events, interning the strings. Rows of an unknown type or without a time are counted.
pub fn events_from_frame(
    df: &DataFrame,
    strings: &mut Interner,
    customers: &mut Interner,
    as_of_ms: i64,
) -> Result<(Vec<Event>, EventIssues)> {
    let watch = crate::diag::Stopwatch::new();
    let mut issues = EventIssues::default();
    let customer_of_row = customer_per_row(df, customers)?;
    watch.lap("  customer per event row");
    let times = df.column("event_time")?.datetime()?.physical().clone();
    let kinds = df.column("event")?.str()?;
    let has = |name: &str| df.get_column_names().iter().any(|c| c.as_str() == name);
    // Sequential iterators: `get(i)` on a many-chunk column searches the chunks every time.
    let strs = |name: &str| -> Result<Box<dyn Iterator<Item = Option<&str>> + '_>> {
        Ok(if has(name) {
            Box::new(df.column(name)?.str()?.iter())
        } else {
            Box::new(std::iter::repeat(None))
        })
    };
    let (mut owners, mut reasons, mut pools) = (strs("owner")?, strs("reason")?, strs("pool")?);
    let mut events = Vec::with_capacity(df.height());
    let mut kinds_seen = WordCache::new();
    // Interned per distinct text (owners, pools and reasons are few).
    let mut text_cache: HashMap<&str, u32, foldhash::fast::FixedState> = HashMap::default();
    for (i, ((&customer, time), raw)) in customer_of_row
        .iter()
        .zip(times.iter())
        .zip(kinds.iter())
        .enumerate()
    {
        let (owner, reason, pool) = (
            owners.next().flatten(),
            reasons.next().flatten(),
            pools.next().flatten(),
        );
        let row = (i + 2) as u32;
        let Some(time) = time else {
            issues.missing_time += 1;
            continue;
        };
        let raw = raw.unwrap_or("");
        let kind = kinds_seen.get(raw, EventKind::parse);
        let Some(kind) = kind else {
            issues.unknown_count += 1;
            if issues.unknown.len() < EXAMPLES {
                issues.unknown.push((row, raw.to_string()));
            }
            continue;
        };
        if time >= as_of_ms {
            issues.after_as_of += 1;
            continue;
        }
        if customer == NONE {
            continue;
        }
        events.push(Event {
            customer,
            time_ms: time,
            kind,
            owner: intern_cached(&mut text_cache, strings, owner),
            reason: intern_cached(&mut text_cache, strings, reason),
            pool: intern_cached(&mut text_cache, strings, pool),
            row,
        });
    }
    watch.lap("  events");
    Ok((events, issues))
}

/// `strings.opt(s)`, remembered per distinct text of the column.
fn intern_cached<'a>(
    cache: &mut HashMap<&'a str, u32, foldhash::fast::FixedState>,
    strings: &mut Interner,
    s: Option<&'a str>,
) -> u32 {
    match s {
        None => NONE,
        Some(s) => *cache.entry(s).or_insert_with(|| strings.opt(Some(s))),
    }
}

/// Builds the spells and pool returns. `events` are in file order.
pub fn build(mut events: Vec<Event>, mut issues: EventIssues) -> Ownership {
    // Out of order: a row earlier than the same customer's previous row in the file.
    let customers = events
        .iter()
        .map(|e| e.customer as usize + 1)
        .max()
        .unwrap_or(0);
    let mut last: Vec<i64> = vec![i64::MIN; customers];
    for e in &events {
        let prev = &mut last[e.customer as usize];
        if e.time_ms < *prev {
            issues.out_of_order += 1;
            if issues.out_of_order_examples.len() < EXAMPLES {
                issues.out_of_order_examples.push(e.row);
            }
        }
        *prev = (*prev).max(e.time_ms);
    }
    // Per customer in time order; the sort is stable, so ties keep file order.
    events.par_sort_by_key(|e| (e.customer, e.time_ms));
    let mut own = Ownership::default();
    let mut open: Option<usize> = None;
    let mut pending_returns: Vec<usize> = Vec::new();
    for (k, e) in events.iter().enumerate() {
        if k > 0 && events[k - 1].customer != e.customer {
            open = None;
            pending_returns.clear();
        }
        let close = |own: &mut Ownership, open: &mut Option<usize>| {
            if let Some(s) = open.take() {
                own.spells[s].end_ms = Some(e.time_ms);
                own.spells[s].end = Some(e.kind);
            }
        };
        match e.kind {
            EventKind::Assign | EventKind::Claim | EventKind::Transfer => {
                close(&mut own, &mut open);
                let owner = if e.owner == NONE {
                    // A transfer without the new owner only ends the old spell; an assign or
                    // claim without an owner still opens one, owned by "".
                    if e.kind == EventKind::Transfer {
                        continue;
                    }
                    NONE
                } else {
                    e.owner
                };
                own.spells.push(Spell {
                    customer: e.customer,
                    owner,
                    pool: e.pool,
                    start_ms: e.time_ms,
                    start: e.kind,
                    end_ms: None,
                    end: None,
                });
                let s = own.spells.len() - 1;
                for r in pending_returns.drain(..) {
                    own.returns[r].next_spell = Some(s);
                }
                open = Some(s);
            }
            EventKind::Recycle | EventKind::Release => {
                let previous_owner = match open {
                    Some(s) => own.spells[s].owner,
                    None => {
                        issues.end_without_spell += 1;
                        if issues.end_without_spell_examples.len() < EXAMPLES {
                            issues.end_without_spell_examples.push(e.row);
                        }
                        e.owner
                    }
                };
                close(&mut own, &mut open);
                own.returns.push(PoolReturn {
                    customer: e.customer,
                    at_ms: e.time_ms,
                    kind: e.kind,
                    previous_owner,
                    reason: e.reason,
                    pool: e.pool,
                    next_spell: None,
                });
                pending_returns.push(own.returns.len() - 1);
            }
        }
    }
    own.issues = issues;
    own
}

/// The purchase ledger seen through the spell analyses' customer numbers: every question about a
/// customer's orders is answered by the ledger (docs/metrics.md, "Orders and purchases").
#[derive(Debug, Default)]
pub struct CustomerOrders {
    ledger: Arc<Ledger>,
    /// Ledger code of each interned customer (NONE for customers without order rows).
    code: Vec<u32>,
    /// Interned owner (in the spell analyses' strings) of each ledger owner code.
    owner: Vec<u32>,
}

impl CustomerOrders {
    /// Interns every customer of the ledger (each distinct ID hashed once) and its order owners.
    pub fn new(ledger: Arc<Ledger>, customers: &mut Interner, strings: &mut Interner) -> Self {
        let mut code = vec![NONE; customers.len()];
        for (c, id) in ledger.ids().iter().enumerate() {
            let i = customers.id(id.unwrap_or_default()) as usize;
            if code.len() <= i {
                code.resize(i + 1, NONE);
            }
            code[i] = c as u32;
        }
        let mut owner = Vec::new();
        while let Some(name) = ledger.owner_name(owner.len() as u32) {
            owner.push(strings.id(name));
        }
        CustomerOrders {
            ledger,
            code,
            owner,
        }
    }

    fn code(&self, customer: u32) -> Option<usize> {
        self.code
            .get(customer as usize)
            .filter(|&&c| c != NONE)
            .map(|&c| c as usize)
    }

    /// Interned customers with order rows.
    pub fn customers(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.code.len() as u32).filter(|&c| self.code(c).is_some())
    }

    /// Purchase days, ascending.
    pub fn purchases_of(&self, customer: u32) -> &[i32] {
        self.code(customer)
            .map_or(&[], |c| self.ledger.purchase_days(c))
    }

    /// The interned order owner of each purchase (NONE where the export has none).
    pub fn purchase_owner(&self, customer: u32, i: usize) -> u32 {
        self.code(customer)
            .and_then(|c| self.ledger.purchase_owners(c))
            .and_then(|o| o.get(i))
            .and_then(|&o| self.owner.get(o as usize).copied())
            .unwrap_or(NONE)
    }

    /// Days with order rows in [from, to).
    pub fn order_days_between(&self, customer: u32, from: i32, to: i32) -> usize {
        self.code(customer).map_or(0, |c| {
            let days = self.ledger.movement_days(c);
            days.partition_point(|&d| d < to) - days.partition_point(|&d| d < from)
        })
    }

    /// Net of the rows dated in [from, to), rounded to cents.
    pub fn net_between(&self, customer: u32, from: i32, to: i32) -> Money {
        self.code(customer).map_or(Money(0), |c| {
            self.ledger.net_between(c, from, to).round_cents()
        })
    }

    /// The first purchase day in [from, to).
    pub fn first_purchase_between(&self, customer: u32, from: i32, to: i32) -> Option<i32> {
        self.code(customer)
            .and_then(|c| self.ledger.first_purchase_between(c, from, to))
    }
}

/// The interned customer of every row of `df` (see [`intern_rows`]).
pub fn customer_per_row(df: &DataFrame, customers: &mut Interner) -> Result<Vec<u32>> {
    Ok(intern_rows(df.column("customer_id")?.str()?, customers))
}

/// The interned value of every row of a text column (NONE for an empty cell). The rows are
/// numbered by value in parallel ([`dense_codes`]) so that the interner sees each distinct value
/// once rather than once per row; values are interned in the order of their first row, as a
/// row-by-row pass would.
pub fn intern_rows(column: &StringChunked, names: &mut Interner) -> Vec<u32> {
    let codes = dense_codes(column);
    let interned: Vec<u32> = codes
        .first_row
        .iter()
        .map(|&row| names.opt(column.get(row as usize)))
        .collect();
    codes
        .row_code
        .iter()
        .map(|&c| {
            if c == NO_CODE {
                NONE
            } else {
                interned[c as usize]
            }
        })
        .collect()
}

/// Follow-up times (ms) per customer, sorted; rows on or after as_of left out.
pub fn followups_by_customer(
    df: &DataFrame,
    as_of_ms: i64,
    customers: &mut Interner,
) -> Result<Vec<Vec<i64>>> {
    let customer_of_row = customer_per_row(df, customers)?;
    let times = df.column("followup_time")?.datetime()?.physical().clone();
    let mut out: Vec<Vec<i64>> = Vec::new();
    for (&c, t) in customer_of_row.iter().zip(times.iter()) {
        let Some(t) = t else { continue };
        if t >= as_of_ms || c == NONE {
            continue;
        }
        let c = c as usize;
        if out.len() <= c {
            out.resize_with(c + 1, Vec::new);
        }
        out[c].push(t);
    }
    for list in &mut out {
        list.sort_unstable();
    }
    Ok(out)
}

/// The first time in `times` (sorted) within [from, to).
pub fn first_between(times: &[i64], from: i64, to: i64) -> Option<i64> {
    let i = times.partition_point(|&t| t < from);
    times.get(i).copied().filter(|&t| t < to)
}

/// The day after the latest date in any of the given Date/Datetime columns: the default analysis
/// date of the commands that read several files.
pub fn latest_day(columns: &[(&DataFrame, &str)]) -> Result<Option<i32>> {
    let mut best: Option<i32> = None;
    for (df, name) in columns {
        let col = df.column(name)?;
        let day = match col.dtype() {
            DataType::Date => col.date()?.physical().max(),
            DataType::Datetime(_, _) => col
                .datetime()?
                .physical()
                .max()
                .map(|ms| Day::of_ms(ms).days()),
            _ => None,
        };
        best = best.max(day);
    }
    Ok(best.map(|d| d + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::day::Day;
    use crate::money::Money;

    fn orders() -> DataFrame {
        let day = |s: &str| Day::parse(s).map(Day::days).unwrap();
        let money = |x: f64| Money::from_f64(x).unwrap().0;
        let mut df = df!(
            "customer_id" => ["A", "A", "A", "A", "B", "B", "B", "C"],
            "order_id" => [Some("o1"), Some("o1"), Some("o2"), Some("o3"), Some("o4"), None, None, Some("o9")],
            "order_date" => [day("2024-01-05"), day("2024-01-09"), day("2024-01-07"), day("2024-01-08"),
                             day("2024-02-01"), day("2024-02-02"), day("2024-02-03"), day("2024-03-01")],
            "amount" => [money(100.0), money(100.0), money(30.0), money(40.0), money(20.0), money(5.0), money(6.0), money(10.0)],
            "status" => ["paid", "refunded", "paid", "cancelled", "paid", "paid", "refunded", "paid"],
            "owner" => ["x", "x", "y", "y", "z", "z", "z", "z"],
        )
        .unwrap();
        df.apply("order_date", |c| c.cast(&DataType::Date).unwrap())
            .unwrap();
        df
    }

    #[test]
    fn the_spell_analyses_read_the_ledger_through_their_own_customer_numbers() {
        let d = |s: &str| Day::parse(s).map(Day::days).unwrap();
        let ledger = Ledger::build(&orders(), Some(Day::new(d("2024-03-01")))).unwrap();
        let mut customers = Interner::default();
        let mut strings = Interner::default();
        // B is known from an event log first, so it has number 0.
        customers.id("B");
        strings.id("someone");
        let o = CustomerOrders::new(Arc::new(ledger), &mut customers, &mut strings);
        assert_eq!(customers.names, ["B", "A", "C"]);
        // A: o1 is refunded in full (no purchase), o2 is one, o3 is cancelled.
        assert_eq!(o.purchases_of(1), [d("2024-01-07")]);
        assert_eq!(strings.name(o.purchase_owner(1, 0)), "y");
        assert_eq!(o.net_between(1, i32::MIN, i32::MAX).to_f64_cents(), 30.0);
        assert_eq!(o.order_days_between(1, d("2024-01-05"), d("2024-01-09")), 2);
        // B: o4, and each row without an order ID is an order of its own: 5 is a purchase, the
        // refund of 6 is not.
        assert_eq!(o.purchases_of(0), [d("2024-02-01"), d("2024-02-02")]);
        assert_eq!(o.net_between(0, i32::MIN, i32::MAX).to_f64_cents(), 19.0);
        assert_eq!(
            o.first_purchase_between(0, d("2024-02-02"), d("2024-03-01")),
            Some(d("2024-02-02"))
        );
        // C's only order is on as_of: no purchase; an unknown customer has none either.
        assert!(o.purchases_of(2).is_empty());
        assert!(o.purchases_of(7).is_empty());
        assert_eq!(o.customers().collect::<Vec<_>>(), [0, 1, 2]);
    }
}
