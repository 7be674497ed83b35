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
customer_values AS (SELECT customer_id, monetary AS value FROM spend),
buyers AS (
  SELECT v.customer_id, round(v.value, 2) AS value
  FROM customer_values v WHERE v.customer_id IN (SELECT customer_id FROM purchases)
),
total AS (SELECT coalesce(sum(CASE WHEN value > 0 THEN value ELSE 0 END), 0) AS t FROM buyers),
ranked AS (
  SELECT customer_id, value, CASE WHEN value > 0 THEN value ELSE 0 END AS positive,
         row_number() OVER (ORDER BY value DESC, customer_id COLLATE "C") AS rank
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
              WHEN (f.cum - f.positive) * 10000 < 8000 * total.t THEN 'A'
              WHEN (f.cum - f.positive) * 10000 < 9500 * total.t THEN 'B'
              ELSE 'C' END AS tier
  FROM running r
  JOIN firsts fr ON fr.value = r.value
  JOIN running f ON f.rank = fr.first_rank
  CROSS JOIN total
)
SELECT rank, customer_id, CAST(value AS DOUBLE PRECISION) AS value,
       CASE WHEN value > 0 AND total.t > 0
            THEN CAST(round(CAST(CAST(value AS DOUBLE PRECISION) / CAST(total.t AS DOUBLE PRECISION) AS NUMERIC), 6) AS DOUBLE PRECISION) ELSE 0 END AS value_share,
       CASE WHEN total.t > 0
            THEN CAST(round(CAST(CAST(cum AS DOUBLE PRECISION) / CAST(total.t AS DOUBLE PRECISION) AS NUMERIC), 6) AS DOUBLE PRECISION) ELSE 0 END AS cumulative_share,
       tier
FROM tiered CROSS JOIN total
ORDER BY rank;
