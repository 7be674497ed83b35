//! Calendar periods (week, month, quarter) as consecutive integers, so that "k periods after"
//! is a subtraction.

use chrono::{Datelike, NaiveDate};

use crate::input::values::{format_days, UNIX_EPOCH_CE_DAYS};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Period {
    /// ISO weeks, Monday to Sunday, labelled by their Monday.
    Week,
    #[default]
    Month,
    Quarter,
}

fn date(days: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(days + UNIX_EPOCH_CE_DAYS).unwrap_or_default()
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
                .map_or(0, |d| d.num_days_from_ce() - UNIX_EPOCH_CE_DAYS)
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
            Period::Week => format_days(self.start(index)),
            Period::Month => format!("{}-{:02}", index.div_euclid(12), index.rem_euclid(12) + 1),
            Period::Quarter => format!("{}-Q{}", index.div_euclid(4), index.rem_euclid(4) + 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::values::parse_iso_day;

    #[test]
    fn periods_round_trip() {
        let d = parse_iso_day("2024-02-29").unwrap();
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
}
