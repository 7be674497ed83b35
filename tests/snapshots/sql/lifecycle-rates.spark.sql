WITH orders_in AS (SELECT customer_id, order_id, order_date, amount, CASE WHEN lower(trim(status)) IN ('paid', 'completed', 'complete', 'success', 'successful', 'succeeded', 'closed', 'won', 'closed won', 'shipped', 'delivered', 'fulfilled', 'settled', 'ok', '已付款', '已支付', '已完成', '完成', '成交', '已成交', '交易成功', '已发货', '已签收', '已收货', '支付成功', '付款成功', '已结算', '赢单') THEN 'paid' WHEN lower(trim(status)) IN ('refunded', 'refund', 'returned', 'return', 'chargeback', 'partially refunded', '已退款', '退款', '退货', '已退货', '退款成功', '退货退款') THEN 'refunded' WHEN lower(trim(status)) IN ('cancelled', 'canceled', 'cancel', 'void', 'voided', 'failed', 'rejected', 'closed lost', 'lost', '已取消', '取消', '作废', '已作废', '交易关闭', '已关闭', '关闭', '失败', '输单') THEN 'cancelled' WHEN lower(trim(status)) IN ('pending', 'unpaid', 'awaiting payment', 'open', 'draft', '待付款', '未付款', '待支付', '未支付', '待审核', '草稿') THEN 'unpaid' ELSE nullif(lower(trim(status)), '') END AS status FROM orders),
as_of AS (SELECT date_add(max(order_date), 1) AS d FROM orders_in),
base AS (
  SELECT o.customer_id, o.order_id, o.order_date,
         CASE WHEN o.status = 'refunded' AND o.amount > 0 THEN -CAST(o.amount AS DECIMAL(18, 4))
              ELSE CAST(o.amount AS DECIMAL(18, 4)) END AS net,
         CASE WHEN o.status = 'refunded' THEN 1 ELSE 0 END AS refunded_status,
         CAST(NULL AS STRING) AS owner
  FROM orders_in o CROSS JOIN as_of
  WHERE (o.status IS NULL OR o.status NOT IN ('cancelled', 'unpaid')) AND o.order_date < as_of.d
),
spend AS (SELECT customer_id, sum(net) AS monetary FROM base GROUP BY customer_id),
purchases AS (
  SELECT customer_id,
         CASE WHEN sum(net) > 0 THEN min(CASE WHEN net > 0 THEN order_date END)
              ELSE min(order_date) END AS order_date,
         sum(net) AS net, order_id, CAST(NULL AS STRING) AS owner
  FROM base WHERE order_id IS NOT NULL GROUP BY customer_id, order_id
  HAVING sum(net) > 0
      OR (sum(net) = 0 AND max(CASE WHEN refunded_status = 1 OR net < 0 THEN 1 ELSE 0 END) = 0)
  UNION ALL
  SELECT customer_id, order_date, net, order_id, owner FROM base
  WHERE order_id IS NULL AND (net > 0 OR (net = 0 AND refunded_status = 0))
),
bounds AS (
  SELECT (CAST(EXTRACT(YEAR FROM min(purchases.order_date)) AS INT) * 12 + (CAST(EXTRACT(MONTH FROM min(purchases.order_date)) AS INT) - 1)) AS first_index, (CAST(EXTRACT(YEAR FROM date_add(as_of.d, -1)) AS INT) * 12 + (CAST(EXTRACT(MONTH FROM date_add(as_of.d, -1)) AS INT) - 1)) AS last_index FROM purchases CROSS JOIN as_of
  GROUP BY as_of.d
),
indexes AS (SELECT explode(sequence(first_index, last_index)) AS i FROM bounds),
periods AS (
  SELECT i, make_date(CAST(floor((i) / 12.0) AS INT), CAST(((i) - 12 * CAST(floor((i) / 12.0) AS INT)) * 1 + 1 AS INT), 1) AS s, make_date(CAST(floor((i + 1) / 12.0) AS INT), CAST(((i + 1) - 12 * CAST(floor((i + 1) / 12.0) AS INT)) * 1 + 1 AS INT), 1) AS next_s FROM indexes
),
complete AS (
  SELECT i FROM periods CROSS JOIN as_of WHERE date_add(next_s, -1) < as_of.d
),
days AS (SELECT DISTINCT customer_id, order_date AS day FROM purchases),
chained AS (
  SELECT customer_id, day,
         CASE WHEN lag(day) OVER (PARTITION BY customer_id ORDER BY day) IS NULL
                OR datediff(day, lag(day) OVER (PARTITION BY customer_id ORDER BY day)) > 180 THEN 1 ELSE 0 END AS starts
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
  SELECT customer_id, (CAST(EXTRACT(YEAR FROM a) AS INT) * 12 + (CAST(EXTRACT(MONTH FROM a) AS INT) - 1)) + 1 AS lo, least((CAST(EXTRACT(YEAR FROM date_add(last_day, CAST(180 AS INT))) AS INT) * 12 + (CAST(EXTRACT(MONTH FROM date_add(last_day, CAST(180 AS INT))) AS INT) - 1)), b.last_index + 1) AS hi
  FROM spans CROSS JOIN bounds b
),
active AS (
  SELECT customer_id, explode(sequence(lo, hi)) AS i FROM ranges WHERE lo <= hi
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
SELECT concat(CAST(CAST(floor(i / 12.0) AS BIGINT) AS STRING), '-', lpad(CAST(CAST((i - 12 * CAST(floor(i / 12.0) AS INT) + 1) AS BIGINT) AS STRING), 2, '0')) AS period, customers_at_start, retained,
       customers_at_start - retained AS churned, won,
       CASE WHEN customers_at_start > 0
            THEN round(CAST(CAST(customers_at_start - retained AS DOUBLE) / customers_at_start AS DECIMAL(38, 10)), 4) END AS churn_rate,
       CASE WHEN customers_at_start > 0
            THEN round(CAST(CAST(retained AS DOUBLE) / customers_at_start AS DECIMAL(38, 10)), 4) END AS retention_rate
FROM counts
ORDER BY i;
