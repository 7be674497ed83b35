//! Coerces a raw column (text from CSV/Excel, or typed Parquet) into its role's canonical type,
//! counting every cell that cannot be read instead of stopping at the first, so that the error (or
//! `inspect`) can say how many there are and show the first.

use polars::prelude::*;
use rayon::prelude::*;

use super::schema::ValueKind;
use super::values::{self, DateParse, DayMonthOrder, ExcelEpoch, OrderStatus, Stamp, WordCache};
use crate::money::Money;

/// Settings that change how values are read.
#[derive(Clone, Debug, Default)]
pub struct ValueOptions {
    /// An explicit chrono format for every date column (`--date-format`).
    pub date_format: Option<String>,
    /// A table's own format (`--date-format history=…`), which wins for that table.
    pub table_date_formats: Vec<(crate::input::schema::TableKind, String)>,
    pub excel_epoch: ExcelEpoch,
    pub decimal_comma: bool,
    /// Fixed UTC offset in seconds that calendar days are counted in (`--tz`); values without an
    /// offset of their own are taken as already local.
    pub tz_offset_secs: Option<i32>,
}

/// The first cell that could not be read.
#[derive(Clone, Debug, PartialEq)]
pub struct BadCell {
    /// 0-based data row index.
    pub index: usize,
    pub value: String,
    pub reason: String,
}

/// A coerced column plus what went wrong on the way.
pub struct Coerced {
    pub column: Column,
    /// Cells that had a value that could not be read (they are null in `column`).
    pub invalid: usize,
    pub first_invalid: Option<BadCell>,
    /// Every unreadable cell, in row order (for `--on-bad-rows skip`).
    pub bad: Vec<BadCell>,
    /// When dates are written `a/b/yyyy` and nothing in the column says which is the day.
    pub ambiguous_order: Option<BadCell>,
    /// A date column whose cells carry a time of day: the milliseconds since midnight of each
    /// cell (the date column itself holds only the day). `None` when every cell is at midnight.
    pub time_of_day: Option<Column>,
}

impl Coerced {
    fn clean(column: Column) -> Self {
        Coerced {
            column,
            invalid: 0,
            first_invalid: None,
            bad: Vec::new(),
            ambiguous_order: None,
            time_of_day: None,
        }
    }
}

