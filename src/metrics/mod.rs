//! The metrics themselves: pure functions from DataFrames to DataFrames, no I/O.

pub mod abc;
pub mod assign;
pub mod clv;
pub mod cohort;
pub mod conversion;
pub mod funnel;
pub mod grouped;
pub mod lifecycle;
pub mod meanings;
pub mod nps;
pub mod orders;
pub mod owner;
pub mod ownership;
pub mod periods;
pub mod pool;
pub mod predict;
pub mod rating;
pub mod recovery;
pub mod retention;
pub mod rfm;
pub mod stats;
pub mod targets;

/// Customers-file groups (`--by COLUMN`, docs/metrics.md "Groups"): the column names, and per
/// item (a customer index, or a survey row) its group keys, one per combination of the values of
/// multi-valued cells. An item with no key is in [`UNKNOWN`].
pub struct GroupKeys {
    pub names: Vec<String>,
    pub of: Vec<Vec<Vec<String>>>,
}

impl GroupKeys {
    /// The keys of item `i`, or one key of `(unknown)` in every column when it has none.
    pub fn keys_of(&self, i: usize) -> Vec<Vec<String>> {
        match self.of.get(i).filter(|k| !k.is_empty()) {
            Some(k) => k.clone(),
            None => vec![vec![UNKNOWN.to_string(); self.names.len()]],
        }
    }

    /// The keys of item `i` after `prefix` (a command's own group labels): one per key of the
    /// item, or just `prefix` without customer groups.
    pub fn prefixed(groups: Option<&GroupKeys>, prefix: Vec<String>, i: usize) -> Vec<Vec<String>> {
        match groups {
            None => vec![prefix],
            Some(g) => g
                .keys_of(i)
                .into_iter()
                .map(|k| {
                    let mut key = prefix.clone();
                    key.extend(k);
                    key
                })
                .collect(),
        }
    }
}

/// The group of a customer missing from the customers file, or with an empty cell.
pub const UNKNOWN: &str = "(unknown)";

/// The label of the row over every group of a grouped table (and of a target over all data).
pub const ALL: &str = "all";

/// A figure with its 95 % interval, in the figure's own unit (a rate 0–1, NPS points, …).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

impl From<(f64, f64, f64)> for Estimate {
    fn from((value, low, high): (f64, f64, f64)) -> Self {
        Estimate { value, low, high }
    }
}
