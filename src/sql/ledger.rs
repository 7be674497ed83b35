//! The purchase rule (docs/metrics.md, "Orders and purchases") as SQL, written once: every
//! query starts from these common table expressions, as every command starts from the ledger.

use super::dialect::quote;
use super::source::{relation, Source};
use crate::input::schema::{Role, TableKind};

/// docs/metrics.md "Orders and purchases" as common table expressions: `orders_in` (and
/// `events_in`: the inputs as [`relation`]s), `as_of` (one row, `d`),
/// `base` (order rows before as_of with their exact net; cancelled and unpaid rows dropped,
/// refunded positive amounts negated), `spend` (net spend per customer), `purchases`
/// (customer_id, order_date, net of every purchase: the rows of one order ID, or a row without
/// one, with a positive net — dated by the earliest positive row — or a zero net and no refund
/// row — dated by the earliest row; its order_id, and the row's owner for a row without one).
pub fn ledger_ctes(s: &Source) -> String {
    let d = s.dialect;
    let as_of = match &s.as_of {
        Some(day) => format!("SELECT DATE {} AS d", quote(day)),
        None => match &s.events {
            None => format!(
                "SELECT {} AS d FROM orders_in",
                d.plus_days("max(order_date)", 1),
            ),
            Some(_) => match &s.followups {
                None => format!(
                    "SELECT {} AS d FROM (SELECT max(order_date) AS o FROM orders_in) mo CROSS JOIN \
                     (SELECT max(CAST(event_time AS DATE)) AS e FROM events_in) me",
                    d.plus_days("greatest(mo.o, coalesce(me.e, mo.o))", 1),
                ),
                Some(_) => format!(
                    "SELECT {} AS d FROM (SELECT max(order_date) AS o FROM orders_in) mo CROSS JOIN \
                     (SELECT max(CAST(event_time AS DATE)) AS e FROM events_in) me CROSS JOIN \
                     (SELECT max(CAST(followup_time AS DATE)) AS f FROM followups_in) mf",
                    d.plus_days(
                        "greatest(mo.o, coalesce(me.e, mo.o), coalesce(mf.f, mo.o))",
                        1
                    ),
                ),
            },
        },
    };
    let mut events = match s.events_relation() {
        Some(events) => format!("\nevents_in AS ({events}),"),
        None => String::new(),
    };
    if let Some(table) = &s.followups {
        let followups = relation(
            d,
            TableKind::Followups,
            table,
            &[Role::CustomerId, Role::FollowupTime],
            &[],
            &s.mappings,
        );
        events.push_str(&format!("\nfollowups_in AS ({followups}),"));
    }
    let owner = if s.order_owner {
        "nullif(trim(o.owner), '')".to_string()
    } else {
        format!("CAST(NULL AS {})", d.text())
    };
    // A row's margin, signed as its net (a refunded positive margin counts negative).
    let margin = if s.order_margin {
        let raw = match s.margin_role() {
            Role::Cost => {
                "(CAST(o.amount AS DECIMAL(18, 4)) - coalesce(CAST(o.cost AS DECIMAL(18, 4)), 0))"
            }
            _ => "coalesce(CAST(o.margin AS DECIMAL(18, 4)), 0)",
        };
        format!(
            ",\n         CASE WHEN o.status = 'refunded' AND {raw} > 0 THEN -{raw} ELSE {raw} END AS margin"
        )
    } else {
        String::new()
    };
    format!(
        "orders_in AS ({orders}),{events}
as_of AS ({as_of}),
base AS (
  SELECT o.customer_id, o.order_id, o.order_date,
         CASE WHEN o.status = 'refunded' AND o.amount > 0 THEN -CAST(o.amount AS DECIMAL(18, 4))
              ELSE CAST(o.amount AS DECIMAL(18, 4)) END AS net,
         CASE WHEN o.status = 'refunded' THEN 1 ELSE 0 END AS refunded_status,
         {owner} AS owner{margin}
  FROM orders_in o CROSS JOIN as_of
  WHERE (o.status IS NULL OR o.status NOT IN ('cancelled', 'unpaid')) AND o.order_date < as_of.d
),
spend AS (SELECT customer_id, sum(net) AS monetary FROM base GROUP BY customer_id),
purchases AS (
  SELECT customer_id,
         CASE WHEN sum(net) > 0 THEN min(CASE WHEN net > 0 THEN order_date END)
              ELSE min(order_date) END AS order_date,
         sum(net) AS net, order_id, CAST(NULL AS {text}) AS owner
  FROM base WHERE order_id IS NOT NULL GROUP BY customer_id, order_id
  HAVING sum(net) > 0
      OR (sum(net) = 0 AND max(CASE WHEN refunded_status = 1 OR net < 0 THEN 1 ELSE 0 END) = 0)
  UNION ALL
  SELECT customer_id, order_date, net, order_id, owner FROM base
  WHERE order_id IS NULL AND (net > 0 OR (net = 0 AND refunded_status = 0))
)",
        orders = s.orders_relation(),
        text = d.text(),
    )
}
