//! Pieces several queries share: ownership spells and their windows, groups by customers-file
//! columns, Wilson bounds, the follow-up columns.

use super::*;

/// The ownership spells as common table expressions over an events table, after
/// [`ledger_ctes`] (docs/metrics.md "Ownership spells"): `ev` (known events before as_of, with
/// `starts`: whether the row starts a spell), `ordered` (each with the owner of the spell open
/// before it — else its own owner —, the customer's next event and an `ord` number in
/// (customer, time, seq) order), `spells` (spell = its start row's ord; customer, owner,
/// start_day, start_time, end_time, cover_end: the first day not covered, matured for a
/// `window`), `nexts` (every `ordered` row with `next_spell`: the first spell that starts after
/// it — a return's win-back or reclaim).
pub(super) fn spell_ctes(d: Dialect, window: i32) -> String {
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
pub(super) fn window_ctes(key: &str) -> String {
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
pub(super) struct GroupSql {
    /// `a, b`
    pub(super) list: String,
    /// `'all', 'all'`
    pub(super) alls: String,
    /// ` AND w.a = g.a AND w.b = g.b`
    pub(super) join: String,
    /// `g.a, g.b, `
    pub(super) select: String,
    /// `, g.a, g.b` (bytewise)
    pub(super) order: String,
    /// `,\ncustomer_keys AS (…)` with customers-file columns, else empty.
    pub(super) ctes: String,
    /// The internal customers-file columns (c1, c2 …).
    pub(super) customer: Vec<String>,
}

impl GroupSql {
    pub(super) fn new(
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
    pub(super) fn from(&self, rows: &str) -> String {
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
pub(super) fn customer_keys(d: Dialect, c: &CustomerColumns, mappings: &[MapEntry]) -> String {
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
pub(super) fn wilson_bound(bound: &str) -> String {
    format!("CASE WHEN w.n IS NOT NULL THEN {} END", round4(bound))
}

/// Wilson 95 % interval columns `centre`, `half` from `p` and `n` (DOUBLE), as
/// `metrics::nps::wilson`.
pub(super) fn wilson_columns() -> &'static str {
    "(p + 1.96 * 1.96 / (2 * n)) / (1 + 1.96 * 1.96 / n) AS centre,
         1.96 * sqrt(p * (1 - p) / n + 1.96 * 1.96 / (4 * n * n)) / (1 + 1.96 * 1.96 / n) AS half"
}

/// The follow-up columns of `conversion` (with a follow-ups table; empty pieces without one):
/// hours from a spell's start to the customer's first follow-up during it (before its next event,
/// or as_of), their median, how many spells had one, and the share followed up within 24 hours
/// of the spells at least 24 hours old at as_of (docs/metrics.md "Conversion").
#[derive(Default)]
pub(super) struct FollowupSql {
    pub(super) ctes: String,
    pub(super) outcomes: String,
    pub(super) join: String,
    pub(super) sums: String,
    pub(super) columns: String,
}

impl FollowupSql {
    pub(super) fn new(s: &Source) -> FollowupSql {
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
                DAY_MS = crate::day::DAY_MS,
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
