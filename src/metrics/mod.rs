//! The metrics themselves: pure functions from DataFrames to DataFrames, no I/O.

pub mod abc;
pub mod clv;
pub mod cohort;
pub mod conversion;
pub mod lifecycle;
pub mod nps;
pub mod orders;
pub mod ownership;
pub mod periods;
pub mod pool;
pub mod rating;
pub mod recovery;
pub mod rfm;
