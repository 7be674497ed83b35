WITH orders_in AS (SELECT customer_id, order_id, order_date, amount, CASE WHEN lower(trim(status)) IN ('paid', 'completed', 'complete', 'success', 'successful', 'succeeded', 'closed', 'won', 'closed won', 'shipped', 'delivered', 'fulfilled', 'settled', 'ok', '已付款', '已支付', '已完成', '完成', '成交', '已成交', '交易成功', '已发货', '已签收', '已收货', '支付成功', '付款成功', '已结算', '赢单') THEN 'paid' WHEN lower(trim(status)) IN ('refunded', 'refund', 'returned', 'return', 'chargeback', 'partially refunded', '已退款', '退款', '退货', '已退货', '退款成功', '退货退款') THEN 'refunded' WHEN lower(trim(status)) IN ('cancelled', 'canceled', 'cancel', 'void', 'voided', 'failed', 'rejected', 'closed lost', 'lost', '已取消', '取消', '作废', '已作废', '交易关闭', '已关闭', '关闭', '失败', '输单') THEN 'cancelled' WHEN lower(trim(status)) IN ('pending', 'unpaid', 'awaiting payment', 'open', 'draft', '待付款', '未付款', '待支付', '未支付', '待审核', '草稿') THEN 'unpaid' ELSE nullif(lower(trim(status)), '') END AS status FROM orders),
as_of AS (SELECT (max(order_date) + 1) AS d FROM orders_in),
base AS (
  SELECT o.customer_id, o.order_id, o.order_date,
         CASE WHEN o.status = 'refunded' AND o.amount > 0 THEN -CAST(o.amount AS DECIMAL(18, 4))
              ELSE CAST(o.amount AS DECIMAL(18, 4)) END AS net,
         CASE WHEN o.status = 'refunded' THEN 1 ELSE 0 END AS refunded_status,
         CAST(NULL AS TEXT) AS owner
  FROM orders_in o CROSS JOIN as_of
  WHERE (o.status IS NULL OR o.status NOT IN ('cancelled', 'unpaid')) AND o.order_date < as_of.d
),
spend AS (SELECT customer_id, sum(net) AS monetary FROM base GROUP BY customer_id),
purchases AS (
  SELECT customer_id,
         CASE WHEN sum(net) > 0 THEN min(CASE WHEN net > 0 THEN order_date END)
              ELSE min(order_date) END AS order_date,
         sum(net) AS net, order_id, CAST(NULL AS TEXT) AS owner
  FROM base WHERE order_id IS NOT NULL GROUP BY customer_id, order_id
  HAVING sum(net) > 0
      OR (sum(net) = 0 AND max(CASE WHEN refunded_status = 1 OR net < 0 THEN 1 ELSE 0 END) = 0)
  UNION ALL
  SELECT customer_id, order_date, net, order_id, owner FROM base
  WHERE order_id IS NULL AND (net > 0 OR (net = 0 AND refunded_status = 0))
),
bounds AS (SELECT (CAST(EXTRACT(YEAR FROM (as_of.d + -1)) AS INT) * 12 + (CAST(EXTRACT(MONTH FROM (as_of.d + -1)) AS INT) - 1)) AS last_period FROM as_of),
cohorts AS (
  SELECT customer_id, min((CAST(EXTRACT(YEAR FROM order_date) AS INT) * 12 + (CAST(EXTRACT(MONTH FROM order_date) AS INT) - 1))) AS cohort FROM purchases GROUP BY customer_id
),
sizes AS (SELECT cohort, count(*) AS customers FROM cohorts GROUP BY cohort),
cells AS (
  SELECT c.cohort, (CAST(EXTRACT(YEAR FROM p.order_date) AS INT) * 12 + (CAST(EXTRACT(MONTH FROM p.order_date) AS INT) - 1)) - c.cohort AS k, count(DISTINCT p.customer_id) AS v
  FROM purchases p JOIN cohorts c ON c.customer_id = p.customer_id
  GROUP BY c.cohort, (CAST(EXTRACT(YEAR FROM p.order_date) AS INT) * 12 + (CAST(EXTRACT(MONTH FROM p.order_date) AS INT) - 1)) - c.cohort
)
SELECT concat(CAST(CAST(floor(sizes.cohort / 12.0) AS BIGINT) AS TEXT), '-', lpad(CAST(CAST((sizes.cohort - 12 * CAST(floor(sizes.cohort / 12.0) AS INT) + 1) AS BIGINT) AS TEXT), 2, '0')) AS cohort, sizes.customers,
       CASE WHEN sizes.cohort + 0 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 0 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_0,
       CASE WHEN sizes.cohort + 1 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 1 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_1,
       CASE WHEN sizes.cohort + 2 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 2 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_2,
       CASE WHEN sizes.cohort + 3 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 3 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_3,
       CASE WHEN sizes.cohort + 4 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 4 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_4,
       CASE WHEN sizes.cohort + 5 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 5 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_5,
       CASE WHEN sizes.cohort + 6 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 6 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_6,
       CASE WHEN sizes.cohort + 7 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 7 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_7,
       CASE WHEN sizes.cohort + 8 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 8 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_8,
       CASE WHEN sizes.cohort + 9 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 9 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_9,
       CASE WHEN sizes.cohort + 10 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 10 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_10,
       CASE WHEN sizes.cohort + 11 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 11 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_11,
       CASE WHEN sizes.cohort + 12 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 12 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_12,
       CASE WHEN sizes.cohort + 13 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 13 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_13,
       CASE WHEN sizes.cohort + 14 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 14 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_14,
       CASE WHEN sizes.cohort + 15 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 15 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_15,
       CASE WHEN sizes.cohort + 16 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 16 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_16,
       CASE WHEN sizes.cohort + 17 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 17 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_17,
       CASE WHEN sizes.cohort + 18 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 18 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_18,
       CASE WHEN sizes.cohort + 19 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 19 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_19,
       CASE WHEN sizes.cohort + 20 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 20 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_20,
       CASE WHEN sizes.cohort + 21 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 21 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_21,
       CASE WHEN sizes.cohort + 22 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 22 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_22,
       CASE WHEN sizes.cohort + 23 > bounds.last_period THEN NULL ELSE round(CAST(coalesce(max(CASE WHEN cells.k = 23 THEN cells.v END), 0) AS DECIMAL(38, 10)) / sizes.customers, 4) END AS period_23
FROM sizes CROSS JOIN bounds LEFT JOIN cells ON cells.cohort = sizes.cohort
GROUP BY sizes.cohort, sizes.customers, bounds.last_period
ORDER BY sizes.cohort;
