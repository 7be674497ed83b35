//! `crm-eval sql COMMAND --dialect D`: the SQL that computes a command's table with the same
//! definitions (docs/metrics.md, "SQL"), for engines that hold more data than one machine. The
//! purchase rule is written here once as SQL ([`ledger_ctes`]) and every generated query starts
//! from it, as every command starts from the ledger.
//!
//! The SQL reads an `orders` table (or view; the name is a parameter) with the columns
//! customer_id, order_id (NULL where the export has none), order_date (DATE), amount and status
//! (NULL, or a status word of the export), under other headers when `--map` or the config names
//! them ([`relation`]); status, event and survey words are mapped as the input layer maps them.

mod funnel;
mod pool;

pub use funnel::FunnelQuery;
pub use pool::pool;

use crate::input::schema::{mapping, MapEntry, Role, TableKind};
use crate::input::values::OrderStatus;
use crate::metrics::abc::AbcBasis;
use crate::metrics::clv::TimeUnit;
use crate::metrics::cohort::CohortMetric;
use crate::metrics::conversion::ConversionGroup;
use crate::metrics::lifecycle::LifecycleOptions;
use crate::metrics::nps::SurveyKind;
use crate::metrics::ownership::EventKind;
use crate::metrics::periods::Period;
use crate::metrics::rating::{Criterion, Normalise, RatingRules};
use crate::metrics::recovery::RecoveryGroup;
use crate::metrics::rfm::{grid_score, FrequencyBasis, RfmOptions, Scoring, UNMATCHED_SEGMENT};

/// The engines the SQL is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Dialect {
    Duckdb,
    Spark,
    Postgres,
}

impl Dialect {
    /// `later − earlier` in days, for two DATE expressions.
    fn days_between(self, later: &str, earlier: &str) -> String {
        match self {
            Dialect::Spark => format!("datediff({later}, {earlier})"),
            Dialect::Duckdb | Dialect::Postgres => format!("({later} - {earlier})"),
        }
    }

    /// A DATE expression plus `n` days.
    fn plus_days(self, date: &str, n: i32) -> String {
        match self {
            Dialect::Spark => format!("date_add({date}, {n})"),
            Dialect::Duckdb | Dialect::Postgres => format!("({date} + {n})"),
        }
    }

    fn text(self) -> &'static str {
        match self {
            Dialect::Duckdb => "VARCHAR",
            Dialect::Spark => "STRING",
            Dialect::Postgres => "TEXT",
        }
    }

    /// A text column in byte order (PostgreSQL otherwise sorts by the database's collation).
    fn bytewise(self, column: &str) -> String {
        match self {
            Dialect::Postgres => format!("{column} COLLATE \"C\""),
            Dialect::Duckdb | Dialect::Spark => column.to_string(),
        }
    }

    /// A DOUBLE expression rounded to `places` decimals (PostgreSQL rounds only NUMERIC).
    fn round_double(self, x: &str, places: u32) -> String {
        match self {
            Dialect::Postgres => {
                format!("CAST(round(CAST({x} AS NUMERIC), {places}) AS DOUBLE PRECISION)")
            }
            Dialect::Duckdb | Dialect::Spark => format!("round({x}, {places})"),
        }
    }

    /// A TIMESTAMP expression as milliseconds since 1970-01-01 00:00 (BIGINT), as the input
    /// layer holds times.
    fn epoch_ms(self, ts: &str) -> String {
        match self {
            Dialect::Duckdb => format!("epoch_ms({ts})"),
            Dialect::Spark => format!("unix_millis({ts})"),
            Dialect::Postgres => {
                format!("CAST(round(extract(epoch FROM {ts}) * 1000) AS BIGINT)")
            }
        }
    }

    /// A DATE's first millisecond since 1970-01-01 (BIGINT).
    fn day_ms(self, date: &str) -> String {
        format!(
            "(CAST({} AS BIGINT) * 86400000)",
            self.days_between(date, "DATE '1970-01-01'")
        )
    }

    /// The DATE of a millisecond count (floor: times before 1970 too).
    fn ms_day(self, ms: &str) -> String {
        self.plus_days_expr(
            "DATE '1970-01-01'",
            &format!("floor(CAST({ms} AS {}) / 86400000)", self.double()),
        )
    }

    fn double(self) -> &'static str {
        match self {
            Dialect::Postgres => "DOUBLE PRECISION",
            Dialect::Duckdb | Dialect::Spark => "DOUBLE",
        }
    }
}

/// A rate rounded to 4 decimals, half away from zero (as `round_to` on the command's side for
/// values that are not exact halves in binary).
fn round4(x: &str) -> String {
    format!("round(CAST({x} AS DECIMAL(38, 10)), 4)")
}

/// A DOUBLE expression `y` rounded to a whole number as Rust's `f64::round` rounds it (half
/// away from zero): `floor(y + 0.5)` is not that — y + 0.5 can round up in floating point for a
/// y just below a half —, but y − floor(y) is exact, so it is compared with 0.5 instead.
fn round_half_away(y: &str) -> String {
    format!(
        "(CASE WHEN ({y}) >= 0 \
         THEN floor({y}) + CASE WHEN ({y}) - floor({y}) >= 0.5 THEN 1 ELSE 0 END \
         ELSE -(floor(-({y})) + CASE WHEN -({y}) - floor(-({y})) >= 0.5 THEN 1 ELSE 0 END) END)"
    )
}

/// A DOUBLE expression rounded to `places` decimals as the commands' `round_to` rounds:
/// (x · 10^places) rounded half away from zero, ÷ 10^places.
fn round_to(d: Dialect, x: &str, places: i32) -> String {
    let factor = 10f64.powi(places);
    format!(
        "(CAST({} AS {}) / {factor:.1})",
        round_half_away(&format!("({x}) * {factor:.1}")),
        d.double()
    )
}

