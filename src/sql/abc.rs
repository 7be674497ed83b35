//! `crm-eval sql abc`.

use super::*;

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
