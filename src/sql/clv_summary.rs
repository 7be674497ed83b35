//! `crm-eval sql clv-summary`.

use super::*;

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