/// Coerces `column` to the canonical type of `kind`, naming the result `name`.
pub fn coerce(
    column: &Column,
    kind: ValueKind,
    name: &str,
    opts: &ValueOptions,
) -> PolarsResult<Coerced> {
    let name = PlSmallStr::from(name);
    let dtype = column.dtype().clone();
    let series = column.as_materialized_series();
    let mut out = match kind {
        ValueKind::Id | ValueKind::Text => match dtype {
            DataType::String if kind == ValueKind::Id && float_written_integers(series.str()?) => {
                // `12347.0`: an integer ID a float column wrote (pandas does), the ID "12347".
                let text: StringChunked = series
                    .str()?
                    .iter()
                    .map(|v| v.map(|x| x.trim().strip_suffix(".0").unwrap_or(x.trim())))
                    .collect();
                Coerced::clean(text.into_column())
            }
            DataType::String => Coerced::clean(trim_text(series.str()?).into_column()),
            DataType::Float32 | DataType::Float64 => {
                // A numeric ID column from Parquet/Excel: 1001.0 is the ID "1001".
                let f = series.cast(&DataType::Float64)?;
                let text: StringChunked = f
                    .f64()?
                    .iter()
                    .map(|v| {
                        v.map(|x| {
                            if x.fract() == 0.0 && x.abs() < 1e15 {
                                format!("{x:.0}")
                            } else {
                                x.to_string()
                            }
                        })
                    })
                    .collect();
                Coerced::clean(text.into_column())
            }
            _ => Coerced::clean(series.cast(&DataType::String)?.into_column()),
        },
        ValueKind::Money => match dtype {
            DataType::String => parse_money_column(series.str()?, opts.decimal_comma),
            // DECIMAL(p, s) from a warehouse: through its exact decimal text, so no digit is
            // lost to a float on the way.
            DataType::Decimal(_, _) => {
                parse_money_column(series.cast(&DataType::String)?.str()?, false)
            }
            dt if dt.is_integer() => money_from_integers(series)?,
            dt if dt.is_primitive_numeric() || dt == DataType::Boolean => {
                money_from_floats(&series.cast(&DataType::Float64)?)?
            }
            other => {
                return Err(
                    polars_err!(ComputeError: "expected an amount, the column holds {other}"),
                )
            }
        },
        ValueKind::Number => match dtype {
            DataType::String => parse_number_column(series.str()?, opts.decimal_comma),
            DataType::Decimal(_, _) => {
                Coerced::clean(series.cast(&DataType::Float64)?.into_column())
            }
            dt if dt.is_primitive_numeric() => {
                Coerced::clean(series.cast(&DataType::Float64)?.into_column())
            }
            DataType::Boolean => Coerced::clean(series.cast(&DataType::Float64)?.into_column()),
            other => {
                return Err(
                    polars_err!(ComputeError: "expected a number, the column holds {other}"),
                )
            }
        },
        ValueKind::Date | ValueKind::DateTime => {
            let stamps = match dtype {
                DataType::String => parse_date_column(series.str()?, opts),
                DataType::Date => {
                    let days = series.date()?.physical().clone();
                    return Ok(Coerced::clean(finish_dates(days, kind, name)?));
                }
                DataType::Datetime(_, _) => {
                    let ms = series
                        .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))?
                        .datetime()?
                        .physical()
                        .clone();
                    let time_of_day = times_of_day(&ms, kind);
                    let mut coerced = Coerced::clean(finish_millis(ms, kind, name)?);
                    coerced.time_of_day = time_of_day;
                    return Ok(coerced);
                }
                dt if dt.is_primitive_numeric() => {
                    // Excel serial days stored as numbers.
                    let f = series.cast(&DataType::Float64)?;
                    let text: StringChunked =
                        f.f64()?.iter().map(|v| v.map(|x| x.to_string())).collect();
                    parse_date_column(&text, opts)
                }
                other => {
                    return Err(
                        polars_err!(ComputeError: "expected a date, the column holds {other}"),
                    )
                }
            };
            let (millis, mut coerced) = stamps;
            coerced.time_of_day = times_of_day(&millis, kind);
            coerced.column = finish_millis(millis, kind, name.clone())?;
            coerced
        }
        ValueKind::Count => match dtype {
            DataType::String => parse_count_column(series.str()?, opts.decimal_comma),
            _ => parse_count_column(series.cast(&DataType::String)?.str()?, opts.decimal_comma),
        },
        ValueKind::Flag => match dtype {
            DataType::Boolean => Coerced::clean(series.clone().into_column()),
            DataType::String => parse_flag_column(series.str()?),
            _ => parse_flag_column(series.cast(&DataType::String)?.str()?),
        },
        ValueKind::Status => match dtype {
            DataType::String => parse_status_column(series.str()?),
            _ => parse_status_column(series.cast(&DataType::String)?.str()?),
        },
    };
    out.column.rename(name);
    Ok(out)
}

/// Whether every non-empty cell is digits followed by `.0` (and there is one).
fn float_written_integers(text: &StringChunked) -> bool {
    let mut any = false;
    for cell in text.iter().flatten() {
        let cell = cell.trim();
        if cell.is_empty() {
            continue;
        }
        match cell.strip_suffix(".0") {
            Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                any = true
            }
            _ => return false,
        }
    }
    any
}

fn finish_dates(days: Int32Chunked, kind: ValueKind, name: PlSmallStr) -> PolarsResult<Column> {
    match kind {
        ValueKind::Date => Ok(days.with_name(name).into_date().into_column()),
        _ => {
            let ms: Int64Chunked = days
                .iter()
                .map(|d| d.map(|d| i64::from(d) * 86_400_000))
                .collect();
            finish_millis(ms, kind, name)
        }
    }
}

/// The time of day (ms since midnight) of each stamp of a column read as days, when any stamp
/// has one: what orders a cancellation against a purchase of the same day.
fn times_of_day(ms: &Int64Chunked, kind: ValueKind) -> Option<Column> {
    use crate::day::DAY_MS;
    if kind != ValueKind::Date || !ms.iter().flatten().any(|m| m.rem_euclid(DAY_MS) != 0) {
        return None;
    }
    let times: Int32Chunked = ms
        .iter()
        .map(|m| m.map(|m| m.rem_euclid(DAY_MS) as i32))
        .collect();
    Some(times.into_column())
}

