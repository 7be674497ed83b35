//! Helpers for reading polars frames in Rust.
//! (Which order rows are purchases is decided in one place only: [`crate::ledger`].)

use anyhow::Result;
use polars::prelude::*;

/// A text column as string slices (null as "").
pub fn str_values<'a>(df: &'a DataFrame, name: &str) -> Result<Vec<&'a str>> {
    Ok(df
        .column(name)?
        .str()?
        .iter()
        .map(|s| s.unwrap_or_default())
        .collect())
}
