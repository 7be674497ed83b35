//! Dates as CRM exports write them: ISO and slashed dates in either day/month order, Chinese
//! dates, named months, date-times with zones, Excel serial numbers, and `--date-format`.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};

/// Which Excel date system a bare serial number counts from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExcelEpoch {
    /// Windows Excel: serial 1 is 1900-01-01 and serial 60 is the fictitious 1900-02-29 (Lotus bug).
    #[default]
    Excel1900,
    /// Old Mac Excel: serial 0 is 1904-01-01.
    Excel1904,
}

/// How to read `a/b/yyyy` when both `a` and `b` could be a month.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DayMonthOrder {
    /// Decide from the data; if nothing in the column decides it, it is an error.
    #[default]
    Unknown,
    DayFirst,
    MonthFirst,
}

/// A calendar timestamp as written in the data: local wall-clock time plus the UTC offset if the
/// value carried one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// Days since 1970-01-01 of the wall-clock date.
    pub days: i32,
    /// Milliseconds since midnight of the wall-clock time.
    pub millis: u32,
    /// Offset from UTC in seconds, when the value said (`Z`, `+08:00`).
    pub offset_secs: Option<i32>,
}

impl Stamp {
    pub(super) fn from_date(date: NaiveDate) -> Self {
        Stamp {
            days: crate::day::Day::from_date(date).days(),
            millis: 0,
            offset_secs: None,
        }
    }

    pub(super) fn from_datetime(dt: NaiveDateTime) -> Self {
        let t = dt.time();
        Stamp {
            days: crate::day::Day::from_date(dt.date()).days(),
            millis: t.num_seconds_from_midnight() * 1000 + t.nanosecond() / 1_000_000,
            offset_secs: None,
        }
    }

    /// Milliseconds since the Unix epoch of the wall-clock reading (no offset applied).
    pub fn local_millis(&self) -> i64 {
        i64::from(self.days) * 86_400_000 + i64::from(self.millis)
    }

    /// Re-expresses the stamp in the given zone when it carries an offset of its own; a stamp
    /// without one is already in "the data's own" zone and is left alone.
    pub fn in_zone(self, target_offset_secs: Option<i32>) -> Stamp {
        match (self.offset_secs, target_offset_secs) {
            (Some(own), Some(target)) if own != target => {
                let ms = self.local_millis() + i64::from(target - own) * 1000;
                Stamp {
                    days: ms.div_euclid(86_400_000) as i32,
                    millis: ms.rem_euclid(86_400_000) as u32,
                    offset_secs: Some(target),
                }
            }
            _ => self,
        }
    }
}

/// The outcome of parsing one date cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateParse {
    Ok(Stamp),
    /// `a/b/yyyy` with both `a` and `b` ≤ 12: resolved once the whole column has been seen.
    Ambiguous {
        first: u32,
        second: u32,
        year: i32,
        millis: u32,
        offset_secs: Option<i32>,
    },
    Invalid(&'static str),
}

impl DateParse {
    /// Resolves an ambiguous day/month value with the order decided for the column.
    pub fn resolve(self, order: DayMonthOrder) -> DateParse {
        match self {
            DateParse::Ambiguous {
                first,
                second,
                year,
                millis,
                offset_secs,
            } => {
                let (day, month) = match order {
                    DayMonthOrder::DayFirst => (first, second),
                    DayMonthOrder::MonthFirst => (second, first),
                    DayMonthOrder::Unknown => return self,
                };
                match NaiveDate::from_ymd_opt(year, month, day) {
                    Some(d) => DateParse::Ok(Stamp {
                        millis,
                        offset_secs,
                        ..Stamp::from_date(d)
                    }),
                    None => DateParse::Invalid("is not a calendar date"),
                }
            }
            other => other,
        }
    }
}

/// Parses a date or date-time in any of the shapes CRM exports use:
/// ISO (`2024-01-05`, `2024-01-05T10:30:00+08:00`), slashes and dots (`2024/1/5`, `2024.01.05`),
/// compact `20240105`, Chinese `2024年1月5日`, `05/01/2024` (day/month order from `order`),
/// `5 Jan 2024` / `Jan 5, 2024` / `05-Jan-2024`, Excel serial numbers, and Unix seconds or
/// milliseconds (10 or 13 digits).
pub fn parse_date(raw: &str, order: DayMonthOrder, epoch: ExcelEpoch) -> DateParse {
    let s = raw.trim();
    if s.is_empty() {
        return DateParse::Invalid("is empty");
    }
    let bytes = s.as_bytes();
    let dots = bytes.iter().filter(|b| **b == b'.').count();
    if dots <= 1 && bytes.iter().all(|b| b.is_ascii_digit() || *b == b'.') {
        return parse_numeric_date(s, epoch);
    }
    if s.contains('年') {
        let normalised: String = s.replace(['年', '月'], "-").replace(['日', '号'], " ");
        return parse_date(normalised.trim(), order, epoch);
    }
    match parse_numeric_ymd(bytes) {
        Some(parsed) => match parsed {
            DateParse::Ambiguous { .. } => parsed.resolve(order),
            other => other,
        },
        None => parse_named_month(s),
    }
}

