//! A DataFrame column as a list of display-ready cells, shared by every text renderer and xlsx, so
//! that a number reads the same in a table, a CSV and a JSON file.

use polars::prelude::*;

use chrono::Datelike;

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
        let mut s = String::new();
        self.write_to(&mut s);
        s
    }

    /// Appends the cell's text to `buf` without allocating (the CSV writer's hot path): integers,
    /// dates and two-decimal money by hand, the rest through `fmt` — the same text either way.
    pub fn write_to(&self, buf: &mut String) {
        use std::fmt::Write;
        // Writing to a String cannot fail.
        let _ = match *self {
            Cell::Null => Ok(()),
            Cell::Text(s) => {
                buf.push_str(s);
                Ok(())
            }
            Cell::Int(i) => {
                push_int(buf, i);
                Ok(())
            }
            // Never print "-0" (the pattern matches -0.0 too); non-finite values are shown empty.
            Cell::Float(0.0) => {
                buf.push('0');
                Ok(())
            }
            Cell::Float(f) if f.is_finite() => {
                if !push_cents(buf, f) {
                    let _ = write!(buf, "{f}");
                }
                Ok(())
            }
            Cell::Float(_) => Ok(()),
            Cell::Date(d) => write_days(buf, d),
            Cell::DateTime(ms) => {
                let secs = ms.rem_euclid(86_400_000) / 1000;
                write_days(buf, ms.div_euclid(86_400_000) as i32).and_then(|_| {
                    write!(
                        buf,
                        " {:02}:{:02}:{:02}",
                        secs / 3600,
                        secs / 60 % 60,
                        secs % 60
                    )
                })
            }
            Cell::Bool(b) => write!(buf, "{b}"),
        };
    }

    /// The cell as a person reads it (terminal tables, HTML; never CSV or JSON): numbers with
    /// thousands separators, `share` columns as percentages, a `whole` column without decimals.
    pub fn human(&self, share: bool, whole: bool) -> String {
        match *self {
            Cell::Float(f) => float_text(f, share, whole),
            Cell::Int(i) if share => float_text(i as f64, true, false),
            Cell::Int(i) => grouped(i as f64, 0),
            _ => self.text(),
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Cell::Int(_) | Cell::Float(_))
    }
}

/// 1234567.891 → "1,234,567.89".
pub fn grouped(v: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s.as_str(), None),
    };
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    if v < 0.0 && out.chars().any(|c| c.is_ascii_digit() && c != '0') {
        out.insert(0, '-');
    }
    out
}

/// How a float reads to a person: shares as percentages, whole numbers (a column of them) without
/// decimals, other numbers grouped with 2 decimals (4 significant digits below 1).
fn float_text(v: f64, share: bool, whole: bool) -> String {
    if !v.is_finite() {
        return String::new();
    }
    if share {
        return format!("{:.1}%", v * 100.0);
    }
    if whole {
        return grouped(v, 0);
    }
    if v != 0.0 && v.abs() < 1.0 {
        let digits = (3 - v.abs().log10().floor() as i32).clamp(2, 8) as usize;
        return format!("{v:.digits$}");
    }
    grouped(v, 2)
}

