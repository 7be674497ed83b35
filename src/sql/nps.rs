//! `crm-eval sql nps`.

use super::*;

/// `crm-eval nps` (docs/metrics.md "NPS and CSAT") over a `surveys` table (customer_id,
/// response_date DATE, survey: nps, csat or NULL for nps, score, owner), answers dated before
/// as_of when one is given: favourable, neutral and unfavourable counts, the score and its 95 %
/// interval (NPS: ± 1.96 × 100 × √(v / n); CSAT: Wilson), rounded to 2 decimals; one row per
/// survey kind, or per owner and kind with `by_owner`. Scores off the scale (not a whole number
/// from 0 to 10, or 1 to 5) are left out.
pub fn nps(
    dialect: Dialect,
    surveys: &str,
    mappings: &[MapEntry],
    as_of: Option<&str>,
    by_owner: bool,
) -> String {
    let d = dialect;
    let double = d.double();
    let mut roles = vec![Role::Survey, Role::Score];
    roles.extend(as_of.map(|_| Role::ResponseDate));
    roles.extend(by_owner.then_some(Role::Owner));
    let surveys = relation(d, TableKind::Surveys, surveys, &roles, &[], mappings);
    let dated = match as_of {
        Some(day) => format!(" AND response_date < DATE {}", quote(day)),
        None => String::new(),
    };
    let (group, group_select, order) = if by_owner {
        (
            "owner, survey",
            "owner, ",
            format!("{}, kind_order", d.bytewise("owner")),
        )
    } else {
        ("survey", "", "kind_order".to_string())
    };
    let round = |x: &str| format!("round(CAST({x} AS DECIMAL(38, 10)), 2)");
    format!(
        "WITH answers AS (
  SELECT {owner_col}coalesce(survey, 'nps') AS survey, CAST(score AS {double}) AS score
  FROM ({surveys}) sv
  WHERE score IS NOT NULL{dated}
),
valid AS (
  SELECT * FROM answers
  WHERE score = floor(score) AND ((survey = 'nps' AND score BETWEEN 0 AND 10)
     OR (survey = 'csat' AND score BETWEEN 1 AND 5))
),
tally AS (
  SELECT {group},
         CASE WHEN survey = 'nps' THEN 0 ELSE 1 END AS kind_order,
         count(*) AS responses,
         sum(CASE WHEN (survey = 'nps' AND score >= 9) OR (survey = 'csat' AND score >= 4) THEN 1 ELSE 0 END) AS favourable,
         sum(CASE WHEN (survey = 'nps' AND score >= 7 AND score < 9) OR (survey = 'csat' AND score = 3) THEN 1 ELSE 0 END) AS neutral
  FROM valid GROUP BY {group}
),
rates AS (
  SELECT tally.*, responses - favourable - neutral AS unfavourable,
         CAST(favourable AS {double}) / responses AS p,
         CAST(responses - favourable - neutral AS {double}) / responses AS q,
         CAST(responses AS {double}) AS n
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
SELECT {group_select}survey, responses, favourable, neutral, unfavourable,
       {score} AS score,
       CASE WHEN survey = 'nps' THEN {nps_low} ELSE {csat_low} END AS score_low,
       CASE WHEN survey = 'nps' THEN {nps_high} ELSE {csat_high} END AS score_high
FROM scored
ORDER BY {order}",
        owner_col = if by_owner { "owner, " } else { "" },
        score = round("score"),
        nps_low = round("greatest(100 * (p - q - half), -100)"),
        nps_high = round("least(100 * (p - q + half), 100)"),
        csat_low = round("100 * greatest(centre - half, 0)"),
        csat_high = round("100 * least(centre + half, 1)"),
    )
}