fn parse_numeric_date(s: &str, epoch: ExcelEpoch) -> DateParse {
    let digits_only = !s.contains('.');
    if digits_only && s.len() == 8 && (s.starts_with("19") || s.starts_with("20")) {
        let (y, m, d) = (&s[0..4], &s[4..6], &s[6..8]);
        return match (y.parse(), m.parse(), d.parse()) {
            (Ok(y), Ok(m), Ok(d)) => match NaiveDate::from_ymd_opt(y, m, d) {
                Some(date) => DateParse::Ok(Stamp::from_date(date)),
                None => DateParse::Invalid("is not a calendar date"),
            },
            _ => DateParse::Invalid("is not a date"),
        };
    }
    if digits_only && (s.len() == 10 || s.len() == 13) {
        // Unix epoch seconds or milliseconds: far beyond any Excel serial, so not ambiguous.
        let Ok(n) = s.parse::<i64>() else {
            return DateParse::Invalid("is not a date");
        };
        let ms = if s.len() == 10 { n * 1000 } else { n };
        return DateParse::Ok(Stamp {
            days: ms.div_euclid(86_400_000) as i32,
            millis: ms.rem_euclid(86_400_000) as u32,
            offset_secs: Some(0),
        });
    }
    let Ok(serial) = s.parse::<f64>() else {
        return DateParse::Invalid("is not a date");
    };
    excel_serial(serial, epoch)
}

/// Converts an Excel serial day number (with an optional time fraction) to a stamp.
pub fn excel_serial(serial: f64, epoch: ExcelEpoch) -> DateParse {
    // 2958465 is 9999-12-31, the last day Excel can show.
    if !serial.is_finite() || !(0.0..2_958_466.0).contains(&serial) {
        return DateParse::Invalid("is a number outside the Excel date range");
    }
    let mut whole = serial.floor() as i64;
    let mut millis = ((serial - serial.floor()) * 86_400_000.0).round() as u32;
    if millis >= 86_400_000 {
        // A fraction that rounds up to midnight belongs to the next day.
        whole += 1;
        millis = 0;
    }
    let epoch_day = match epoch {
        ExcelEpoch::Excel1900 => {
            if whole == 60 {
                return DateParse::Invalid("is Excel serial 60, the fictitious 1900-02-29");
            }
            if whole == 0 {
                return DateParse::Invalid("is Excel serial 0, which is no date");
            }
            // Serials after the fictitious leap day are one day ahead of the true count.
            let base = if whole > 60 { -25_569 } else { -25_568 };
            whole + base
        }
        ExcelEpoch::Excel1904 => whole - 24_107,
    };
    DateParse::Ok(Stamp {
        days: epoch_day as i32,
        millis,
        offset_secs: None,
    })
}

/// `y-m-d`, `y/m/d`, `y.m.d`, `a/b/y` with an optional time part.
fn parse_numeric_ymd(bytes: &[u8]) -> Option<DateParse> {
    let mut pos = 0;
    let n1 = read_number(bytes, &mut pos)?;
    let sep = *bytes.get(pos)?;
    if !matches!(sep, b'-' | b'/' | b'.') {
        return None;
    }
    pos += 1;
    let n2 = read_number(bytes, &mut pos)?;
    if *bytes.get(pos)? != sep {
        return None;
    }
    pos += 1;
    let n3 = read_number(bytes, &mut pos)?;
    let (millis, offset_secs) = match parse_time_suffix(&bytes[pos..]) {
        Some(t) => t,
        None => return Some(DateParse::Invalid("has a time of day that cannot be read")),
    };
    let (v1, d1) = n1;
    let (v2, _) = n2;
    let (v3, d3) = n3;
    let ymd = |y: u32, m: u32, d: u32| match NaiveDate::from_ymd_opt(y as i32, m, d) {
        Some(date) => DateParse::Ok(Stamp {
            millis,
            offset_secs,
            ..Stamp::from_date(date)
        }),
        None => DateParse::Invalid("is not a calendar date"),
    };
    if d1 == 4 {
        return Some(ymd(v1, v2, v3));
    }
    if d3 != 4 || d1 > 2 {
        return Some(DateParse::Invalid("is not a date"));
    }
    Some(if v1 > 12 {
        ymd(v3, v2, v1)
    } else if v2 > 12 || v1 == v2 {
        // Month first is proven by a day above 12; equal parts read the same either way.
        ymd(v3, v1, v2)
    } else {
        DateParse::Ambiguous {
            first: v1,
            second: v2,
            year: v3 as i32,
            millis,
            offset_secs,
        }
    })
}

