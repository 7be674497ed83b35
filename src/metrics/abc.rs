//! ABC (Pareto) tiers: customers ranked by value, A up to a cumulative share of value (default
//! 80 %), B up to the next (95 %), C the rest (docs/metrics.md, "ABC").
//!
//! Rules, stated so every tier can be checked by hand:
//! - the customers are those with a purchase (docs/metrics.md, "Orders and purchases");
//! - value = net revenue (refunds negative, cancelled/unpaid rows excluded), or with
//!   `--by margin` the margin column (or amount − cost) with the same signs, summed exactly;
//! - customers are ranked by value, highest first; equal values are ranked by customer_id;
//! - shares are of the total positive value, so a customer worth ≤ 0 has share 0: worth 0 it
//!   is C, worth less than 0 (a loss, e.g. `--by margin` below cost) it is **L**, a tier of its
//!   own kept out of the cumulative share;
//! - a customer is A when the cumulative share of the customers ranked above it is below the A
//!   threshold (so the customer that crosses 80 % is still A), B likewise for the B threshold,
//!   else C; customers with equal value all take the tier of the first of them.

use crate::day::Day;
use anyhow::{bail, Result};
use polars::prelude::*;
use rayon::prelude::*;

use super::stats::round_to;
use crate::ledger::Ledger;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum AbcBasis {
    /// Net revenue.
    #[default]
    Revenue,
    /// The margin (or profit) column, or amount − cost.
    Margin,
}

#[derive(Clone, Debug)]
pub struct AbcOptions {
    pub basis: AbcBasis,
    /// Cumulative-share thresholds as fractions, 0 < a < b ≤ 1.
    pub a: f64,
    pub b: f64,
}

impl Default for AbcOptions {
    fn default() -> Self {
        AbcOptions {
            basis: AbcBasis::Revenue,
            a: 0.80,
            b: 0.95,
        }
    }
}

pub struct Abc {
    /// rank, customer_id, value, value_share, cumulative_share, tier; by rank.
    pub customers: DataFrame,
    /// Totals of the tiers A, B and C, in that order, then L when a customer is worth less than 0.
    pub tiers: Vec<TierTotal>,
    /// Cumulative share of value up to each customer, in rank order (the Pareto curve).
    pub cumulative: Vec<f64>,
    pub as_of: Day,
    pub after_as_of: usize,
}

/// Ranks the customers with a purchase by net revenue or margin.
pub fn abc(ledger: &Ledger, opts: &AbcOptions) -> Result<Abc> {
    let watch = crate::diag::Stopwatch::new();
    let (ids, values) = customer_values(ledger, opts)?;
    watch.lap("  abc: customer values");
    rank(
        &ids,
        &values,
        ledger.as_of,
        ledger.stats.rows_after_as_of,
        opts,
    )
}

/// The value of each customer with a purchase (net revenue or margin, in the options' basis),
/// in ledger order.
pub fn customer_values<'a>(
    ledger: &'a Ledger,
    opts: &AbcOptions,
) -> Result<(Vec<&'a str>, Vec<f64>)> {
    if opts.basis == AbcBasis::Margin && !ledger.has_margin() {
        bail!(
            "--by margin needs a margin column (margin, profit, 毛利, 利润) or a cost column \
             (cost, 成本) in the orders, or --map margin=HEADER"
        );
    }
    let buyers: Vec<usize> = ledger.buyers().collect();
    let ids: Vec<&str> = buyers.iter().map(|&c| ledger.id(c)).collect();
    let values: Vec<f64> = buyers
        .iter()
        .map(|&c| match opts.basis {
            AbcBasis::Revenue => ledger.net(c),
            AbcBasis::Margin => ledger.margin(c).unwrap_or_default(),
        })
        .map(|m| m.to_f64_cents())
        .collect();
    Ok((ids, values))
}

