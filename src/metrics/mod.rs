//! The metrics themselves: pure functions from DataFrames to DataFrames, no I/O.

pub mod abc;
pub mod clv;
pub mod cohort;
pub mod conversion;
pub mod funnel;
pub mod lifecycle;
pub mod nps;
pub mod orders;
pub mod ownership;
pub mod periods;
pub mod pool;
pub mod rating;
pub mod recovery;
pub mod rfm;
pub mod targets;

/// Customers-file groups (`--by COLUMN`, docs/metrics.md "Groups"): the column names, and per
/// item (a customer index, or a survey row) its group keys, one per combination of the values of
/// multi-valued cells. An item with no key is in [`UNKNOWN`].
pub struct GroupKeys {
    pub names: Vec<String>,
    pub of: Vec<Vec<Vec<String>>>,
}

/// The group of a customer missing from the customers file, or with an empty cell.
pub const UNKNOWN: &str = "(unknown)";

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