/// Reads up to 4 digits; returns the value and the digit count.
fn read_number(bytes: &[u8], pos: &mut usize) -> Option<(u32, usize)> {
    let start = *pos;
    let mut value = 0u32;
    while let Some(b) = bytes.get(*pos).filter(|b| b.is_ascii_digit()) {
        value = value * 10 + u32::from(b - b'0');
        *pos += 1;
        if *pos - start > 4 {
            return None;
        }
    }
    (*pos > start).then_some((value, *pos - start))
}

/// Parses what follows the date: nothing, or `[T ]HH:MM[:SS[.fff]][ ][AM|PM][Z|±HH[:MM]]`.
/// Returns milliseconds of the day and the offset, or None when the suffix is not a time.
fn parse_time_suffix(bytes: &[u8]) -> Option<(u32, Option<i32>)> {
    if bytes.is_empty() {
        return Some((0, None));
    }
    if !matches!(bytes[0], b'T' | b't' | b' ') {
        return None;
    }
    let mut pos = 1;
    while bytes.get(pos) == Some(&b' ') {
        pos += 1;
    }
    if pos == bytes.len() {
        return Some((0, None));
    }
    let (hour, _) = read_number(bytes, &mut pos)?;
    let mut minute = 0;
    let mut second = 0;
    let mut millis = 0;
    if bytes.get(pos) == Some(&b':') {
        pos += 1;
        minute = read_number(bytes, &mut pos)?.0;
        if bytes.get(pos) == Some(&b':') {
            pos += 1;
            second = read_number(bytes, &mut pos)?.0;
            if bytes.get(pos) == Some(&b'.') || bytes.get(pos) == Some(&b',') {
                pos += 1;
                let start = pos;
                let mut frac = 0u32;
                while let Some(b) = bytes.get(pos).filter(|b| b.is_ascii_digit()) {
                    if pos - start < 3 {
                        frac = frac * 10 + u32::from(b - b'0');
                    }
                    pos += 1;
                }
                let digits = (pos - start).min(3) as u32;
                millis = frac * 10u32.pow(3 - digits);
            }
        }
    }
    while bytes.get(pos) == Some(&b' ') {
        pos += 1;
    }
    let mut hour = hour;
    let rest = &bytes[pos..];
    let upper: Vec<u8> = rest
        .iter()
        .take(2)
        .map(|b| b.to_ascii_uppercase())
        .collect();
    if upper == b"AM" || upper == b"PM" {
        if hour == 0 || hour > 12 {
            return None;
        }
        hour = match (upper[0], hour) {
            (b'A', 12) => 0,
            (b'P', h) if h < 12 => h + 12,
            (_, h) => h,
        };
        pos += 2;
        while bytes.get(pos) == Some(&b' ') {
            pos += 1;
        }
    }
    let offset = match bytes.get(pos) {
        None => None,
        Some(b'Z') | Some(b'z') if pos + 1 == bytes.len() => Some(0),
        Some(&sign @ (b'+' | b'-')) => {
            pos += 1;
            let oh = read_two(bytes, &mut pos)?;
            if bytes.get(pos) == Some(&b':') {
                pos += 1;
            }
            let om = if pos < bytes.len() {
                read_two(bytes, &mut pos)?
            } else {
                0
            };
            if pos != bytes.len() || oh > 14 || om > 59 {
                return None;
            }
            let secs = (oh * 3600 + om * 60) as i32;
            Some(if sign == b'-' { -secs } else { secs })
        }
        Some(_) => return None,
    };
    NaiveTime::from_hms_milli_opt(hour, minute, second, millis)?;
    Some((((hour * 60 + minute) * 60 + second) * 1000 + millis, offset))
}

fn read_two(bytes: &[u8], pos: &mut usize) -> Option<u32> {
    let d = bytes.get(*pos..*pos + 2)?;
    if !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    *pos += 2;
    Some(u32::from(d[0] - b'0') * 10 + u32::from(d[1] - b'0'))
}

