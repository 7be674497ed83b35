//! Parsers for the value formats CRM exports actually contain: dates in half a dozen shapes, Excel
//! serial numbers, money with currency symbols and thousands separators, order statuses in English
//! and Chinese. Each parser works on one trimmed cell and never panics; the caller turns a failure
//! into an error that names the file, row and column.

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
    fn from_date(date: NaiveDate) -> Self {
        Stamp {
            days: crate::day::Day::from_date(date).days(),
            millis: 0,
            offset_secs: None,
        }
    }

    fn from_datetime(dt: NaiveDateTime) -> Self {
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

/// Parses a money amount: `1234.5`, `¥1,234.50`, `￥1234`, `$1,234`, `-$5`, `(33.52)`, `1.2万`,
/// `RMB 100`, `100元`, and with `decimal_comma` `1.234,56`. Returns None for anything else,
/// including NaN and infinities.
pub fn parse_money(raw: &str, decimal_comma: bool) -> Option<f64> {
    let s = raw.trim();
    if !decimal_comma {
        if let Ok(v) = s.parse::<f64>() {
            return v.is_finite().then_some(v);
        }
    }
    let mut negative = false;
    let mut body = s;
    if body.starts_with('(') && body.ends_with(')') && body.len() >= 2 {
        negative = true;
        body = &body[1..body.len() - 1];
    }
    let mut multiplier = 1.0;
    for (suffix, factor) in [
        ("万元", 1e4),
        ("万", 1e4),
        ("亿元", 1e8),
        ("亿", 1e8),
        ("元", 1.0),
    ] {
        if let Some(rest) = body.trim_end().strip_suffix(suffix) {
            body = rest;
            multiplier = factor;
            break;
        }
    }
    if !decimal_comma && !thousands_commas(body) {
        return None;
    }
    // With decimal commas a dot groups thousands, so it stands before exactly three digits:
    // `100.00` is a dot decimal, not ten thousand (read as 10000 before, silently).
    if decimal_comma && !separators_before_three_digits(body, b'.') {
        return None;
    }
    let mut cleaned = String::with_capacity(body.len());
    let mut seen_digit = false;
    for c in body.chars() {
        match c {
            '0'..='9' => {
                seen_digit = true;
                cleaned.push(c);
            }
            '-' | '−' => {
                if seen_digit {
                    // A trailing minus (`100-`), as some ERP exports write negatives.
                    if !cleaned.ends_with(['e', 'E']) {
                        negative = !negative;
                        continue;
                    }
                    cleaned.push('-');
                } else {
                    negative = !negative;
                }
            }
            '+' => {}
            '.' if decimal_comma => {}
            ',' if decimal_comma => cleaned.push('.'),
            '.' => cleaned.push('.'),
            ',' | '_' | '\'' | ' ' | '\u{a0}' | '\u{202f}' => {}
            'e' | 'E' if seen_digit => cleaned.push(c),
            '¥' | '￥' | '$' | '€' | '£' | '₩' | '₹' => {}
            c if c.is_ascii_alphabetic() && !seen_digit => {} // RMB, CNY, USD, US$
            _ => return None,
        }
    }
    if !seen_digit {
        return None;
    }
    let value: f64 = cleaned.parse().ok()?;
    let value = value * multiplier;
    if !value.is_finite() {
        return None;
    }
    Some(if negative { -value } else { value })
}

/// Whether every comma of an amount is a thousands separator: followed by exactly three digits
/// (`1,234.50`), or by two and another comma (the Indian `1,00,000`). `1,5` is not: a decimal
/// comma, which needs `--decimal-comma`.
/// Every `sep` in `body` stands after a digit and before exactly three digits.
fn separators_before_three_digits(body: &str, sep: u8) -> bool {
    let b = body.as_bytes();
    b.iter()
        .enumerate()
        .filter(|(_, c)| **c == sep)
        .all(|(i, _)| {
            let run = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            i > 0 && b[i - 1].is_ascii_digit() && run == 3
        })
}

/// Whether an amount that does not read with `--decimal-comma` reads as a dot decimal
/// (`100.00`): the flag is then wrong for this file.
pub fn looks_like_dot_decimal(raw: &str) -> bool {
    let s = raw.trim();
    s.contains('.') && parse_money(s, true).is_none() && parse_money(s, false).is_some()
}

fn thousands_commas(body: &str) -> bool {
    let b = body.as_bytes();
    b.iter()
        .enumerate()
        .filter(|(_, c)| **c == b',')
        .all(|(i, _)| {
            let run = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            let preceded = i > 0 && b[i - 1].is_ascii_digit();
            preceded && (run == 3 || (run == 2 && b.get(i + 3) == Some(&b',')))
        })
}

/// Whether an unreadable amount looks written with a decimal comma (`1,5`, `12,50`).
pub fn looks_like_decimal_comma(raw: &str) -> bool {
    let s = raw.trim();
    s.contains(',') && !thousands_commas(s) && parse_money(s, true).is_some()
}

/// A yes/no cell: true/false, yes/no, y/n, t/f, 1/0, 是/否, 真/假 (any case). None otherwise.
pub fn parse_flag(raw: &str) -> Option<bool> {
    let word = raw.trim().to_lowercase();
    if FLAG_TRUE.contains(&word.as_str()) {
        Some(true)
    } else if FLAG_FALSE.contains(&word.as_str()) {
        Some(false)
    } else {
        None
    }
}

/// The yes and no words of [`parse_flag`] (trimmed, lower-case), also read by `crm-eval sql`.
/// Cells that stand for "not answered" in CRM and form exports (and pandas' NaN written as
/// text): missing, not a value — a feature's missing level, a group's `(unknown)`.
pub const PLACEHOLDERS: &[&str] = &[
    "",
    "select",
    "na",
    "n/a",
    "nan",
    "null",
    "-",
    "?",
    "请选择",
    "未选择",
];

/// Whether a cell is missing (empty or a placeholder), compared trimmed and lower-cased.
pub fn is_placeholder(cell: &str) -> bool {
    let c = cell.trim().to_lowercase();
    PLACEHOLDERS.contains(&c.as_str())
}

/// A grouping cell's value, trimmed; `None` (grouped as `(unknown)`) when it is empty or a
/// placeholder such as `NaN`, `null` or `N/A`.
pub fn group_value(cell: &str) -> Option<&str> {
    (!is_placeholder(cell)).then(|| cell.trim())
}

pub const FLAG_TRUE: &[&str] = &["true", "t", "yes", "y", "1", "1.0", "是", "真", "√"];
pub const FLAG_FALSE: &[&str] = &["false", "f", "no", "n", "0", "0.0", "否", "假", "×"];

/// The yes/no words recognised, for error messages.
pub const FLAG_WORDS: &str = "true/false, yes/no, 1/0, 是/否";

/// The parse of each distinct word of a column with few of them (statuses, event types): a word
/// is parsed once and found again by a short scan, cheaper than hashing millions of short
/// strings; past 16 distinct words (a column of something else) a hash map takes over.
pub struct WordCache<'a, T> {
    /// (word, its first 8 bytes as a number, value): the number rules most words out without a
    /// byte-by-byte comparison (stage and status words often share a length).
    few: Vec<(&'a str, u64, T)>,
    many: std::collections::HashMap<&'a str, T>,
}

/// The first 8 bytes of a word, zero padded, as one number.
fn head(word: &str) -> u64 {
    let b = word.as_bytes();
    let mut h = [0u8; 8];
    let n = b.len().min(8);
    h[..n].copy_from_slice(&b[..n]);
    u64::from_le_bytes(h)
}

impl<'a, T: Copy> WordCache<'a, T> {
    pub fn new() -> Self {
        WordCache {
            few: Vec::new(),
            many: std::collections::HashMap::new(),
        }
    }

    pub fn get(&mut self, word: &'a str, parse: impl FnOnce(&str) -> T) -> T {
        let h = head(word);
        if let Some((_, _, v)) = self
            .few
            .iter()
            .find(|(w, wh, _)| *wh == h && w.len() == word.len() && *w == word)
        {
            return *v;
        }
        if self.few.len() < 16 {
            let v = parse(word);
            self.few.push((word, h, v));
            return v;
        }
        *self.many.entry(word).or_insert_with(|| parse(word))
    }
}

impl<T: Copy> Default for WordCache<'_, T> {
    fn default() -> Self {
        WordCache::new()
    }
}