/// Tiers customers by their values (any order: they are ranked here).
pub fn rank(
    ids: &[&str],
    values: &[f64],
    as_of: Day,
    after_as_of: usize,
    opts: &AbcOptions,
) -> Result<Abc> {
    let watch = crate::diag::Stopwatch::new();
    let tiers = tier_customers(ids, values, opts.a, opts.b);
    watch.lap("  abc: ranks and tiers");
    let n = tiers.order.len();
    let mut rank = Vec::with_capacity(n);
    let mut out_ids = Vec::with_capacity(n);
    let mut out_values = Vec::with_capacity(n);
    let mut shares = Vec::with_capacity(n);
    let mut cumulative = Vec::with_capacity(n);
    let mut tier = Vec::with_capacity(n);
    for (r, &i) in tiers.order.iter().enumerate() {
        rank.push(r as i64 + 1);
        out_ids.push(ids[i]);
        out_values.push(values[i]);
        shares.push(round_to(tiers.share[i], 6));
        cumulative.push(round_to(tiers.cumulative[i], 6));
        tier.push(tiers.tier[i]);
    }
    let tiers = tier_totals(&tier, &out_values, &shares);
    let customers = DataFrame::new_infer_height(vec![
        Column::new("rank".into(), rank),
        Column::new("customer_id".into(), out_ids),
        Column::new("value".into(), out_values),
        Column::new("value_share".into(), shares),
        Column::new("cumulative_share".into(), cumulative.clone()),
        Column::new("tier".into(), tier),
    ])?;
    Ok(Abc {
        customers,
        tiers,
        cumulative,
        as_of,
        after_as_of,
    })
}

/// Tiers for values, by the rules in the module documentation. Indexes refer to the inputs.
pub struct Tiers {
    /// Input indexes in rank order.
    pub order: Vec<usize>,
    pub share: Vec<f64>,
    /// Cumulative share up to and including each customer.
    pub cumulative: Vec<f64>,
    pub tier: Vec<&'static str>,
}

pub fn tier_customers(ids: &[&str], values: &[f64], a: f64, b: f64) -> Tiers {
    let n = values.len();
    // Rank order: value descending (f64 total order), then customer ID. The sort runs on
    // (key, position) pairs in parallel; when the IDs come in ascending order (the ledger's),
    // the position is the ID's order and no string is compared.
    let descending = |v: f64| {
        let bits = v.to_bits() as i64;
        let ascending = (bits ^ (((bits >> 63) as u64) >> 1) as i64) as u64 ^ (1 << 63);
        !ascending
    };
    let mut keyed: Vec<(u64, u32)> = values
        .iter()
        .enumerate()
        .map(|(i, &v)| (descending(v), i as u32))
        .collect();
    if ids.windows(2).all(|w| w[0] <= w[1]) {
        keyed.par_sort_unstable();
    } else {
        keyed.par_sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| ids[a.1 as usize].cmp(ids[b.1 as usize]))
                .then(a.1.cmp(&b.1))
        });
    }
    let order: Vec<usize> = keyed.into_iter().map(|(_, i)| i as usize).collect();
    // Shares and the running total in exact cents (docs/metrics.md "ABC"): the values are
    // money rounded to cents, so the cumulative share and the tier tests do not depend on the
    // order floats are added in, and the SQL of `crm-eval sql abc` gives the same tiers.
    let cents: Vec<i128> = values
        .iter()
        .map(|&v| {
            if v > 0.0 {
                (v * 100.0).round() as i128
            } else {
                0
            }
        })
        .collect();
    let total: i128 = cents.iter().sum();
    let share: Vec<f64> = cents
        .iter()
        .map(|&c| {
            if c > 0 && total > 0 {
                c as f64 / total as f64
            } else {
                0.0
            }
        })
        .collect();
    // Thresholds in basis points: A while (cents above) × 10,000 < a_bp × total.
    let (a_bp, b_bp) = (threshold_bp(a), threshold_bp(b));
    let mut cumulative = vec![0.0; n];
    let mut tier = vec!["C"; n];
    let mut running: i128 = 0;
    let mut run_tier = "C";
    for (position, &i) in order.iter().enumerate() {
        let same_as_previous = position > 0 && values[order[position - 1]] == values[i];
        if !same_as_previous {
            run_tier = if values[i] < 0.0 {
                "L"
            } else if values[i] == 0.0 {
                "C"
            } else if running * 10_000 < a_bp * total {
                "A"
            } else if running * 10_000 < b_bp * total {
                "B"
            } else {
                "C"
            };
        }
        running += cents[i];
        cumulative[i] = if total > 0 {
            running as f64 / total as f64
        } else {
            0.0
        };
        tier[i] = run_tier;
    }
    Tiers {
        order,
        share,
        cumulative,
        tier,
    }
}

