//! The canonical tables, their column roles and the header synonyms each role is recognised by.
//!
//! A role is what a column means (the customer, the order date, the amount); the header is what a
//! particular CRM calls it (`客户编号`, `Customer ID`, `owner_user_id`). Headers are compared after
//! [`normalise_header`], so `Customer ID`, `customer_id` and `CUSTOMER-ID` are one name.

use std::fmt;

mod resolve;
mod synonyms;

pub use resolve::{
    guess_kind, mapping, normalise_header, resolve, resolve_partial, Binding, MapEntry,
    ResolveError, HEADER_PUNCTUATION, WHITE_SPACE,
};

/// What a column means, independent of what the export calls it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    CustomerId,
    OrderId,
    OrderDate,
    Amount,
    Status,
    Owner,
    Channel,
    Margin,
    Cost,
    CreatedAt,
    Source,
    Stage,
    Region,
    Industry,
    AssignedAt,
    EventTime,
    Event,
    Reason,
    Pool,
    FollowupTime,
    ResponseDate,
    Score,
    /// Which survey a response belongs to (nps / csat).
    Survey,
    OpportunityId,
    /// When an opportunity was closed (won, lost or invalid).
    ClosedAt,
    /// Salesforce `IsWon`: whether a closed opportunity was won.
    Won,
    /// Salesforce `IsClosed`: whether an opportunity is closed.
    Closed,
    /// WukongCRM `is_end` and the like: an outcome code or word (0 open, 1 won, 2 lost,
    /// 3 invalid; 赢单 / 输单 / 无效).
    Outcome,
    Product,
    /// When an opportunity entered a stage (stage history).
    EnteredAt,
    /// An owner's team (teams file).
    Team,
    Manager,
    /// Units on an order line (line-item exports): with `unit_price`, the amount when the file
    /// has no amount column.
    Quantity,
    UnitPrice,
    /// A line's discount: a fraction of quantity × unit price, or an amount (see
    /// [`crate::input::DiscountKind`]).
    Discount,
    /// When a subscription or contract began (subscriptions file).
    StartDate,
    /// When a subscription ended (cancelled, churned, not renewed); empty while it is active.
    EndDate,
    /// How many whole periods a subscriber has been with the company (Telco's `tenure`).
    Tenure,
    /// Whether a subscriber has left (Telco's `Churn` Yes/No).
    Churned,
    /// The plan or contract type of a subscription (Telco's `Contract`).
    Plan,
    /// The recurring amount a subscriber pays each period (MRR for months).
    Mrr,
}

/// How a role's cells are coerced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// An identifier: kept as text, trimmed; numbers are written without a decimal part.
    Id,
    /// Free text, trimmed.
    Text,
    /// A calendar day (polars `Date`).
    Date,
    /// A timestamp to the millisecond (polars `Datetime(ms)`).
    DateTime,
    /// Money (exact `Int64` units of 1/10,000, see `crate::money`), with currency symbols, separators and negatives understood.
    Money,
    /// A plain number (`f64`), such as a survey score.
    Number,
    /// An order status normalised to paid / refunded / cancelled / unpaid.
    Status,
    /// Yes or no (true/false, 1/0, 是/否), as polars `Boolean`.
    Flag,
    /// A whole number of periods, 0 or more (`Int64`), such as a tenure in months.
    Count,
}

pub const ALL_ROLES: [Role; 41] = [
    Role::CustomerId,
    Role::OrderId,
    Role::OrderDate,
    Role::Amount,
    Role::Status,
    Role::Owner,
    Role::Channel,
    Role::Margin,
    Role::Cost,
    Role::CreatedAt,
    Role::Source,
    Role::Stage,
    Role::Region,
    Role::Industry,
    Role::AssignedAt,
    Role::EventTime,
    Role::Event,
    Role::Reason,
    Role::Pool,
    Role::FollowupTime,
    Role::ResponseDate,
    Role::Score,
    Role::Survey,
    Role::OpportunityId,
    Role::ClosedAt,
    Role::Won,
    Role::Closed,
    Role::Outcome,
    Role::Product,
    Role::EnteredAt,
    Role::Team,
    Role::Manager,
    Role::Quantity,
    Role::UnitPrice,
    Role::Discount,
    Role::StartDate,
    Role::EndDate,
    Role::Tenure,
    Role::Churned,
    Role::Plan,
    Role::Mrr,
];