fn finish_millis(ms: Int64Chunked, kind: ValueKind, name: PlSmallStr) -> PolarsResult<Column> {
    let ms = ms.with_name(name);
    match kind {
        ValueKind::Date => {
            let days: Int32Chunked = ms
                .iter()
                .map(|m| m.map(|m| m.div_euclid(86_400_000) as i32))
                .collect();
            Ok(days.with_name(ms.name().clone()).into_date().into_column())
        }
        _ => Ok(ms.into_datetime(TimeUnit::Milliseconds, None).into_column()),
    }
}

/// `f(offset, len)` over consecutive slices of `slice` rows covering `0..n` (one empty slice when
/// `n` is 0), on every core; the results in row order.
pub(crate) fn par_slices<T: Send>(
    n: usize,
    slice: usize,
    f: impl Fn(usize, usize) -> T + Sync,
) -> Vec<T> {
    (0..n.div_ceil(slice).max(1))
        .into_par_iter()
        .map(|k| {
            let offset = k * slice;
            f(offset, slice.min(n - offset.min(n)))
        })
        .collect()
}

/// Rows per slice of the scans that [`par_slices`] spreads over the cores.
const SCAN_SLICE: usize = 1 << 20;

/// Trims surrounding whitespace; blank cells become null. Returns the column untouched (no copy)
/// when nothing needs trimming, which is the common case.
fn trim_text(ca: &StringChunked) -> StringChunked {
    let needs_work = par_slices(ca.len(), SCAN_SLICE, |offset, len| {
        ca.slice(offset as i64, len).iter().flatten().any(|s| {
            s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace)
        })
    })
    .contains(&true);
    if !needs_work {
        return ca.clone();
    }
    ca.iter()
        .map(|v| v.map(str::trim).filter(|s| !s.is_empty()))
        .collect::<StringChunked>()
        .with_name(ca.name().clone())
}

struct Collector {
    invalid: usize,
    /// Every unreadable cell, in row order; the first is the error's example.
    all: Vec<BadCell>,
}

impl Collector {
    fn new() -> Self {
        Collector {
            invalid: 0,
            all: Vec::new(),
        }
    }

    fn bad(&mut self, index: usize, value: &str, reason: &str) {
        self.invalid += 1;
        self.all.push(BadCell {
            index,
            value: value.to_string(),
            reason: reason.to_string(),
        });
    }

    /// Adds the cells a later slice of the column could not read (slices absorbed in row order).
    fn absorb(&mut self, later: Collector) {
        self.invalid += later.invalid;
        self.all.extend(later.all);
    }

    fn into_coerced(mut self, column: Column) -> Coerced {
        self.all.sort_by_key(|b| b.index);
        Coerced {
            column,
            invalid: self.invalid,
            first_invalid: self.all.first().cloned(),
            bad: self.all,
            ambiguous_order: None,
            time_of_day: None,
        }
    }
}

/// Runs `parse` over every non-blank trimmed cell; a None result is counted as unreadable with
/// `reason`. Blank cells stay null without counting.
fn parse_cells<'a, T, C: FromIterator<Option<T>>>(
    ca: &'a StringChunked,
    reason: &str,
    mut parse: impl FnMut(&'a str) -> Option<T>,
) -> (C, Collector) {
    let mut errors = Collector::new();
    let values = ca
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let s = v?.trim();
            if s.is_empty() {
                return None;
            }
            let parsed = parse(s);
            if parsed.is_none() {
                errors.bad(i, s, reason);
            }
            parsed
        })
        .collect();
    (values, errors)
}

fn parse_number_column(ca: &StringChunked, decimal_comma: bool) -> Coerced {
    let (values, errors): (Float64Chunked, _) = parse_cells(ca, "is not a number", |s| {
        values::parse_money(s, decimal_comma)
    });
    errors.into_coerced(values.into_column())
}

