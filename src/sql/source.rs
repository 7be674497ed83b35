//! The inputs of a query: tables or views by name, their columns under the export's headers
//! (`--map`, the config), words mapped to the canonical ones as the input layer maps them.

use super::dialect::{quote, quote_ident, Dialect};
use super::shared::CustomerColumns;
use crate::input::schema::{mapping, MapEntry, Role, TableKind};
use crate::input::values::OrderStatus;
use crate::metrics::nps::SurveyKind;
use crate::metrics::ownership::EventKind;

/// A text column's words mapped to the canonical ones as the input layer maps them (trimmed,
/// lowercased, then the word lists of `words`); other words stay (lowercased), empty is NULL.
pub(super) fn canonical_words(column: &str, words: &[(&str, &[&str])]) -> String {
    let cell = format!("lower(trim({column}))");
    let arms: Vec<String> = words
        .iter()
        .map(|(name, list)| {
            let list: Vec<String> = list.iter().map(|w| quote(w)).collect();
            format!("WHEN {cell} IN ({}) THEN {}", list.join(", "), quote(name))
        })
        .collect();
    format!("CASE {} ELSE nullif({cell}, '') END", arms.join(" "))
}

/// The table `table` as a relation whose columns are `roles` by their role names, for the
/// queries to read (docs/metrics.md "SQL"): a role's column is the header `--map` or the
/// config names for it in a `kind` table (the input layer's rule, `schema::mapping`), else the
/// role's own name; status, event and survey words are mapped to the canonical ones from the
/// input layer's word lists. `extra` columns pass through by name (the events' `seq`).
pub fn relation(
    d: Dialect,
    kind: TableKind,
    table: &str,
    roles: &[Role],
    extra: &[&str],
    mappings: &[MapEntry],
) -> String {
    let mut columns: Vec<String> = roles
        .iter()
        .map(|&role| {
            let column = match mapping(mappings, kind, role) {
                Some(entry) => quote_ident(d, entry.header.trim()),
                None => role.name().to_string(),
            };
            let value = match role {
                Role::Status => {
                    canonical_words(&column, &words_of(&OrderStatus::WORDS, |s| s.as_str()))
                }
                Role::Event => canonical_words(&column, &words_of(&EventKind::WORDS, |k| k.name())),
                Role::Survey => {
                    canonical_words(&column, &words_of(&SurveyKind::WORDS, |k| k.name()))
                }
                _ => column,
            };
            if value == role.name() {
                value
            } else {
                format!("{value} AS {}", role.name())
            }
        })
        .collect();
    columns.extend(extra.iter().map(|c| c.to_string()));
    format!("SELECT {} FROM {table}", columns.join(", "))
}

