WITH opportunities_in AS (SELECT opportunity_id, stage, created_at, closed_at, amount, seq FROM opportunities),
history_rows AS (
  SELECT CAST(NULL AS TEXT) AS id, CAST(NULL AS TEXT) AS stage, CAST(NULL AS TIMESTAMP) AS entered_at, CAST(NULL AS DATE) AS day, 0 AS seq
  FROM opportunities_in WHERE 1 = 0
),
rows AS (
  SELECT nullif(trim(CAST(o.opportunity_id AS TEXT)), '') AS id, o.seq, nullif(trim(CAST(o.stage AS TEXT)), '') AS stage, CAST(o.created_at AS DATE) AS created_day,
         CAST(o.closed_at AS DATE) AS closed_day, CAST(o.amount AS DECIMAL(18, 4)) AS amount,
         CASE WHEN lower(translate(coalesce(o.stage, ''), '	
                  　_-./()（）[]【】:：#*﻿', '')) IN ('won', 'closedwon', 'closedconverted', 'converted', 'win', 'wondeal', 'dealwon', '赢单', '成交', '已成交', '签约', '已签约', '赢得') THEN 'won' WHEN lower(translate(coalesce(o.stage, ''), '	
                  　_-./()（）[]【】:：#*﻿', '')) IN ('lost', 'closedlost', 'closednotconverted', 'notconverted', 'lose', 'deallost', '输单', '丢单', '失败', '已输单', '战败') THEN 'lost' WHEN lower(translate(coalesce(o.stage, ''), '	
                  　_-./()（）[]【】:：#*﻿', '')) IN ('invalid', 'disqualified', 'junk', 'spam', 'duplicate', '无效', '作废', '已作废', '无效商机') THEN 'invalid' ELSE 'open' END AS base_outcome
  FROM opportunities_in o
),
as_of AS (SELECT (max(day) + 1) AS d FROM (
    SELECT created_day AS day FROM rows
    UNION ALL SELECT closed_day FROM rows WHERE base_outcome <> 'open'
    UNION ALL SELECT day FROM history_rows
  ) days),
firsts AS (
  SELECT r.*, row_number() OVER (PARTITION BY r.id ORDER BY r.seq) AS nth
  FROM rows r CROSS JOIN as_of
  WHERE r.id IS NOT NULL AND r.created_day IS NOT NULL AND r.created_day < as_of.d
),
kept AS (
  SELECT f.*, lower(translate(coalesce(f.stage, ''), '	
                  　_-./()（）[]【】:：#*﻿', '')) AS stage_key,
         CASE WHEN f.base_outcome <> 'open' AND f.closed_day >= as_of.d THEN 'open'
              ELSE f.base_outcome END AS outcome,
         CASE WHEN f.base_outcome = 'open' OR f.closed_day >= as_of.d THEN NULL
              ELSE f.closed_day END AS closed
  FROM firsts f CROSS JOIN as_of WHERE f.nth = 1
),
hist AS (
  SELECT h.id, h.stage, lower(translate(h.stage, '	
                  　_-./()（）[]【】:：#*﻿', '')) AS stage_key, h.day, h.entered_at, h.seq, k.seq AS opp_seq
  FROM history_rows h JOIN kept k ON k.id = h.id CROSS JOIN as_of
  WHERE h.stage IS NOT NULL AND h.entered_at IS NOT NULL AND h.day < as_of.d
),
stage_order AS (
  SELECT 'prospecting' AS stage_key, CAST('Prospecting' AS TEXT) AS stage, 0 AS pos
  UNION ALL SELECT 'qualification' AS stage_key, CAST('Qualification' AS TEXT) AS stage, 1 AS pos
  UNION ALL SELECT 'proposal' AS stage_key, CAST('Proposal' AS TEXT) AS stage, 2 AS pos
  UNION ALL SELECT 'negotiation' AS stage_key, CAST('Negotiation' AS TEXT) AS stage, 3 AS pos
),
last_stage AS (SELECT max(pos) AS pos FROM stage_order),
reach AS (
  SELECT x.id, max(p.pos) AS furthest
  FROM (SELECT id, stage_key FROM hist UNION ALL SELECT id, stage_key FROM kept) x
  JOIN stage_order p ON p.stage_key = x.stage_key
  GROUP BY x.id
),
changes AS (SELECT id, max(day) AS day FROM hist GROUP BY id),
opp AS (
  SELECT k.*, CAST(CAST(k.amount * 10000 AS BIGINT) AS DOUBLE PRECISION) / 10000 AS amount_f,
         CASE WHEN k.outcome = 'won' THEN l.pos ELSE coalesce(r.furthest, 0) END AS furthest,
         coalesce(c.day, k.created_day) AS last_change
  FROM kept k CROSS JOIN last_stage l
  LEFT JOIN reach r ON r.id = k.id LEFT JOIN changes c ON c.id = k.id
),
totals AS (SELECT sum(CASE WHEN outcome = 'won' THEN 1 ELSE 0 END) AS won FROM opp),
lost_at AS (SELECT furthest AS pos, count(*) AS n FROM opp WHERE outcome = 'lost' GROUP BY furthest),
probs AS (
  SELECT p.pos, CAST(t.won AS DOUBLE PRECISION) / nullif(t.won + coalesce(sum(l.n), 0), 0) AS prob
  FROM stage_order p CROSS JOIN totals t LEFT JOIN lost_at l ON l.pos >= p.pos
  GROUP BY p.pos, t.won
),
priced AS (
  SELECT o.*, pr.prob, CASE WHEN o.outcome = 'open' THEN o.amount_f * pr.prob END AS weighted
  FROM opp o LEFT JOIN probs pr ON pr.pos = o.furthest
),
m AS (
  SELECT 1 AS is_all, o.* FROM priced o
),
cycles AS (SELECT m.*, (closed - created_day) AS cycle FROM m),
summary AS (
  SELECT is_all, count(*) AS opportunities,
         sum(CASE WHEN outcome = 'open' THEN 1 ELSE 0 END) AS open,
         sum(CASE WHEN outcome = 'won' THEN 1 ELSE 0 END) AS won,
         sum(CASE WHEN outcome = 'lost' THEN 1 ELSE 0 END) AS lost,
         sum(CASE WHEN outcome = 'invalid' THEN 1 ELSE 0 END) AS invalid,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY CASE WHEN outcome = 'won' AND cycle >= 0 THEN CAST(cycle AS DOUBLE PRECISION) END) AS median_cycle, percentile_cont(0.25) WITHIN GROUP (ORDER BY CASE WHEN outcome = 'won' AND cycle >= 0 THEN CAST(cycle AS DOUBLE PRECISION) END) AS p25_cycle, percentile_cont(0.75) WITHIN GROUP (ORDER BY CASE WHEN outcome = 'won' AND cycle >= 0 THEN CAST(cycle AS DOUBLE PRECISION) END) AS p75_cycle,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY CASE WHEN outcome = 'lost' AND cycle >= 0 THEN CAST(cycle AS DOUBLE PRECISION) END) AS lost_median_cycle,
         sum(CASE WHEN outcome = 'won' THEN amount END) AS won_amount,
         count(CASE WHEN outcome = 'won' THEN amount END) AS priced_wins,
         sum(CASE WHEN outcome = 'won' THEN CAST(amount * 10000 AS BIGINT) END) AS won_units,
         sum(CASE WHEN outcome = 'open' THEN amount END) AS open_amount,
         sum(weighted) AS weighted
  FROM cycles GROUP BY is_all
),
rates AS (
  SELECT s.*, CAST(won AS DOUBLE PRECISION) / nullif(won + lost, 0) AS p,
         CAST(nullif(won + lost, 0) AS DOUBLE PRECISION) AS n,
         CAST(won_units AS DOUBLE PRECISION) / nullif(priced_wins, 0) / 10000 AS avg_won
  FROM summary s
),
w AS (SELECT rates.*, (p + 1.96 * 1.96 / (2 * n)) / (1 + 1.96 * 1.96 / n) AS centre,
         1.96 * sqrt(p * (1 - p) / n + 1.96 * 1.96 / (4 * n * n)) / (1 + 1.96 * 1.96 / n) AS half FROM rates)
SELECT opportunities, open, won, lost, invalid, round(CAST(w.p AS DECIMAL(38, 10)), 4) AS win_rate,
       CASE WHEN w.n IS NOT NULL THEN round(CAST(greatest(w.centre - w.half, 0) AS DECIMAL(38, 10)), 4) END AS ci_low, CASE WHEN w.n IS NOT NULL THEN round(CAST(least(w.centre + w.half, 1) AS DECIMAL(38, 10)), 4) END AS ci_high,
       (CAST((CASE WHEN ((median_cycle) * 10.0) >= 0 THEN floor((median_cycle) * 10.0) + CASE WHEN ((median_cycle) * 10.0) - floor((median_cycle) * 10.0) >= 0.5 THEN 1 ELSE 0 END ELSE -(floor(-((median_cycle) * 10.0)) + CASE WHEN -((median_cycle) * 10.0) - floor(-((median_cycle) * 10.0)) >= 0.5 THEN 1 ELSE 0 END) END) AS DOUBLE PRECISION) / 10.0) AS median_cycle_days, (CAST((CASE WHEN ((p25_cycle) * 10.0) >= 0 THEN floor((p25_cycle) * 10.0) + CASE WHEN ((p25_cycle) * 10.0) - floor((p25_cycle) * 10.0) >= 0.5 THEN 1 ELSE 0 END ELSE -(floor(-((p25_cycle) * 10.0)) + CASE WHEN -((p25_cycle) * 10.0) - floor(-((p25_cycle) * 10.0)) >= 0.5 THEN 1 ELSE 0 END) END) AS DOUBLE PRECISION) / 10.0) AS cycle_p25_days,
       (CAST((CASE WHEN ((p75_cycle) * 10.0) >= 0 THEN floor((p75_cycle) * 10.0) + CASE WHEN ((p75_cycle) * 10.0) - floor((p75_cycle) * 10.0) >= 0.5 THEN 1 ELSE 0 END ELSE -(floor(-((p75_cycle) * 10.0)) + CASE WHEN -((p75_cycle) * 10.0) - floor(-((p75_cycle) * 10.0)) >= 0.5 THEN 1 ELSE 0 END) END) AS DOUBLE PRECISION) / 10.0) AS cycle_p75_days, (CAST((CASE WHEN ((lost_median_cycle) * 10.0) >= 0 THEN floor((lost_median_cycle) * 10.0) + CASE WHEN ((lost_median_cycle) * 10.0) - floor((lost_median_cycle) * 10.0) >= 0.5 THEN 1 ELSE 0 END ELSE -(floor(-((lost_median_cycle) * 10.0)) + CASE WHEN -((lost_median_cycle) * 10.0) - floor(-((lost_median_cycle) * 10.0)) >= 0.5 THEN 1 ELSE 0 END) END) AS DOUBLE PRECISION) / 10.0) AS lost_median_cycle_days,
       CAST(round(coalesce(won_amount, 0), 2) AS DOUBLE PRECISION) AS won_amount,
       (CAST((CASE WHEN ((avg_won) * 100.0) >= 0 THEN floor((avg_won) * 100.0) + CASE WHEN ((avg_won) * 100.0) - floor((avg_won) * 100.0) >= 0.5 THEN 1 ELSE 0 END ELSE -(floor(-((avg_won) * 100.0)) + CASE WHEN -((avg_won) * 100.0) - floor(-((avg_won) * 100.0)) >= 0.5 THEN 1 ELSE 0 END) END) AS DOUBLE PRECISION) / 100.0) AS avg_won_amount,
       CAST(round(coalesce(open_amount, 0), 2) AS DOUBLE PRECISION) AS open_amount,
       (CAST((CASE WHEN ((coalesce(weighted, 0)) * 100.0) >= 0 THEN floor((coalesce(weighted, 0)) * 100.0) + CASE WHEN ((coalesce(weighted, 0)) * 100.0) - floor((coalesce(weighted, 0)) * 100.0) >= 0.5 THEN 1 ELSE 0 END ELSE -(floor(-((coalesce(weighted, 0)) * 100.0)) + CASE WHEN -((coalesce(weighted, 0)) * 100.0) - floor(-((coalesce(weighted, 0)) * 100.0)) >= 0.5 THEN 1 ELSE 0 END) END) AS DOUBLE PRECISION) / 100.0) AS weighted_pipeline,
       CASE WHEN median_cycle > 0 THEN (CAST((CASE WHEN ((open * p * avg_won / median_cycle) * 100.0) >= 0 THEN floor((open * p * avg_won / median_cycle) * 100.0) + CASE WHEN ((open * p * avg_won / median_cycle) * 100.0) - floor((open * p * avg_won / median_cycle) * 100.0) >= 0.5 THEN 1 ELSE 0 END ELSE -(floor(-((open * p * avg_won / median_cycle) * 100.0)) + CASE WHEN -((open * p * avg_won / median_cycle) * 100.0) - floor(-((open * p * avg_won / median_cycle) * 100.0)) >= 0.5 THEN 1 ELSE 0 END) END) AS DOUBLE PRECISION) / 100.0) END AS velocity_per_day
FROM w ORDER BY is_all;
