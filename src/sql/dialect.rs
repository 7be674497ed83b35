//! Every difference between the engines the SQL is written for, in one place: the [`Dialect`]
//! and its methods, and the quoting and rounding every query shares.
//!
//! | what | DuckDB | Spark SQL | PostgreSQL |
//! |---|---|---|---|
//! | text type ([`Dialect::text`]) | `VARCHAR` | `STRING` | `TEXT` |
//! | floating type | `DOUBLE` | `DOUBLE` | `DOUBLE PRECISION` |
//! | days between two dates | `later - earlier` | `datediff(later, earlier)` | `later - earlier` |
//! | a date plus n days | `date + n` | `date_add(date, n)` | `date + n` |
//! | milliseconds of a timestamp | `epoch_ms(ts)` | `unix_millis(ts)` | `round(extract(epoch …) * 1000)` |
//! | rounding a double | `round(x, p)` | `round(x, p)` | through `NUMERIC` |
//! | bytewise text order | as is | as is | `COLLATE "C"` |
//! | integers first … last as rows | `unnest(range(…))` | `explode(sequence(…))` | `generate_series(…)` |
//! | a `;`-separated cell as rows | `unnest(string_split(…))` | `explode(split(…))` | `unnest(string_to_array(…))` |
//! | quantile (linear interpolation) | `quantile_cont(x, q)` | `percentile(x, q)` | `percentile_cont(q) WITHIN GROUP` |
//! | quoted identifier | `"x"` | `` `x` `` | `"x"` |
//!
//! Periods (week, month, quarter indexes, starts and labels) are written once, from `EXTRACT`
//! and day arithmetic, for all three.
//!
//! The methods below are the exact spellings (the table is a guide, the code the rule).

use crate::metrics::periods::Period;

/// The engines the SQL is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Dialect {
    Duckdb,
    Spark,
    Postgres,
}

impl Dialect {
    /// `later − earlier` in days, for two DATE expressions.
    pub(super) fn days_between(self, later: &str, earlier: &str) -> String {
        match self {
            Dialect::Spark => format!("datediff({later}, {earlier})"),
            Dialect::Duckdb | Dialect::Postgres => format!("({later} - {earlier})"),
        }
    }

    /// A DATE expression plus `n` days.
    pub(super) fn plus_days(self, date: &str, n: i32) -> String {
        match self {
            Dialect::Spark => format!("date_add({date}, {n})"),
            Dialect::Duckdb | Dialect::Postgres => format!("({date} + {n})"),
        }
    }

    pub(super) fn text(self) -> &'static str {
        match self {
            Dialect::Duckdb => "VARCHAR",
            Dialect::Spark => "STRING",
            Dialect::Postgres => "TEXT",
        }
    }

    /// Whether a text expression is one or more ASCII digits and nothing else.
    pub(super) fn all_digits(self, x: &str) -> String {
        match self {
            Dialect::Duckdb => format!("regexp_full_match({x}, '[0-9]+')"),
            Dialect::Spark => format!("({x} rlike '^[0-9]+$')"),
            Dialect::Postgres => format!("({x} ~ '^[0-9]+$')"),
        }
    }

    /// A text column in byte order (PostgreSQL otherwise sorts by the database's collation).
    pub(super) fn bytewise(self, column: &str) -> String {
        match self {
            Dialect::Postgres => format!("{column} COLLATE \"C\""),
            Dialect::Duckdb | Dialect::Spark => column.to_string(),
        }
    }

    /// A DOUBLE expression rounded to `places` decimals (PostgreSQL rounds only NUMERIC).
    pub(super) fn round_double(self, x: &str, places: u32) -> String {
        match self {
            Dialect::Postgres => {
                format!("CAST(round(CAST({x} AS NUMERIC), {places}) AS DOUBLE PRECISION)")
            }
            Dialect::Duckdb | Dialect::Spark => format!("round({x}, {places})"),
        }
    }

    /// A TIMESTAMP expression as milliseconds since 1970-01-01 00:00 (BIGINT), as the input
    /// layer holds times.
    pub(super) fn epoch_ms(self, ts: &str) -> String {
        match self {
            Dialect::Duckdb => format!("epoch_ms({ts})"),
            Dialect::Spark => format!("unix_millis({ts})"),
            Dialect::Postgres => {
                format!("CAST(round(extract(epoch FROM {ts}) * 1000) AS BIGINT)")
            }
        }
    }

    /// A DATE's first millisecond since 1970-01-01 (BIGINT).
    pub(super) fn day_ms(self, date: &str) -> String {
        format!(
            "(CAST({} AS BIGINT) * 86400000)",
            self.days_between(date, "DATE '1970-01-01'")
        )
    }

    /// The DATE of a millisecond count (floor: times before 1970 too).
    pub(super) fn ms_day(self, ms: &str) -> String {
        self.plus_days_expr(
            "DATE '1970-01-01'",
            &format!("floor(CAST({ms} AS {}) / 86400000)", self.double()),
        )
    }

    pub(super) fn double(self) -> &'static str {
        match self {
            Dialect::Postgres => "DOUBLE PRECISION",
            Dialect::Duckdb | Dialect::Spark => "DOUBLE",
        }
    }
}