impl Role {
    /// The canonical snake_case column name, used in `--map` and in every output.
    pub fn name(self) -> &'static str {
        match self {
            Role::CustomerId => "customer_id",
            Role::OrderId => "order_id",
            Role::OrderDate => "order_date",
            Role::Amount => "amount",
            Role::Status => "status",
            Role::Owner => "owner",
            Role::Channel => "channel",
            Role::Margin => "margin",
            Role::Cost => "cost",
            Role::CreatedAt => "created_at",
            Role::Source => "source",
            Role::Stage => "stage",
            Role::Region => "region",
            Role::Industry => "industry",
            Role::AssignedAt => "assigned_at",
            Role::EventTime => "event_time",
            Role::Event => "event",
            Role::Reason => "reason",
            Role::Pool => "pool",
            Role::FollowupTime => "followup_time",
            Role::ResponseDate => "response_date",
            Role::Score => "score",
            Role::Survey => "survey",
            Role::OpportunityId => "opportunity_id",
            Role::ClosedAt => "closed_at",
            Role::Won => "won",
            Role::Closed => "closed",
            Role::Outcome => "outcome",
            Role::Product => "product",
            Role::EnteredAt => "entered_at",
            Role::Team => "team",
            Role::Manager => "manager",
            Role::Quantity => "quantity",
            Role::UnitPrice => "unit_price",
            Role::Discount => "discount",
            Role::StartDate => "start_date",
            Role::EndDate => "end_date",
            Role::Tenure => "tenure",
            Role::Churned => "churned",
            Role::Plan => "plan",
            Role::Mrr => "mrr",
        }
    }

    pub fn from_name(name: &str) -> Option<Role> {
        let wanted = name.trim().to_ascii_lowercase();
        ALL_ROLES.into_iter().find(|r| r.name() == wanted)
    }

    pub fn kind(self) -> ValueKind {
        match self {
            Role::CustomerId | Role::OrderId | Role::Owner | Role::OpportunityId => ValueKind::Id,
            Role::OrderDate
            | Role::ResponseDate
            | Role::ClosedAt
            | Role::StartDate
            | Role::EndDate => ValueKind::Date,
            Role::Tenure => ValueKind::Count,
            Role::CreatedAt
            | Role::AssignedAt
            | Role::EventTime
            | Role::FollowupTime
            | Role::EnteredAt => ValueKind::DateTime,
            Role::Won | Role::Closed | Role::Churned => ValueKind::Flag,
            // Quantities are exact to 1/10,000 like money, so quantity × price is exact.
            Role::Amount
            | Role::Margin
            | Role::Cost
            | Role::Quantity
            | Role::UnitPrice
            | Role::Discount
            | Role::Mrr => ValueKind::Money,
            Role::Score => ValueKind::Number,
            Role::Status => ValueKind::Status,
            Role::Channel
            | Role::Source
            | Role::Stage
            | Role::Region
            | Role::Industry
            | Role::Event
            | Role::Reason
            | Role::Pool
            | Role::Survey
            | Role::Outcome
            | Role::Product
            | Role::Team
            | Role::Manager
            | Role::Plan => ValueKind::Text,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kinds of export crm-eval reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TableKind {
    Orders,
    Customers,
    Events,
    Followups,
    Surveys,
    Opportunities,
    StageHistory,
    Teams,
    /// One row per subscription or contract: start and end, or tenure and a churned flag.
    Subscriptions,
}

pub const ALL_TABLES: [TableKind; 9] = [
    TableKind::Orders,
    TableKind::Customers,
    TableKind::Events,
    TableKind::Followups,
    TableKind::Surveys,
    TableKind::Opportunities,
    TableKind::StageHistory,
    TableKind::Teams,
    TableKind::Subscriptions,
];

impl TableKind {
    pub fn name(self) -> &'static str {
        match self {
            TableKind::Orders => "orders",
            TableKind::Customers => "customers",
            TableKind::Events => "events",
            TableKind::Followups => "followups",
            TableKind::Surveys => "surveys",
            TableKind::Opportunities => "opportunities",
            TableKind::StageHistory => "history",
            TableKind::Teams => "teams",
            TableKind::Subscriptions => "subscriptions",
        }
    }

    pub fn from_name(name: &str) -> Option<TableKind> {
        ALL_TABLES
            .into_iter()
            .find(|t| t.name() == name.trim().to_ascii_lowercase())
    }

    /// Roles without which no analysis of this table can run.
    pub fn required(self) -> &'static [Role] {
        match self {
            TableKind::Orders => &[Role::CustomerId, Role::OrderDate, Role::Amount],
            TableKind::Customers => &[Role::CustomerId],
            TableKind::Events => &[Role::CustomerId, Role::EventTime, Role::Event],
            TableKind::Followups => &[Role::CustomerId, Role::FollowupTime],
            TableKind::Surveys => &[Role::Score],
            TableKind::Opportunities => &[Role::OpportunityId, Role::Stage, Role::CreatedAt],
            TableKind::StageHistory => &[Role::OpportunityId, Role::Stage, Role::EnteredAt],
            TableKind::Teams => &[Role::Owner],
            // And either a start date or a tenure (checked by `retention`).
            TableKind::Subscriptions => &[Role::CustomerId],
        }
    }

    /// Required roles whose cells may be empty in some rows (the analysis leaves those rows out
    /// and counts them): an opportunity not yet engaged has no created date in some CRMs
    /// (Maven Analytics' pipeline export leaves `engage_date` empty for its Prospecting deals).
    pub fn may_be_empty(self) -> &'static [Role] {
        match self {
            TableKind::Opportunities => &[Role::CreatedAt],
            _ => &[],
        }
    }

    /// Roles read when present.
    pub fn optional(self) -> &'static [Role] {
        match self {
            TableKind::Orders => &[
                Role::OrderId,
                Role::Status,
                Role::Owner,
                Role::Channel,
                Role::Margin,
                Role::Cost,
                Role::Product,
                Role::Quantity,
                Role::UnitPrice,
                Role::Discount,
            ],
            TableKind::Customers => &[
                Role::CreatedAt,
                Role::Source,
                Role::Owner,
                Role::Stage,
                Role::Region,
                Role::Industry,
                Role::AssignedAt,
            ],
            TableKind::Events => &[Role::Owner, Role::Reason, Role::Pool],
            TableKind::Followups => &[Role::Owner, Role::Channel],
            TableKind::Surveys => &[
                Role::CustomerId,
                Role::ResponseDate,
                Role::Owner,
                Role::Survey,
            ],
            TableKind::Opportunities => &[
                Role::Owner,
                Role::CustomerId,
                Role::ClosedAt,
                Role::Amount,
                Role::Outcome,
                Role::Won,
                Role::Closed,
                Role::Product,
                Role::Source,
            ],
            TableKind::StageHistory => &[],
            TableKind::Teams => &[Role::Team, Role::Region, Role::Manager],
            TableKind::Subscriptions => &[
                Role::StartDate,
                Role::EndDate,
                Role::Tenure,
                Role::Churned,
                Role::Plan,
                Role::Mrr,
                Role::Owner,
            ],
        }
    }

    /// The role that identifies a row's subject; a row without it (a guest checkout) is left
    /// out with a note, or is an error under `--strict`.
    pub fn id_role(self) -> Option<Role> {
        match self {
            TableKind::Orders
            | TableKind::Customers
            | TableKind::Events
            | TableKind::Followups
            | TableKind::Subscriptions => Some(Role::CustomerId),
            TableKind::Opportunities | TableKind::StageHistory => Some(Role::OpportunityId),
            TableKind::Teams => Some(Role::Owner),
            TableKind::Surveys => None,
        }
    }

    /// One row of this table, in messages: "an order row", "a history row".
    pub fn singular(self) -> &'static str {
        match self {
            TableKind::Orders => "order",
            TableKind::Customers => "customer",
            TableKind::Events => "event",
            TableKind::Followups => "follow-up",
            TableKind::Surveys => "survey",
            TableKind::Opportunities => "opportunity",
            TableKind::StageHistory => "stage history",
            TableKind::Teams => "team",
            TableKind::Subscriptions => "subscription",
        }
    }

    /// Roles a required role can be computed from when the file has no column for it: an
    /// order's amount from its lines' quantity and unit price (docs/metrics.md, "Line items").
    pub fn derivable(self, role: Role) -> Option<&'static [Role]> {
        match (self, role) {
            (TableKind::Orders, Role::Amount) => Some(&[Role::Quantity, Role::UnitPrice]),
            _ => None,
        }
    }

    pub fn roles(self) -> impl Iterator<Item = Role> {
        self.required()
            .iter()
            .chain(self.optional().iter())
            .copied()
    }
}

