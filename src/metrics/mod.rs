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