/// A string literal.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// An identifier (a column header) quoted for the dialect.
fn quote_ident(d: Dialect, name: &str) -> String {
    match d {
        Dialect::Spark => format!("`{}`", name.replace('`', "``")),
        Dialect::Duckdb | Dialect::Postgres => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// A text column's words mapped to the canonical ones as the input layer maps them (trimmed,
/// lowercased, then the word lists of `words`); other words stay (lowercased), empty is NULL.
fn canonical_words(column: &str, words: &[(&str, &[&str])]) -> String {
    let cell = format!("lower(trim({column}))");
    let arms: Vec<String> = words
        .iter()
        .map(|(name, list)| {
            let list: Vec<String> = list.iter().map(|w| quote(w)).collect();
            format!("WHEN {cell} IN ({}) THEN {}", list.join(", "), quote(name))
        })
        .collect();
    format!("CASE {} ELSE nullif({cell}, '') END", arms.join(" "))
}

/// The table `table` as a relation whose columns are `roles` by their role names, for the
/// queries to read (docs/metrics.md "SQL"): a role's column is the header `--map` or the
/// config names for it in a `kind` table (the input layer's rule, `schema::mapping`), else the
/// role's own name; status, event and survey words are mapped to the canonical ones from the
/// input layer's word lists. `extra` columns pass through by name (the events' `seq`).
pub fn relation(
    d: Dialect,
    kind: TableKind,
    table: &str,
    roles: &[Role],
    extra: &[&str],
    mappings: &[MapEntry],
) -> String {
    let mut columns: Vec<String> = roles
        .iter()
        .map(|&role| {
            let column = match mapping(mappings, kind, role) {
                Some(entry) => quote_ident(d, entry.header.trim()),
                None => role.name().to_string(),
            };
            let value = match role {
                Role::Status => {
                    canonical_words(&column, &words_of(&OrderStatus::WORDS, |s| s.as_str()))
                }
                Role::Event => canonical_words(&column, &words_of(&EventKind::WORDS, |k| k.name())),
                Role::Survey => {
                    canonical_words(&column, &words_of(&SurveyKind::WORDS, |k| k.name()))
                }
                _ => column,
            };
            if value == role.name() {
                value
            } else {
                format!("{value} AS {}", role.name())
            }
        })
        .collect();
    columns.extend(extra.iter().map(|c| c.to_string()));
    format!("SELECT {} FROM {table}", columns.join(", "))
}

fn words_of<K: Copy>(
    words: &[(K, &'static [&'static str])],
    name: impl Fn(K) -> &'static str,
) -> Vec<(&'static str, &'static [&'static str])> {
    words.iter().map(|(k, list)| (name(*k), *list)).collect()
}

/// The inputs and the analysis date of a query.
#[derive(Debug, Clone)]
pub struct Source {
    pub dialect: Dialect,
    /// The orders table or view (customer_id, order_id, order_date, amount, status, and owner
    /// when `order_owner`), read as a [`relation`].
    pub orders: String,
    /// Whether the queries read the orders' owner column.
    pub order_owner: bool,
    /// Whether the queries read the orders' margin (a `margin` column, or amount − `cost` when
    /// `--map`/config names a cost column and no margin column): `base` then has `margin`.
    pub order_margin: bool,
    /// `YYYY-MM-DD`, or None for the day after the latest order date (or event day, with
    /// `events`).
    pub as_of: Option<String>,
    /// The ownership events table or view (customer_id, event_time TIMESTAMP, event, owner,
    /// seq), whose latest day also sets the default as_of, as `conversion` and `recovery` take
    /// it.
    pub events: Option<String>,
    /// Event columns read beside customer_id, event_time, event and owner (reason, pool).
    pub event_extra: Vec<Role>,
    /// Customers-file columns to group by (conversion and recovery `--by`).
    pub customer_groups: Option<CustomerColumns>,
    /// The follow-ups table or view (customer_id, followup_time TIMESTAMP), read as
    /// `followups_in`; its latest day also sets the default as_of, as `pool` takes it.
    pub followups: Option<String>,
    /// The `--map`/config column names.
    pub mappings: Vec<MapEntry>,
}

impl Source {
    pub fn new(
        dialect: Dialect,
        orders: &str,
        events: Option<&str>,
        as_of: Option<String>,
        mappings: Vec<MapEntry>,
    ) -> Source {
        Source {
            dialect,
            orders: orders.to_string(),
            order_owner: false,
            order_margin: false,
            event_extra: Vec::new(),
            followups: None,
            customer_groups: None,
            as_of,
            events: events.map(str::to_string),
            mappings,
        }
    }

    /// The orders relation.
    fn orders_relation(&self) -> String {
        let mut roles = vec![
            Role::CustomerId,
            Role::OrderId,
            Role::OrderDate,
            Role::Amount,
            Role::Status,
        ];
        roles.extend(self.order_owner.then_some(Role::Owner));
        roles.extend(self.order_margin.then_some(self.margin_role()));
        let (d, maps) = (self.dialect, &self.mappings);
        relation(d, TableKind::Orders, &self.orders, &roles, &[], maps)
    }

    /// Where the margin comes from: the margin column, or the cost column when only that one
    /// is named (the input layer's order: margin first).
    fn margin_role(&self) -> Role {
        let named = |role| mapping(&self.mappings, TableKind::Orders, role).is_some();
        if named(Role::Cost) && !named(Role::Margin) {
            Role::Cost
        } else {
            Role::Margin
        }
    }

    /// The events relation, when there is an events table.
    fn events_relation(&self) -> Option<String> {
        let mut roles = vec![Role::CustomerId, Role::EventTime, Role::Event, Role::Owner];
        roles.extend(&self.event_extra);
        let (d, maps) = (self.dialect, &self.mappings);
        let table = self.events.as_deref()?;
        Some(relation(
            d,
            TableKind::Events,
            table,
            &roles,
            &["seq"],
            maps,
        ))
    }

    /// The source with an events table: `events` unless one was named.
    fn with_events(&self) -> Source {
        let mut s = self.clone();
        s.events.get_or_insert_with(|| "events".to_string());
        s
    }

    /// A customers table as a relation of its customer_id.
    pub fn customers(&self, table: &str) -> String {
        relation(
            self.dialect,
            TableKind::Customers,
            table,
            &[Role::CustomerId],
            &[],
            &self.mappings,
        )
    }
}

/// docs/metrics.md "Orders and purchases" as common table expressions: `orders_in` (and
/// `events_in`: the inputs as [`relation`]s), `as_of` (one row, `d`),
/// `base` (order rows before as_of with their exact net; cancelled and unpaid rows dropped,
/// refunded positive amounts negated), `spend` (net spend per customer), `purchases`
/// (customer_id, order_date, net of every purchase: the rows of one order ID, or a row without
/// one, with a positive net — dated by the earliest positive row — or a zero net and no refund
/// row — dated by the earliest row; its order_id, and the row's owner for a row without one).
pub fn ledger_ctes(s: &Source) -> String {
    let d = s.dialect;
    let as_of = match &s.as_of {
        Some(day) => format!("SELECT DATE {} AS d", quote(day)),
        None => match &s.events {
            None => format!(
                "SELECT {} AS d FROM orders_in",
                d.plus_days("max(order_date)", 1),
            ),
            Some(_) => match &s.followups {
                None => format!(
                    "SELECT {} AS d FROM (SELECT max(order_date) AS o FROM orders_in) mo CROSS JOIN \
                     (SELECT max(CAST(event_time AS DATE)) AS e FROM events_in) me",
                    d.plus_days("greatest(mo.o, coalesce(me.e, mo.o))", 1),
                ),
                Some(_) => format!(
                    "SELECT {} AS d FROM (SELECT max(order_date) AS o FROM orders_in) mo CROSS JOIN \
                     (SELECT max(CAST(event_time AS DATE)) AS e FROM events_in) me CROSS JOIN \
                     (SELECT max(CAST(followup_time AS DATE)) AS f FROM followups_in) mf",
                    d.plus_days(
                        "greatest(mo.o, coalesce(me.e, mo.o), coalesce(mf.f, mo.o))",
                        1
                    ),
                ),
            },
        },
    };
    let mut events = match s.events_relation() {
        Some(events) => format!("\nevents_in AS ({events}),"),
        None => String::new(),
    };
    if let Some(table) = &s.followups {
        let followups = relation(
            d,
            TableKind::Followups,
            table,
            &[Role::CustomerId, Role::FollowupTime],
            &[],
            &s.mappings,
        );
        events.push_str(&format!("\nfollowups_in AS ({followups}),"));
    }
    let owner = if s.order_owner {
        "nullif(trim(o.owner), '')".to_string()
    } else {
        format!("CAST(NULL AS {})", d.text())
    };
    // A row's margin, signed as its net (a refunded positive margin counts negative).
    let margin = if s.order_margin {
        let raw = match s.margin_role() {
            Role::Cost => {
                "(CAST(o.amount AS DECIMAL(18, 4)) - coalesce(CAST(o.cost AS DECIMAL(18, 4)), 0))"
            }
            _ => "coalesce(CAST(o.margin AS DECIMAL(18, 4)), 0)",
        };
        format!(
            ",\n         CASE WHEN o.status = 'refunded' AND {raw} > 0 THEN -{raw} ELSE {raw} END AS margin"
        )
    } else {
        String::new()
    };
    format!(
        "orders_in AS ({orders}),{events}
as_of AS ({as_of}),
base AS (
  SELECT o.customer_id, o.order_id, o.order_date,
         CASE WHEN o.status = 'refunded' AND o.amount > 0 THEN -CAST(o.amount AS DECIMAL(18, 4))
              ELSE CAST(o.amount AS DECIMAL(18, 4)) END AS net,
         CASE WHEN o.status = 'refunded' THEN 1 ELSE 0 END AS refunded_status,
         {owner} AS owner{margin}
  FROM orders_in o CROSS JOIN as_of
  WHERE (o.status IS NULL OR o.status NOT IN ('cancelled', 'unpaid')) AND o.order_date < as_of.d
),
spend AS (SELECT customer_id, sum(net) AS monetary FROM base GROUP BY customer_id),
purchases AS (
  SELECT customer_id,
         CASE WHEN sum(net) > 0 THEN min(CASE WHEN net > 0 THEN order_date END)
              ELSE min(order_date) END AS order_date,
         sum(net) AS net, order_id, CAST(NULL AS {text}) AS owner
  FROM base WHERE order_id IS NOT NULL GROUP BY customer_id, order_id
  HAVING sum(net) > 0
      OR (sum(net) = 0 AND max(CASE WHEN refunded_status = 1 OR net < 0 THEN 1 ELSE 0 END) = 0)
  UNION ALL
  SELECT customer_id, order_date, net, order_id, owner FROM base
  WHERE order_id IS NULL AND (net > 0 OR (net = 0 AND refunded_status = 0))
)",
        orders = s.orders_relation(),
        text = d.text(),
    )
}

/// `crm-eval rfm` (docs/metrics.md "RFM") with the command's options: frequency as purchases or
/// purchase days; each score by quantiles (`rank()`: rank − 1 is the number of customers
/// strictly worse, so ties share a score as the command's tie rule) or by breakpoints (1 + the
/// breaks below the value; recency: levels − the breaks it exceeds, monetary compared as the
/// command's rounded double); the segment table in its order, on the 5-point grid for the
/// built-in table (`grid_score`, the command's mapping) and on the raw scores for a config's.
/// Columns as the command's.
pub fn rfm(s: &Source, opts: &RfmOptions) -> String {
    let d = s.dialect;
    let double = d.double();
    let segments: Vec<String> = opts
        .segments
        .iter()
        .map(|rule| {
            let mut tests = Vec::new();
            for (column, range) in [
                ("r5", rule.r),
                ("f5", rule.f),
                ("m5", rule.m),
                ("fm", rule.fm),
            ] {
                if let Some([lo, hi]) = range {
                    tests.push(format!("{column} BETWEEN {lo} AND {hi}"));
                }
            }
            if tests.is_empty() {
                tests.push("1 = 1".to_string());
            }
            format!(
                "    WHEN {} THEN {}",
                tests.join(" AND "),
                quote(&rule.name)
            )
        })
        .collect();
    let score = |scoring: &Scoring, value: &str, better_high: bool| match scoring {
        Scoring::Quantile { bins } => {
            let order = if better_high {
                value.to_string()
            } else {
                format!("{value} DESC")
            };
            format!("CAST(1 + floor({bins} * (rank() OVER (ORDER BY {order}) - 1) / n.n) AS INT)")
        }
        Scoring::Breaks(breaks) => {
            let above: Vec<String> = breaks
                .iter()
                .map(|b| format!("CASE WHEN CAST({value} AS {double}) > {b:?} THEN 1 ELSE 0 END"))
                .collect();
            if better_high {
                format!("CAST(1 + {} AS INT)", above.join(" + "))
            } else {
                format!(
                    "CAST({} - ({}) AS INT)",
                    breaks.len() + 1,
                    above.join(" + ")
                )
            }
        }
    };
    let text = d.text();
    // Scores on the 5-point grid of the built-in segments (the command's mapping).
    let grid = |column: &str, scoring: &Scoring| -> String {
        let levels = scoring.levels();
        if !opts.default_segments || levels == 5 {
            return column.to_string();
        }
        let arms: Vec<String> = (1..=levels)
            .map(|k| format!("WHEN {k} THEN {}", grid_score(k, levels)))
            .collect();
        format!("CASE {column} {} END", arms.join(" "))
    };
    let frequency = match opts.frequency {
        FrequencyBasis::Orders => "count(*)",
        FrequencyBasis::Days => "count(DISTINCT order_date)",
    };
    format!(
        "WITH {ledger},
per_customer AS (
  SELECT customer_id, min(order_date) AS first_order_date, max(order_date) AS last_order_date,
         {frequency} AS frequency
  FROM purchases GROUP BY customer_id
),
joined AS (
  SELECT p.customer_id, p.first_order_date, p.last_order_date,
         {recency} AS recency_days, p.frequency,
         CAST(round(s.monetary, 2) AS {double}) AS monetary
  FROM per_customer p JOIN spend s ON s.customer_id = p.customer_id CROSS JOIN as_of
),
n AS (SELECT count(*) AS n FROM joined),
scored AS (
  SELECT joined.*, {r} AS r_score, {f} AS f_score, {m} AS m_score
  FROM joined CROSS JOIN n
),
on_grid AS (SELECT scored.*, {r5} AS r5, {f5} AS f5, {m5} AS m5 FROM scored),
graded AS (SELECT on_grid.*, CAST(floor((f5 + m5 + 1) / 2) AS INT) AS fm FROM on_grid)
SELECT customer_id, first_order_date, last_order_date, recency_days, frequency, monetary,
       r_score, f_score, m_score,
       concat(CAST(r_score AS {text}), CAST(f_score AS {text}), CAST(m_score AS {text})) AS rfm_code,
       CASE
{segments}
    ELSE {other} END AS segment
FROM graded
ORDER BY {by_id}",
        ledger = ledger_ctes(s),
        recency = d.days_between("as_of.d", "p.last_order_date"),
        r = score(&opts.r_scoring, "recency_days", false),
        f = score(&opts.f_scoring, "frequency", true),
        m = score(&opts.m_scoring, "monetary", true),
        segments = segments.join("\n"),
        other = quote(UNMATCHED_SEGMENT),
        by_id = d.bytewise("customer_id"),
        r5 = grid("r_score", &opts.r_scoring),
        f5 = grid("f_score", &opts.f_scoring),
        m5 = grid("m_score", &opts.m_scoring),
    )
}

/// `crm-eval abc` by net revenue or margin (docs/metrics.md "ABC"): customers with a purchase
/// ranked by net spend (or the sum of their rows' signed margins) rounded to cents, highest first, equal values by customer_id; shares of the total
/// positive value; a customer is A while (value of the customers ranked above the first of its
/// equals) × 10,000 < `a_bp` × total, B likewise with `b_bp`, else C; worth 0 it is C, worth less
/// than 0 it is L. Exact DECIMAL sums, as the command's in cents.
pub fn abc(s: &Source, basis: AbcBasis, a_bp: i128, b_bp: i128) -> String {
    let d = s.dialect;
    let double = d.double();
    let (s, values) = match basis {
        AbcBasis::Revenue => (
            s.clone(),
            "SELECT customer_id, monetary AS value FROM spend",
        ),
        AbcBasis::Margin => (
            Source {
                order_margin: true,
                ..s.clone()
            },
            "SELECT customer_id, sum(margin) AS value FROM base GROUP BY customer_id",
        ),
    };
    let s = &s;
    format!(
        "WITH {ledger},
customer_values AS ({values}),
buyers AS (
  SELECT v.customer_id, round(v.value, 2) AS value
  FROM customer_values v WHERE v.customer_id IN (SELECT customer_id FROM purchases)
),
total AS (SELECT coalesce(sum(CASE WHEN value > 0 THEN value ELSE 0 END), 0) AS t FROM buyers),
ranked AS (
  SELECT customer_id, value, CASE WHEN value > 0 THEN value ELSE 0 END AS positive,
         row_number() OVER (ORDER BY value DESC, {by_id}) AS rank
  FROM buyers
),
running AS (
  SELECT ranked.*,
         sum(positive) OVER (ORDER BY rank ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum
  FROM ranked
),
firsts AS (SELECT value, min(rank) AS first_rank FROM ranked GROUP BY value),
tiered AS (
  SELECT r.rank, r.customer_id, r.value, r.cum,
         CASE WHEN r.value < 0 THEN 'L'
              WHEN r.value = 0 THEN 'C'
              WHEN (f.cum - f.positive) * 10000 < {a_bp} * total.t THEN 'A'
              WHEN (f.cum - f.positive) * 10000 < {b_bp} * total.t THEN 'B'
              ELSE 'C' END AS tier
  FROM running r
  JOIN firsts fr ON fr.value = r.value
  JOIN running f ON f.rank = fr.first_rank
  CROSS JOIN total
)
SELECT rank, customer_id, CAST(value AS {double}) AS value,
       CASE WHEN value > 0 AND total.t > 0
            THEN {value_share} ELSE 0 END AS value_share,
       CASE WHEN total.t > 0
            THEN {cumulative_share} ELSE 0 END AS cumulative_share,
       tier
FROM tiered CROSS JOIN total
ORDER BY rank",
        ledger = ledger_ctes(s),
        by_id = d.bytewise("customer_id"),
        value_share = d.round_double(
            &format!("CAST(value AS {double}) / CAST(total.t AS {double})"),
            6
        ),
        cumulative_share = d.round_double(
            &format!("CAST(cum AS {double}) / CAST(total.t AS {double})"),
            6
        ),
    )
}

/// The per-customer summary `clv --summary-in` reads (docs/metrics.md "CLV"): purchases merged
/// per day, frequency = purchase days − 1, recency = last − first purchase day, T = (as_of − 1)
/// − first purchase day, in `unit`, monetary = the mean spend of the repeat purchase days
/// (0 without one), rounded to 6 decimals.
pub fn clv_summary(s: &Source, unit: TimeUnit) -> String {
    let d = s.dialect;
    let per = match unit {
        TimeUnit::Day => "1.0".to_string(),
        TimeUnit::Week => "7.0".to_string(),
        TimeUnit::Month => format!("{}", 365.25 / 12.0),
    };
    let double = d.double();
    format!(
        "WITH {ledger},
days AS (SELECT customer_id, order_date, sum(net) AS spend FROM purchases GROUP BY customer_id, order_date),
firsts AS (
  SELECT customer_id, min(order_date) AS first_day, max(order_date) AS last_day,
         count(*) - 1 AS frequency
  FROM days GROUP BY customer_id
),
repeat_spend AS (
  SELECT d.customer_id, sum(d.spend) AS spend
  FROM days d JOIN firsts f ON f.customer_id = d.customer_id
  WHERE d.order_date > f.first_day GROUP BY d.customer_id
)
SELECT f.customer_id, f.frequency,
       CAST({recency} AS {double}) / {per} AS recency,
       CAST({age} AS {double}) / {per} AS T,
       CASE WHEN f.frequency > 0
            THEN {monetary} ELSE 0 END AS monetary
FROM firsts f LEFT JOIN repeat_spend r ON r.customer_id = f.customer_id CROSS JOIN as_of
ORDER BY {by_id}",
        ledger = ledger_ctes(s),
        recency = d.days_between("f.last_day", "f.first_day"),
        age = d.days_between(&d.plus_days("as_of.d", -1), "f.first_day"),
        monetary = d.round_double(&format!("CAST(r.spend AS {double}) / f.frequency"), 6),
        by_id = d.bytewise("f.customer_id"),
    )
}

/// `crm-eval nps` (docs/metrics.md "NPS and CSAT") over a `surveys` table (customer_id,
/// response_date DATE, survey: nps, csat or NULL for nps, score, owner), answers dated before
/// as_of when one is given: favourable, neutral and unfavourable counts, the score and its 95 %
/// interval (NPS: ± 1.96 × 100 × √(v / n); CSAT: Wilson), rounded to 2 decimals; one row per
/// survey kind, or per owner and kind with `by_owner`. Scores off the scale (not a whole number
/// from 0 to 10, or 1 to 5) are left out.
pub fn nps(
    dialect: Dialect,
    surveys: &str,
    mappings: &[MapEntry],
    as_of: Option<&str>,
    by_owner: bool,
) -> String {
    let d = dialect;
    let double = d.double();
    let mut roles = vec![Role::Survey, Role::Score];
    roles.extend(as_of.map(|_| Role::ResponseDate));
    roles.extend(by_owner.then_some(Role::Owner));
    let surveys = relation(d, TableKind::Surveys, surveys, &roles, &[], mappings);
    let dated = match as_of {
        Some(day) => format!(" AND response_date < DATE {}", quote(day)),
        None => String::new(),
    };
    let (group, group_select, order) = if by_owner {
        (
            "owner, survey",
            "owner, ",
            format!("{}, kind_order", d.bytewise("owner")),
        )
    } else {
        ("survey", "", "kind_order".to_string())
    };
    let round = |x: &str| format!("round(CAST({x} AS DECIMAL(38, 10)), 2)");
    format!(
        "WITH answers AS (
  SELECT {owner_col}coalesce(survey, 'nps') AS survey, CAST(score AS {double}) AS score
  FROM ({surveys}) sv
  WHERE score IS NOT NULL{dated}
),
valid AS (
  SELECT * FROM answers
  WHERE score = floor(score) AND ((survey = 'nps' AND score BETWEEN 0 AND 10)
     OR (survey = 'csat' AND score BETWEEN 1 AND 5))
),
tally AS (
  SELECT {group},
         CASE WHEN survey = 'nps' THEN 0 ELSE 1 END AS kind_order,
         count(*) AS responses,
         sum(CASE WHEN (survey = 'nps' AND score >= 9) OR (survey = 'csat' AND score >= 4) THEN 1 ELSE 0 END) AS favourable,
         sum(CASE WHEN (survey = 'nps' AND score >= 7 AND score < 9) OR (survey = 'csat' AND score = 3) THEN 1 ELSE 0 END) AS neutral
  FROM valid GROUP BY {group}
),
rates AS (
  SELECT tally.*, responses - favourable - neutral AS unfavourable,
         CAST(favourable AS {double}) / responses AS p,
         CAST(responses - favourable - neutral AS {double}) / responses AS q,
         CAST(responses AS {double}) AS n
  FROM tally
),
scored AS (
  SELECT rates.*,
    CASE WHEN survey = 'nps' THEN 100 * (p - q) ELSE 100 * p END AS score,
    CASE WHEN survey = 'nps' THEN 1.96 * sqrt(greatest(p + q - (p - q) * (p - q), 0) / n)
         ELSE 1.96 * sqrt(p * (1 - p) / n + 1.96 * 1.96 / (4 * n * n)) / (1 + 1.96 * 1.96 / n) END AS half,
    (p + 1.96 * 1.96 / (2 * n)) / (1 + 1.96 * 1.96 / n) AS centre
  FROM rates
)
SELECT {group_select}survey, responses, favourable, neutral, unfavourable,
       {score} AS score,
       CASE WHEN survey = 'nps' THEN {nps_low} ELSE {csat_low} END AS score_low,
       CASE WHEN survey = 'nps' THEN {nps_high} ELSE {csat_high} END AS score_high
FROM scored
ORDER BY {order}",
        owner_col = if by_owner { "owner, " } else { "" },
        score = round("score"),
        nps_low = round("greatest(100 * (p - q - half), -100)"),
        nps_high = round("least(100 * (p - q + half), 100)"),
        csat_low = round("100 * greatest(centre - half, 0)"),
        csat_high = round("100 * least(centre + half, 1)"),
    )
}

/// `crm-eval lifecycle --rates` (docs/metrics.md "Lifecycle"): for every complete period [s, e]
/// (week, month or quarter) from the one of the first purchase, a customer is active on day t
/// when it has a purchase in (t − churn_days, t]; customers_at_start = active on s − 1,
/// retained = of those active on e, churned = at start − retained, won = active on e but not on
/// s − 1; the rates ÷ customers_at_start, rounded to 4 decimals (empty without customers at the
/// start). Computed without pairing every customer with every period (a cross join that took
/// Spark 8 minutes on 10M orders by month): a customer's purchase days chain into active spans
/// [a, last + churn_days) (a purchase more than churn_days after the previous one starts a
/// new span); a span holds s_i − 1 exactly for the periods i from index(a) + 1 to
/// index(last + churn_days), and e_i for i + 1 in that range; the rows (customer, i) of those
/// ranges give the counts, retained where the customer's next row is i + 1.
pub fn lifecycle_rates(s: &Source, period: Period, churn_days: i64) -> String {
    let d = s.dialect;
    let double = d.double();
    format!(
        "WITH {ledger},
bounds AS (
  SELECT {first} AS first_index, {last} AS last_index FROM purchases CROSS JOIN as_of
  GROUP BY as_of.d
),
indexes AS (SELECT {series} FROM bounds),
periods AS (
  SELECT i, {start} AS s, {next_start} AS next_s FROM indexes
),
complete AS (
  SELECT i FROM periods CROSS JOIN as_of WHERE {end} < as_of.d
),
days AS (SELECT DISTINCT customer_id, order_date AS day FROM purchases),
chained AS (
  SELECT customer_id, day,
         CASE WHEN lag(day) OVER (PARTITION BY customer_id ORDER BY day) IS NULL
                OR {gap} > {churn_days} THEN 1 ELSE 0 END AS starts
  FROM days
),
numbered AS (
  SELECT customer_id, day,
         sum(starts) OVER (PARTITION BY customer_id ORDER BY day ROWS UNBOUNDED PRECEDING) AS span
  FROM chained
),
spans AS (
  SELECT customer_id, min(day) AS a, max(day) AS last_day FROM numbered
  GROUP BY customer_id, span
),
ranges AS (
  SELECT customer_id, {a_index} + 1 AS lo, least({z_index}, b.last_index + 1) AS hi
  FROM spans CROSS JOIN bounds b
),
active AS (
  SELECT customer_id, {active_series} FROM ranges WHERE lo <= hi
),
marked AS (
  SELECT i, CASE WHEN lead(i) OVER (PARTITION BY customer_id ORDER BY i) = i + 1
                 THEN 1 ELSE 0 END AS next_active
  FROM active
),
tally AS (
  SELECT i, count(*) AS active, sum(next_active) AS retained FROM marked GROUP BY i
),
counts AS (
  SELECT c.i, coalesce(t.active, 0) AS customers_at_start, coalesce(t.retained, 0) AS retained,
         coalesce(n.active, 0) - coalesce(t.retained, 0) AS won
  FROM complete c LEFT JOIN tally t ON t.i = c.i LEFT JOIN tally n ON n.i = c.i + 1
)
SELECT {label} AS period, customers_at_start, retained,
       customers_at_start - retained AS churned, won,
       CASE WHEN customers_at_start > 0
            THEN {churn_rate} END AS churn_rate,
       CASE WHEN customers_at_start > 0
            THEN {retention_rate} END AS retention_rate
FROM counts
ORDER BY i",
        ledger = ledger_ctes(s),
        first = d.period_index(period, "min(purchases.order_date)"),
        last = d.period_index(period, &d.plus_days("as_of.d", -1)),
        series = d.integers("first_index", "last_index", "i"),
        active_series = d.integers("lo", "hi", "i"),
        start = d.period_start(period, "i"),
        next_start = d.period_start(period, "i + 1"),
        end = d.plus_days("next_s", -1),
        gap = d.days_between(
            "day",
            "lag(day) OVER (PARTITION BY customer_id ORDER BY day)"
        ),
        a_index = d.period_index(period, "a"),
        z_index = d.period_index(
            period,
            &d.plus_days_expr("last_day", &churn_days.to_string())
        ),
        label = d.period_label(period, "i"),
        churn_rate = round4(&format!(
            "CAST(customers_at_start - retained AS {double}) / customers_at_start"
        )),
        retention_rate = round4(&format!("CAST(retained AS {double}) / customers_at_start")),
    )
}

impl Dialect {
    /// `date + n` days for an integer expression `n`.
    fn plus_days_expr(self, date: &str, n: &str) -> String {
        match self {
            Dialect::Spark => format!("date_add({date}, CAST({n} AS INT))"),
            Dialect::Duckdb | Dialect::Postgres => format!("({date} + CAST({n} AS INTEGER))"),
        }
    }

    /// A select-list item that makes one row per integer `name` from `first` to `last`
    /// (Spark rejects a correlated FROM subquery, so the series is a generator in the list).
    fn integers(self, first: &str, last: &str, name: &str) -> String {
        match self {
            Dialect::Spark => format!("explode(sequence({first}, {last})) AS {name}"),
            Dialect::Duckdb => format!("unnest(range({first}, {last} + 1)) AS {name}"),
            Dialect::Postgres => format!("generate_series({first}, {last}) AS {name}"),
        }
    }

    /// The first day of the period with index `index` (an integer expression), as a DATE.
    fn period_start(self, period: Period, index: &str) -> String {
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
    fn explode(self, text: &str, name: &str) -> String {
        match self {
            Dialect::Duckdb => format!("unnest(string_split({text}, ';')) AS {name}"),
            Dialect::Spark => format!("explode(split({text}, ';')) AS {name}"),
            Dialect::Postgres => format!("unnest(string_to_array({text}, ';')) AS {name}"),
        }
    }

    /// An integer expression as text.
    fn int_text(self, x: &str) -> String {
        format!("CAST(CAST({x} AS BIGINT) AS {})", self.text())
    }

    /// The index of the period holding a DATE expression, as `Period::index` numbers them:
    /// weeks from Monday 1969-12-29, months and quarters as year × 12 (4) + month (quarter).
    fn period_index(self, period: Period, date: &str) -> String {
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
    fn period_label(self, period: Period, index: &str) -> String {
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

/// `crm-eval cohort` (docs/metrics.md "Cohorts") with the columns period_0 … period_{N−1}
/// (`periods` = N; the command writes as many as there are periods from the first cohort to the
/// one holding as_of − 1, so with that N the tables are the same): a customer's cohort is the
/// period of its first purchase; cell k is the share of the cohort with a purchase in period
/// cohort + k (rounded to 4 decimals), their number, or the net of all the cohort's order rows
/// dated in it (rounded to cents); cells after the period holding as_of − 1 are NULL.
pub fn cohort(s: &Source, period: Period, metric: CohortMetric, periods: u32) -> String {
    let d = s.dialect;
    let double = d.double();
    let cells = match metric {
        CohortMetric::Retention | CohortMetric::Customers => format!(
            "SELECT c.cohort, {p} - c.cohort AS k, count(DISTINCT p.customer_id) AS v
  FROM purchases p JOIN cohorts c ON c.customer_id = p.customer_id
  GROUP BY c.cohort, {p} - c.cohort",
            p = d.period_index(period, "p.order_date")
        ),
        CohortMetric::Revenue => format!(
            "SELECT c.cohort, {p} - c.cohort AS k, sum(b.net) AS v
  FROM base b JOIN cohorts c ON c.customer_id = b.customer_id
  WHERE {p} >= c.cohort
  GROUP BY c.cohort, {p} - c.cohort",
            p = d.period_index(period, "b.order_date")
        ),
    };
    let value = |k: u32| -> String {
        let v = format!("coalesce(max(CASE WHEN cells.k = {k} THEN cells.v END), 0)");
        let v = match metric {
            CohortMetric::Retention => {
                format!("round(CAST({v} AS DECIMAL(38, 10)) / sizes.customers, 4)")
            }
            CohortMetric::Customers => format!("CAST({v} AS BIGINT)"),
            CohortMetric::Revenue => format!("CAST(round({v}, 2) AS {double})"),
        };
        format!(
            "       CASE WHEN sizes.cohort + {k} > bounds.last_period THEN NULL ELSE {v} END AS period_{k}"
        )
    };
    let columns: Vec<String> = (0..periods).map(value).collect();
    format!(
        "WITH {ledger},
bounds AS (SELECT {last} AS last_period FROM as_of),
cohorts AS (
  SELECT customer_id, min({first}) AS cohort FROM purchases GROUP BY customer_id
),
sizes AS (SELECT cohort, count(*) AS customers FROM cohorts GROUP BY cohort),
cells AS (
  {cells}
)
SELECT {label} AS cohort, sizes.customers,
{columns}
FROM sizes CROSS JOIN bounds LEFT JOIN cells ON cells.cohort = sizes.cohort
GROUP BY sizes.cohort, sizes.customers, bounds.last_period
ORDER BY sizes.cohort",
        ledger = ledger_ctes(s),
        last = d.period_index(period, &d.plus_days("as_of.d", -1)),
        first = d.period_index(period, "order_date"),
        label = d.period_label(period, "sizes.cohort"),
        columns = columns.join(",\n"),
    )
}

impl Dialect {
    /// The median of a DOUBLE expression over a group, the mean of the two middle values when
    /// their number is even.
    fn median(self, x: &str) -> String {
        self.quantile(x, 0.5)
    }

    /// The quantile `q` of a DOUBLE expression over a group by linear interpolation between
    /// ranks (numpy's default, `metrics::funnel::quantile`); NULLs are skipped.
    fn quantile(self, x: &str, q: f64) -> String {
        match self {
            Dialect::Duckdb => format!("quantile_cont({x}, {q})"),
            Dialect::Spark => format!("percentile({x}, {q})"),
            Dialect::Postgres => format!("percentile_cont({q}) WITHIN GROUP (ORDER BY {x})"),
        }
    }
}

/// `crm-eval lifecycle` (docs/metrics.md "Lifecycle"): per customer with a purchase, the first
/// stage that holds — churned (recency > churn_days), new (first purchase ≤ new_days ago),
/// at_risk (recency > factor × typical gap: its mean days between purchases, or for one-time
/// buyers the median of that over the repeat buyers, churn_days without any), loyal (≥
/// loyal_orders purchases), active — and with a customers table its customers without a
/// purchase as potential; columns and order as the command's. The typical gap is rounded to 0.1
/// as the command rounds a float (× 10, [`round_half_away`], ÷ 10: the same IEEE arithmetic).
pub fn lifecycle(s: &Source, opts: &LifecycleOptions, customers: Option<&str>) -> String {
    let d = s.dialect;
    let double = d.double();
    let potential = match customers {
        Some(table) => format!(
            "
UNION ALL
SELECT DISTINCT k.customer_id, 'potential', CAST(NULL AS DATE), CAST(NULL AS DATE),
       CAST(NULL AS BIGINT), CAST(0 AS BIGINT), CAST(NULL AS {double})
FROM ({table}) k
WHERE k.customer_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM per p WHERE p.customer_id = k.customer_id)",
            table = s.customers(table)
        ),
        None => String::new(),
    };
    format!(
        "WITH {ledger},
per AS (
  SELECT customer_id, min(order_date) AS first_order_date, max(order_date) AS last_order_date,
         count(*) AS frequency
  FROM purchases GROUP BY customer_id
),
gaps AS (
  SELECT per.*,
         CASE WHEN frequency >= 2
              THEN CAST({span} AS {double}) / (frequency - 1) END AS own_gap
  FROM per
),
population AS (SELECT coalesce({median}, {churn}) AS gap FROM gaps),
staged AS (
  SELECT g.customer_id, g.first_order_date, g.last_order_date, g.frequency,
         {recency} AS recency_days, {tenure} AS tenure,
         coalesce(g.own_gap, population.gap) AS gap
  FROM gaps g CROSS JOIN population CROSS JOIN as_of
),
stages AS (
SELECT customer_id,
       CASE WHEN recency_days > {churn} THEN 'churned'
            WHEN tenure <= {new} THEN 'new'
            WHEN recency_days > {factor:?} * gap THEN 'at_risk'
            WHEN frequency >= {loyal} THEN 'loyal'
            ELSE 'active' END AS stage,
       first_order_date, last_order_date, CAST(recency_days AS BIGINT) AS recency_days,
       CAST(frequency AS BIGINT) AS frequency,
       {gap_rounded} / 10 AS typical_gap_days
FROM staged{potential}
)
SELECT * FROM stages ORDER BY {by_id}",
        ledger = ledger_ctes(s),
        span = d.days_between("last_order_date", "first_order_date"),
        median = d.median("own_gap"),
        churn = opts.churn_days,
        new = opts.new_days,
        factor = opts.at_risk_factor,
        loyal = opts.loyal_orders,
        recency = d.days_between("as_of.d", "g.last_order_date"),
        tenure = d.days_between("as_of.d", "g.first_order_date"),
        by_id = d.bytewise("customer_id"),
        gap_rounded = round_half_away("gap * 10"),
    )
}

/// The ownership spells as common table expressions over an events table, after
/// [`ledger_ctes`] (docs/metrics.md "Ownership spells"): `ev` (known events before as_of, with
/// `starts`: whether the row starts a spell), `ordered` (each with the owner of the spell open
/// before it — else its own owner —, the customer's next event and an `ord` number in
/// (customer, time, seq) order), `spells` (spell = its start row's ord; customer, owner,
/// start_day, start_time, end_time, cover_end: the first day not covered, matured for a
/// `window`), `nexts` (every `ordered` row with `next_spell`: the first spell that starts after
/// it — a return's win-back or reclaim).
fn spell_ctes(d: Dialect, window: i32) -> String {
    format!(
        "ev AS (
  SELECT e.*, CAST(e.event_time AS DATE) AS day,
         CASE WHEN e.event IN ('assign', 'claim')
                OR (e.event = 'transfer' AND e.owner IS NOT NULL AND trim(e.owner) <> '')
              THEN 1 ELSE 0 END AS starts
  FROM events_in e CROSS JOIN as_of
  WHERE e.event IN ('assign', 'claim', 'transfer', 'recycle', 'release')
    AND e.event_time IS NOT NULL AND CAST(e.event_time AS DATE) < as_of.d
),
ordered AS (
  SELECT ev.*,
         CASE WHEN lag(starts) OVER (PARTITION BY customer_id ORDER BY event_time, seq) = 1
              THEN coalesce(trim(lag(owner) OVER (PARTITION BY customer_id ORDER BY event_time, seq)), '')
              ELSE coalesce(trim(owner), '') END AS previous_owner,
         lead(event) OVER (PARTITION BY customer_id ORDER BY event_time, seq) AS next_event,
         lead(day) OVER (PARTITION BY customer_id ORDER BY event_time, seq) AS next_day,
         lead(event_time) OVER (PARTITION BY customer_id ORDER BY event_time, seq) AS next_time,
         row_number() OVER (ORDER BY customer_id, event_time, seq) AS ord
  FROM ev
),
spells AS (
  SELECT o.ord AS spell, o.customer_id, coalesce(trim(o.owner), '') AS owner, o.day AS start_day,
         o.event_time AS start_time, o.next_time AS end_time,
         CASE WHEN o.next_event IS NULL THEN as_of.d
              WHEN o.next_event IN ('recycle', 'release') THEN {after_next}
              ELSE o.next_day END AS cover_end,
         CASE WHEN {window_end} < as_of.d THEN 1 ELSE 0 END AS matured
  FROM ordered o CROSS JOIN as_of
  WHERE o.starts = 1
),
nexts AS (
  SELECT o.*,
         min(CASE WHEN o.starts = 1 THEN o.ord END) OVER (
           PARTITION BY o.customer_id ORDER BY o.event_time, o.seq
           ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_spell
  FROM ordered o
)",
        after_next = d.plus_days("o.next_day", 1),
        window_end = d.plus_days("o.day", window),
    )
}

/// Over `spans` (rows keyed by `key`, with customer_id, start_day and until): `firsts` (the
/// first purchase day in [start_day, until)) and `window_value` (the net of the order rows
/// there, rounded to cents per row), for conversion and recovery alike.
fn window_ctes(key: &str) -> String {
    format!(
        "firsts AS (
  SELECT w.{key}, min(p.order_date) AS first_day
  FROM spans w JOIN purchases p ON p.customer_id = w.customer_id
   AND p.order_date >= w.start_day AND p.order_date < w.until
  GROUP BY w.{key}
),
window_value AS (
  SELECT w.{key}, round(sum(b.net), 2) AS value
  FROM spans w JOIN base b ON b.customer_id = w.customer_id
   AND b.order_date >= w.start_day AND b.order_date < w.until
  GROUP BY w.{key}
)"
    )
}

/// Customers-file columns a query groups by (`--by region --customers-table customers`): the
/// table and the `--by` names, each a role `--map`/config names a header for, else the header
/// itself.
#[derive(Debug, Clone)]
pub struct CustomerColumns {
    pub table: String,
    pub names: Vec<String>,
}

/// The SQL of grouping by some columns of an `outcomes` CTE, then an `all` row (every group
/// column `all`), for the `groups` CTE, its join with `wilson` and the final order (byte order
/// of each column, `all` last). A key `customer` stands for the customers-file columns
/// ([`CustomerColumns`], docs/metrics.md "Groups"): internal columns c1, c2 … read from
/// `customer_keys` (a customer missing from the table is `(unknown)`; a multi-valued cell `a;b`
/// puts the row in each value's group), written under their `--by` names, and groups holding
/// `(unknown)` sorted after the others, as the commands sort them.
struct GroupSql {
    /// `a, b`
    list: String,
    /// `'all', 'all'`
    alls: String,
    /// ` AND w.a = g.a AND w.b = g.b`
    join: String,
    /// `g.a, g.b, `
    select: String,
    /// `, g.a, g.b` (bytewise)
    order: String,
    /// `,\ncustomer_keys AS (…)` with customers-file columns, else empty.
    ctes: String,
    /// The internal customers-file columns (c1, c2 …).
    customer: Vec<String>,
}

impl GroupSql {
    fn new(
        d: Dialect,
        keys: &[&str],
        customers: Option<&CustomerColumns>,
        mappings: &[MapEntry],
    ) -> GroupSql {
        let names: Vec<String> = customers.map_or(Vec::new(), |c| c.names.clone());
        let internal: Vec<String> = (1..=names.len()).map(|k| format!("c{k}")).collect();
        // (column, output name) in output order, the customer columns at `customer`.
        let mut columns: Vec<(String, String)> = Vec::new();
        for k in keys {
            if *k == "customer" {
                for (c, n) in internal.iter().zip(&names) {
                    columns.push((c.clone(), quote_ident(d, n)));
                }
            } else {
                columns.push((k.to_string(), k.to_string()));
            }
        }
        let unknown_last = if internal.is_empty() {
            String::new()
        } else {
            let any: Vec<String> = columns
                .iter()
                .map(|(c, _)| format!("g.{c} = '{}'", crate::metrics::UNKNOWN))
                .collect();
            format!(", CASE WHEN {} THEN 1 ELSE 0 END", any.join(" OR "))
        };
        GroupSql {
            list: columns
                .iter()
                .map(|(c, _)| c.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            alls: vec!["'all'"; columns.len()].join(", "),
            join: columns
                .iter()
                .map(|(c, _)| format!(" AND w.{c} = g.{c}"))
                .collect(),
            select: columns
                .iter()
                .map(|(c, n)| {
                    if c == n {
                        format!("g.{c}, ")
                    } else {
                        format!("g.{c} AS {n}, ")
                    }
                })
                .collect(),
            order: unknown_last
                + &columns
                    .iter()
                    .map(|(c, _)| format!(", {}", d.bytewise(&format!("g.{c}"))))
                    .collect::<String>(),
            ctes: customers.map_or(String::new(), |c| customer_keys(d, c, mappings)),
            customer: internal,
        }
    }

    /// The rows of the grouped part: `rows`, with the customers-file columns joined on
    /// customer_id when there are any (a row once per group of its customer).
    fn from(&self, rows: &str) -> String {
        if self.customer.is_empty() {
            return rows.to_string();
        }
        let columns: String = self
            .customer
            .iter()
            .map(|c| format!(", coalesce(ck.{c}, '{}') AS {c}", crate::metrics::UNKNOWN))
            .collect();
        format!(
            "(SELECT x.*{columns} FROM {rows} x LEFT JOIN customer_keys ck ON ck.customer_id = x.customer_id) gx"
        )
    }
}

/// `customer_keys` (customer_id, c1, c2 …): every combination of the values of each customers
/// row's `--by` cells (split on `;` and `；`, trimmed; a blank or placeholder cell is `(unknown)`), once per
/// customer — the input layer's `CustomerGroups`.
fn customer_keys(d: Dialect, c: &CustomerColumns, mappings: &[MapEntry]) -> String {
    let text = d.text();
    let column = |name: &str| -> String {
        let header = Role::from_name(name)
            .and_then(|role| mapping(mappings, TableKind::Customers, role))
            .map_or(name.to_string(), |m| m.header.trim().to_string());
        quote_ident(d, &header)
    };
    let id = match mapping(mappings, TableKind::Customers, Role::CustomerId) {
        Some(m) => quote_ident(d, m.header.trim()),
        None => "customer_id".to_string(),
    };
    let raws: Vec<String> = (1..=c.names.len()).map(|k| format!("r{k}")).collect();
    let cells: String = c
        .names
        .iter()
        .zip(&raws)
        .map(|(n, r)| format!(", coalesce(CAST({} AS {text}), '') AS {r}", column(n)))
        .collect();
    let blanks: String = crate::input::schema::WHITE_SPACE
        .iter()
        .chain(&[';', '；'])
        .collect();
    // A cell of only white space and separators, or a placeholder (NaN, null, N/A …), is
    // `(unknown)`: `values::group_value`.
    let placeholders: Vec<String> = crate::input::values::PLACEHOLDERS
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| quote(p))
        .collect();
    let placeholders = placeholders.join(", ");
    let blank = |r: &str| {
        format!(
            "(translate({r}, {}, '') = '' OR lower(trim({r})) IN ({placeholders}))",
            quote(&blanks)
        )
    };
    let mut ctes = format!(
        ",\ncustomer_cells AS (
  SELECT DISTINCT nullif(trim(CAST({id} AS {text})), '') AS customer_id{cells}
  FROM {table}
)",
        table = c.table
    );
    let all_raws = raws.join(", ");
    for (k, r) in raws.iter().enumerate() {
        let k = k + 1;
        ctes.push_str(&format!(
            ",\nvalues_{k} AS (
  SELECT customer_id, {all_raws},
         CASE WHEN {blank} THEN '{unknown}' ELSE trim(piece) END AS c{k}
  FROM (
    SELECT cc.*, {explode}
    FROM customer_cells cc WHERE cc.customer_id IS NOT NULL
  ) t
  WHERE {blank} OR trim(piece) <> ''
)",
            blank = blank(r),
            unknown = crate::metrics::UNKNOWN,
            explode = d.explode(
                &format!(
                    "CASE WHEN {} THEN '' ELSE replace({r}, '；', ';') END",
                    blank(&format!("cc.{r}"))
                ),
                "piece"
            ),
        ));
    }
    let joins: String = (2..=raws.len())
        .map(|k| {
            let on: Vec<String> = std::iter::once("customer_id".to_string())
                .chain(raws.iter().cloned())
                .map(|col| format!("v{k}.{col} = v1.{col}"))
                .collect();
            format!(" JOIN values_{k} v{k} ON {}", on.join(" AND "))
        })
        .collect();
    let picked: Vec<String> = (1..=raws.len()).map(|k| format!("v{k}.c{k}")).collect();
    ctes.push_str(&format!(
        ",\ncustomer_keys AS (
  SELECT DISTINCT v1.customer_id, {} FROM values_1 v1{joins}
)",
        picked.join(", ")
    ));
    ctes
}

/// A bound of the Wilson interval of `w` (a `wilson` row), empty for a group that has none —
/// greatest() and least() skip NULLs, so a group without matured rows would read 0 and 1.
fn wilson_bound(bound: &str) -> String {
    format!("CASE WHEN w.n IS NOT NULL THEN {} END", round4(bound))
}

/// Wilson 95 % interval columns `centre`, `half` from `p` and `n` (DOUBLE), as
/// `metrics::nps::wilson`.
fn wilson_columns() -> &'static str {
    "(p + 1.96 * 1.96 / (2 * n)) / (1 + 1.96 * 1.96 / n) AS centre,
         1.96 * sqrt(p * (1 - p) / n + 1.96 * 1.96 / (4 * n * n)) / (1 + 1.96 * 1.96 / n) AS half"
}

