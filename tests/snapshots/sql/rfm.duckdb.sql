WITH orders_in AS (SELECT customer_id, order_id, order_date, amount, CASE WHEN lower(trim(status)) IN ('paid', 'completed', 'complete', 'success', 'successful', 'succeeded', 'closed', 'won', 'closed won', 'shipped', 'delivered', 'fulfilled', 'settled', 'ok', '已付款', '已支付', '已完成', '完成', '成交', '已成交', '交易成功', '已发货', '已签收', '已收货', '支付成功', '付款成功', '已结算', '赢单') THEN 'paid' WHEN lower(trim(status)) IN ('refunded', 'refund', 'returned', 'return', 'chargeback', 'partially refunded', '已退款', '退款', '退货', '已退货', '退款成功', '退货退款') THEN 'refunded' WHEN lower(trim(status)) IN ('cancelled', 'canceled', 'cancel', 'void', 'voided', 'failed', 'rejected', 'closed lost', 'lost', '已取消', '取消', '作废', '已作废', '交易关闭', '已关闭', '关闭', '失败', '输单') THEN 'cancelled' WHEN lower(trim(status)) IN ('pending', 'unpaid', 'awaiting payment', 'open', 'draft', '待付款', '未付款', '待支付', '未支付', '待审核', '草稿') THEN 'unpaid' ELSE nullif(lower(trim(status)), '') END AS status FROM orders),
as_of AS (SELECT (max(order_date) + 1) AS d FROM orders_in),
base AS (
  SELECT o.customer_id, o.order_id, o.order_date,
         CASE WHEN o.status = 'refunded' AND o.amount > 0 THEN -CAST(o.amount AS DECIMAL(18, 4))
              ELSE CAST(o.amount AS DECIMAL(18, 4)) END AS net,
         CASE WHEN o.status = 'refunded' THEN 1 ELSE 0 END AS refunded_status,
         CAST(NULL AS VARCHAR) AS owner
  FROM orders_in o CROSS JOIN as_of
  WHERE (o.status IS NULL OR o.status NOT IN ('cancelled', 'unpaid')) AND o.order_date < as_of.d
),
spend AS (SELECT customer_id, sum(net) AS monetary FROM base GROUP BY customer_id),
purchases AS (
  SELECT customer_id,
         CASE WHEN sum(net) > 0 THEN min(CASE WHEN net > 0 THEN order_date END)
              ELSE min(order_date) END AS order_date,
         sum(net) AS net, order_id, CAST(NULL AS VARCHAR) AS owner
  FROM base WHERE order_id IS NOT NULL GROUP BY customer_id, order_id
  HAVING sum(net) > 0
      OR (sum(net) = 0 AND max(CASE WHEN refunded_status = 1 OR net < 0 THEN 1 ELSE 0 END) = 0)
  UNION ALL
  SELECT customer_id, order_date, net, order_id, owner FROM base
  WHERE order_id IS NULL AND (net > 0 OR (net = 0 AND refunded_status = 0))
),
per_customer AS (
  SELECT customer_id, min(order_date) AS first_order_date, max(order_date) AS last_order_date,
         count(*) AS frequency
  FROM purchases GROUP BY customer_id
),
joined AS (
  SELECT p.customer_id, p.first_order_date, p.last_order_date,
         (as_of.d - p.last_order_date) AS recency_days, p.frequency,
         CAST(round(s.monetary, 2) AS DOUBLE) AS monetary
  FROM per_customer p JOIN spend s ON s.customer_id = p.customer_id CROSS JOIN as_of
),
n AS (SELECT count(*) AS n FROM joined),
scored AS (
  SELECT joined.*, CAST(1 + floor(5 * (rank() OVER (ORDER BY recency_days DESC) - 1) / n.n) AS INT) AS r_score, CAST(1 + floor(5 * (rank() OVER (ORDER BY frequency) - 1) / n.n) AS INT) AS f_score, CAST(1 + floor(5 * (rank() OVER (ORDER BY monetary) - 1) / n.n) AS INT) AS m_score
  FROM joined CROSS JOIN n
),
on_grid AS (SELECT scored.*, r_score AS r5, f_score AS f5, m_score AS m5 FROM scored),
graded AS (SELECT on_grid.*, CAST(floor((f5 + m5 + 1) / 2) AS INT) AS fm FROM on_grid)
SELECT customer_id, first_order_date, last_order_date, recency_days, frequency, monetary,
       r_score, f_score, m_score,
       concat(CAST(r_score AS VARCHAR), CAST(f_score AS VARCHAR), CAST(m_score AS VARCHAR)) AS rfm_code,
       CASE
    WHEN r5 BETWEEN 5 AND 5 AND fm BETWEEN 4 AND 5 THEN 'Champions'
    WHEN r5 BETWEEN 4 AND 4 AND fm BETWEEN 5 AND 5 THEN 'Champions'
    WHEN r5 BETWEEN 4 AND 4 AND fm BETWEEN 4 AND 4 THEN 'Loyal'
    WHEN r5 BETWEEN 3 AND 3 AND fm BETWEEN 4 AND 5 THEN 'Loyal'
    WHEN r5 BETWEEN 4 AND 5 AND fm BETWEEN 2 AND 3 THEN 'Potential Loyalist'
    WHEN r5 BETWEEN 5 AND 5 AND fm BETWEEN 1 AND 1 THEN 'New'
    WHEN r5 BETWEEN 4 AND 4 AND fm BETWEEN 1 AND 1 THEN 'Promising'
    WHEN r5 BETWEEN 3 AND 3 AND fm BETWEEN 3 AND 3 THEN 'Need Attention'
    WHEN r5 BETWEEN 3 AND 3 AND fm BETWEEN 1 AND 2 THEN 'About to Sleep'
    WHEN r5 BETWEEN 2 AND 2 AND fm BETWEEN 3 AND 4 THEN 'At Risk'
    WHEN r5 BETWEEN 1 AND 1 AND fm BETWEEN 3 AND 3 THEN 'At Risk'
    WHEN r5 BETWEEN 2 AND 2 AND fm BETWEEN 5 AND 5 THEN 'Can''t Lose Them'
    WHEN r5 BETWEEN 1 AND 1 AND fm BETWEEN 4 AND 5 THEN 'Can''t Lose Them'
    WHEN r5 BETWEEN 2 AND 2 AND fm BETWEEN 1 AND 2 THEN 'Hibernating'
    WHEN r5 BETWEEN 1 AND 1 AND fm BETWEEN 1 AND 2 THEN 'Lost'
    ELSE 'Other' END AS segment
FROM graded
ORDER BY customer_id;