impl Dialect {
    /// `date + n` days for an integer expression `n`.
    pub(super) fn plus_days_expr(self, date: &str, n: &str) -> String {
        match self {
            Dialect::Spark => format!("date_add({date}, CAST({n} AS INT))"),
            Dialect::Duckdb | Dialect::Postgres => format!("({date} + CAST({n} AS INTEGER))"),
        }
    }

    /// A select-list item that makes one row per integer `name` from `first` to `last`
    /// (Spark rejects a correlated FROM subquery, so the series is a generator in the list).
    pub(super) fn integers(self, first: &str, last: &str, name: &str) -> String {
        match self {
            Dialect::Spark => format!("explode(sequence({first}, {last})) AS {name}"),
            Dialect::Duckdb => format!("unnest(range({first}, {last} + 1)) AS {name}"),
            Dialect::Postgres => format!("generate_series({first}, {last}) AS {name}"),
        }
    }

    /// The first day of the period with index `index` (an integer expression), as a DATE.
    pub(super) fn period_start(self, period: Period, index: &str) -> String {
        let ymd = |per_year: i32, months_per: i32| {
            format!(
                "make_date(CAST(floor(({index}) / {per_year}.0) AS INT), \
                 CAST((({index}) - {per_year} * CAST(floor(({index}) / {per_year}.0) AS INT)) * {months_per} + 1 AS INT), 1)"
            )
        };
        match period {
            Period::Week => self.plus_days_expr("DATE '1970-01-01'", &format!("({index}) * 7 - 3")),
            Period::Month => ymd(12, 1),
            Period::Quarter => ymd(4, 3),
        }
    }

    /// A select-list item that makes one row per `;`-separated piece of a text expression.
    pub(super) fn explode(self, text: &str, name: &str) -> String {
        match self {
            Dialect::Duckdb => format!("unnest(string_split({text}, ';')) AS {name}"),
            Dialect::Spark => format!("explode(split({text}, ';')) AS {name}"),
            Dialect::Postgres => format!("unnest(string_to_array({text}, ';')) AS {name}"),
        }
    }

    /// An integer expression as text.
    pub(super) fn int_text(self, x: &str) -> String {
        format!("CAST(CAST({x} AS BIGINT) AS {})", self.text())
    }