/// Whole numbers of periods, 0 or more (`12` and `12.0` are twelve; `12.5` and `-1` are not).
fn parse_count_column(ca: &StringChunked, decimal_comma: bool) -> Coerced {
    let (values, errors): (Int64Chunked, _) =
        parse_cells(ca, "is not a whole number of periods, 0 or more", |s| {
            values::parse_money(s, decimal_comma)
                .filter(|v| *v >= 0.0 && v.fract() == 0.0 && *v < 1e9)
                .map(|v| v as i64)
        });
    errors.into_coerced(values.into_column())
}

/// Amounts as exact [`Money`] units (Int64), docs/metrics.md "Money".
fn parse_money_column(ca: &StringChunked, decimal_comma: bool) -> Coerced {
    let mut errors = Collector::new();
    let values: Int64Chunked = ca
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let s = v?.trim();
            if s.is_empty() {
                return None;
            }
            match values::parse_money(s, decimal_comma) {
                None if values::looks_like_decimal_comma(s) => {
                    errors.bad(
                        i,
                        s,
                        "is not an amount with a thousands comma (a comma before other than \
                         three digits); if the file writes decimal commas (1,5 = one and a \
                         half), pass --decimal-comma",
                    );
                    None
                }
                None if decimal_comma && values::looks_like_dot_decimal(s) => {
                    errors.bad(
                        i,
                        s,
                        "is a dot decimal, but --decimal-comma reads a dot as a thousands \
                         separator (1.234,56); leave --decimal-comma out for this file",
                    );
                    None
                }
                None => {
                    errors.bad(i, s, "is not an amount");
                    None
                }
                Some(x) => {
                    let m = Money::from_f64(x);
                    if m.is_none() {
                        errors.bad(i, s, OUT_OF_RANGE);
                    }
                    m.map(|m| m.0)
                }
            }
        })
        .collect();
    errors.into_coerced(values.into_column())
}

const OUT_OF_RANGE: &str = "is not a finite amount below a trillion";

/// A float column (Parquet, Excel, or read by polars' fast path) as Money units; NaN, ±∞ and
/// amounts of a trillion or more are unreadable cells.
fn money_from_floats(series: &Series) -> PolarsResult<Coerced> {
    money_cells(series.f64()?, Money::from_f64)
}

/// An integer column as whole currency units.
fn money_from_integers(series: &Series) -> PolarsResult<Coerced> {
    money_cells(series.cast(&DataType::Int64)?.i64()?, Money::from_units)
}

/// Numbers converted to Money units, each refused value counted as an unreadable cell (slices
/// of the column on every core, joined in row order).
fn money_cells<T>(
    values: &ChunkedArray<T>,
    to_money: impl Fn(T::Native) -> Option<Money> + Sync,
) -> PolarsResult<Coerced>
where
    T: PolarsNumericType,
    T::Native: ToString,
{
    let parts = par_slices(values.len(), SCAN_SLICE, |offset, len| {
        let mut errors = Collector::new();
        let units: Int64Chunked = values
            .slice(offset as i64, len)
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let x = v?;
                let m = to_money(x);
                if m.is_none() {
                    errors.bad(offset + i, &x.to_string(), OUT_OF_RANGE);
                }
                m.map(|m| m.0)
            })
            .collect();
        (units, errors)
    });
    let mut errors = Collector::new();
    let mut units: Option<Int64Chunked> = None;
    for (part, part_errors) in parts {
        match &mut units {
            None => units = Some(part),
            Some(all) => all.append_owned(part)?,
        }
        errors.absorb(part_errors);
    }
    Ok(errors.into_coerced(units.unwrap_or_default().into_column()))
}

/// Yes/no cells as booleans.
fn parse_flag_column(ca: &StringChunked) -> Coerced {
    let mut words = WordCache::new();
    let (flags, errors): (BooleanChunked, _) = parse_cells(ca, "is neither yes nor no", |s| {
        words.get(s, values::parse_flag)
    });
    errors.into_coerced(flags.into_column())
}

/// Order statuses as [`OrderStatus::code`]s (nulls stay null: no status, a plain order row).
fn parse_status_column(ca: &StringChunked) -> Coerced {
    let mut words = WordCache::new();
    let (codes, errors): (UInt32Chunked, _) = parse_cells(ca, "is not a known order status", |s| {
        words.get(s, OrderStatus::parse).map(OrderStatus::code)
    });
    errors.into_coerced(codes.into_column())
}

