//! `crm-eval sql conversion`.

use super::*;

/// `crm-eval conversion --by owner` without follow-ups (docs/metrics.md "Ownership spells",
/// "Conversion") over an `events` table (customer_id, event_time TIMESTAMP, event: assign,
/// claim, transfer, recycle or release — other words are not events —, owner, and seq: the row's
/// place in the export, which orders events at the same time): a spell starts at an assign or
/// claim, or a transfer naming its owner, and ends at the customer's next event; it covers up to
/// the day before a hand-over, the day of a recycle or release, or as_of when open. It matures
/// when start + window < as_of and converts when a purchase falls in [start, start + window]
/// while covered; revenue is the net of the order rows in that span, rounded to cents per
/// spell. One row per group of `by` (owner, and cohort: the month the spell started) in byte
/// order, then `all`.
pub fn conversion(s: &Source, window: i32, by: &[ConversionGroup]) -> String {
    let d = s.dialect;
    let double = d.double();
    let s = &s.with_events();
    let keys: Vec<&str> = by
        .iter()
        .map(|g| match g {
            ConversionGroup::Cohort => "cohort",
            ConversionGroup::Customer => "customer",
            ConversionGroup::Owner => "owner",
        })
        .collect();
    let groups = GroupSql::new(d, &keys, s.customer_groups.as_ref(), &s.mappings);
    let grouped_rows = groups.from("outcomes");
    let GroupSql {
        list: key_list,
        alls,
        join: key_join,
        select: key_select,
        order: key_order,
        ctes: customer_ctes,
        ..
    } = groups;
    let f = FollowupSql::new(s);
    format!(
        "WITH {ledger},
{spells},
spans AS (
  SELECT spells.*,
         CASE WHEN {window_after} < cover_end THEN {window_after} ELSE cover_end END AS until
  FROM spells
),
{window_ctes},{followup_ctes}
outcomes AS (
  SELECT sp.customer_id, sp.owner, {cohort} AS cohort, sp.matured,
         CASE WHEN sp.matured = 1 AND f.first_day IS NOT NULL THEN 1 ELSE 0 END AS converted,
         CASE WHEN sp.matured = 1 AND f.first_day IS NOT NULL
              THEN CAST({days} AS {double}) END AS days,
         CASE WHEN sp.matured = 1 AND f.first_day IS NOT NULL
              THEN coalesce(r.value, 0) ELSE 0 END AS revenue{followup_outcomes}
  FROM spans sp LEFT JOIN firsts f ON f.spell = sp.spell LEFT JOIN window_value r ON r.spell = sp.spell{followup_join}
){customer_ctes},
groups AS (
  SELECT 0 AS is_all, {key_list}, count(*) AS spells, sum(matured) AS matured,
         sum(converted) AS converted, {median} AS median_days, sum(revenue) AS revenue{followup_sums}
  FROM {grouped_rows} GROUP BY {key_list}
  UNION ALL
  SELECT 1, {alls}, count(*), sum(matured), sum(converted), {median}, sum(revenue){followup_sums}
  FROM outcomes
),
rates AS (
  SELECT groups.*, CAST(converted AS {double}) / matured AS p,
         CAST(matured AS {double}) AS n
  FROM groups WHERE matured > 0
),
wilson AS (
  SELECT rates.*,
         {wilson}
  FROM rates
)
SELECT {key_select}g.spells, g.matured, g.spells - g.matured AS immature, g.converted,
       {rate} AS conversion_rate, {low} AS ci_low, {high} AS ci_high,
       g.median_days AS median_days_to_conversion,
       CAST(round(g.revenue, 2) AS {double}) AS converted_revenue{followup_columns}
FROM groups g LEFT JOIN wilson w ON w.is_all = g.is_all{key_join}
ORDER BY g.is_all{key_order}",
        ledger = ledger_ctes(s),
        spells = spell_ctes(d, window),
        cohort = d.period_label(Period::Month, &d.period_index(Period::Month, "sp.start_day")),
        window_ctes = window_ctes("spell"),
        window_after = d.plus_days("start_day", window + 1),
        days = d.days_between("f.first_day", "sp.start_day"),
        median = d.median("days"),
        rate = round4("w.p"),
        low = wilson_bound("greatest(w.centre - w.half, 0)"),
        high = wilson_bound("least(w.centre + w.half, 1)"),
        wilson = wilson_columns(),
        followup_ctes = f.ctes,
        followup_outcomes = f.outcomes,
        followup_join = f.join,
        followup_sums = f.sums,
        followup_columns = f.columns,
    )
}
