//! `crm-eval sql recovery`.

use super::*;

/// `crm-eval recovery` by owner (docs/metrics.md "Recovery"). With an events table
/// (`churn_days` None) an episode is a recycle or release; its recovery start is the customer's
/// next spell start (the first spell row after it in (time, seq) order), its owner that spell's
/// owner, `(pool)` when none. With `churn_days` an episode is a purchase day with no next
/// purchase within churn_days (and the churn day before as_of), starting on the churn day, its
/// owner the owner of the day's last purchase (rule 6 of "Orders and purchases": the largest
/// net, then the greatest owner, no owner greatest), empty when none. Matured: (recovery start,
/// or the return day) + window < as_of; recovered when a purchase falls in [start, start +
/// window] while the spell covers it; value = net of the order rows there (rounded to cents per
/// episode); loyalty judged when first purchase + window < as_of, repurchased when another
/// purchase follows within the window. One row per group of `by` (owner: the recovering owner;
/// previous_owner: the owner of the spell the return ended, else the return row's; reason and
/// pool of the return row — `churned` and empty for churn —; month: of the return or churn day),
/// in byte order, then `all`.
pub fn recovery(s: &Source, window: i32, churn_days: Option<i32>, by: &[RecoveryGroup]) -> String {
    let d = s.dialect;
    let double = d.double();
    let grouped = |g| by.contains(&g);
    let text_or_empty = |grouped: bool, column: &str| {
        if grouped {
            format!("coalesce(trim(r.{column}), '')")
        } else {
            "''".to_string()
        }
    };
    let episodes = match churn_days {
        None => format!(
            "{spells},
episodes AS (
  SELECT r.ord, r.customer_id, r.day, sp.spell, sp.owner, sp.start_day, sp.cover_end,
         r.previous_owner, {reason} AS reason, {pool} AS pool
  FROM nexts r
  LEFT JOIN spells sp ON sp.spell = r.next_spell
  WHERE r.event IN ('recycle', 'release')
)",
            spells = spell_ctes(d, window),
            reason = text_or_empty(grouped(RecoveryGroup::Reason), "reason"),
            pool = text_or_empty(grouped(RecoveryGroup::Pool), "pool"),
        ),
        Some(days) => format!(
            "purchase_owners AS (
  SELECT p.customer_id, p.order_date, p.net, min({b_owner}) AS owner
  FROM purchases p JOIN base b ON b.customer_id = p.customer_id AND b.order_id = p.order_id
   AND b.order_date = p.order_date AND (b.net > 0 OR p.net = 0)
  WHERE p.order_id IS NOT NULL
  GROUP BY p.customer_id, p.order_id, p.order_date, p.net
  UNION ALL
  SELECT customer_id, order_date, net, owner FROM purchases WHERE order_id IS NULL
),
purchase_days AS (
  SELECT customer_id, order_date AS day, owner,
         lead(order_date) OVER (PARTITION BY customer_id ORDER BY order_date) AS next_day
  FROM (
    SELECT customer_id, order_date, owner,
           row_number() OVER (PARTITION BY customer_id, order_date
                              ORDER BY net DESC, {owner} DESC NULLS FIRST) AS k
    FROM purchase_owners
  ) x
  WHERE k = 1
),
episodes AS (
  SELECT row_number() OVER (ORDER BY customer_id, day) AS ord, customer_id, {churn} AS day,
         1 AS spell, coalesce(owner, '') AS owner, {churn} AS start_day,
         CAST(NULL AS DATE) AS cover_end, coalesce(owner, '') AS previous_owner,
         'churned' AS reason, '' AS pool
  FROM purchase_days CROSS JOIN as_of
  WHERE coalesce(next_day, as_of.d) > {churn} AND {churn} < as_of.d
)",
            b_owner = d.bytewise("b.owner"),
            owner = d.bytewise("owner"),
            churn = d.plus_days("day", days),
        ),
    };
    let s = &if churn_days.is_some() {
        Source {
            order_owner: true,
            ..s.clone()
        }
    } else {
        let mut s = s.with_events();
        s.event_extra = [
            (RecoveryGroup::Reason, Role::Reason),
            (RecoveryGroup::Pool, Role::Pool),
        ]
        .iter()
        .filter(|(g, _)| grouped(*g))
        .map(|(_, role)| *role)
        .collect();
        s
    };
    // The command's exact average of cents, half away from zero: the double quotient is within
    // 1e-10 of the exact one, so through DECIMAL(38, 10) a half cent (403.765, a double just
    // below it) rounds up as the exact quotient does.
    let per_recovered = format!(
        "CAST(round(CAST(CAST(g.value AS {double}) / g.recovered AS DECIMAL(38, 10)), 2) AS {double})"
    );
    // The group columns, in the order given (the command's `--by`).
    let keys: Vec<&str> = by
        .iter()
        .map(|g| match g {
            RecoveryGroup::Customer => "customer",
            _ => g.name(),
        })
        .collect();
    let groups = GroupSql::new(d, &keys, s.customer_groups.as_ref(), &s.mappings);
    let grouped_rows = groups.from("scored");
    let GroupSql {
        list: key_list,
        alls,
        join: key_join,
        select: key_select,
        order: key_order,
        ctes: customer_ctes,
        ..
    } = groups;
    let reclaimed = if churn_days.is_some() {
        ""
    } else {
        " g.reclaimed,"
    };
    format!(
        "WITH {ledger},
{episodes},
spans AS (
  SELECT episodes.*,
         CASE WHEN {from_window} < as_of.d THEN 1 ELSE 0 END AS matured,
         CASE WHEN cover_end IS NULL OR {window_after} < cover_end THEN {window_after}
              ELSE cover_end END AS until
  FROM episodes CROSS JOIN as_of
),
{window_ctes},
outcomes AS (
  SELECT e.ord, e.customer_id, e.matured,
         CASE WHEN e.spell IS NULL THEN '(pool)' ELSE e.owner END AS owner,
         e.previous_owner, e.reason, e.pool, {month} AS month,
         CASE WHEN e.matured = 1 AND e.spell IS NOT NULL THEN 1 ELSE 0 END AS reclaimed,
         CASE WHEN e.matured = 1 AND f.first_day IS NOT NULL THEN 1 ELSE 0 END AS recovered,
         CASE WHEN e.matured = 1 AND f.first_day IS NOT NULL
              THEN CAST({days} AS {double}) END AS days,
         CASE WHEN e.matured = 1 AND f.first_day IS NOT NULL
              THEN coalesce(v.value, 0) ELSE 0 END AS value,
         CASE WHEN e.matured = 1 AND f.first_day IS NOT NULL AND {judged} < as_of.d
              THEN 1 ELSE 0 END AS judged,
         f.first_day
  FROM spans e CROSS JOIN as_of
  LEFT JOIN firsts f ON f.ord = e.ord LEFT JOIN window_value v ON v.ord = e.ord
),
loyal AS (
  SELECT o.ord, max(CASE WHEN p.order_date > o.first_day AND p.order_date <= {loyal_end}
                         THEN 1 ELSE 0 END) AS repurchased
  FROM outcomes o JOIN purchases p ON p.customer_id = o.customer_id
  WHERE o.judged = 1
  GROUP BY o.ord
),
scored AS (
  SELECT o.*, coalesce(l.repurchased, 0) AS repurchased
  FROM outcomes o LEFT JOIN loyal l ON l.ord = o.ord
){customer_ctes},
groups AS (
  SELECT 0 AS is_all, {key_list}, count(*) AS episodes, sum(matured) AS matured,
         sum(reclaimed) AS reclaimed, sum(recovered) AS recovered, {median} AS median_days,
         sum(value) AS value, sum(judged) AS loyalty_base, sum(repurchased) AS repurchased
  FROM {grouped_rows} GROUP BY {key_list}
  UNION ALL
  SELECT 1, {alls}, count(*), sum(matured), sum(reclaimed), sum(recovered), {median},
         sum(value), sum(judged), sum(repurchased)
  FROM scored
),
rates AS (
  SELECT groups.*, CAST(recovered AS {double}) / matured AS p, CAST(matured AS {double}) AS n
  FROM groups WHERE matured > 0
),
wilson AS (SELECT rates.*, {wilson} FROM rates)
SELECT {key_select}g.episodes, g.matured, g.episodes - g.matured AS immature,{reclaimed}
       g.recovered, {rate} AS recovery_rate, {low} AS ci_low, {high} AS ci_high,
       g.median_days AS median_days_to_recovery,
       CAST(round(g.value, 2) AS {double}) AS value_added,
       CASE WHEN g.recovered > 0
            THEN {per_recovered} END AS value_per_recovered,
       g.loyalty_base, g.repurchased,
       CASE WHEN g.loyalty_base > 0
            THEN {loyalty} END AS loyalty_rate
FROM groups g LEFT JOIN wilson w ON w.is_all = g.is_all{key_join}
ORDER BY g.is_all{key_order}",
        ledger = ledger_ctes(s),
        window_ctes = window_ctes("ord"),
        month = d.period_label(Period::Month, &d.period_index(Period::Month, "e.day")),
        from_window = d.plus_days("coalesce(start_day, day)", window),
        window_after = d.plus_days("start_day", window + 1),
        days = d.days_between("f.first_day", "e.start_day"),
        judged = d.plus_days("f.first_day", window),
        loyal_end = d.plus_days("o.first_day", window),
        median = d.median("days"),
        rate = round4("w.p"),
        low = wilson_bound("greatest(w.centre - w.half, 0)"),
        high = wilson_bound("least(w.centre + w.half, 1)"),
        loyalty = round4(&format!("CAST(g.repurchased AS {double}) / g.loyalty_base")),
        per_recovered = per_recovered,
        wilson = wilson_columns(),
    )
}