/// Whether a column's numbers are all whole (counts held as floats read without decimals).
pub fn whole_numbers(cells: &[Cell<'_>]) -> bool {
    let mut any = false;
    for c in cells {
        match *c {
            Cell::Float(f) if f.is_finite() => {
                if f.fract() != 0.0 {
                    return false;
                }
                any = true;
            }
            Cell::Int(_) => any = true,
            _ => {}
        }
    }
    any
}

fn write_days(buf: &mut String, days: i32) -> std::fmt::Result {
    use std::fmt::Write;
    if let Some((y, m, d)) = civil(days) {
        let text = [
            b'0' + (y / 1000) as u8,
            b'0' + (y / 100 % 10) as u8,
            b'0' + (y / 10 % 10) as u8,
            b'0' + (y % 10) as u8,
            b'-',
            b'0' + (m / 10) as u8,
            b'0' + (m % 10) as u8,
            b'-',
            b'0' + (d / 10) as u8,
            b'0' + (d % 10) as u8,
        ];
        buf.push_str(std::str::from_utf8(&text).unwrap_or_default());
        return Ok(());
    }
    match crate::day::Day::new(days).date() {
        Some(d) => write!(buf, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
        None => write!(buf, "{days}"),
    }
}

/// Year, month and day of a day since 1970-01-01 in the years 0000–9999 (proleptic Gregorian),
/// without chrono: Howard Hinnant's `civil_from_days`. None outside those years.
fn civil(days: i32) -> Option<(u32, u32, u32)> {
    // 0000-03-01 .. 9999-12-31 in days since 1970-01-01.
    if !(-719_468..=2_932_896).contains(&days) {
        return None;
    }
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097) as u32;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe as i32 + era * 400 + i32::from(m <= 2);
    Some((u32::try_from(y).ok()?, m, d))
}

/// Appends an integer's decimal digits.
fn push_int(buf: &mut String, i: i64) {
    let mut digits = [0u8; 20];
    let mut n = i.unsigned_abs();
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 {
        buf.push('-');
    }
    buf.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

/// Appends `f` when it is a whole number of hundredths below 10^13 (money, shares to the cent):
/// its shortest round-trip text — what `{f}` prints — is then those hundredths with trailing
/// zeros dropped, since a decimal of at most 15 significant digits is the only such decimal of
/// its double. Returns false, appending nothing, for any other value.
fn push_cents(buf: &mut String, f: f64) -> bool {
    if f.abs() >= 1e13 {
        return false;
    }
    let cents = (f * 100.0).round();
    if cents / 100.0 != f {
        return false;
    }
    let cents = cents as i64;
    if cents < 0 {
        buf.push('-');
    }
    let (whole, frac) = (cents.unsigned_abs() / 100, cents.unsigned_abs() % 100);
    push_int(buf, whole as i64);
    if frac != 0 {
        buf.push('.');
        buf.push((b'0' + (frac / 10) as u8) as char);
        if frac % 10 != 0 {
            buf.push((b'0' + (frac % 10) as u8) as char);
        }
    }
    true
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

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The hand-written integers, dates and money print what `fmt` and chrono print.
        #[test]
        fn fast_cells_print_what_fmt_prints(
            i in proptest::num::i64::ANY,
            cents in -1_000_000_000_000_000i64..1_000_000_000_000_000,
            bits in proptest::num::u64::ANY,
            days in -800_000i32..3_000_000,
        ) {
            proptest::prop_assert_eq!(Cell::Int(i).text(), i.to_string());
            let money = cents as f64 / 100.0;
            for f in [money, f64::from_bits(bits), cents as f64 / 1000.0, cents as f64 / 7.0] {
                if f.is_finite() && f != 0.0 {
                    proptest::prop_assert_eq!(Cell::Float(f).text(), format!("{f}"));
                }
            }
            let chrono_text = match crate::day::Day::new(days).date() {
                Some(d) => format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
                None => days.to_string(),
            };
            proptest::prop_assert_eq!(Cell::Date(days).text(), chrono_text);
        }
    }

    #[test]
    fn numbers_read_as_a_person_reads_them() {
        assert_eq!(float_text(0.1234, true, false), "12.3%");
        assert_eq!(float_text(0.012345, false, false), "0.01235");
        assert_eq!(float_text(12.0, false, false), "12.00");
        assert_eq!(float_text(2228.0, false, true), "2,228");
        assert_eq!(Cell::Int(3246).human(false, true), "3,246");
        assert_eq!(Cell::Float(7516774.96).human(false, false), "7,516,774.96");
        assert_eq!(Cell::Text("a").human(true, false), "a");
        assert!(whole_numbers(&[Cell::Float(2.0), Cell::Null, Cell::Int(3)]));
        assert!(!whole_numbers(&[Cell::Float(2.5)]));
        assert!(!whole_numbers(&[Cell::Text("x")]));
    }

    #[test]
    fn cells_as_text() {
        assert_eq!(Cell::Float(-0.0).text(), "0");
        assert_eq!(Cell::Float(1234.5).text(), "1234.5");
        assert_eq!(Cell::Float(f64::NAN).text(), "");
        assert_eq!(Cell::Date(19_727).text(), "2024-01-05");
        assert_eq!(
            Cell::DateTime(19_727 * 86_400_000 + 3_723_000).text(),
            "2024-01-05 01:02:03"
        );
        assert_eq!(Cell::Int(-3).text(), "-3");
    }
}