    /// The index of the period holding a DATE expression, as `Period::index` numbers them:
    /// weeks from Monday 1969-12-29, months and quarters as year × 12 (4) + month (quarter).
    pub(super) fn period_index(self, period: Period, date: &str) -> String {
        let year = format!("CAST(EXTRACT(YEAR FROM {date}) AS INT)");
        let month0 = format!("(CAST(EXTRACT(MONTH FROM {date}) AS INT) - 1)");
        match period {
            Period::Week => format!(
                "CAST(floor(({} + 3) / 7.0) AS INT)",
                self.days_between(date, "DATE '1970-01-01'")
            ),
            Period::Month => format!("({year} * 12 + {month0})"),
            Period::Quarter => format!("({year} * 4 + CAST(floor({month0} / 3.0) AS INT))"),
        }
    }

    /// A period's label from its index, as `Period::label` writes it: the Monday of a week
    /// (2024-01-01), 2024-01, 2024-Q1.
    pub(super) fn period_label(self, period: Period, index: &str) -> String {
        let per_year = match period {
            Period::Month => 12,
            _ => 4,
        };
        let year = self.int_text(&format!("floor({index} / {per_year}.0)"));
        let within =
            format!("({index} - {per_year} * CAST(floor({index} / {per_year}.0) AS INT) + 1)");
        match period {
            Period::Week => format!(
                "CAST({} AS {})",
                self.plus_days_expr("DATE '1970-01-01'", &format!("{index} * 7 - 3")),
                self.text()
            ),
            Period::Month => format!(
                "concat({year}, '-', lpad({}, 2, '0'))",
                self.int_text(&within)
            ),
            Period::Quarter => format!("concat({year}, '-Q', {})", self.int_text(&within)),
        }
    }
}

impl Dialect {
    /// The median of a DOUBLE expression over a group, the mean of the two middle values when
    /// their number is even.
    pub(super) fn median(self, x: &str) -> String {
        self.quantile(x, 0.5)
    }

    /// The quantile `q` of a DOUBLE expression over a group by linear interpolation between
    /// ranks (numpy's default, `metrics::funnel::quantile`); NULLs are skipped.
    pub(super) fn quantile(self, x: &str, q: f64) -> String {
        match self {
            Dialect::Duckdb => format!("quantile_cont({x}, {q})"),
            Dialect::Spark => format!("percentile({x}, {q})"),
            Dialect::Postgres => format!("percentile_cont({q}) WITHIN GROUP (ORDER BY {x})"),
        }
    }
}

/// A rate rounded to 4 decimals, half away from zero (as `round_to` on the command's side for
/// values that are not exact halves in binary).
pub(super) fn round4(x: &str) -> String {
    format!("round(CAST({x} AS DECIMAL(38, 10)), 4)")
}

/// A DOUBLE expression `y` rounded to a whole number as Rust's `f64::round` rounds it (half
/// away from zero): `floor(y + 0.5)` is not that — y + 0.5 can round up in floating point for a
/// y just below a half —, but y − floor(y) is exact, so it is compared with 0.5 instead.
pub(super) fn round_half_away(y: &str) -> String {
    format!(
        "(CASE WHEN ({y}) >= 0 \
         THEN floor({y}) + CASE WHEN ({y}) - floor({y}) >= 0.5 THEN 1 ELSE 0 END \
         ELSE -(floor(-({y})) + CASE WHEN -({y}) - floor(-({y})) >= 0.5 THEN 1 ELSE 0 END) END)"
    )
}

/// A DOUBLE expression rounded to `places` decimals as the commands' `round_to` rounds:
/// (x · 10^places) rounded half away from zero, ÷ 10^places.
pub(super) fn round_to(d: Dialect, x: &str, places: i32) -> String {
    let factor = 10f64.powi(places);
    format!(
        "(CAST({} AS {}) / {factor:.1})",
        round_half_away(&format!("({x}) * {factor:.1}")),
        d.double()
    )
}

/// A string literal.
pub(super) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// An identifier (a column header) quoted for the dialect.
pub(super) fn quote_ident(d: Dialect, name: &str) -> String {
    match d {
        Dialect::Spark => format!("`{}`", name.replace('`', "``")),
        Dialect::Duckdb | Dialect::Postgres => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}