/// `crm-eval conversion --by owner` without follow-ups (docs/metrics.md "Ownership spells",
/// "Conversion") over an `events` table (customer_id, event_time TIMESTAMP, event: assign,
/// claim, transfer, recycle or release — other words are not events —, owner, and seq: the row's
/// place in the export, which orders events at the same time): a spell starts at an assign or
/// claim, or a transfer naming its owner, and ends at the customer's next event; it covers up to
/// the day before a hand-over, the day of a recycle or release, or as_of when open. It matures
/// when start + window < as_of and converts when a purchase falls in [start, start + window]
/// while covered; revenue is the net of the order rows in that span, rounded to cents per
/// spell. One row per group of `by` (owner, and cohort: the month the spell started) in byte
/// order, then `all`.
pub fn conversion(s: &Source, window: i32, by: &[ConversionGroup]) -> String {
    let d = s.dialect;
    let double = d.double();
    let s = &s.with_events();
    let keys: Vec<&str> = by
        .iter()
        .map(|g| match g {
            ConversionGroup::Cohort => "cohort",
            ConversionGroup::Customer => "customer",
            ConversionGroup::Owner => "owner",
        })
        .collect();
    let groups = GroupSql::new(d, &keys, s.customer_groups.as_ref(), &s.mappings);
    let grouped_rows = groups.from("outcomes");
    let GroupSql {
        list: key_list,
        alls,
        join: key_join,
        select: key_select,
        order: key_order,
        ctes: customer_ctes,
        ..
    } = groups;
    let f = FollowupSql::new(s);
    format!(
        "WITH {ledger},
{spells},
spans AS (
  SELECT spells.*,
         CASE WHEN {window_after} < cover_end THEN {window_after} ELSE cover_end END AS until
  FROM spells
),
{window_ctes},{followup_ctes}
outcomes AS (
  SELECT sp.customer_id, sp.owner, {cohort} AS cohort, sp.matured,
         CASE WHEN sp.matured = 1 AND f.first_day IS NOT NULL THEN 1 ELSE 0 END AS converted,
         CASE WHEN sp.matured = 1 AND f.first_day IS NOT NULL
              THEN CAST({days} AS {double}) END AS days,
         CASE WHEN sp.matured = 1 AND f.first_day IS NOT NULL
              THEN coalesce(r.value, 0) ELSE 0 END AS revenue{followup_outcomes}
  FROM spans sp LEFT JOIN firsts f ON f.spell = sp.spell LEFT JOIN window_value r ON r.spell = sp.spell{followup_join}
){customer_ctes},
groups AS (
  SELECT 0 AS is_all, {key_list}, count(*) AS spells, sum(matured) AS matured,
         sum(converted) AS converted, {median} AS median_days, sum(revenue) AS revenue{followup_sums}
  FROM {grouped_rows} GROUP BY {key_list}
  UNION ALL
  SELECT 1, {alls}, count(*), sum(matured), sum(converted), {median}, sum(revenue){followup_sums}
  FROM outcomes
),
rates AS (
  SELECT groups.*, CAST(converted AS {double}) / matured AS p,
         CAST(matured AS {double}) AS n
  FROM groups WHERE matured > 0
),
wilson AS (
  SELECT rates.*,
         {wilson}
  FROM rates
)
SELECT {key_select}g.spells, g.matured, g.spells - g.matured AS immature, g.converted,
       {rate} AS conversion_rate, {low} AS ci_low, {high} AS ci_high,
       g.median_days AS median_days_to_conversion,
       CAST(round(g.revenue, 2) AS {double}) AS converted_revenue{followup_columns}
FROM groups g LEFT JOIN wilson w ON w.is_all = g.is_all{key_join}
ORDER BY g.is_all{key_order}",
        ledger = ledger_ctes(s),
        spells = spell_ctes(d, window),
        cohort = d.period_label(Period::Month, &d.period_index(Period::Month, "sp.start_day")),
        window_ctes = window_ctes("spell"),
        window_after = d.plus_days("start_day", window + 1),
        days = d.days_between("f.first_day", "sp.start_day"),
        median = d.median("days"),
        rate = round4("w.p"),
        low = wilson_bound("greatest(w.centre - w.half, 0)"),
        high = wilson_bound("least(w.centre + w.half, 1)"),
        wilson = wilson_columns(),
        followup_ctes = f.ctes,
        followup_outcomes = f.outcomes,
        followup_join = f.join,
        followup_sums = f.sums,
        followup_columns = f.columns,
    )
}

