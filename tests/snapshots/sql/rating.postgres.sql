WITH orders_in AS (SELECT customer_id, order_id, order_date, amount, CASE WHEN lower(trim(status)) IN ('paid', 'completed', 'complete', 'success', 'successful', 'succeeded', 'closed', 'won', 'closed won', 'shipped', 'delivered', 'fulfilled', 'settled', 'ok', '已付款', '已支付', '已完成', '完成', '成交', '已成交', '交易成功', '已发货', '已签收', '已收货', '支付成功', '付款成功', '已结算', '赢单') THEN 'paid' WHEN lower(trim(status)) IN ('refunded', 'refund', 'returned', 'return', 'chargeback', 'partially refunded', '已退款', '退款', '退货', '已退货', '退款成功', '退货退款') THEN 'refunded' WHEN lower(trim(status)) IN ('cancelled', 'canceled', 'cancel', 'void', 'voided', 'failed', 'rejected', 'closed lost', 'lost', '已取消', '取消', '作废', '已作废', '交易关闭', '已关闭', '关闭', '失败', '输单') THEN 'cancelled' WHEN lower(trim(status)) IN ('pending', 'unpaid', 'awaiting payment', 'open', 'draft', '待付款', '未付款', '待支付', '未支付', '待审核', '草稿') THEN 'unpaid' ELSE nullif(lower(trim(status)), '') END AS status, margin FROM orders),
as_of AS (SELECT (max(order_date) + 1) AS d FROM orders_in),
base AS (
  SELECT o.customer_id, o.order_id, o.order_date,
         CASE WHEN o.status = 'refunded' AND o.amount > 0 THEN -CAST(o.amount AS DECIMAL(18, 4))
              ELSE CAST(o.amount AS DECIMAL(18, 4)) END AS net,
         CASE WHEN o.status = 'refunded' THEN 1 ELSE 0 END AS refunded_status,
         CAST(NULL AS TEXT) AS owner,
         CASE WHEN o.status = 'refunded' AND coalesce(CAST(o.margin AS DECIMAL(18, 4)), 0) > 0 THEN -coalesce(CAST(o.margin AS DECIMAL(18, 4)), 0) ELSE coalesce(CAST(o.margin AS DECIMAL(18, 4)), 0) END AS margin
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
buyers AS (
  SELECT customer_id, max(order_date) AS last_day, count(*) AS purchases
  FROM purchases GROUP BY customer_id
),
nets AS (
  SELECT b.customer_id, sum(b.net) AS net,
         sum(CASE WHEN b.net < 0 THEN -b.net ELSE 0 END) AS refunded,
         sum(CASE WHEN b.order_date >= (as_of.d + -180) THEN b.net ELSE 0 END) AS recent,
         sum(CASE WHEN b.order_date >= (as_of.d + -360) AND b.order_date < (as_of.d + -180)
                  THEN b.net ELSE 0 END) AS prior,
         sum(b.margin) AS margin
  FROM base b CROSS JOIN as_of GROUP BY b.customer_id
),
raws AS (
  SELECT f.customer_id, CAST(round(n.margin, 2) AS DOUBLE PRECISION) AS raw_margin, CASE WHEN n.net + n.refunded > 0 THEN CAST(n.refunded AS DOUBLE PRECISION) / CAST(n.net + n.refunded AS DOUBLE PRECISION) ELSE 0 END AS raw_refund_rate, CAST(round(n.net, 2) AS DOUBLE PRECISION) AS raw_value
  FROM buyers f JOIN nets n ON n.customer_id = f.customer_id CROSS JOIN as_of
),
normalised AS (
  SELECT customer_id, CASE WHEN max(raw_margin) OVER () > min(raw_margin) OVER () THEN (raw_margin - min(raw_margin) OVER ()) / (max(raw_margin) OVER () - min(raw_margin) OVER ()) ELSE 1.0 END AS v_margin, CASE WHEN max(-raw_refund_rate) OVER () > min(-raw_refund_rate) OVER () THEN (-raw_refund_rate - min(-raw_refund_rate) OVER ()) / (max(-raw_refund_rate) OVER () - min(-raw_refund_rate) OVER ()) ELSE 1.0 END AS v_refund_rate, CASE WHEN max(raw_value) OVER () > min(raw_value) OVER () THEN (raw_value - min(raw_value) OVER ()) / (max(raw_value) OVER () - min(raw_value) OVER ()) ELSE 1.0 END AS v_value FROM raws
),
weighted AS (SELECT customer_id, v_margin, v_refund_rate, v_value, 100 * (0 + 0.5 * v_margin + 0.2 * v_refund_rate + 0.3 * v_value) AS raw_score FROM normalised),
scored AS (SELECT customer_id, v_margin, v_refund_rate, v_value, (CASE WHEN (raw_score * 100) >= 0 THEN floor(raw_score * 100) + CASE WHEN (raw_score * 100) - floor(raw_score * 100) >= 0.5 THEN 1 ELSE 0 END ELSE -(floor(-(raw_score * 100)) + CASE WHEN -(raw_score * 100) - floor(-(raw_score * 100)) >= 0.5 THEN 1 ELSE 0 END) END) / 100 AS score FROM weighted)
SELECT customer_id, score,
       CASE WHEN score >= 50.0 THEN 'gold' WHEN score >= 0.0 THEN 'rest' ELSE 'rest' END AS grade,
       (CASE WHEN (v_margin * 10000) >= 0 THEN floor(v_margin * 10000) + CASE WHEN (v_margin * 10000) - floor(v_margin * 10000) >= 0.5 THEN 1 ELSE 0 END ELSE -(floor(-(v_margin * 10000)) + CASE WHEN -(v_margin * 10000) - floor(-(v_margin * 10000)) >= 0.5 THEN 1 ELSE 0 END) END) / 10000 AS margin_score, (CASE WHEN (v_refund_rate * 10000) >= 0 THEN floor(v_refund_rate * 10000) + CASE WHEN (v_refund_rate * 10000) - floor(v_refund_rate * 10000) >= 0.5 THEN 1 ELSE 0 END ELSE -(floor(-(v_refund_rate * 10000)) + CASE WHEN -(v_refund_rate * 10000) - floor(-(v_refund_rate * 10000)) >= 0.5 THEN 1 ELSE 0 END) END) / 10000 AS refund_rate_score, (CASE WHEN (v_value * 10000) >= 0 THEN floor(v_value * 10000) + CASE WHEN (v_value * 10000) - floor(v_value * 10000) >= 0.5 THEN 1 ELSE 0 END ELSE -(floor(-(v_value * 10000)) + CASE WHEN -(v_value * 10000) - floor(-(v_value * 10000)) >= 0.5 THEN 1 ELSE 0 END) END) / 10000 AS value_score
FROM scored
ORDER BY score DESC, customer_id COLLATE "C";
