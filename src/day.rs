//! Calendar days, on the ground floor: every layer (input, ledger, metrics, SQL, report) counts
//! days the one way polars' `Date` does — days since 1970-01-01 — and converts to and from
//! milliseconds, ISO text and chrono dates here and nowhere else.
//!
//! [`Day`] is the type of every analysis date (`as_of`, cutoffs, the `--as-of` flag): it prints as
//! `YYYY-MM-DD`, parses only that, and does its arithmetic in whole days. Columns of days stay
//! plain `i32` arrays (polars' layout, the hot loops); [`iso`] formats one of their values and
//! [`Day::days`] is the bridge from an analysis date to them.

use std::fmt;
use std::ops::{Add, Sub};

use chrono::{Datelike, NaiveDate};

/// Milliseconds in a day: event times are UTC milliseconds, a day is their floor division by it.
pub const DAY_MS: i64 = 86_400_000;

/// `num_days_from_ce()` of 1970-01-01: `num_days_from_ce() - UNIX_EPOCH_CE_DAYS` is polars' Date.
pub const UNIX_EPOCH_CE_DAYS: i32 = 719_163;

/// A calendar day, as days since 1970-01-01 (polars' `Date`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(i32);

impl Day {
    /// The day `days` days after 1970-01-01 (before it when negative).
    pub const fn new(days: i32) -> Day {
        Day(days)
    }

    /// Days since 1970-01-01: the value a polars `Date` column holds for this day.
    pub const fn days(self) -> i32 {
        self.0
    }

    /// The day holding a UTC millisecond time (floor division, so before 1970 too).
    pub fn of_ms(ms: i64) -> Day {
        Day(ms.div_euclid(DAY_MS) as i32)
    }

    /// The first millisecond of the day, UTC.
    pub fn start_ms(self) -> i64 {
        i64::from(self.0) * DAY_MS
    }

    /// Parses an ISO `YYYY-MM-DD` date (surrounding spaces allowed); nothing else.
    pub fn parse(s: &str) -> Option<Day> {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .ok()
            .map(Day::from_date)
    }

    pub fn from_date(date: NaiveDate) -> Day {
        Day(date.num_days_from_ce() - UNIX_EPOCH_CE_DAYS)
    }

    /// The chrono date, or None outside chrono's range (±262,143 years).
    pub fn date(self) -> Option<NaiveDate> {
        NaiveDate::from_num_days_from_ce_opt(self.0.checked_add(UNIX_EPOCH_CE_DAYS)?)
    }
}

impl Add<i32> for Day {
    type Output = Day;
    fn add(self, days: i32) -> Day {
        Day(self.0 + days)
    }
}

impl Sub<i32> for Day {
    type Output = Day;
    fn sub(self, days: i32) -> Day {
        Day(self.0 - days)
    }
}

/// Whole days from `earlier` to `self`.
impl Sub for Day {
    type Output = i32;
    fn sub(self, earlier: Day) -> i32 {
        self.0 - earlier.0
    }
}

/// `YYYY-MM-DD`; a day outside chrono's range prints as its number.
impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.date() {
            Some(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            None => write!(f, "{}", self.0),
        }
    }
}

/// A (fractional) number of days as whole milliseconds, truncated: how rule days (`reclaim_days =
/// 0.5`) become a span of event time, in the commands and in their SQL alike.
pub fn ms_of_days(days: f64) -> i64 {
    (days * DAY_MS as f64) as i64
}

/// A span of event time in (fractional) days.
pub fn days_of_ms(ms: i64) -> f64 {
    ms as f64 / DAY_MS as f64
}

/// Formats a value of a polars `Date` column (days since 1970-01-01) as `YYYY-MM-DD`.
pub fn iso(days: i32) -> String {
    Day(days).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_round_trips_through_text_and_milliseconds() {
        let d = Day::parse(" 2024-02-29 ").unwrap();
        assert_eq!(d.days(), 19_782);
        assert_eq!(d.to_string(), "2024-02-29");
        assert_eq!(Day::of_ms(d.start_ms()), d);
        assert_eq!(Day::of_ms(d.start_ms() + DAY_MS - 1), d);
        assert_eq!(Day::of_ms(-1), Day::new(-1), "floor before 1970");
        assert_eq!(Day::new(-1).to_string(), "1969-12-31");
        assert_eq!((d + 1).to_string(), "2024-03-01");
        assert_eq!(d - Day::parse("2024-01-01").unwrap(), 59);
        assert_eq!(Day::parse("2024-02-30"), None);
        assert_eq!(Day::parse("29/02/2024"), None);
        assert_eq!(Day::new(i32::MAX).to_string(), i32::MAX.to_string());
    }
}