impl fmt::Display for TableKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps() {
        let m = MapEntry::parse("orders.amount=实付金额", "--map").unwrap();
        assert_eq!(
            (m.table, m.role, m.header.as_str()),
            (Some(TableKind::Orders), Role::Amount, "实付金额")
        );
        assert!(MapEntry::parse("amount", "--map").is_err());
        assert!(MapEntry::parse("amout=x", "--map").is_err());
        assert!(MapEntry::parse("events.amount=x", "--map").is_err());
    }

    fn headers(hs: &[&str]) -> Vec<String> {
        hs.iter().map(|h| h.to_string()).collect()
    }

    #[test]
    fn white_space_lists_every_white_space_character() {
        let all: Vec<char> = (0..=0x10ffff)
            .filter_map(char::from_u32)
            .filter(|c| c.is_whitespace())
            .collect();
        assert_eq!(all, WHITE_SPACE);
    }

    #[test]
    fn synonyms_are_normalised_the_same_way_as_headers() {
        for role in ALL_ROLES {
            for syn in role.synonyms() {
                assert_eq!(normalise_header(syn), *syn, "{role}: {syn}");
            }
        }
    }

    #[test]
    fn western_and_chinese_exports_resolve() {
        let b = resolve(
            TableKind::Orders,
            &headers(&["Order ID", "Order Date", "Customer ID", "Sales", "Profit"]),
            &[],
        )
        .unwrap();
        let get = |r: Role| b.iter().find(|x| x.role == r).map(|x| x.header.as_str());
        assert_eq!(get(Role::CustomerId), Some("Customer ID"));
        assert_eq!(get(Role::Amount), Some("Sales"));
        assert_eq!(get(Role::Margin), Some("Profit"));

        let b = resolve(
            TableKind::Orders,
            &headers(&["客户名称", "客户编号", "下单时间", "实付金额", "订单状态"]),
            &[],
        )
        .unwrap();
        let get = |r: Role| b.iter().find(|x| x.role == r).map(|x| x.header.as_str());
        assert_eq!(get(Role::CustomerId), Some("客户编号"), "ID beats name");
        assert_eq!(get(Role::Status), Some("订单状态"));
    }

    #[test]
    fn explicit_mapping_wins_and_a_missing_one_is_reported() {
        let hs = headers(&["cid", "when", "paid", "amount"]);
        let maps = vec![
            MapEntry {
                table: None,
                role: Role::CustomerId,
                header: "cid".into(),
                via: "--map",
            },
            MapEntry {
                table: None,
                role: Role::OrderDate,
                header: "when".into(),
                via: "--map",
            },
            MapEntry {
                table: None,
                role: Role::Amount,
                header: "paid".into(),
                via: "--map",
            },
        ];
        let b = resolve(TableKind::Orders, &hs, &maps).unwrap();
        assert_eq!(b[2].header, "paid");
        let bad = vec![MapEntry {
            table: None,
            role: Role::Amount,
            header: "nope".into(),
            via: "--map",
        }];
        assert_eq!(
            resolve(TableKind::Orders, &hs, &bad),
            Err(ResolveError::MappedHeaderMissing {
                role: Role::Amount,
                header: "nope".into(),
                via: "--map"
            })
        );
    }

    #[test]
    fn kinds_are_guessed_from_headers() {
        assert_eq!(
            guess_kind(&headers(&["customer_id", "order_date", "amount"]), &[]),
            Some(TableKind::Orders)
        );
        assert_eq!(
            guess_kind(
                &headers(&["customer_id", "event_time", "event", "owner"]),
                &[]
            ),
            Some(TableKind::Events)
        );
        // An invoice-line export (no amount, quantity × price) is orders, not customers.
        let lines = headers(&[
            "InvoiceNo",
            "StockCode",
            "Description",
            "Quantity",
            "InvoiceDate",
            "UnitPrice",
            "CustomerID",
            "Country",
        ]);
        assert_eq!(guess_kind(&lines, &[]), Some(TableKind::Orders));
        // A mapping counts: `when` is an order date only through --map.
        let hs = headers(&["cid", "when", "total"]);
        let map = |role, header: &str| MapEntry {
            table: None,
            role,
            header: header.into(),
            via: "--map",
        };
        assert_eq!(
            guess_kind(
                &hs,
                &[map(Role::CustomerId, "cid"), map(Role::OrderDate, "when")]
            ),
            Some(TableKind::Orders)
        );
    }
}