/// The follow-up columns of `conversion` (with a follow-ups table; empty pieces without one):
/// hours from a spell's start to the customer's first follow-up during it (before its next event,
/// or as_of), their median, how many spells had one, and the share followed up within 24 hours
/// of the spells at least 24 hours old at as_of (docs/metrics.md "Conversion").
#[derive(Default)]
struct FollowupSql {
    ctes: String,
    outcomes: String,
    join: String,
    sums: String,
    columns: String,
}

impl FollowupSql {
    fn new(s: &Source) -> FollowupSql {
        if s.followups.is_none() {
            return FollowupSql::default();
        }
        let d = s.dialect;
        let double = d.double();
        let now_ms = d.day_ms("as_of.d");
        let start_ms = d.epoch_ms("sp.start_time");
        FollowupSql {
            ctes: format!(
                "
first_followups AS (
  SELECT sp.spell, min({f_ms}) AS first_ms
  FROM spells sp CROSS JOIN as_of
  JOIN followups_in f ON f.customer_id = sp.customer_id AND f.followup_time IS NOT NULL
   AND {f_ms} >= {start_ms} AND {f_ms} < coalesce({end_ms}, {now_ms})
  GROUP BY sp.spell
),",
                f_ms = d.epoch_ms("f.followup_time"),
                end_ms = d.epoch_ms("sp.end_time"),
            ),
            outcomes: format!(
                ",
         CAST(ff.first_ms - {start_ms} AS {double}) / 3600000 AS hours,
         CASE WHEN {now_ms} - {start_ms} >= {DAY_MS} THEN 1 ELSE 0 END AS day_old",
                DAY_MS = crate::metrics::ownership::DAY_MS,
            ),
            join: "\n  LEFT JOIN first_followups ff ON ff.spell = sp.spell CROSS JOIN as_of".into(),
            sums: format!(
                ", count(hours) AS followed, {} AS median_hours, sum(day_old) AS day_old,
         sum(CASE WHEN day_old = 1 AND hours <= 24 THEN 1 ELSE 0 END) AS within_24h",
                d.median("hours")
            ),
            columns: format!(
                ",
       g.followed AS followed_up, {} AS median_hours_to_first_followup,
       CASE WHEN g.day_old > 0 THEN {} END AS followed_up_24h_share",
                round_to(d, "g.median_hours", 2),
                round4(&format!("CAST(g.within_24h AS {double}) / g.day_old"))
            ),
        }
    }
}

