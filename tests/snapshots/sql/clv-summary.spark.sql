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
       CAST(datediff(f.last_day, f.first_day) AS DOUBLE) / 7.0 AS recency,
       CAST(datediff(date_add(as_of.d, -1), f.first_day) AS DOUBLE) / 7.0 AS T,
       CASE WHEN f.frequency > 0
            THEN round(CAST(r.spend AS DOUBLE) / f.frequency, 6) ELSE 0 END AS monetary
FROM firsts f LEFT JOIN repeat_spend r ON r.customer_id = f.customer_id CROSS JOIN as_of
ORDER BY f.customer_id;
