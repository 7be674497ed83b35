//! `crm-eval sql cohort`.

use super::*;

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
