//! The per-group rate tables of `conversion` and `recovery`: rows grouped by their labels
//! (unknown customer groups after the known ones, then by value), an `all` row last, and a
//! rate's Wilson interval. The commands keep their own accumulators and columns; the layout and
//! the interval are written here once.

use std::collections::BTreeMap;

use polars::prelude::*;

use super::stats::{round_to, wilson_fraction};

/// Accumulators by (is an unknown group, labels): the map's order is the table's.
pub type Groups<A> = BTreeMap<(bool, Vec<String>), A>;

/// The label columns (`names`, one per grouping column) and the accumulators in table order: each
/// group, then `all` (labelled [`super::ALL`] in every label column).
pub fn with_all_row<A>(names: &[String], groups: Groups<A>, all: A) -> (Vec<Column>, Vec<A>) {
    let mut labels: Vec<Vec<String>> = vec![Vec::new(); names.len()];
    let mut rows: Vec<A> = Vec::with_capacity(groups.len() + 1);
    for ((_, k), acc) in groups {
        for (i, v) in k.into_iter().enumerate() {
            labels[i].push(v);
        }
        rows.push(acc);
    }
    for l in labels.iter_mut() {
        l.push(super::ALL.into());
    }
    rows.push(all);
    let columns = names
        .iter()
        .zip(labels)
        .map(|(n, l)| Column::new(n.as_str().into(), l))
        .collect();
    (columns, rows)
}

/// The 95 % Wilson interval of `successes` of `n` per row, as `ci_low` and `ci_high` columns
/// (fractions to 4 decimals; empty where `n` is 0).
pub fn wilson_columns(successes_and_n: impl Iterator<Item = (u64, u64)>) -> [Column; 2] {
    let (low, high): (Vec<Option<f64>>, Vec<Option<f64>>) = successes_and_n
        .map(|(k, n)| {
            if n == 0 {
                return (None, None);
            }
            let (_, lo, hi) = wilson_fraction(k as f64, n as f64);
            (Some(round_to(lo, 4)), Some(round_to(hi, 4)))
        })
        .unzip();
    [
        Column::new("ci_low".into(), low),
        Column::new("ci_high".into(), high),
    ]
}
