WITH answers AS (
  SELECT owner, coalesce(survey, 'nps') AS survey, CAST(score AS DOUBLE) AS score
  FROM (SELECT CASE WHEN lower(trim(survey)) IN ('nps', 'net promoter', 'net promoter score', '推荐', '净推荐值') THEN 'nps' WHEN lower(trim(survey)) IN ('csat', 'satisfaction', 'customer satisfaction', '满意度') THEN 'csat' ELSE nullif(lower(trim(survey)), '') END AS survey, score, owner FROM surveys) sv
  WHERE score IS NOT NULL
),
valid AS (
  SELECT * FROM answers
  WHERE score = floor(score) AND ((survey = 'nps' AND score BETWEEN 0 AND 10)
     OR (survey = 'csat' AND score BETWEEN 1 AND 5))
),
tally AS (
  SELECT owner, survey,
         CASE WHEN survey = 'nps' THEN 0 ELSE 1 END AS kind_order,
         count(*) AS responses,
         sum(CASE WHEN (survey = 'nps' AND score >= 9) OR (survey = 'csat' AND score >= 4) THEN 1 ELSE 0 END) AS favourable,
         sum(CASE WHEN (survey = 'nps' AND score >= 7 AND score < 9) OR (survey = 'csat' AND score = 3) THEN 1 ELSE 0 END) AS neutral
  FROM valid GROUP BY owner, survey
),
rates AS (
  SELECT tally.*, responses - favourable - neutral AS unfavourable,
         CAST(favourable AS DOUBLE) / responses AS p,
         CAST(responses - favourable - neutral AS DOUBLE) / responses AS q,
         CAST(responses AS DOUBLE) AS n
  FROM tally
),
scored AS (
  SELECT rates.*,
    CASE WHEN survey = 'nps' THEN 100 * (p - q) ELSE 100 * p END AS score,
    CASE WHEN survey = 'nps' THEN 1.96 * sqrt(greatest(p + q - (p - q) * (p - q), 0) / n)
         ELSE 1.96 * sqrt(p * (1 - p) / n + 1.96 * 1.96 / (4 * n * n)) / (1 + 1.96 * 1.96 / n) END AS half,
    (p + 1.96 * 1.96 / (2 * n)) / (1 + 1.96 * 1.96 / n) AS centre
  FROM rates
)
SELECT owner, survey, responses, favourable, neutral, unfavourable,
       round(CAST(score AS DECIMAL(38, 10)), 2) AS score,
       CASE WHEN survey = 'nps' THEN round(CAST(greatest(100 * (p - q - half), -100) AS DECIMAL(38, 10)), 2) ELSE round(CAST(100 * greatest(centre - half, 0) AS DECIMAL(38, 10)), 2) END AS score_low,
       CASE WHEN survey = 'nps' THEN round(CAST(least(100 * (p - q + half), 100) AS DECIMAL(38, 10)), 2) ELSE round(CAST(100 * least(centre + half, 1) AS DECIMAL(38, 10)), 2) END AS score_high
FROM scored
ORDER BY owner, kind_order;