/// `crm-eval recovery` by owner (docs/metrics.md "Recovery"). With an events table
/// (`churn_days` None) an episode is a recycle or release; its recovery start is the customer's
/// next spell start (the first spell row after it in (time, seq) order), its owner that spell's
/// owner, `(pool)` when none. With `churn_days` an episode is a purchase day with no next
/// purchase within churn_days (and the churn day before as_of), starting on the churn day, its
/// owner the owner of the day's last purchase (rule 6 of "Orders and purchases": the largest
/// net, then the greatest owner, no owner greatest), empty when none. Matured: (recovery start,
/// or the return day) + window < as_of; recovered when a purchase falls in [start, start +
/// window] while the spell covers it; value = net of the order rows there (rounded to cents per
/// episode); loyalty judged when first purchase + window < as_of, repurchased when another
/// purchase follows within the window. One row per group of `by` (owner: the recovering owner;
/// previous_owner: the owner of the spell the return ended, else the return row's; reason and
/// pool of the return row — `churned` and empty for churn —; month: of the return or churn day),
/// in byte order, then `all`.
pub fn recovery(s: &Source, window: i32, churn_days: Option<i32>, by: &[RecoveryGroup]) -> String {
    let d = s.dialect;
    let double = d.double();
    let grouped = |g| by.contains(&g);
    let text_or_empty = |grouped: bool, column: &str| {
        if grouped {
            format!("coalesce(trim(r.{column}), '')")
        } else {
            "''".to_string()
        }
    };
    let episodes = match churn_days {
        None => format!(
            "{spells},
episodes AS (
  SELECT r.ord, r.customer_id, r.day, sp.spell, sp.owner, sp.start_day, sp.cover_end,
         r.previous_owner, {reason} AS reason, {pool} AS pool
  FROM nexts r
  LEFT JOIN spells sp ON sp.spell = r.next_spell
  WHERE r.event IN ('recycle', 'release')
)",
            spells = spell_ctes(d, window),
            reason = text_or_empty(grouped(RecoveryGroup::Reason), "reason"),
            pool = text_or_empty(grouped(RecoveryGroup::Pool), "pool"),
        ),
        Some(days) => format!(
            "purchase_owners AS (
  SELECT p.customer_id, p.order_date, p.net, min({b_owner}) AS owner
  FROM purchases p JOIN base b ON b.customer_id = p.customer_id AND b.order_id = p.order_id
   AND b.order_date = p.order_date AND (b.net > 0 OR p.net = 0)
  WHERE p.order_id IS NOT NULL
  GROUP BY p.customer_id, p.order_id, p.order_date, p.net
  UNION ALL
  SELECT customer_id, order_date, net, owner FROM purchases WHERE order_id IS NULL
),
purchase_days AS (
  SELECT customer_id, order_date AS day, owner,
         lead(order_date) OVER (PARTITION BY customer_id ORDER BY order_date) AS next_day
  FROM (
    SELECT customer_id, order_date, owner,
           row_number() OVER (PARTITION BY customer_id, order_date
                              ORDER BY net DESC, {owner} DESC NULLS FIRST) AS k
    FROM purchase_owners
  ) x
  WHERE k = 1
),
episodes AS (
  SELECT row_number() OVER (ORDER BY customer_id, day) AS ord, customer_id, {churn} AS day,
         1 AS spell, coalesce(owner, '') AS owner, {churn} AS start_day,
         CAST(NULL AS DATE) AS cover_end, coalesce(owner, '') AS previous_owner,
         'churned' AS reason, '' AS pool
  FROM purchase_days CROSS JOIN as_of
  WHERE coalesce(next_day, as_of.d) > {churn} AND {churn} < as_of.d
)",
            b_owner = d.bytewise("b.owner"),
            owner = d.bytewise("owner"),
            churn = d.plus_days("day", days),
        ),
    };
    let s = &if churn_days.is_some() {
        Source {
            order_owner: true,
            ..s.clone()
        }
    } else {
        let mut s = s.with_events();
        s.event_extra = [
            (RecoveryGroup::Reason, Role::Reason),
            (RecoveryGroup::Pool, Role::Pool),
        ]
        .iter()
        .filter(|(g, _)| grouped(*g))
        .map(|(_, role)| *role)
        .collect();
        s
    };
    // The command's exact average of cents, half away from zero: the double quotient is within
    // 1e-10 of the exact one, so through DECIMAL(38, 10) a half cent (403.765, a double just
    // below it) rounds up as the exact quotient does.
    let per_recovered = format!(
        "CAST(round(CAST(CAST(g.value AS {double}) / g.recovered AS DECIMAL(38, 10)), 2) AS {double})"
    );
    // The group columns, in the order given (the command's `--by`).
    let keys: Vec<&str> = by
        .iter()
        .map(|g| match g {
            RecoveryGroup::Customer => "customer",
            _ => g.name(),
        })
        .collect();
    let groups = GroupSql::new(d, &keys, s.customer_groups.as_ref(), &s.mappings);
    let grouped_rows = groups.from("scored");
    let GroupSql {
        list: key_list,
        alls,
        join: key_join,
        select: key_select,
        order: key_order,
        ctes: customer_ctes,
        ..
    } = groups;
    let reclaimed = if churn_days.is_some() {
        ""
    } else {
        " g.reclaimed,"
    };
    format!(
        "WITH {ledger},
{episodes},
spans AS (
  SELECT episodes.*,
         CASE WHEN {from_window} < as_of.d THEN 1 ELSE 0 END AS matured,
         CASE WHEN cover_end IS NULL OR {window_after} < cover_end THEN {window_after}
              ELSE cover_end END AS until
  FROM episodes CROSS JOIN as_of
),
{window_ctes},
outcomes AS (
  SELECT e.ord, e.customer_id, e.matured,
         CASE WHEN e.spell IS NULL THEN '(pool)' ELSE e.owner END AS owner,
         e.previous_owner, e.reason, e.pool, {month} AS month,
         CASE WHEN e.matured = 1 AND e.spell IS NOT NULL THEN 1 ELSE 0 END AS reclaimed,
         CASE WHEN e.matured = 1 AND f.first_day IS NOT NULL THEN 1 ELSE 0 END AS recovered,
         CASE WHEN e.matured = 1 AND f.first_day IS NOT NULL
              THEN CAST({days} AS {double}) END AS days,
         CASE WHEN e.matured = 1 AND f.first_day IS NOT NULL
              THEN coalesce(v.value, 0) ELSE 0 END AS value,
         CASE WHEN e.matured = 1 AND f.first_day IS NOT NULL AND {judged} < as_of.d
              THEN 1 ELSE 0 END AS judged,
         f.first_day
  FROM spans e CROSS JOIN as_of
  LEFT JOIN firsts f ON f.ord = e.ord LEFT JOIN window_value v ON v.ord = e.ord
),
loyal AS (
  SELECT o.ord, max(CASE WHEN p.order_date > o.first_day AND p.order_date <= {loyal_end}
                         THEN 1 ELSE 0 END) AS repurchased
  FROM outcomes o JOIN purchases p ON p.customer_id = o.customer_id
  WHERE o.judged = 1
  GROUP BY o.ord
),
scored AS (
  SELECT o.*, coalesce(l.repurchased, 0) AS repurchased
  FROM outcomes o LEFT JOIN loyal l ON l.ord = o.ord
){customer_ctes},
groups AS (
  SELECT 0 AS is_all, {key_list}, count(*) AS episodes, sum(matured) AS matured,
         sum(reclaimed) AS reclaimed, sum(recovered) AS recovered, {median} AS median_days,
         sum(value) AS value, sum(judged) AS loyalty_base, sum(repurchased) AS repurchased
  FROM {grouped_rows} GROUP BY {key_list}
  UNION ALL
  SELECT 1, {alls}, count(*), sum(matured), sum(reclaimed), sum(recovered), {median},
         sum(value), sum(judged), sum(repurchased)
  FROM scored
),
rates AS (
  SELECT groups.*, CAST(recovered AS {double}) / matured AS p, CAST(matured AS {double}) AS n
  FROM groups WHERE matured > 0
),
wilson AS (SELECT rates.*, {wilson} FROM rates)
SELECT {key_select}g.episodes, g.matured, g.episodes - g.matured AS immature,{reclaimed}
       g.recovered, {rate} AS recovery_rate, {low} AS ci_low, {high} AS ci_high,
       g.median_days AS median_days_to_recovery,
       CAST(round(g.value, 2) AS {double}) AS value_added,
       CASE WHEN g.recovered > 0
            THEN {per_recovered} END AS value_per_recovered,
       g.loyalty_base, g.repurchased,
       CASE WHEN g.loyalty_base > 0
            THEN {loyalty} END AS loyalty_rate
FROM groups g LEFT JOIN wilson w ON w.is_all = g.is_all{key_join}
ORDER BY g.is_all{key_order}",
        ledger = ledger_ctes(s),
        window_ctes = window_ctes("ord"),
        month = d.period_label(Period::Month, &d.period_index(Period::Month, "e.day")),
        from_window = d.plus_days("coalesce(start_day, day)", window),
        window_after = d.plus_days("start_day", window + 1),
        days = d.days_between("f.first_day", "e.start_day"),
        judged = d.plus_days("f.first_day", window),
        loyal_end = d.plus_days("o.first_day", window),
        median = d.median("days"),
        rate = round4("w.p"),
        low = wilson_bound("greatest(w.centre - w.half, 0)"),
        high = wilson_bound("least(w.centre + w.half, 1)"),
        loyalty = round4(&format!("CAST(g.repurchased AS {double}) / g.loyalty_base")),
        per_recovered = per_recovered,
        wilson = wilson_columns(),
    )
}

