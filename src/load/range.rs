//! `--from DATE --to DATE` and `--range SPAN`: the date range a command counts its cases in, one
//! set of flags for every command that counts events in time (docs/metrics.md, "Periods"). The
//! range's end is the analysis date; each command counts the cases that begin in the range by
//! its own rule (deals closed, spells started, returns, responses, periods).

use anyhow::Result;
use polars::prelude::*;

use crate::day::{iso, Day};
use crate::error::usage;
use crate::metrics::periods::{DateRange, Span};
use crate::output::note;
use crate::settings::Settings;

/// The range flags.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct RangeArgs {
    /// Count only what happens from this day on (YYYY-MM-DD, inclusive).
    #[arg(long, value_name = "DATE", help_heading = "Date range")]
    pub from: Option<String>,

    /// Count only what happens up to this day (YYYY-MM-DD, inclusive); the analysis date is the
    /// day after.
    #[arg(long, value_name = "DATE", help_heading = "Date range")]
    pub to: Option<String>,

    /// A named range instead of --from/--to: 2024, 2024-Q3, 2024-07, 2024-W27, or relative to the
    /// analysis date: "last full quarter", "quarter to date", "last 30 days".
    #[arg(
        long,
        value_name = "SPAN",
        conflicts_with_all = ["from", "to"],
        help_heading = "Date range"
    )]
    pub range: Option<String>,
}

/// A parsed range with the flags that named it (for messages).
#[derive(Debug, Clone)]
pub struct Ranged {
    pub range: DateRange,
    pub flags: String,
}

impl RangeArgs {
    /// Whether any range flag was given.
    pub fn given(&self) -> bool {
        self.from.is_some() || self.to.is_some() || self.range.is_some()
    }

    /// The range asked for, if any; a mistake is a usage error naming the flag.
    pub fn parse(&self) -> Result<Option<Ranged>> {
        if let Some(text) = &self.range {
            let range = DateRange::named(text).map_err(|e| usage(format!("--range {e}")))?;
            return Ok(Some(Ranged {
                range,
                flags: format!("--range {text:?}"),
            }));
        }
        let day = |flag: &str, v: &Option<String>| -> Result<Option<i32>> {
            v.as_deref()
                .map(|s| {
                    Day::parse(s.trim()).map(Day::days).ok_or_else(|| {
                        usage(format!("{flag} {s:?}: expected a date as YYYY-MM-DD"))
                    })
                })
                .transpose()
        };
        let (from, to) = (day("--from", &self.from)?, day("--to", &self.to)?);
        let flags = [("--from", &self.from), ("--to", &self.to)]
            .iter()
            .filter_map(|(f, v)| v.as_ref().map(|v| format!("{f} {v}")))
            .collect::<Vec<_>>()
            .join(" ");
        let range = match (from, to) {
            (None, None) => return Ok(None),
            (Some(f), Some(t)) if f > t => {
                return Err(usage(format!(
                    "{flags}: --from is after --to (both days are included)"
                )))
            }
            (from, Some(t)) => DateRange::Fixed { from, to: t + 1 },
            (Some(f), None) => DateRange::From(f),
        };
        Ok(Some(Ranged { range, flags }))
    }
}

impl Ranged {
    /// The analysis date to load the data at: a fixed range's end, else `--as-of` (the data's own
    /// when None). A fixed range with another `--as-of` is a usage error.
    pub fn load_as_of(range: Option<&Ranged>, as_of: Option<Day>) -> Result<Option<Day>> {
        match (
            range.and_then(|r| r.range.fixed_as_of().map(|d| (r, Day::new(d)))),
            as_of,
        ) {
            (Some((r, day)), Some(given)) if day != given => Err(usage(format!(
                "{} ends on {}, so the analysis date is {}: leave out --as-of {}",
                r.flags,
                day - 1,
                day,
                given
            ))),
            (Some((_, day)), _) => Ok(Some(day)),
            (None, given) => Ok(given),
        }
    }

    /// The days of the range for data loaded as of `as_of`, and the analysis date to load them
    /// again at when the range ends earlier (a `last full …` period).
    pub fn span_at(&self, as_of: Day) -> (Span, Option<Day>) {
        let span = self.range.span(as_of);
        (span, (span.to != as_of.days()).then_some(Day::new(span.to)))
    }

    /// The data error for a range in which nothing was counted.
    pub fn nothing_in(&self, span: Span, what: &str, file: &str) -> anyhow::Error {
        anyhow::anyhow!(
            "{}: {file} has no {what} in {} (the range is outside the data?)",
            self.flags,
            describe(span)
        )
    }
}

/// Loads data over a date range: `load` at the range's analysis date (a fixed range's end, else
/// `as_of`, else the data's own), then — when a relative range ends before the data do (a
/// `last full …` period) — once more at its end, quietly, as `check` measures its periods. The
/// days of the range come with the data. `as_of_of` reads the analysis date the data took.
pub fn load_in<T>(
    range: Option<&Ranged>,
    as_of: Option<Day>,
    settings: &Settings,
    mut load: impl FnMut(Option<Day>, &Settings) -> Result<T>,
    as_of_of: impl Fn(&T) -> Day,
) -> Result<(T, Option<Span>)> {
    let Some(r) = range else {
        return Ok((load(as_of, settings)?, None));
    };
    let data = load(Ranged::load_as_of(Some(r), as_of)?, settings)?;
    let (span, again) = r.span_at(as_of_of(&data));
    let Some(day) = again else {
        return Ok((data, Some(span)));
    };
    note(
        &settings.output,
        format!("{} ends before the data do: counted as of {}", r.flags, day),
    );
    Ok((load(Some(day), &settings.quiet())?, Some(span)))
}

/// `2024-07-01 … 2024-09-30` (`… 2024-09-30` without a first day).
pub fn describe(span: Span) -> String {
    let (from, to) = dates(span);
    if from.is_empty() {
        format!("the days up to {to}")
    } else {
        format!("{from} … {to}")
    }
}

/// The first and last day as dates; the first is empty for a range from the beginning.
fn dates(span: Span) -> (String, String) {
    let from = if span.from == i32::MIN {
        String::new()
    } else {
        iso(span.from)
    };
    (from, iso(span.to - 1))
}

/// `table` with `from` and `to` columns (first and last day of the range) in front.
pub fn with_range_columns(mut table: DataFrame, span: Span) -> Result<DataFrame> {
    let (from, to) = dates(span);
    let height = table.height();
    table.insert_column(0, Column::new("from".into(), vec![from; height]))?;
    table.insert_column(1, Column::new("to".into(), vec![to; height]))?;
    Ok(table)
}