pub(super) fn words_of<K: Copy>(
    words: &[(K, &'static [&'static str])],
    name: impl Fn(K) -> &'static str,
) -> Vec<(&'static str, &'static [&'static str])> {
    words.iter().map(|(k, list)| (name(*k), *list)).collect()
}

/// The inputs and the analysis date of a query.
#[derive(Debug, Clone)]
pub struct Source {
    pub dialect: Dialect,
    /// The orders table or view (customer_id, order_id, order_date, amount, status, and owner
    /// when `order_owner`), read as a [`relation`].
    pub orders: String,
    /// Whether the queries read the orders' owner column.
    pub order_owner: bool,
    /// Whether the queries read the orders' margin (a `margin` column, or amount − `cost` when
    /// `--map`/config names a cost column and no margin column): `base` then has `margin`.
    pub order_margin: bool,
    /// `YYYY-MM-DD`, or None for the day after the latest order date (or event day, with
    /// `events`).
    pub as_of: Option<String>,
    /// The ownership events table or view (customer_id, event_time TIMESTAMP, event, owner,
    /// seq), whose latest day also sets the default as_of, as `conversion` and `recovery` take
    /// it.
    pub events: Option<String>,
    /// Event columns read beside customer_id, event_time, event and owner (reason, pool).
    pub event_extra: Vec<Role>,
    /// Customers-file columns to group by (conversion and recovery `--by`).
    pub customer_groups: Option<CustomerColumns>,
    /// The follow-ups table or view (customer_id, followup_time TIMESTAMP), read as
    /// `followups_in`; its latest day also sets the default as_of, as `pool` takes it.
    pub followups: Option<String>,
    /// The `--map`/config column names.
    pub mappings: Vec<MapEntry>,
    /// Optional orders columns the table does not have (`--like` found none): read as NULL, so
    /// a missing status makes every row paid and a missing order ID makes each row an order,
    /// as the command reads such an export.
    pub orders_absent: Vec<Role>,
    /// An orders table of invoice lines without an amount column: the amount is quantity × unit
    /// price, less the discount (docs/metrics.md, "Line items"), computed in `orders_in`.
    pub line_items: Option<LineItems>,
    /// The orders table's invoice numbers may mark cancellations (`C536379`): the step of
    /// `ledger::cancel` runs in `orders_in`; with `true`, a product column links by product.
    pub cancellations: Option<bool>,
}

/// How an invoice-line table's amount is made: `Some(kind)` when it has a discount column.
#[derive(Debug, Clone, Copy)]
pub struct LineItems {
    pub discount: Option<crate::input::lines::DiscountKind>,
}

impl Source {
    pub fn new(
        dialect: Dialect,
        orders: &str,
        events: Option<&str>,
        as_of: Option<String>,
        mappings: Vec<MapEntry>,
    ) -> Source {
        Source {
            dialect,
            orders: orders.to_string(),
            order_owner: false,
            order_margin: false,
            event_extra: Vec::new(),
            followups: None,
            customer_groups: None,
            as_of,
            events: events.map(str::to_string),
            mappings,
            orders_absent: Vec::new(),
            line_items: None,
            cancellations: None,
        }
    }

    /// The orders relation.
    pub(super) fn orders_relation(&self) -> String {
        let mut roles = vec![
            Role::CustomerId,
            Role::OrderId,
            Role::OrderDate,
            Role::Amount,
            Role::Status,
        ];
        roles.extend(self.order_owner.then_some(Role::Owner));
        roles.extend(self.order_margin.then_some(self.margin_role()));
        let (d, maps) = (self.dialect, &self.mappings);
        let nulls: Vec<String> = roles
            .iter()
            .filter(|r| self.orders_absent.contains(r))
            .map(|r| format!("CAST(NULL AS {}) AS {}", d.text(), r.name()))
            .collect();
        roles.retain(|r| !self.orders_absent.contains(r));
        let nulls: Vec<&str> = nulls.iter().map(String::as_str).collect();
        roles.extend(self.cancellations.filter(|p| *p).map(|_| Role::Product));
        let rows = match self.line_items {
            None => relation(d, TableKind::Orders, &self.orders, &roles, &nulls, maps),
            Some(lines) => line_amounts(d, &self.orders, roles.clone(), &nulls, maps, lines),
        };
        match self.cancellations {
            None => rows,
            Some(by_product) => {
                let extra: Vec<&str> = roles
                    .iter()
                    .filter(|r| matches!(r, Role::Owner | Role::Margin | Role::Cost))
                    .map(|r| r.name())
                    .collect();
                super::cancel::linked(d, &rows, by_product, &extra)
            }
        }
    }
}

/// Invoice lines: the amount from quantity × unit price less the discount, each product rounded
/// to 1/10,000 half away from zero, as `input::lines::line_amounts`.
fn line_amounts(
    d: Dialect,
    table: &str,
    mut roles: Vec<Role>,
    nulls: &[&str],
    maps: &[MapEntry],
    lines: LineItems,
) -> String {
    {
        roles.retain(|r| *r != Role::Amount);
        roles.extend([Role::Quantity, Role::UnitPrice]);
        roles.extend(lines.discount.map(|_| Role::Discount));
        let inner = relation(d, TableKind::Orders, table, &roles, nulls, maps);
        let dec = |c: &str| format!("CAST({c} AS DECIMAL(18, 4))");
        let gross = format!(
            "round({} * {}, 4)",
            dec("li.quantity"),
            dec("li.unit_price")
        );
        let off = format!("coalesce({}, 0)", dec("li.discount"));
        let rate = format!("round({gross} * (1 - {off}), 4)");
        let amount_off = format!("({gross} - {off})");
        use crate::input::lines::DiscountKind;
        let (amount, kind_join) = match lines.discount {
            None => (gross, String::new()),
            Some(DiscountKind::Rate) => (rate, String::new()),
            Some(DiscountKind::Amount) => (amount_off, String::new()),
            // A rate when every discount of the table lies between 0 and 1, an amount otherwise.
            Some(DiscountKind::Auto) => (
                format!("CASE WHEN dk.all_rates = 1 THEN {rate} ELSE {amount_off} END"),
                format!(
                    " CROSS JOIN (SELECT min(CASE WHEN discount IS NULL OR ({d} >= 0 AND \
                     {d} <= 1) THEN 1 ELSE 0 END) AS all_rates FROM ({inner}) x) dk",
                    d = dec("discount")
                ),
            ),
        };
        format!("SELECT li.*, {amount} AS amount FROM ({inner}) li{kind_join}")
    }
}

impl Source {
    /// Where the margin comes from: the margin column, or the cost column when only that one
    /// is named (the input layer's order: margin first).
    pub(super) fn margin_role(&self) -> Role {
        let named = |role| mapping(&self.mappings, TableKind::Orders, role).is_some();
        if named(Role::Cost) && !named(Role::Margin) {
            Role::Cost
        } else {
            Role::Margin
        }
    }

    /// The events relation, when there is an events table.
    pub(super) fn events_relation(&self) -> Option<String> {
        let mut roles = vec![Role::CustomerId, Role::EventTime, Role::Event, Role::Owner];
        roles.extend(&self.event_extra);
        let (d, maps) = (self.dialect, &self.mappings);
        let table = self.events.as_deref()?;
        Some(relation(
            d,
            TableKind::Events,
            table,
            &roles,
            &["seq"],
            maps,
        ))
    }

    /// The source with an events table: `events` unless one was named.
    pub(super) fn with_events(&self) -> Source {
        let mut s = self.clone();
        s.events.get_or_insert_with(|| "events".to_string());
        s
    }

    /// A customers table as a relation of its customer_id.
    pub fn customers(&self, table: &str) -> String {
        relation(
            self.dialect,
            TableKind::Customers,
            table,
            &[Role::CustomerId],
            &[],
            &self.mappings,
        )
    }
}