/// One chunk of a date column, parsed: values, unreadable cells, cells that could be day/month or
/// month/day, and the first cells proving each order (indexes are of the whole column).
struct DateChunk {
    millis: Vec<Option<i64>>,
    errors: Collector,
    ambiguous: Vec<(usize, DateParse)>,
    day_first: Option<(usize, String)>,
    month_first: Option<(usize, String)>,
}

/// Rows per parallel chunk of a date column.
const DATE_CHUNK: usize = 1 << 18;

fn parse_date_chunk(ca: &StringChunked, offset: usize, opts: &ValueOptions) -> DateChunk {
    let mut chunk = DateChunk {
        millis: Vec::with_capacity(ca.len()),
        errors: Collector::new(),
        ambiguous: Vec::new(),
        day_first: None,
        month_first: None,
    };
    let to_ms = |st: Stamp| st.in_zone(opts.tz_offset_secs).local_millis();
    for (local, v) in ca.iter().enumerate() {
        let i = offset + local;
        let Some(s) = v.map(str::trim).filter(|s| !s.is_empty()) else {
            chunk.millis.push(None);
            continue;
        };
        let parsed = match &opts.date_format {
            Some(format) => values::parse_with_format(s, format),
            None => {
                // Only a value that does not start with a 4-digit year can be a/b/yyyy.
                let starts_with_year =
                    s.len() >= 4 && s.as_bytes()[..4].iter().all(u8::is_ascii_digit);
                if !starts_with_year {
                    match values::day_month_evidence(s) {
                        Some(DayMonthOrder::DayFirst) if chunk.day_first.is_none() => {
                            chunk.day_first = Some((i, s.to_string()))
                        }
                        Some(DayMonthOrder::MonthFirst) if chunk.month_first.is_none() => {
                            chunk.month_first = Some((i, s.to_string()))
                        }
                        _ => {}
                    }
                }
                values::parse_date(s, DayMonthOrder::Unknown, opts.excel_epoch)
            }
        };
        chunk.millis.push(match parsed {
            DateParse::Ok(st) => Some(to_ms(st)),
            DateParse::Ambiguous { .. } => {
                chunk.ambiguous.push((i, parsed));
                None
            }
            DateParse::Invalid(reason) => {
                chunk.errors.bad(i, s, reason);
                None
            }
        });
    }
    chunk
}