/// What an order status means for net spend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    Paid,
    Refunded,
    Cancelled,
    /// Placed but not paid (pending, 待付款): not revenue yet, so not an order for RFM.
    Unpaid,
}

impl OrderStatus {
    /// The code of the status in a loaded orders table (the canonical `status` column holds
    /// these, not the words: four states in 4 bytes a row instead of a string each).
    pub fn code(self) -> u32 {
        match self {
            OrderStatus::Paid => 0,
            OrderStatus::Refunded => 1,
            OrderStatus::Cancelled => 2,
            OrderStatus::Unpaid => 3,
        }
    }

    pub fn from_code(code: u32) -> Option<OrderStatus> {
        Some(match code {
            0 => OrderStatus::Paid,
            1 => OrderStatus::Refunded,
            2 => OrderStatus::Cancelled,
            3 => OrderStatus::Unpaid,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Paid => "paid",
            OrderStatus::Refunded => "refunded",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Unpaid => "unpaid",
        }
    }

    /// The status words recognised, for error messages.
    pub const ACCEPTED: &'static str =
        "paid/completed/已付款/已完成/成交, refunded/returned/已退款/退货, \
        cancelled/void/已取消/作废, pending/unpaid/待付款";

    /// The words of each status (compared trimmed and lowercased), written once for the
    /// input layer and for the SQL (`crate::sql`), which maps a warehouse's words the same way.
    pub const WORDS: [(OrderStatus, &'static [&'static str]); 4] = [
        (
            OrderStatus::Paid,
            &[
                "paid",
                "completed",
                "complete",
                "success",
                "successful",
                "succeeded",
                "closed",
                "won",
                "closed won",
                "shipped",
                "delivered",
                "fulfilled",
                "settled",
                "ok",
                "已付款",
                "已支付",
                "已完成",
                "完成",
                "成交",
                "已成交",
                "交易成功",
                "已发货",
                "已签收",
                "已收货",
                "支付成功",
                "付款成功",
                "已结算",
                "赢单",
            ],
        ),
        (
            OrderStatus::Refunded,
            &[
                "refunded",
                "refund",
                "returned",
                "return",
                "chargeback",
                "partially refunded",
                "已退款",
                "退款",
                "退货",
                "已退货",
                "退款成功",
                "退货退款",
            ],
        ),
        (
            OrderStatus::Cancelled,
            &[
                "cancelled",
                "canceled",
                "cancel",
                "void",
                "voided",
                "failed",
                "rejected",
                "closed lost",
                "lost",
                "已取消",
                "取消",
                "作废",
                "已作废",
                "交易关闭",
                "已关闭",
                "关闭",
                "失败",
                "输单",
            ],
        ),
        (
            OrderStatus::Unpaid,
            &[
                "pending",
                "unpaid",
                "awaiting payment",
                "open",
                "draft",
                "待付款",
                "未付款",
                "待支付",
                "未支付",
                "待审核",
                "草稿",
            ],
        ),
    ];