/// `5 Jan 2024`, `Jan 5, 2024`, `05-Jan-2024`, `January 5 2024`, with an optional `HH:MM[:SS]`.
fn parse_named_month(s: &str) -> DateParse {
    const DATE_FORMATS: [&str; 6] = [
        "%d %b %Y",
        "%b %d, %Y",
        "%b %d %Y",
        "%d-%b-%Y",
        "%d-%b-%y",
        "%B %d, %Y",
    ];
    const TIME_SUFFIXES: [&str; 3] = ["", " %H:%M", " %H:%M:%S"];
    for date_format in DATE_FORMATS {
        for time_suffix in TIME_SUFFIXES {
            let format = format!("{date_format}{time_suffix}");
            if time_suffix.is_empty() {
                if let Ok(d) = NaiveDate::parse_from_str(s, &format) {
                    return DateParse::Ok(Stamp::from_date(d));
                }
            } else if let Ok(dt) = NaiveDateTime::parse_from_str(s, &format) {
                return DateParse::Ok(Stamp::from_datetime(dt));
            }
        }
    }
    DateParse::Invalid("is not a date")
}

/// For a value written `a/b/yyyy`, which order it proves: a first part above 12 can only be a day,
/// a second part above 12 can only be a day too. None when the value proves nothing.
pub fn day_month_evidence(s: &str) -> Option<DayMonthOrder> {
    let bytes = s.as_bytes();
    let mut pos = 0;
    let (a, da) = read_number(bytes, &mut pos)?;
    let sep = *bytes.get(pos)?;
    if !matches!(sep, b'-' | b'/' | b'.') || da > 2 {
        return None;
    }
    pos += 1;
    let (b, _) = read_number(bytes, &mut pos)?;
    if a > 12 && b <= 12 {
        Some(DayMonthOrder::DayFirst)
    } else if b > 12 && a <= 12 {
        Some(DayMonthOrder::MonthFirst)
    } else {
        None
    }
}

/// The `--date-format` values that read `value` day first and month first, time of day
/// included (`12/1/2010 08:26` → `%d/%m/%Y %H:%M`, `%m/%d/%Y %H:%M`); `None` when the value is
/// not of the form a/b/year with an optional time.
/// The `--date-format`s of [`suggest_date_formats`] that read `value`, each with its order in
/// words: `02/23/26` gets only '%m/%d/%y' (month first), as 23 is no month.
pub fn fitting_date_formats(value: &str) -> Vec<(String, &'static str)> {
    let Some([day_first, month_first]) = suggest_date_formats(value) else {
        return Vec::new();
    };
    [(day_first, "day first"), (month_first, "month first")]
        .into_iter()
        .filter(|(f, _)| matches!(parse_with_format(value, f), DateParse::Ok(_)))
        .collect()
}

pub fn suggest_date_formats(value: &str) -> Option<[String; 2]> {
    let v = value.trim();
    let (date, time) = match v.find(['T', ' ']) {
        Some(i) => (&v[..i], v[i + 1..].trim()),
        None => (v, ""),
    };
    let sep = date.chars().find(|c| !c.is_ascii_digit())?;
    let parts: Vec<&str> = date.split(sep).collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        || parts[0].len() > 2
        || parts[1].len() > 2
    {
        return None;
    }
    let year = match parts[2].len() {
        4 => "%Y",
        2 => "%y",
        _ => return None,
    };
    let time_format = if time.is_empty() {
        String::new()
    } else {
        let (clock, meridiem) = match time.rsplit_once(' ') {
            Some((clock, m)) if m.eq_ignore_ascii_case("am") || m.eq_ignore_ascii_case("pm") => {
                (clock, " %p")
            }
            _ => (time, ""),
        };
        let hour = if meridiem.is_empty() { "%H" } else { "%I" };
        let colons = clock.matches(':').count();
        let fraction = if clock.contains('.') { "%.f" } else { "" };
        let clock_format = match colons {
            1 => format!("{hour}:%M"),
            2 => format!("{hour}:%M:%S{fraction}"),
            _ => return None,
        };
        let joiner = if v.as_bytes()[date.len()] == b'T' {
            "T"
        } else {
            " "
        };
        format!("{joiner}{clock_format}{meridiem}")
    };
    Some([
        format!("%d{sep}%m{sep}{year}{time_format}"),
        format!("%m{sep}%d{sep}{year}{time_format}"),
    ])
}

/// Parses with an explicit chrono format (`--date-format`), as a date-time first, then a date.
pub fn parse_with_format(raw: &str, format: &str) -> DateParse {
    let s = raw.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_str(s, format) {
        let local = dt.naive_local();
        return DateParse::Ok(Stamp {
            offset_secs: Some(dt.offset().local_minus_utc()),
            ..Stamp::from_datetime(local)
        });
    }
    if let Ok(dt) = NaiveDateTime::parse_from_str(s, format) {
        return DateParse::Ok(Stamp::from_datetime(dt));
    }
    match NaiveDate::parse_from_str(s, format) {
        Ok(d) => DateParse::Ok(Stamp::from_date(d)),
        Err(_) => DateParse::Invalid("does not match the --date-format given"),
    }
}
