//! `crm-eval pool` as SQL (docs/metrics.md "Pool rules", "SQL"): one of its tables — due,
//! owners, reclaims, priority, health — from the `orders`, `events` (with its `pool` column) and
//! `followups` tables, on the spells of [`spell_ctes`] and the purchases of [`ledger_ctes`].
//! "Now" is the first millisecond of the as_of day; times are compared in milliseconds as the
//! command holds them, and day counts are rounded as the command rounds its floats.

use super::{ledger_ctes, round4, round_to, spell_ctes, window_ctes, Dialect, GroupSql, Source};
use crate::day::{ms_of_days as rule_ms, Day, DAY_MS};
use crate::input::schema::Role;
use crate::metrics::pool::PoolRules;
use crate::metrics::pool::Section;

/// A weight as a DOUBLE literal.
fn weight(d: Dialect, w: f64) -> String {
    format!("CAST({w:?} AS {})", d.double())
}

/// The SQL of one pool table. `window`: the conversion window of the claim-to-win rate.
/// `by_pool`: the health table groups by pool (before any customers-file columns of
/// `s.customer_groups`, as the command puts them).
pub fn pool(s: &Source, rules: &PoolRules, window: i32, table: Section, by_pool: bool) -> String {
    let d = s.dialect;
    let double = d.double();
    let mut s = s.with_events();
    s.event_extra = vec![Role::Pool];
    s.followups.get_or_insert_with(|| "followups".to_string());
    let s = &s;
    // Spells with their start time, start event and pool; returns with their next spell.
    let common = format!(
        "WITH {ledger},
{spells},
now AS (SELECT as_of.d, {now_ms} AS ms FROM as_of),
spell_rows AS (
  SELECT o.ord AS spell, o.customer_id, coalesce(trim(o.owner), '') AS owner,
         o.event_time AS started_at, {start_ms} AS start_ms, o.day AS start_day,
         o.event AS start_event, coalesce(trim(o.pool), '') AS pool,
         CASE WHEN o.next_event IS NULL THEN 1 ELSE 0 END AS open
  FROM ordered o WHERE o.starts = 1
),
returns AS (
  SELECT r.ord, r.customer_id, r.event_time AS returned_at, {return_ms} AS at_ms,
         r.previous_owner, coalesce(trim(r.pool), '') AS pool, r.next_spell
  FROM nexts r WHERE r.event IN ('recycle', 'release')
),
fu AS (
  SELECT f.customer_id, f.followup_time, {followup_ms} AS ms
  FROM followups_in f CROSS JOIN now
  WHERE f.followup_time IS NOT NULL AND f.customer_id IS NOT NULL AND {followup_ms} < now.ms
)",
        ledger = ledger_ctes(s),
        spells = spell_ctes(d, window),
        now_ms = d.day_ms("as_of.d"),
        start_ms = d.epoch_ms("o.event_time"),
        return_ms = d.epoch_ms("r.event_time"),
        followup_ms = d.epoch_ms("f.followup_time"),
    );
    let days_since = |ms: &str, places: i32| {
        round_to(
            d,
            &format!("CAST(now.ms - {ms} AS {double}) / {DAY_MS}"),
            places,
        )
    };
    match table {
        Section::Due => {
            let r = &rules.recycle;
            let exempt = if r.exempt_closed {
                "WHERE p.last_purchase IS NULL"
            } else {
                ""
            };
            format!(
                "{common},
last_followups AS (
  SELECT s.spell, max(f.ms) AS last_ms, max(f.followup_time) AS last_followup
  FROM spell_rows s JOIN fu f ON f.customer_id = s.customer_id AND f.ms >= s.start_ms
  WHERE s.open = 1
  GROUP BY s.spell
),
bought AS (SELECT customer_id, max(order_date) AS last_purchase FROM purchases GROUP BY customer_id),
held AS (
  SELECT s.*, lf.last_ms, lf.last_followup,
         coalesce(lf.last_ms, s.start_ms) + {no_followup} AS no_followup_due,
         CASE WHEN p.last_purchase IS NULL OR p.last_purchase < s.start_day
              THEN s.start_ms + {no_deal} END AS no_deal_due
  FROM spell_rows s LEFT JOIN last_followups lf ON lf.spell = s.spell
  LEFT JOIN bought p ON p.customer_id = s.customer_id
  {exempt}
),
due AS (
  SELECT h.*,
         CASE WHEN h.no_deal_due < h.no_followup_due THEN 'no_deal'
              WHEN h.no_deal_due = h.no_followup_due THEN 'no_followup+no_deal'
              ELSE 'no_followup' END AS rule,
         CASE WHEN h.no_deal_due IS NOT NULL AND h.no_deal_due <= h.no_followup_due
              THEN h.no_deal_due ELSE h.no_followup_due END AS due_ms
  FROM held h WHERE h.open = 1
)
SELECT due.customer_id, due.owner, due.started_at AS held_since, due.last_followup,
       {since_followup} AS days_since_followup, {held} AS days_held, due.rule,
       {due_on} AS due_on,
       CASE WHEN due.due_ms <= now.ms THEN 'overdue' ELSE 'due_soon' END AS status
FROM due CROSS JOIN now
WHERE due.due_ms - {warn} <= now.ms
ORDER BY due.due_ms, {customer}",
                no_followup = rule_ms(r.no_followup_days),
                no_deal = rule_ms(r.no_deal_days),
                warn = rule_ms(r.warn_days),
                since_followup = days_since("coalesce(due.last_ms, due.start_ms)", 1),
                held = days_since("due.start_ms", 1),
                due_on = d.ms_day("due.due_ms"),
                customer = d.bytewise("due.customer_id"),
            )
        }
        Section::Owners => format!(
            "{common},
claims AS (
  SELECT owner, start_day, count(*) AS n FROM spell_rows WHERE start_event = 'claim'
  GROUP BY owner, start_day
),
busiest AS (
  SELECT owner, start_day, n,
         row_number() OVER (PARTITION BY owner ORDER BY n DESC, start_day) AS k
  FROM claims
),
over_days AS (
  SELECT owner, sum(CASE WHEN n > {max_claims} THEN 1 ELSE 0 END) AS days FROM claims
  GROUP BY owner
),
holding AS (SELECT owner, sum(open) AS holding FROM spell_rows GROUP BY owner)
SELECT h.owner, h.holding,
       CASE WHEN h.holding > {max_holding} THEN h.holding - {max_holding} ELSE 0 END
         AS over_holding_cap,
       coalesce(b.n, 0) AS most_claims_in_a_day, b.start_day AS busiest_claim_day,
       coalesce(o.days, 0) AS days_over_claim_limit
FROM holding h LEFT JOIN busiest b ON b.owner = h.owner AND b.k = 1
LEFT JOIN over_days o ON o.owner = h.owner
ORDER BY {owner}",
            max_claims = rules.limits.max_daily_claims,
            max_holding = rules.limits.max_holding,
            owner = d.bytewise("h.owner"),
        ),
        Section::Reclaims => format!(
            "{common}
SELECT r.customer_id, s.owner, r.returned_at, s.started_at AS reclaimed_at,
       {between} AS days_between
FROM returns r JOIN spell_rows s ON s.spell = r.next_spell
WHERE s.start_event = 'claim' AND s.owner = r.previous_owner AND s.owner <> ''
  AND s.start_ms - r.at_ms < {limit}
ORDER BY s.start_ms, {customer}",
            between = round_to(
                d,
                &format!("CAST(s.start_ms - r.at_ms AS {double}) / {DAY_MS}"),
                2
            ),
            limit = rule_ms(rules.cooldown.reclaim_days),
            customer = d.bytewise("r.customer_id"),
        ),
        Section::Priority => {
            let p = &rules.priority;
            let share = |x: &str| {
                format!("CAST(rank() OVER (ORDER BY {x}) - 1 AS {double}) / count(*) OVER ()")
            };
            format!(
                "{common},
in_pool AS (SELECT * FROM returns WHERE next_spell IS NULL),
recent_followups AS (
  SELECT f.customer_id, count(*) AS n FROM fu f CROSS JOIN now
  WHERE f.ms >= now.ms - {activity_ms} GROUP BY f.customer_id
),
recent_days AS (
  SELECT b.customer_id, count(DISTINCT b.order_date) AS n FROM base b CROSS JOIN as_of
  WHERE b.order_date >= {from_day} GROUP BY b.customer_id
),
values_to_date AS (
  SELECT customer_id, round(sum(net), 2) AS value FROM base GROUP BY customer_id
),
measured AS (
  SELECT r.customer_id, r.pool, r.previous_owner, r.returned_at,
         {waited} AS days_in_pool,
         CAST(coalesce(f.n, 0) + coalesce(o.n, 0) AS {double}) AS recent_activity,
         CAST(coalesce(v.value, 0) AS {double}) AS past_value
  FROM in_pool r CROSS JOIN now
  LEFT JOIN recent_followups f ON f.customer_id = r.customer_id
  LEFT JOIN recent_days o ON o.customer_id = r.customer_id
  LEFT JOIN values_to_date v ON v.customer_id = r.customer_id
),
scored AS (
  SELECT m.*,
         {score} AS score
  FROM (
    SELECT measured.*, {share_activity} AS pa, {share_value} AS pv, {share_waited} AS pw
    FROM measured
  ) m
)
SELECT row_number() OVER (ORDER BY score DESC, {customer}) AS rank, customer_id, pool,
       previous_owner, returned_at AS in_pool_since, days_in_pool, recent_activity, past_value,
       score
FROM scored
ORDER BY score DESC, {customer}",
                activity_ms = Day::new(p.activity_days).start_ms(),
                from_day = d.plus_days("as_of.d", -p.activity_days),
                waited = days_since("r.at_ms", 2),
                share_activity = share("recent_activity"),
                share_value = share("past_value"),
                share_waited = share("days_in_pool"),
                score = round_to(
                    d,
                    &format!(
                        "{} * m.pa + {} * m.pv + {} * m.pw",
                        weight(d, p.recent_activity),
                        weight(d, p.past_value),
                        weight(d, p.time_in_pool)
                    ),
                    6
                ),
                customer = d.bytewise("customer_id"),
            )
        }
        Section::Health => {
            let mut keys = Vec::new();
            if by_pool {
                keys.push("pool");
            }
            if s.customer_groups.is_some() {
                keys.push("customer");
            }
            let groups = GroupSql::new(d, &keys, s.customer_groups.as_ref(), &s.mappings);
            let grouped_rows = groups.from("rows_in");
            let GroupSql {
                list,
                alls,
                select,
                order,
                ctes: customer_ctes,
                ..
            } = groups;
            format!(
                "{common},
spans AS (
  SELECT spells.*,
         CASE WHEN {window_after} < cover_end THEN {window_after} ELSE cover_end END AS until
  FROM spells
),
{window_ctes},
rows_in AS (
  SELECT s.customer_id, s.pool, 1 AS spell, 0 AS returned, 0 AS in_pool, CAST(NULL AS {double}) AS wait,
         CASE WHEN s.start_event = 'claim' AND sp.matured = 1 THEN 1 ELSE 0 END AS claim_matured,
         CASE WHEN s.start_event = 'claim' AND sp.matured = 1 AND f.first_day IS NOT NULL
              THEN 1 ELSE 0 END AS claim_won
  FROM spell_rows s JOIN spans sp ON sp.spell = s.spell LEFT JOIN firsts f ON f.spell = s.spell
  UNION ALL
  SELECT r.customer_id, r.pool, 0, 1, CASE WHEN r.next_spell IS NULL THEN 1 ELSE 0 END,
         CAST(n.start_ms - r.at_ms AS {double}) / {DAY_MS}, 0, 0
  FROM returns r LEFT JOIN spell_rows n ON n.spell = r.next_spell
){customer_ctes},
g AS (
  SELECT 0 AS is_all, {list}, sum(spell) AS spells, sum(returned) AS returns,
         sum(in_pool) AS in_pool_now, {median} AS median_wait,
         sum(claim_matured) AS claims_matured, sum(claim_won) AS claims_won
  FROM {grouped_rows} GROUP BY {list}
  UNION ALL
  SELECT 1, {alls}, sum(spell), sum(returned), sum(in_pool), {median}, sum(claim_matured),
         sum(claim_won)
  FROM rows_in
)
SELECT {select}g.spells, g.returns,
       CASE WHEN g.spells > 0 THEN {recycle} END AS recycle_rate, g.in_pool_now,
       {median_days} AS median_days_in_pool, g.claims_matured,
       CASE WHEN g.claims_matured > 0 THEN {win} END AS claim_to_win_rate
FROM g ORDER BY g.is_all{order}",
                window_after = d.plus_days("start_day", window + 1),
                window_ctes = window_ctes("spell"),
                median = d.median("wait"),
                recycle = round4(&format!("CAST(g.returns AS {double}) / g.spells")),
                median_days = round_to(d, "g.median_wait", 2),
                win = round4(&format!(
                    "CAST(g.claims_won AS {double}) / g.claims_matured"
                )),
            )
        }
    }
}
