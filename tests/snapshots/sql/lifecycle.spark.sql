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
per AS (
  SELECT customer_id, min(order_date) AS first_order_date, max(order_date) AS last_order_date,
         count(*) AS frequency
  FROM purchases GROUP BY customer_id
),
gaps AS (
  SELECT per.*,
         CASE WHEN frequency >= 2
              THEN CAST(datediff(last_order_date, first_order_date) AS DOUBLE) / (frequency - 1) END AS own_gap
  FROM per
),
population AS (SELECT coalesce(percentile(own_gap, 0.5), 180) AS gap FROM gaps),
staged AS (
  SELECT g.customer_id, g.first_order_date, g.last_order_date, g.frequency,
         datediff(as_of.d, g.last_order_date) AS recency_days, datediff(as_of.d, g.first_order_date) AS tenure,
         coalesce(g.own_gap, population.gap) AS gap
  FROM gaps g CROSS JOIN population CROSS JOIN as_of
),
stages AS (
SELECT customer_id,
       CASE WHEN recency_days > 180 THEN 'churned'
            WHEN tenure <= 90 THEN 'new'
            WHEN recency_days > 1.0 * gap THEN 'at_risk'
            WHEN frequency >= 3 THEN 'loyal'
            ELSE 'active' END AS stage,
       first_order_date, last_order_date, CAST(recency_days AS BIGINT) AS recency_days,
       CAST(frequency AS BIGINT) AS frequency,
       (CASE WHEN (gap * 10) >= 0 THEN floor(gap * 10) + CASE WHEN (gap * 10) - floor(gap * 10) >= 0.5 THEN 1 ELSE 0 END ELSE -(floor(-(gap * 10)) + CASE WHEN -(gap * 10) - floor(-(gap * 10)) >= 0.5 THEN 1 ELSE 0 END) END) / 10 AS typical_gap_days
FROM staged
UNION ALL
SELECT DISTINCT k.customer_id, 'potential', CAST(NULL AS DATE), CAST(NULL AS DATE),
       CAST(NULL AS BIGINT), CAST(0 AS BIGINT), CAST(NULL AS DOUBLE)
FROM (SELECT customer_id FROM customers) k
WHERE k.customer_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM per p WHERE p.customer_id = k.customer_id)
)
SELECT * FROM stages ORDER BY customer_id;