    pub fn parse(raw: &str) -> Option<OrderStatus> {
        let s = raw.trim().to_lowercase();
        Self::WORDS
            .iter()
            .find(|(_, words)| words.contains(&s.as_str()))
            .map(|(status, _)| *status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggested_date_formats_parse_the_value_they_were_made_for() {
        for (value, day_first, month_first) in [
            ("12/1/2010 08:26", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M"),
            ("03.04.2024", "%d.%m.%Y", "%m.%d.%Y"),
            (
                "3/4/24 8:26:59 PM",
                "%d/%m/%y %I:%M:%S %p",
                "%m/%d/%y %I:%M:%S %p",
            ),
            (
                "03-04-2024T08:26:59.250",
                "%d-%m-%YT%H:%M:%S%.f",
                "%m-%d-%YT%H:%M:%S%.f",
            ),
        ] {
            let [d, m] = suggest_date_formats(value).expect(value);
            assert_eq!(
                (d.as_str(), m.as_str()),
                (day_first, month_first),
                "{value}"
            );
            for format in [&d, &m] {
                assert!(
                    matches!(parse_with_format(value, format), DateParse::Ok(_)),
                    "{value} with {format}"
                );
            }
        }
        assert_eq!(suggest_date_formats("2024-03-04"), None);
        // Only the orders that read the value: 23 is no month.
        assert_eq!(
            fitting_date_formats("02/23/26"),
            [("%m/%d/%y".to_string(), "month first")]
        );
        assert_eq!(
            fitting_date_formats("02/23/26 08:55 PM"),
            [("%m/%d/%y %I:%M %p".to_string(), "month first")]
        );
        assert_eq!(fitting_date_formats("03/04/2024").len(), 2);
        assert_eq!(suggest_date_formats("soon"), None);
    }

    #[test]
    fn word_cache_parses_each_word_once_few_or_many() {
        let words: Vec<String> = (0..40).map(|i| format!("w{}", i % 20)).collect();
        let mut parses = 0;
        let mut cache = WordCache::new();
        for w in &words {
            let v = cache.get(w, |s| {
                parses += 1;
                s.len()
            });
            assert_eq!(v, w.len());
        }
        assert_eq!(
            parses, 20,
            "20 distinct words, past the 16 kept for scanning"
        );
    }

    fn day(y: i32, m: u32, d: u32) -> i32 {
        crate::day::Day::from_date(NaiveDate::from_ymd_opt(y, m, d).unwrap()).days()
    }

    fn ok_day(s: &str) -> i32 {
        match parse_date(s, DayMonthOrder::Unknown, ExcelEpoch::Excel1900) {
            DateParse::Ok(st) => st.days,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn dates_in_every_documented_shape() {
        let expected = day(2024, 1, 5);
        for s in [
            "2024-01-05",
            "2024-1-5",
            "2024/1/5",
            "2024.01.05",
            "20240105",
            "2024年1月5日",
            "2024-01-05 13:45:10",
            "2024-01-05T13:45:10.123Z",
            "2024/01/05 1:05 PM",
            "5 Jan 2024",
            "Jan 5, 2024",
            "05-Jan-2024",
            "45296",
            "45296.75",
            " 2024-01-05 ",
        ] {
            assert_eq!(ok_day(s), expected, "{s}");
        }
    }

    #[test]
    fn time_of_day_and_offsets() {
        let DateParse::Ok(st) = parse_date(
            "2024-01-05T23:30:00+08:00",
            DayMonthOrder::Unknown,
            ExcelEpoch::Excel1900,
        ) else {
            panic!()
        };
        assert_eq!(st.millis, (23 * 3600 + 30 * 60) * 1000);
        assert_eq!(st.offset_secs, Some(8 * 3600));
        // 23:30 in Beijing is 15:30 UTC the same day, and 01:30 the next day at UTC+10.
        assert_eq!(st.in_zone(Some(0)).days, day(2024, 1, 5));
        assert_eq!(st.in_zone(Some(0)).millis, (15 * 3600 + 30 * 60) * 1000);
        assert_eq!(st.in_zone(Some(10 * 3600)).days, day(2024, 1, 6));
        let DateParse::Ok(pm) = parse_date(
            "2024/1/5 12:15 AM",
            DayMonthOrder::Unknown,
            ExcelEpoch::Excel1900,
        ) else {
            panic!()
        };
        assert_eq!(pm.millis, 15 * 60 * 1000);
    }

    #[test]
    fn excel_serials_follow_both_date_systems() {
        // 1900 system: 1 = 1900-01-01, 59 = 1900-02-28, 61 = 1900-03-01, 60 is the phantom leap day.
        assert_eq!(ok_day("1"), day(1900, 1, 1));
        assert_eq!(ok_day("59"), day(1900, 2, 28));
        assert_eq!(ok_day("61"), day(1900, 3, 1));
        assert!(matches!(
            parse_date("60", DayMonthOrder::Unknown, ExcelEpoch::Excel1900),
            DateParse::Invalid(_)
        ));
        // 1904 system: 0 = 1904-01-01; the same date is 1462 days less than in the 1900 system.
        let DateParse::Ok(st) = parse_date("43830", DayMonthOrder::Unknown, ExcelEpoch::Excel1904)
        else {
            panic!()
        };
        assert_eq!(st.days, day(2024, 1, 1));
    }

    #[test]
    fn day_month_order_is_never_guessed() {
        assert!(matches!(
            parse_date("05/01/2024", DayMonthOrder::Unknown, ExcelEpoch::Excel1900),
            DateParse::Ambiguous { .. }
        ));
        assert_eq!(
            parse_date("05/01/2024", DayMonthOrder::DayFirst, ExcelEpoch::Excel1900),
            DateParse::Ok(Stamp::from_date(
                NaiveDate::from_ymd_opt(2024, 1, 5).unwrap()
            ))
        );
        assert_eq!(
            parse_date(
                "05/01/2024",
                DayMonthOrder::MonthFirst,
                ExcelEpoch::Excel1900
            ),
            DateParse::Ok(Stamp::from_date(
                NaiveDate::from_ymd_opt(2024, 5, 1).unwrap()
            ))
        );
        // A day above 12 decides by itself.
        assert_eq!(ok_day("25/12/2024"), day(2024, 12, 25));
        assert_eq!(ok_day("12/25/2024"), day(2024, 12, 25));
    }

    #[test]
    fn impossible_dates_are_rejected() {
        for s in [
            "2024-02-30",
            "2024-13-01",
            "hello",
            "2024-01-05 25:00",
            "31/31/2024",
            "-5",
        ] {
            assert!(
                matches!(
                    parse_date(s, DayMonthOrder::Unknown, ExcelEpoch::Excel1900),
                    DateParse::Invalid(_)
                ),
                "{s}"
            );
        }
    }

    #[test]
    fn explicit_formats() {
        assert_eq!(
            parse_with_format("05.01.24", "%d.%m.%y"),
            DateParse::Ok(Stamp::from_date(
                NaiveDate::from_ymd_opt(2024, 1, 5).unwrap()
            ))
        );
        assert!(matches!(
            parse_with_format("2024-01-05", "%d.%m.%y"),
            DateParse::Invalid(_)
        ));
    }

    #[test]
    fn money_in_export_formats() {
        let cases = [
            ("1234.5", 1234.5),
            ("¥1,234.50", 1234.5),
            ("￥1234", 1234.0),
            ("$1,234", 1234.0),
            ("-$5.25", -5.25),
            ("$-5.25", -5.25),
            ("(33.52)", -33.52),
            ("1.2万", 12000.0),
            ("3亿元", 3e8),
            ("RMB 100", 100.0),
            ("100元", 100.0),
            ("1e3", 1000.0),
            ("100-", -100.0),
        ];
        for (s, v) in cases {
            assert_eq!(parse_money(s, false), Some(v), "{s}");
        }
        assert_eq!(parse_money("1.234,56", true), Some(1234.56));
        assert_eq!(parse_money("1.234.567,5", true), Some(1234567.5));
        // A dot decimal under --decimal-comma is refused, not read as 10000.
        assert_eq!(parse_money("100.00", true), None);
        assert_eq!(parse_money("1.5", true), None);
        assert!(looks_like_dot_decimal("100.00") && !looks_like_dot_decimal("1.234,5"));
        assert_eq!(parse_money("€ 1.234,56", true), Some(1234.56));
        for s in ["", "abc", "NaN", "inf", "12abc", "1.2.3"] {
            assert_eq!(parse_money(s, false), None, "{s}");
        }
        // A comma is a thousands separator only before three digits (or the Indian 2-digit
        // groups); `1,5` is a decimal comma and needs --decimal-comma.
        assert_eq!(parse_money("1,00,000", false), Some(100000.0));
        assert_eq!(parse_money("$1,234,567.89", false), Some(1234567.89));
        for s in ["1,5", "12,50", "1,2345", ",5", "1,23,4"] {
            assert_eq!(parse_money(s, false), None, "{s}");
        }
        assert!(looks_like_decimal_comma("1,5") && looks_like_decimal_comma("12,50"));
        assert!(!looks_like_decimal_comma("abc") && !looks_like_decimal_comma("1,234"));
        assert_eq!(parse_money("1,5", true), Some(1.5));
    }

    #[test]
    fn statuses_in_english_and_chinese() {
        assert_eq!(OrderStatus::parse("Paid"), Some(OrderStatus::Paid));
        assert_eq!(OrderStatus::parse("已完成"), Some(OrderStatus::Paid));
        assert_eq!(OrderStatus::parse("已退款"), Some(OrderStatus::Refunded));
        assert_eq!(OrderStatus::parse("Canceled"), Some(OrderStatus::Cancelled));
        assert_eq!(OrderStatus::parse("待付款"), Some(OrderStatus::Unpaid));
        assert_eq!(OrderStatus::parse("shipped?"), None);
    }
}
