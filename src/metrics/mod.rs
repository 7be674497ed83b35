//! The metrics themselves: pure functions from DataFrames to DataFrames, no I/O.

pub mod abc;
pub mod orders;
pub mod rfm;
