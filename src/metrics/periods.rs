//! Calendar periods (week, month, quarter) as consecutive integers, so that "k periods after"
//! is a subtraction.

use chrono::{Datelike, NaiveDate};

use crate::day::{iso, Day};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Period {
    /// ISO weeks, Monday to Sunday, labelled by their Monday.
    Week,
    #[default]
    Month,
    Quarter,
}

fn date(days: i32) -> NaiveDate {
    crate::day::Day::new(days).date().unwrap_or_default()
}

impl Period {
    /// The index of the period containing `days` (days since 1970-01-01).
    pub fn index(self, days: i32) -> i32 {
        match self {
            // 1970-01-01 was a Thursday, so shifting by 3 makes weeks start on Monday.
            Period::Week => (days + 3).div_euclid(7),
            Period::Month => {
                let d = date(days);
                d.year() * 12 + d.month0() as i32
            }
            Period::Quarter => {
                let d = date(days);
                d.year() * 4 + d.month0() as i32 / 3
            }
        }
    }

    /// The first day of period `index`.
    pub fn start(self, index: i32) -> i32 {
        let ymd = |y: i32, m0: i32| {
            NaiveDate::from_ymd_opt(y, m0 as u32 + 1, 1)
                .map_or(0, |d| crate::day::Day::from_date(d).days())
        };
        match self {
            Period::Week => index * 7 - 3,
            Period::Month => ymd(index.div_euclid(12), index.rem_euclid(12)),
            Period::Quarter => ymd(index.div_euclid(4), index.rem_euclid(4) * 3),
        }
    }

    /// The last day of period `index`.
    pub fn end(self, index: i32) -> i32 {
        self.start(index + 1) - 1
    }

    /// `2024-01` (month), `2024-Q1` (quarter), `2024-01-01` (the Monday of a week).
    pub fn label(self, index: i32) -> String {
        match self {
            Period::Week => iso(self.start(index)),
            Period::Month => format!("{}-{:02}", index.div_euclid(12), index.rem_euclid(12) + 1),
            Period::Quarter => format!("{}-Q{}", index.div_euclid(4), index.rem_euclid(4) + 1),
        }
    }
}

/// The span a target's KPI is measured over (docs/metrics.md, "KPI targets", "Periods"): a
/// number of days, the last complete calendar week/month/quarter, or the current one so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetPeriod {
    /// `last N days`: the N days before as_of.
    LastDays(u32),
    /// `last full month` (week, quarter): the latest calendar period that ended before as_of.
    LastFull(Period),
    /// `month to date` (or just `month`; week, quarter): the calendar period holding the last
    /// day before as_of, from its first day.
    ToDate(Period),
}

impl TargetPeriod {
    /// Reads `last 30 days`, `last full month`, `quarter to date`, `quarter`, … (case and
    /// spacing free).
    pub fn parse(text: &str) -> Result<TargetPeriod, String> {
        let words: Vec<String> = text.split_whitespace().map(|w| w.to_lowercase()).collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let unit = |w: &str| match w {
            "week" => Some(Period::Week),
            "month" => Some(Period::Month),
            "quarter" => Some(Period::Quarter),
            _ => None,
        };
        let parsed = match words.as_slice() {
            ["last", n, "days" | "day"] => n
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=3660).contains(n))
                .map(TargetPeriod::LastDays),
            ["last", "full", u] => unit(u).map(TargetPeriod::LastFull),
            [u, "to", "date"] | [u] => unit(u).map(TargetPeriod::ToDate),
            _ => None,
        };
        parsed.ok_or_else(|| {
            format!(
                "period = {text:?}; expected \"last N days\" (N from 1 to 3660), \"last full \
                 week\", \"last full month\", \"last full quarter\", \"week to date\", \
                 \"month to date\" or \"quarter to date\" (\"month\" and \"quarter\" \
                 alone mean to date)"
            )
        })
    }

    /// The period as the output names it.
    pub fn label(self) -> String {
        let unit = |p: Period| match p {
            Period::Week => "week",
            Period::Month => "month",
            Period::Quarter => "quarter",
        };
        match self {
            TargetPeriod::LastDays(n) => format!("last {n} days"),
            TargetPeriod::LastFull(p) => format!("last full {}", unit(p)),
            TargetPeriod::ToDate(p) => format!("{} to date", unit(p)),
        }
    }

    /// The days `[from, to)` the period covers for a run as of `as_of` (days since 1970-01-01;
    /// `to` is the analysis date the KPI is measured as of).
    pub fn window(self, as_of: Day) -> Span {
        let as_of = as_of.days();
        match self {
            TargetPeriod::LastDays(n) => Span {
                from: as_of - n as i32,
                to: as_of,
            },
            TargetPeriod::LastFull(p) => {
                let last = p.index(as_of) - 1;
                Span {
                    from: p.start(last),
                    to: p.start(last + 1),
                }
            }
            TargetPeriod::ToDate(p) => Span {
                from: p.start(p.index(as_of - 1)),
                to: as_of,
            },
        }
    }
}

/// Days `[from, to)`: a target period for one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub from: i32,
    pub to: i32,
}

impl Span {
    /// The first and the last day, as dates.
    pub fn dates(self) -> (String, String) {
        (iso(self.from), iso(self.to - 1))
    }
}

/// A date range a command counts its cases in (docs/metrics.md, "Periods"): fixed days, named by
/// dates or a calendar span, or a period that ends at the analysis date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateRange {
    /// Days `[from, to)`; `from` None: from the beginning (`--to` alone).
    Fixed { from: Option<i32>, to: i32 },
    /// From a day up to as_of (`--from` alone).
    From(i32),
    /// A period ending at as_of: `last 30 days`, `last full quarter`, `quarter to date`.
    Relative(TargetPeriod),
}

