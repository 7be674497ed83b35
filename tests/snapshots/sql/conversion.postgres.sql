WITH orders_in AS (SELECT customer_id, order_id, order_date, amount, CASE WHEN lower(trim(status)) IN ('paid', 'completed', 'complete', 'success', 'successful', 'succeeded', 'closed', 'won', 'closed won', 'shipped', 'delivered', 'fulfilled', 'settled', 'ok', '已付款', '已支付', '已完成', '完成', '成交', '已成交', '交易成功', '已发货', '已签收', '已收货', '支付成功', '付款成功', '已结算', '赢单') THEN 'paid' WHEN lower(trim(status)) IN ('refunded', 'refund', 'returned', 'return', 'chargeback', 'partially refunded', '已退款', '退款', '退货', '已退货', '退款成功', '退货退款') THEN 'refunded' WHEN lower(trim(status)) IN ('cancelled', 'canceled', 'cancel', 'void', 'voided', 'failed', 'rejected', 'closed lost', 'lost', '已取消', '取消', '作废', '已作废', '交易关闭', '已关闭', '关闭', '失败', '输单') THEN 'cancelled' WHEN lower(trim(status)) IN ('pending', 'unpaid', 'awaiting payment', 'open', 'draft', '待付款', '未付款', '待支付', '未支付', '待审核', '草稿') THEN 'unpaid' ELSE nullif(lower(trim(status)), '') END AS status FROM orders),
events_in AS (SELECT customer_id, event_time, CASE WHEN lower(trim(event)) IN ('assign', 'assigned', 'assignment', 'allocate', 'allocated', 'allocation', 'distribute', '分配', '指派', '分派', '已分配', '分配客户') THEN 'assign' WHEN lower(trim(event)) IN ('claim', 'claimed', 'receive', 'received', 'pick', 'take', '领取', '认领', '抢占', '已领取', '领取客户') THEN 'claim' WHEN lower(trim(event)) IN ('transfer', 'transferred', 'reassign', 'reassigned', 'handover', '转移', '转交', '转移客户', '变更负责人', '移交') THEN 'transfer' WHEN lower(trim(event)) IN ('recycle', 'recycled', 'reclaim', 'reclaimed', 'return', 'returned', 'back', '回收', '收回', '退回公海', '自动回收', '回收公海', '放入公海') THEN 'recycle' WHEN lower(trim(event)) IN ('release', 'released', 'abandon', 'abandoned', 'give up', 'drop', '释放', '放弃', '退回', '主动退回', '放弃客户') THEN 'release' ELSE nullif(lower(trim(event)), '') END AS event, owner, seq FROM events),
followups_in AS (SELECT customer_id, followup_time FROM followups),
as_of AS (SELECT (greatest(mo.o, coalesce(me.e, mo.o), coalesce(mf.f, mo.o)) + 1) AS d FROM (SELECT max(order_date) AS o FROM orders_in) mo CROSS JOIN (SELECT max(CAST(event_time AS DATE)) AS e FROM events_in) me CROSS JOIN (SELECT max(CAST(followup_time AS DATE)) AS f FROM followups_in) mf),
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
ev AS (
  SELECT e.*, CAST(e.event_time AS DATE) AS day,
         CASE WHEN e.event IN ('assign', 'claim')
                OR (e.event = 'transfer' AND e.owner IS NOT NULL AND trim(e.owner) <> '')
              THEN 1 ELSE 0 END AS starts
  FROM events_in e CROSS JOIN as_of
  WHERE e.event IN ('assign', 'claim', 'transfer', 'recycle', 'release')
    AND e.event_time IS NOT NULL AND CAST(e.event_time AS DATE) < as_of.d
),
ordered AS (
  SELECT ev.*,
         CASE WHEN lag(starts) OVER (PARTITION BY customer_id ORDER BY event_time, seq) = 1
              THEN coalesce(trim(lag(owner) OVER (PARTITION BY customer_id ORDER BY event_time, seq)), '')
              ELSE coalesce(trim(owner), '') END AS previous_owner,
         lead(event) OVER (PARTITION BY customer_id ORDER BY event_time, seq) AS next_event,
         lead(day) OVER (PARTITION BY customer_id ORDER BY event_time, seq) AS next_day,
         lead(event_time) OVER (PARTITION BY customer_id ORDER BY event_time, seq) AS next_time,
         row_number() OVER (ORDER BY customer_id, event_time, seq) AS ord
  FROM ev
),
spells AS (
  SELECT o.ord AS spell, o.customer_id, coalesce(trim(o.owner), '') AS owner, o.day AS start_day,
         o.event_time AS start_time, o.next_time AS end_time,
         CASE WHEN o.next_event IS NULL THEN as_of.d
              WHEN o.next_event IN ('recycle', 'release') THEN (o.next_day + 1)
              ELSE o.next_day END AS cover_end,
         CASE WHEN (o.day + 90) < as_of.d THEN 1 ELSE 0 END AS matured
  FROM ordered o CROSS JOIN as_of
  WHERE o.starts = 1
),
nexts AS (
  SELECT o.*,
         min(CASE WHEN o.starts = 1 THEN o.ord END) OVER (
           PARTITION BY o.customer_id ORDER BY o.event_time, o.seq
           ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_spell
  FROM ordered o
),
spans AS (
  SELECT spells.*,
         CASE WHEN (start_day + 91) < cover_end THEN (start_day + 91) ELSE cover_end END AS until
  FROM spells
),
firsts AS (
  SELECT w.spell, min(p.order_date) AS first_day
  FROM spans w JOIN purchases p ON p.customer_id = w.customer_id
   AND p.order_date >= w.start_day AND p.order_date < w.until
  GROUP BY w.spell
),
window_value AS (
  SELECT w.spell, round(sum(b.net), 2) AS value
  FROM spans w JOIN base b ON b.customer_id = w.customer_id
   AND b.order_date >= w.start_day AND b.order_date < w.until
  GROUP BY w.spell
),
first_followups AS (
  SELECT sp.spell, min(CAST(round(extract(epoch FROM f.followup_time) * 1000) AS BIGINT)) AS first_ms
  FROM spells sp CROSS JOIN as_of
  JOIN followups_in f ON f.customer_id = sp.customer_id AND f.followup_time IS NOT NULL
   AND CAST(round(extract(epoch FROM f.followup_time) * 1000) AS BIGINT) >= CAST(round(extract(epoch FROM sp.start_time) * 1000) AS BIGINT) AND CAST(round(extract(epoch FROM f.followup_time) * 1000) AS BIGINT) < coalesce(CAST(round(extract(epoch FROM sp.end_time) * 1000) AS BIGINT), (CAST((as_of.d - DATE '1970-01-01') AS BIGINT) * 86400000))
  GROUP BY sp.spell
),
outcomes AS (
  SELECT sp.customer_id, sp.owner, concat(CAST(CAST(floor((CAST(EXTRACT(YEAR FROM sp.start_day) AS INT) * 12 + (CAST(EXTRACT(MONTH FROM sp.start_day) AS INT) - 1)) / 12.0) AS BIGINT) AS TEXT), '-', lpad(CAST(CAST(((CAST(EXTRACT(YEAR FROM sp.start_day) AS INT) * 12 + (CAST(EXTRACT(MONTH FROM sp.start_day) AS INT) - 1)) - 12 * CAST(floor((CAST(EXTRACT(YEAR FROM sp.start_day) AS INT) * 12 + (CAST(EXTRACT(MONTH FROM sp.start_day) AS INT) - 1)) / 12.0) AS INT) + 1) AS BIGINT) AS TEXT), 2, '0')) AS cohort, sp.matured,
         CASE WHEN sp.matured = 1 AND f.first_day IS NOT NULL THEN 1 ELSE 0 END AS converted,
         CASE WHEN sp.matured = 1 AND f.first_day IS NOT NULL
              THEN CAST((f.first_day - sp.start_day) AS DOUBLE PRECISION) END AS days,
         CASE WHEN sp.matured = 1 AND f.first_day IS NOT NULL
              THEN coalesce(r.value, 0) ELSE 0 END AS revenue,
         CAST(ff.first_ms - CAST(round(extract(epoch FROM sp.start_time) * 1000) AS BIGINT) AS DOUBLE PRECISION) / 3600000 AS hours,
         CASE WHEN (CAST((as_of.d - DATE '1970-01-01') AS BIGINT) * 86400000) - CAST(round(extract(epoch FROM sp.start_time) * 1000) AS BIGINT) >= 86400000 THEN 1 ELSE 0 END AS day_old
  FROM spans sp LEFT JOIN firsts f ON f.spell = sp.spell LEFT JOIN window_value r ON r.spell = sp.spell
  LEFT JOIN first_followups ff ON ff.spell = sp.spell CROSS JOIN as_of
),
groups AS (
  SELECT 0 AS is_all, owner, count(*) AS spells, sum(matured) AS matured,
         sum(converted) AS converted, percentile_cont(0.5) WITHIN GROUP (ORDER BY days) AS median_days, sum(revenue) AS revenue, count(hours) AS followed, percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) AS median_hours, sum(day_old) AS day_old,
         sum(CASE WHEN day_old = 1 AND hours <= 24 THEN 1 ELSE 0 END) AS within_24h
  FROM outcomes GROUP BY owner
  UNION ALL
  SELECT 1, 'all', count(*), sum(matured), sum(converted), percentile_cont(0.5) WITHIN GROUP (ORDER BY days), sum(revenue), count(hours) AS followed, percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) AS median_hours, sum(day_old) AS day_old,
         sum(CASE WHEN day_old = 1 AND hours <= 24 THEN 1 ELSE 0 END) AS within_24h
  FROM outcomes
),
rates AS (
  SELECT groups.*, CAST(converted AS DOUBLE PRECISION) / matured AS p,
         CAST(matured AS DOUBLE PRECISION) AS n
  FROM groups WHERE matured > 0
),
wilson AS (
  SELECT rates.*,
         (p + 1.96 * 1.96 / (2 * n)) / (1 + 1.96 * 1.96 / n) AS centre,
         1.96 * sqrt(p * (1 - p) / n + 1.96 * 1.96 / (4 * n * n)) / (1 + 1.96 * 1.96 / n) AS half
  FROM rates
)
SELECT g.owner, g.spells, g.matured, g.spells - g.matured AS immature, g.converted,
       round(CAST(w.p AS DECIMAL(38, 10)), 4) AS conversion_rate, CASE WHEN w.n IS NOT NULL THEN round(CAST(greatest(w.centre - w.half, 0) AS DECIMAL(38, 10)), 4) END AS ci_low, CASE WHEN w.n IS NOT NULL THEN round(CAST(least(w.centre + w.half, 1) AS DECIMAL(38, 10)), 4) END AS ci_high,
       g.median_days AS median_days_to_conversion,
       CAST(round(g.revenue, 2) AS DOUBLE PRECISION) AS converted_revenue,
       g.followed AS followed_up, (CAST((CASE WHEN ((g.median_hours) * 100.0) >= 0 THEN floor((g.median_hours) * 100.0) + CASE WHEN ((g.median_hours) * 100.0) - floor((g.median_hours) * 100.0) >= 0.5 THEN 1 ELSE 0 END ELSE -(floor(-((g.median_hours) * 100.0)) + CASE WHEN -((g.median_hours) * 100.0) - floor(-((g.median_hours) * 100.0)) >= 0.5 THEN 1 ELSE 0 END) END) AS DOUBLE PRECISION) / 100.0) AS median_hours_to_first_followup,
       CASE WHEN g.day_old > 0 THEN round(CAST(CAST(g.within_24h AS DOUBLE PRECISION) / g.day_old AS DECIMAL(38, 10)), 4) END AS followed_up_24h_share
FROM groups g LEFT JOIN wilson w ON w.is_all = g.is_all AND w.owner = g.owner
ORDER BY g.is_all, g.owner COLLATE "C";