/// `crm-eval rating` (docs/metrics.md "Rating") with the rules' criteria: per customer with a
/// purchase, value (net spend rounded to cents), frequency (purchases), recency (days since
/// the last purchase), growth (net of the last growth_days before as_of minus the span before,
/// rounded to cents), margin (the rows' signed margins, rounded to cents; read only when
/// weighted), refund_rate (refunded ÷ paid), each normalised — percentile: `cume_dist()` over the
/// customers, the share no better; min-max — then 100 × the weighted sum in the rules' order,
/// rounded to cents as the command rounds its float; customers of `customers` without a purchase
/// score 0. By score, highest first, then customer_id.
pub fn rating(s: &Source, rules: &RatingRules, customers: Option<&str>) -> String {
    let d = s.dialect;
    let double = d.double();
    let with_margin = rules.weights.iter().any(|(c, _)| *c == Criterion::Margin);
    let s = &Source {
        order_margin: with_margin,
        ..s.clone()
    };
    let margin_sum = if with_margin {
        ",\n         sum(b.margin) AS margin"
    } else {
        ""
    };
    let raw = |c: Criterion| -> String {
        match c {
            Criterion::Value => format!("CAST(round(n.net, 2) AS {double})"),
            Criterion::Frequency => format!("CAST(f.purchases AS {double})"),
            Criterion::Recency => format!("CAST({} AS {double})", d.days_between("as_of.d", "f.last_day")),
            Criterion::Growth => format!("CAST(round(n.recent - n.prior, 2) AS {double})"),
            Criterion::RefundRate => format!(
                "CASE WHEN n.net + n.refunded > 0 \
                 THEN CAST(n.refunded AS {double}) / CAST(n.net + n.refunded AS {double}) ELSE 0 END"
            ),
            Criterion::Margin => format!("CAST(round(n.margin, 2) AS {double})"),
        }
    };
    let normalised = |c: Criterion| -> String {
        let x = format!("raw_{}", c.name());
        let (order, oriented) = if c.lower_is_better() {
            ("DESC", format!("-{x}"))
        } else {
            ("", x.clone())
        };
        match rules.normalise {
            Normalise::Percentile => format!("cume_dist() OVER (ORDER BY {x} {order})"),
            Normalise::MinMax => format!(
                "CASE WHEN max({o}) OVER () > min({o}) OVER () \
                 THEN ({o} - min({o}) OVER ()) / (max({o}) OVER () - min({o}) OVER ()) ELSE 1.0 END",
                o = oriented
            ),
        }
    };
    let criteria: Vec<Criterion> = rules.weights.iter().map(|(c, _)| *c).collect();
    let raws: Vec<String> = criteria
        .iter()
        .map(|&c| format!("{} AS raw_{}", raw(c), c.name()))
        .collect();
    let norms: Vec<String> = criteria
        .iter()
        .map(|&c| format!("{} AS v_{}", normalised(c), c.name()))
        .collect();
    // 0 + w1 × v1 + w2 × v2 …, left to right as the command's sum.
    let weighted: String = rules
        .weights
        .iter()
        .map(|(c, w)| format!(" + {w:?} * v_{}", c.name()))
        .collect();
    let round = |x: &str, factor: &str| {
        format!("{} / {factor}", round_half_away(&format!("{x} * {factor}")))
    };
    let score = round("raw_score", "100");
    let grade_arms: Vec<String> = rules
        .grades
        .iter()
        .map(|g| format!("WHEN score >= {:?} THEN {}", g.min_score, quote(&g.grade)))
        .collect();
    let last_grade = rules
        .grades
        .last()
        .map_or("''".to_string(), |g| quote(&g.grade));
    let outputs: Vec<String> = criteria
        .iter()
        .map(|c| {
            format!(
                "{} AS {}_score",
                round(&format!("v_{}", c.name()), "10000"),
                c.name()
            )
        })
        .collect();
    let extras = match customers {
        Some(table) => {
            let zeros: Vec<String> = criteria
                .iter()
                .map(|c| format!("CAST(0 AS {double}) AS v_{}", c.name()))
                .collect();
            format!(
                "
  UNION ALL
  SELECT DISTINCT k.customer_id, {zeros}
  FROM ({table}) k
  WHERE k.customer_id IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM buyers b WHERE b.customer_id = k.customer_id)",
                zeros = zeros.join(", "),
                table = s.customers(table)
            )
        }
        None => String::new(),
    };
    let v_columns: Vec<String> = criteria.iter().map(|c| format!("v_{}", c.name())).collect();
    format!(
        "WITH {ledger},
buyers AS (
  SELECT customer_id, max(order_date) AS last_day, count(*) AS purchases
  FROM purchases GROUP BY customer_id
),
nets AS (
  SELECT b.customer_id, sum(b.net) AS net,
         sum(CASE WHEN b.net < 0 THEN -b.net ELSE 0 END) AS refunded,
         sum(CASE WHEN b.order_date >= {recent_start} THEN b.net ELSE 0 END) AS recent,
         sum(CASE WHEN b.order_date >= {prior_start} AND b.order_date < {recent_start}
                  THEN b.net ELSE 0 END) AS prior{margin_sum}
  FROM base b CROSS JOIN as_of GROUP BY b.customer_id
),
raws AS (
  SELECT f.customer_id, {raws}
  FROM buyers f JOIN nets n ON n.customer_id = f.customer_id CROSS JOIN as_of
),
normalised AS (
  SELECT customer_id, {norms} FROM raws{extras}
),
weighted AS (SELECT customer_id, {v_columns}, 100 * (0{weighted}) AS raw_score FROM normalised),
scored AS (SELECT customer_id, {v_columns}, {score} AS score FROM weighted)
SELECT customer_id, score,
       CASE {grade_arms} ELSE {last_grade} END AS grade,
       {outputs}
FROM scored
ORDER BY score DESC, {by_id}",
        ledger = ledger_ctes(s),
        recent_start = d.plus_days("as_of.d", -rules.growth_days),
        prior_start = d.plus_days("as_of.d", -2 * rules.growth_days),
        raws = raws.join(", "),
        norms = norms.join(", "),
        v_columns = v_columns.join(", "),
        grade_arms = grade_arms.join(" "),
        outputs = outputs.join(", "),
        by_id = d.bytewise("customer_id"),
    )
}
