//! Invoice cancellations (docs/metrics.md, "Invoice cancellations") as SQL: `ledger::cancel`'s
//! step before the purchase rule, over the orders relation.
//!
//! 1. `C` + digits is a cancellation marker when the table's order IDs also include plain
//!    numbers;
//! 2. a cancellation row is a refund row (its amount counts negative whatever its sign);
//! 3. it joins the customer's order with the same number without the prefix, when there is one;
//!    otherwise the customer's latest order of the same product with a positive line issued at
//!    or before it (the timestamp of `order_date` when the table has one, midnight of the day
//!    otherwise; ties to the greater order ID in byte order); otherwise it stays a refund of
//!    its own.
//!
//! The rows come out with `order_date` as a DATE, as the purchase rule reads it.

use super::dialect::Dialect;

/// `rows` (a relation with customer_id, order_id, order_date DATE or TIMESTAMP, amount, status,
/// product when `by_product`, and the `extra` columns, passed through) with its cancellation rows
/// linked to the orders they cancel.
pub(super) fn linked(d: Dialect, rows: &str, by_product: bool, extra: &[&str]) -> String {
    let digits = |x: &str| d.all_digits(x);
    let is_c = |x: &str| {
        format!(
            "(upper(substr({x}, 1, 1)) = 'C' AND {})",
            digits(&format!("substr({x}, 2)"))
        )
    };
    let product = if by_product {
        "r.product"
    } else {
        "CAST(NULL AS VARCHAR)"
    };
    let product = product.replace("VARCHAR", d.text());
    let by_product_link = if by_product {
        format!(
            "(SELECT c.customer_id, c.order_id, c.product, c.ts, b.order_id AS link,
          row_number() OVER (PARTITION BY c.customer_id, c.order_id, c.product, c.ts
                             ORDER BY b.ts DESC, {} DESC) AS k
   FROM cancels c JOIN bought b
     ON b.customer_id = c.customer_id AND b.product = c.product AND b.ts <= c.ts)",
            d.bytewise("b.order_id")
        )
    } else {
        format!(
            "(SELECT customer_id, order_id, product, ts, CAST(NULL AS {t}) AS link, 1 AS k FROM cancels WHERE 1 = 0)",
            t = d.text()
        )
    };
    format!(
        "WITH raw_rows AS ({rows}),
marker AS (
  SELECT CASE WHEN max(CASE WHEN {c} THEN 1 ELSE 0 END) = 1
               AND max(CASE WHEN {plain} THEN 1 ELSE 0 END) = 1 THEN 1 ELSE 0 END AS marks
  FROM raw_rows
),
lines AS (
  SELECT r.*, {product} AS line_product, CAST(r.order_date AS TIMESTAMP) AS ts,
         CASE WHEN m.marks = 1 AND {rc} THEN 1 ELSE 0 END AS is_cancel
  FROM raw_rows r CROSS JOIN marker m
),
cancels AS (
  SELECT DISTINCT customer_id, order_id, line_product AS product, ts, substr(order_id, 2) AS number
  FROM lines WHERE is_cancel = 1
),
plain AS (
  SELECT DISTINCT customer_id, order_id FROM lines WHERE is_cancel = 0 AND order_id IS NOT NULL
),
bought AS (
  SELECT DISTINCT customer_id, line_product AS product, ts, order_id FROM lines
  WHERE is_cancel = 0 AND amount > 0 AND line_product IS NOT NULL AND order_id IS NOT NULL
),
by_product AS {by_product_link},
links AS (
  SELECT c.customer_id, c.order_id, c.product, c.ts,
         CASE WHEN p.order_id IS NOT NULL THEN c.number ELSE bp.link END AS link
  FROM cancels c
  LEFT JOIN plain p ON p.customer_id = c.customer_id AND p.order_id = c.number
  LEFT JOIN by_product bp ON bp.k = 1 AND bp.customer_id = c.customer_id
       AND bp.order_id = c.order_id AND coalesce(bp.product, '') = coalesce(c.product, '')
       AND bp.ts = c.ts
)
SELECT l.customer_id, coalesce(k.link, l.order_id) AS order_id,
       CAST(l.order_date AS DATE) AS order_date, l.amount,
       CASE WHEN l.is_cancel = 1 THEN 'refunded' ELSE l.status END AS status{extra}
FROM lines l
LEFT JOIN links k ON l.is_cancel = 1 AND k.customer_id = l.customer_id AND k.order_id = l.order_id
     AND coalesce(k.product, '') = coalesce(l.line_product, '') AND k.ts = l.ts",
        c = is_c("order_id"),
        plain = digits("order_id"),
        rc = is_c("r.order_id"),
        extra = extra.iter().map(|c| format!(", l.{c}")).collect::<String>(),
    )
}
