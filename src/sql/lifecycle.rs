//! `crm-eval sql lifecycle` and `sql lifecycle-rates`.

use super::*;

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
