//! Helpers for reading polars frames in Rust: column values, list columns by their offsets.
//! (Which order rows are purchases is decided in one place only: [`crate::ledger`].)

use anyhow::Result;
use polars::prelude::*;

/// Collects on the streaming engine, which aggregates in parallel partitions; on 10 million
/// rows it is about twice as fast as the in-memory one here (bench/rfm.py).
pub fn collect(lf: LazyFrame) -> PolarsResult<DataFrame> {
    Ok(lf.collect_with_engine(Engine::Streaming)?.unwrap_single())
}

pub fn has_column(df: &DataFrame, name: &str) -> bool {
    df.get_column_names().iter().any(|c| c.as_str() == name)
}

/// A text column as string slices (null as "").
pub fn str_values<'a>(df: &'a DataFrame, name: &str) -> Result<Vec<&'a str>> {
    Ok(df
        .column(name)?
        .str()?
        .iter()
        .map(|s| s.unwrap_or_default())
        .collect())
}

/// A Date column as days since 1970-01-01.
pub fn day_values(df: &DataFrame, name: &str) -> Result<Vec<Option<i32>>> {
    Ok(df.column(name)?.date()?.physical().iter().collect())
}

/// A list column flattened: every row's values in one single-chunk Series, row `g` holding
/// `offsets[g] .. offsets[g + 1]`. Reads list aggregates without building a Series per row.
pub fn flatten_list(column: &Column) -> Result<(Vec<usize>, Series)> {
    let list = column.list()?.rechunk();
    let Some(array) = list.downcast_iter().next() else {
        return Ok((
            vec![0],
            Series::new_empty(PlSmallStr::EMPTY, &DataType::Null),
        ));
    };
    let first = *array.offsets().first() as usize;
    let last = *array.offsets().last() as usize;
    // The values buffer may hold more than this array's rows (a sliced array): keep only theirs.
    let inner = Series::try_from((PlSmallStr::EMPTY, array.values().clone()))?
        .slice(first as i64, last - first)
        .rechunk();
    let offsets = array
        .offsets()
        .iter()
        .map(|&o| o as usize - first)
        .collect();
    Ok((offsets, inner))
}

/// The values of a numeric list column, nulls read as 0, one slice per row.
pub struct ListValues<T: PolarsNumericType> {
    offsets: Vec<usize>,
    values: Vec<T::Native>,
}

impl<T: PolarsNumericType> ListValues<T> {
    pub fn new(column: &Column) -> Result<ListValues<T>> {
        let (offsets, inner) = flatten_list(column)?;
        let inner = inner.cast(&T::get_static_dtype())?;
        let values = inner
            .unpack::<T>()?
            .iter()
            .map(|v| v.unwrap_or_default())
            .collect();
        Ok(ListValues { offsets, values })
    }

    pub fn get(&self, row: usize) -> &[T::Native] {
        &self.values[self.offsets[row]..self.offsets[row + 1]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_values_of_a_sliced_list_column() {
        let rows = Series::new(
            "l".into(),
            [
                Series::new("".into(), [1i32, 2]),
                Series::new("".into(), [3i32]),
                Series::new("".into(), [4i32, 5, 6]),
            ],
        );
        // Skipping the first row leaves the values buffer with the first row's values in front.
        let sliced = rows.slice(1, 2).into_column();
        let v = ListValues::<Int32Type>::new(&sliced).unwrap();
        assert_eq!(v.get(0), [3]);
        assert_eq!(v.get(1), [4, 5, 6]);
        let whole = ListValues::<Int32Type>::new(&rows.into_column()).unwrap();
        assert_eq!(whole.get(0), [1, 2]);
    }
}