/// A cumulative-share threshold (a fraction) in basis points: thresholds are read to 0.01 %.
pub fn threshold_bp(fraction: f64) -> i128 {
    (fraction * 10_000.0).round() as i128
}

/// The totals of one tier.
#[derive(Debug, Clone, PartialEq)]
pub struct TierTotal {
    pub tier: &'static str,
    pub customers: usize,
    /// Share of the ranked customers, rounded to 4 decimals.
    pub customer_share: f64,
    /// Value in money, rounded to cents.
    pub value: f64,
    /// Share of the positive value, rounded to 4 decimals.
    pub value_share: f64,
}

/// Totals per tier A, B, C (and L, when any customer is a loss) from the per-customer tiers,
/// values and value shares (rank order).
fn tier_totals(tiers: &[&str], values: &[f64], shares: &[f64]) -> Vec<TierTotal> {
    let n = tiers.len() as f64;
    let loss = tiers.contains(&"L");
    ["A", "B", "C", "L"]
        .into_iter()
        .filter(|&t| t != "L" || loss)
        .map(|name| {
            let idx: Vec<usize> = (0..tiers.len()).filter(|&i| tiers[i] == name).collect();
            TierTotal {
                tier: name,
                customers: idx.len(),
                customer_share: if n > 0.0 {
                    round_to(idx.len() as f64 / n, 4)
                } else {
                    0.0
                },
                value: round_to(idx.iter().map(|&i| values[i]).sum(), 2),
                value_share: round_to(idx.iter().map(|&i| shares[i]).sum(), 4),
            }
        })
        .collect()
}

/// [`tier_table`] of some ranked customers (rows of the per-customer table: its `tier` and
/// `value` columns), with the shares of these customers: a group's tier totals.
pub fn tier_summary_of(customers: &DataFrame) -> Result<DataFrame> {
    let tiers: Vec<&str> = customers
        .column("tier")?
        .str()?
        .iter()
        .map(|t| match t {
            Some("A") => "A",
            Some("B") => "B",
            Some("L") => "L",
            _ => "C",
        })
        .collect();
    let values: Vec<f64> = customers
        .column("value")?
        .f64()?
        .iter()
        .map(|v| v.unwrap_or(0.0))
        .collect();
    let total: f64 = values.iter().filter(|v| **v > 0.0).sum();
    // The same share, rounded the same way, as `abc` gives each customer.
    let shares: Vec<f64> = values
        .iter()
        .map(|&v| {
            if v > 0.0 && total > 0.0 {
                round_to(v / total, 6)
            } else {
                0.0
            }
        })
        .collect();
    tier_table(&tier_totals(&tiers, &values, &shares))
}

