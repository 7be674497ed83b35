//! A DataFrame column as a list of display-ready cells, shared by every text renderer and xlsx, so
//! that a number reads the same in a table, a CSV and a JSON file.

use polars::prelude::*;

use crate::input::values::format_days;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    Null,
    Text(&'a str),
    Int(i64),
    Float(f64),
    /// Days since 1970-01-01.
    Date(i32),
    /// Milliseconds since 1970-01-01.
    DateTime(i64),
    Bool(bool),
}

impl Cell<'_> {
    /// The cell as text; floats use the shortest representation that reads back exactly.
    pub fn text(&self) -> String {
        match *self {
            Cell::Null => String::new(),
            Cell::Text(s) => s.to_string(),
            Cell::Int(i) => i.to_string(),
            Cell::Float(f) => format_float(f),
            Cell::Date(d) => format_days(d),
            Cell::DateTime(ms) => format_millis(ms),
            Cell::Bool(b) => b.to_string(),
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Cell::Int(_) | Cell::Float(_))
    }
}

pub fn format_float(f: f64) -> String {
    if f == 0.0 {
        // Never print "-0".
        "0".to_string()
    } else if f.is_finite() {
        format!("{f}")
    } else {
        String::new()
    }
}

pub fn format_millis(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000) as i32;
    let secs = ms.rem_euclid(86_400_000) / 1000;
    format!(
        "{} {:02}:{:02}:{:02}",
        format_days(days),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The cells of one column. Types polars can hold that crm-eval never produces fall back to their
/// text form.
pub fn column_cells(column: &Column) -> PolarsResult<Vec<Cell<'_>>> {
    let series = column.as_materialized_series();
    Ok(match series.dtype() {
        DataType::String => series
            .str()?
            .iter()
            .map(|v| v.map_or(Cell::Null, Cell::Text))
            .collect(),
        DataType::Boolean => series
            .bool()?
            .iter()
            .map(|v| v.map_or(Cell::Null, Cell::Bool))
            .collect(),
        DataType::Float32 | DataType::Float64 => series
            .cast(&DataType::Float64)?
            .f64()?
            .iter()
            .map(|v| match v {
                Some(f) if f.is_finite() => Cell::Float(f),
                _ => Cell::Null,
            })
            .collect(),
        dt if dt.is_integer() => series
            .cast(&DataType::Int64)?
            .i64()?
            .iter()
            .map(|v| v.map_or(Cell::Null, Cell::Int))
            .collect(),
        DataType::Date => series
            .date()?
            .physical()
            .iter()
            .map(|v| v.map_or(Cell::Null, Cell::Date))
            .collect(),
        DataType::Datetime(_, _) => series
            .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))?
            .datetime()?
            .physical()
            .iter()
            .map(|v| v.map_or(Cell::Null, Cell::DateTime))
            .collect(),
        _ => {
            // Leaked text would need an owner; such columns are never produced, so show nulls.
            vec![Cell::Null; series.len()]
        }
    })
}