/// Parses a text date column to milliseconds since the epoch (wall clock in the target zone).
///
/// Values written `a/b/yyyy` are checked for consistency across the whole column: a first part
/// above 12 proves day-first, a second part above 12 proves month-first. Proof both ways is an
/// error; values that could be either are resolved by the proof, and without any it is an error
/// that asks for `--date-format`. The order is never guessed. Chunks of the column are parsed on
/// every core; their evidence and errors are merged in row order, so the outcome is the same.
fn parse_date_column(ca: &StringChunked, opts: &ValueOptions) -> (Int64Chunked, Coerced) {
    let n = ca.len();
    let chunks: Vec<DateChunk> = par_slices(n, DATE_CHUNK, |offset, len| {
        parse_date_chunk(&ca.slice(offset as i64, len), offset, opts)
    });
    let mut millis: Vec<Option<i64>> = Vec::with_capacity(n);
    let mut errors = Collector::new();
    let mut ambiguous: Vec<(usize, DateParse)> = Vec::new();
    let mut day_first: Option<(usize, String)> = None;
    let mut month_first: Option<(usize, String)> = None;
    for chunk in chunks {
        millis.extend(chunk.millis);
        errors.absorb(chunk.errors);
        ambiguous.extend(chunk.ambiguous);
        day_first = day_first.or(chunk.day_first);
        month_first = month_first.or(chunk.month_first);
    }
    let to_ms = |st: Stamp| st.in_zone(opts.tz_offset_secs).local_millis();

    let mut ambiguous_order = None;
    let order = match (day_first, month_first) {
        (Some((i, a)), Some((j, b))) => {
            let (a, b) = (a.as_str(), b.as_str());
            let (index, first, second) = if i < j { (j, a, b) } else { (i, b, a) };
            ambiguous_order = Some(BadCell {
                index,
                value: second.to_string(),
                reason: format!(
                    "the column mixes day-first ({:?}) and month-first ({:?}) dates",
                    if i < j { first } else { second },
                    if i < j { second } else { first },
                ),
            });
            None
        }
        (Some(_), None) => Some(DayMonthOrder::DayFirst),
        (None, Some(_)) => Some(DayMonthOrder::MonthFirst),
        (None, None) => None,
    };
    if let (Some(order), false) = (order, ambiguous.is_empty()) {
        for (i, parsed) in ambiguous {
            match parsed.resolve(order) {
                DateParse::Ok(st) => millis[i] = Some(to_ms(st)),
                _ => errors.bad(i, ca.get(i).unwrap_or_default(), "is not a calendar date"),
            }
        }
    } else if ambiguous_order.is_none() && !ambiguous.is_empty() {
        let (i, _) = ambiguous[0];
        let value = ca.get(i).unwrap_or_default().trim().to_string();
        ambiguous_order = Some(BadCell {
            index: i,
            reason: format!(
                "{value:?} could be day/month or month/day and no value in the column decides it"
            ),
            value,
        });
    }
    let ca_out: Int64Chunked = millis.into_iter().collect();
    let mut coerced = errors.into_coerced(Column::new_empty(PlSmallStr::EMPTY, &DataType::Null));
    coerced.ambiguous_order = ambiguous_order;
    (ca_out, coerced)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(values: Vec<String>) -> StringChunked {
        StringChunked::from_iter_values("d".into(), values.iter().map(String::as_str))
    }

    #[test]
    fn integer_ids_written_as_floats_lose_the_dot_zero_only_when_all_do() {
        let ids = |v: &[&str]| {
            let c = Column::new("id".into(), v.iter().map(|s| Some(*s)).collect::<Vec<_>>());
            let out = coerce(&c, ValueKind::Id, "id", &ValueOptions::default()).unwrap();
            let s: Vec<String> = out
                .column
                .str()
                .unwrap()
                .iter()
                .map(|x| x.unwrap_or("").to_string())
                .collect();
            s
        };
        assert_eq!(ids(&["12347.0", "", "17850.0"]), ["12347", "", "17850"]);
        assert_eq!(ids(&["12347.0", "A1.0"]), ["12347.0", "A1.0"]);
        assert_eq!(ids(&["1.5", "2.0"]), ["1.5", "2.0"]);
    }

    #[test]
    fn evidence_in_a_later_chunk_decides_the_whole_column() {
        // Ambiguous a/b/yyyy cells in the first chunk; the only proof (13 as the first part:
        // day-first) is past DATE_CHUNK rows, in another chunk parsed on another core.
        let mut values: Vec<String> = (0..DATE_CHUNK + 5).map(|_| "01/02/2024".into()).collect();
        values.push("13/02/2024".into());
        let (millis, coerced) = parse_date_column(&column(values), &ValueOptions::default());
        assert_eq!(coerced.invalid, 0);
        assert!(coerced.ambiguous_order.is_none());
        let day = |ms: i64| ms.div_euclid(86_400_000);
        // 1 February 2024 (day-first), not 2 January.
        assert_eq!(millis.get(0).map(day), Some(19_754));
        assert_eq!(millis.get(DATE_CHUNK + 5).map(day), Some(19_766));
    }

    #[test]
    fn proofs_both_ways_in_different_chunks_name_the_later_cell() {
        let mut values: Vec<String> = (0..DATE_CHUNK).map(|_| "2024-01-05".into()).collect();
        values[7] = "13/02/2024".into();
        values.push("02/13/2024".into());
        let (_, coerced) = parse_date_column(&column(values), &ValueOptions::default());
        let bad = coerced.ambiguous_order.expect("mixed orders");
        assert_eq!(bad.index, DATE_CHUNK);
        assert!(bad.reason.contains("mixes day-first"), "{}", bad.reason);
        // An unreadable cell in the second chunk is found too.
        let mut values: Vec<String> = (0..DATE_CHUNK + 3).map(|_| "2024-01-05".into()).collect();
        values[DATE_CHUNK + 1] = "soon".into();
        let (_, coerced) = parse_date_column(&column(values), &ValueOptions::default());
        assert_eq!(coerced.invalid, 1);
        assert_eq!(coerced.first_invalid.unwrap().index, DATE_CHUNK + 1);
    }
}