/// Per tier (A, B, C): customers, customer_share, value, value_share.
pub fn tier_table(tiers: &[TierTotal]) -> Result<DataFrame> {
    let explained = |f: fn(&super::meanings::Meaning) -> &'static str| -> Vec<&'static str> {
        tiers
            .iter()
            .map(|t| super::meanings::of(&super::meanings::ABC_TIERS, t.tier).map_or("", f))
            .collect()
    };
    let col = |name: &str, f: &dyn Fn(&TierTotal) -> f64| {
        Column::new(name.into(), tiers.iter().map(f).collect::<Vec<f64>>())
    };
    Ok(DataFrame::new_infer_height(vec![
        Column::new(
            "tier".into(),
            tiers.iter().map(|t| t.tier).collect::<Vec<_>>(),
        ),
        Column::new("meaning".into(), explained(|m| m.meaning)),
        Column::new("action".into(), explained(|m| m.action)),
        Column::new(
            "customers".into(),
            tiers.iter().map(|t| t.customers as i64).collect::<Vec<_>>(),
        ),
        col("customer_share", &|t| t.customer_share),
        col("value", &|t| t.value),
        col("value_share", &|t| t.value_share),
    ])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The keyed parallel sort ranks as the plain comparison does: value descending in
        /// f64 total order (−0 below 0), then ID, then position.
        #[test]
        fn rank_order_is_value_then_id(
            cells in proptest::collection::vec((-3i32..4, 0u8..20), 1..200),
            sorted_ids in proptest::bool::ANY,
        ) {
            let values: Vec<f64> = cells.iter().map(|c| match c.0 {
                3 => -0.0,
                v => f64::from(v) * 12.5,
            }).collect();
            let mut ids: Vec<String> = cells.iter().map(|c| format!("id{:02}", c.1)).collect();
            if sorted_ids {
                ids.sort();
            }
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            let mut expected: Vec<usize> = (0..values.len()).collect();
            expected.sort_by(|&x, &y| values[y].total_cmp(&values[x]).then_with(|| ids[x].cmp(ids[y])));
            proptest::prop_assert_eq!(tier_customers(&ids, &values, 0.8, 0.95).order, expected);
        }
    }

    #[test]
    fn crossing_customer_is_a_and_ties_share_a_tier() {
        // Total 100: 50 (cum before 0 → A), 30 (50 → A), 10 (80 → B), 5 (90 → B), 5 (tie → B), 0 → C.
        let ids = ["a", "b", "c", "d", "e", "f"];
        let values = [50.0, 30.0, 10.0, 5.0, 5.0, 0.0];
        let t = tier_customers(&ids, &values, 0.8, 0.95);
        assert_eq!(t.tier, vec!["A", "A", "B", "B", "B", "C"]);
        assert_eq!(t.order, vec![0, 1, 2, 3, 4, 5]);
        assert!((t.cumulative[4] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn losses_are_their_own_tier_outside_the_shares() {
        // Positive total 100: 60 → A, 40 (60 before) → A; 0 → C; −5, −20 → L, ranked last.
        let ids = ["a", "b", "c", "d", "e"];
        let values = [60.0, -20.0, 40.0, 0.0, -5.0];
        let t = tier_customers(&ids, &values, 0.8, 0.95);
        assert_eq!(t.order, vec![0, 2, 3, 4, 1]);
        let tiers: Vec<&str> = t.order.iter().map(|&i| t.tier[i]).collect();
        assert_eq!(tiers, ["A", "A", "C", "L", "L"]);
        assert_eq!(t.share[1], 0.0);
        let values_ranked: Vec<f64> = t.order.iter().map(|&i| values[i]).collect();
        let shares: Vec<f64> = t.order.iter().map(|&i| t.share[i]).collect();
        let totals = tier_totals(&tiers, &values_ranked, &shares);
        let l = totals.last().unwrap();
        assert_eq!(
            (l.tier, l.customers, l.value, l.value_share),
            ("L", 2, -25.0, 0.0)
        );
        let c = &totals[2];
        assert_eq!((c.tier, c.customers, c.value), ("C", 1, 0.0));
        // No loss: no L row.
        let t = tier_totals(&["A", "C"], &[1.0, 0.0], &[1.0, 0.0]);
        assert_eq!(t.len(), 3);
    }
}