impl DateRange {
    /// Reads a named range: a calendar span (`2024`, `2024-Q3`, `2024-07`, `2024-W27` — ISO
    /// week —, `2024-07-15`) or a period relative to as_of as `check` reads it
    /// ([`TargetPeriod::parse`]).
    pub fn named(text: &str) -> Result<DateRange, String> {
        let t = text.trim();
        if let Some(span) = calendar_span(t) {
            return Ok(DateRange::Fixed {
                from: Some(span.from),
                to: span.to,
            });
        }
        TargetPeriod::parse(t)
            .map(DateRange::Relative)
            .map_err(|_| {
                format!(
                    "{t:?}: expected a year (2024), quarter (2024-Q3), month (2024-07), ISO week \
                 (2024-W27) or day (2024-07-15), or \"last N days\", \"last full \
                 week|month|quarter\", \"week|month|quarter to date\""
                )
            })
    }

    /// The days `[from, to)` for a run whose data end before `as_of`.
    pub fn span(&self, as_of: Day) -> Span {
        match *self {
            DateRange::Fixed { from, to } => Span {
                from: from.unwrap_or(i32::MIN),
                to,
            },
            DateRange::From(from) => Span {
                from,
                to: as_of.days(),
            },
            DateRange::Relative(p) => p.window(as_of),
        }
    }

    /// The analysis date a fixed range sets (the day after its last day); None for a range that
    /// ends at the data's own as_of.
    pub fn fixed_as_of(&self) -> Option<i32> {
        match *self {
            DateRange::Fixed { to, .. } => Some(to),
            _ => None,
        }
    }
}

/// `2024`, `2024-Q3` (or `2024Q3`), `2024-07`, `2024-W27`, `2024-07-15` as days `[from, to)`.
fn calendar_span(t: &str) -> Option<Span> {
    let year = |s: &str| -> Option<i32> {
        (s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let number = |s: &str, max: u32| -> Option<u32> {
        (!s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
            .filter(|n| (1..=max).contains(n))
    };
    let of = |p: Period, index: i32, count: i32| Span {
        from: p.start(index),
        to: p.start(index + count),
    };
    if let Some(y) = year(t) {
        return Some(of(Period::Month, y * 12, 12));
    }
    if let Some(day) = crate::day::Day::parse(t).map(|d| d.days()) {
        return Some(Span {
            from: day,
            to: day + 1,
        });
    }
    let upper = t.to_ascii_uppercase();
    let (y, rest) = upper.split_at_checked(4)?;
    let y = year(y)?;
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    if let Some(q) = rest.strip_prefix('Q') {
        let q = number(q, 4)? as i32;
        return Some(of(Period::Quarter, y * 4 + q - 1, 1));
    }
    if let Some(w) = rest.strip_prefix('W') {
        let w = number(w, 53)?;
        let monday = NaiveDate::from_isoywd_opt(y, w, chrono::Weekday::Mon)?;
        let from = crate::day::Day::from_date(monday).days();
        return Some(Span { from, to: from + 7 });
    }
    let m = number(rest, 12)? as i32;
    Some(of(Period::Month, y * 12 + m - 1, 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::day::Day;

    #[test]
    fn periods_round_trip() {
        let d = Day::parse("2024-02-29").map(Day::days).unwrap();
        for p in [Period::Week, Period::Month, Period::Quarter] {
            let i = p.index(d);
            assert!(p.start(i) <= d && d <= p.end(i), "{p:?}");
            assert_eq!(p.index(p.end(i) + 1), i + 1, "{p:?}");
        }
        assert_eq!(Period::Month.label(Period::Month.index(d)), "2024-02");
        assert_eq!(Period::Quarter.label(Period::Quarter.index(d)), "2024-Q1");
        // 2024-02-29 was a Thursday; its week starts on Monday 2024-02-26.
        assert_eq!(Period::Week.label(Period::Week.index(d)), "2024-02-26");
        assert_eq!(Period::Month.end(Period::Month.index(d)), d);
    }

    #[test]
    fn named_ranges_cover_the_days_they_name() {
        let day = |s: &str| Day::parse(s).map(Day::days).unwrap();
        let fixed = |text: &str| match DateRange::named(text).unwrap() {
            DateRange::Fixed { from, to } => (from.unwrap(), to),
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(fixed("2024"), (day("2024-01-01"), day("2025-01-01")));
        assert_eq!(fixed("2024-Q3"), (day("2024-07-01"), day("2024-10-01")));
        assert_eq!(fixed("2024q4"), (day("2024-10-01"), day("2025-01-01")));
        assert_eq!(fixed("2024-02"), (day("2024-02-01"), day("2024-03-01")));
        assert_eq!(fixed("2024-07-15"), (day("2024-07-15"), day("2024-07-16")));
        // ISO week 1 of 2025 starts on Monday 2024-12-30.
        assert_eq!(fixed("2025-W01"), (day("2024-12-30"), day("2025-01-06")));
        let as_of = Day::new(day("2024-03-15"));
        let last_quarter = DateRange::named("last full quarter").unwrap();
        assert_eq!(
            last_quarter.span(as_of),
            Span {
                from: day("2023-10-01"),
                to: day("2024-01-01")
            }
        );
        assert_eq!(last_quarter.fixed_as_of(), None);
        for bad in ["2024-Q5", "2024-13", "24-07", "last month", "2024-W54", ""] {
            assert!(DateRange::named(bad).is_err(), "{bad}");
        }
    }
}
