//! The canonical tables, their column roles and the header synonyms each role is recognised by.
//!
//! A role is what a column means (the customer, the order date, the amount); the header is what a
//! particular CRM calls it (`客户编号`, `Customer ID`, `owner_user_id`). Headers are compared after
//! [`normalise_header`], so `Customer ID`, `customer_id` and `CUSTOMER-ID` are one name.

use std::fmt;

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

    /// Header synonyms in order of preference (already normalised). The customer name comes last
    /// for `customer_id`: it identifies a customer only when the export has no ID at all.
    pub fn synonyms(self) -> &'static [&'static str] {
        match self {
            Role::CustomerId => &[
                "customerid",
                "custid",
                "customerno",
                "customernumber",
                "customercode",
                "clientid",
                "accountid",
                "memberid",
                "userid",
                "buyerid",
                "客户id",
                "客户编号",
                "客户代码",
                "客户号",
                "客户编码",
                "会员id",
                "会员编号",
                "会员号",
                "用户id",
                "买家id",
                // Last resort: a name is not an identifier, but some exports have nothing else.
                "customer",
                "customername",
                "accountname",
                "clientname",
                "客户名称",
                "客户姓名",
                "客户",
                "account",
                "associatedcompany",
                "company",
            ],
            Role::OrderId => &[
                "orderid",
                "orderno",
                "ordernumber",
                "invoiceno",
                "invoiceid",
                "invoice",
                "transactionid",
                "dealid",
                "订单号",
                "订单编号",
                "订单id",
                "单号",
                "合同编号",
                "交易号",
            ],
            Role::OrderDate => &[
                "orderdate",
                "ordertime",
                "orderdatetime",
                "purchasedate",
                "invoicedate",
                "transactiondate",
                "dealtime",
                "closedate",
                "date",
                "下单时间",
                "下单日期",
                "订单日期",
                "订单时间",
                "成交日期",
                "成交时间",
                "交易日期",
                "交易时间",
                "付款时间",
                "支付时间",
                "签约日期",
                "日期",
            ],
            Role::Amount => &[
                "amount",
                "orderamount",
                "totalamount",
                "netamount",
                "sales",
                "revenue",
                "total",
                "payment",
                "paidamount",
                "value",
                "closevalue",
                "dealamount",
                "opportunityamount",
                "money",
                "商机金额",
                "预计金额",
                "预计成交金额",
                "金额",
                "订单金额",
                "实付金额",
                "实收金额",
                "成交金额",
                "交易金额",
                "支付金额",
                "付款金额",
                "销售额",
                "合同金额",
            ],
            Role::Status => &[
                "status",
                "orderstatus",
                "paymentstatus",
                "financialstatus",
                "状态",
                "订单状态",
                "支付状态",
                "交易状态",
                "付款状态",
            ],
            Role::Owner => &[
                "owner",
                "ownerid",
                "owneruserid",
                "ownername",
                "salesrep",
                "salesperson",
                "rep",
                "salesagent",
                "dealowner",
                "opportunityowner",
                "assignee",
                "负责人",
                "负责人id",
                "销售",
                "销售人员",
                "销售员",
                "业务员",
                "归属人",
                "所属人",
                "跟进人",
            ],
            Role::Channel => &["channel", "saleschannel", "渠道", "销售渠道", "跟进方式"],
            Role::Margin => &[
                "margin",
                "profit",
                "grossmargin",
                "grossprofit",
                "毛利",
                "毛利额",
                "利润",
            ],
            Role::Cost => &["cost", "cogs", "成本", "成本金额"],
            Role::CreatedAt => &[
                "createdat",
                "createddate",
                "createdate",
                "createtime",
                "createdtime",
                "engagedate",
                "opendate",
                "创建时间",
                "创建日期",
                "录入时间",
            ],
            Role::Source => &[
                "source",
                "leadsource",
                "accountsource",
                "customersource",
                "来源",
                "客户来源",
                "线索来源",
            ],
            Role::Stage => &[
                "stage",
                "stagename",
                "dealstage",
                "salesstage",
                "opportunitystage",
                "pipelinestage",
                "销售阶段",
                "商机阶段",
                "statusid",
                "lifecyclestage",
                "customerstage",
                "阶段",
                "客户阶段",
                "客户状态",
            ],
            Role::Region => &[
                "region",
                "area",
                "province",
                "地区",
                "区域",
                "省份",
                "所在地区",
            ],
            Role::Industry => &["industry", "行业", "所属行业"],
            Role::AssignedAt => &[
                "assignedat",
                "assigneddate",
                "claimedtime",
                "receivetime",
                "领取时间",
                "分配时间",
                "认领时间",
            ],
            Role::EventTime => &[
                "eventtime",
                "eventdate",
                "timestamp",
                "time",
                "occurredat",
                "操作时间",
                "事件时间",
                "时间",
            ],
            Role::Event => &[
                "event",
                "eventtype",
                "action",
                "type",
                "操作",
                "操作类型",
                "事件",
                "事件类型",
            ],
            Role::Reason => &[
                "reason",
                "backreason",
                "recyclereason",
                "原因",
                "退回原因",
                "回收原因",
            ],
            Role::Pool => &[
                "pool",
                "highseasid",
                "poolid",
                "poolname",
                "公海",
                "所属公海",
                "公海名称",
            ],
            Role::FollowupTime => &[
                "followuptime",
                "followupdate",
                "followedtime",
                "activitydate",
                "跟进时间",
                "跟进日期",
                "拜访时间",
            ],
            Role::ResponseDate => &[
                "responsedate",
                "surveydate",
                "submittedat",
                "date",
                "回复时间",
                "调查时间",
                "提交时间",
                "日期",
            ],
            Role::Survey => &[
                "survey",
                "surveytype",
                "surveyname",
                "questionnaire",
                "问卷",
                "问卷类型",
                "调查类型",
            ],
            Role::OpportunityId => &[
                "opportunityid",
                "oppid",
                "dealid",
                "businessid",
                "recordid",
                "商机id",
                "商机编号",
                "机会id",
                "商机",
                "id",
            ],
            Role::ClosedAt => &[
                "closedat",
                "closedate",
                "closeddate",
                "closetime",
                "dealdate",
                "wondate",
                "结单日期",
                "实际结单日期",
                "成交日期",
                "关闭日期",
                "结束时间",
            ],
            Role::Won => &["iswon", "won", "是否赢单"],
            Role::Closed => &["isclosed", "closed", "是否关闭", "是否结束"],
            Role::Outcome => &[
                "isend",
                "outcome",
                "result",
                "dealresult",
                "endstatus",
                "结束状态",
                "结单状态",
                "商机状态",
            ],
            Role::Product => &[
                "product",
                "productid",
                "productcode",
                "stockcode",
                "sku",
                "itemcode",
                "itemid",
                "productname",
                "产品",
                "产品名称",
                "商品编码",
                "商品编号",
                "货号",
                "物料编码",
            ],
            Role::Quantity => &[
                "quantity",
                "qty",
                "units",
                "数量",
                "购买数量",
                "销售数量",
                "件数",
            ],
            Role::UnitPrice => &[
                "unitprice",
                "price",
                "priceeach",
                "saleprice",
                "单价",
                "销售单价",
                "成交单价",
                "价格",
            ],
            Role::Discount => &[
                "discount",
                "discountamount",
                "discountrate",
                "折扣",
                "折扣金额",
                "优惠金额",
                "优惠",
            ],
            Role::EnteredAt => &[
                "enteredat",
                "entereddate",
                "entertime",
                "stagedate",
                "changedat",
                "changedate",
                "createddate",
                "createdat",
                "date",
                "进入时间",
                "阶段变更时间",
                "变更时间",
                "时间",
                "日期",
            ],
            Role::Team => &[
                "team",
                "teamname",
                "group",
                "department",
                "团队",
                "小组",
                "部门",
            ],
            Role::Manager => &["manager", "teamlead", "leader", "主管", "经理", "组长"],
            Role::StartDate => &[
                "startdate",
                "subscriptionstart",
                "subscriptionstartdate",
                "contractstart",
                "contractstartdate",
                "startedat",
                "signupdate",
                "activationdate",
                "activatedat",
                "joindate",
                "start",
                "开始日期",
                "开始时间",
                "生效日期",
                "合同开始日期",
                "订阅开始时间",
                "开通时间",
                "入网时间",
            ],
            Role::EndDate => &[
                "enddate",
                "canceldate",
                "cancellationdate",
                "cancelledat",
                "canceledat",
                "churndate",
                "terminationdate",
                "subscriptionend",
                "subscriptionenddate",
                "contractend",
                "contractenddate",
                "endedat",
                "end",
                "结束日期",
                "终止日期",
                "合同结束日期",
                "退订时间",
                "注销时间",
                "流失日期",
                "流失时间",
            ],
            Role::Tenure => &[
                "tenure",
                "tenuremonths",
                "monthsactive",
                "lifetimemonths",
                "在网时长",
                "在网月数",
                "使用月数",
                "服务月数",
            ],
            Role::Churned => &[
                "churn",
                "churned",
                "ischurned",
                "churnflag",
                "cancelled",
                "canceled",
                "exited",
                "attrited",
                "是否流失",
                "流失",
                "已流失",
            ],
            Role::Plan => &[
                "contract",
                "contracttype",
                "plan",
                "planname",
                "subscriptionplan",
                "subscriptiontype",
                "package",
                "套餐",
                "合同类型",
                "订阅类型",
                "版本",
            ],
            Role::Mrr => &[
                "mrr",
                "monthlycharges",
                "monthlycharge",
                "monthlyfee",
                "monthlyamount",
                "recurringamount",
                "recurringrevenue",
                "月费",
                "月租",
                "月租费",
                "月收入",
            ],
            Role::Score => &[
                "score",
                "npsscore",
                "csatscore",
                "rating",
                "评分",
                "分数",
                "得分",
                "满意度",
            ],
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

/// The punctuation [`normalise_header`] drops besides white space: underscores, hyphens, dots,
/// slashes, brackets (ASCII and full-width), colons, `#` and `*` (`crm-eval sql` drops the same
/// characters when it compares stage words).
pub const HEADER_PUNCTUATION: &[char] = &[
    '_', '-', '.', '/', '(', ')', '（', '）', '[', ']', '【', '】', ':', '：', '#', '*',
];

/// The characters `char::is_whitespace` holds (Unicode White_Space), for SQL that must drop
/// exactly what [`normalise_header`] drops.
pub const WHITE_SPACE: &[char] = &[
    '\t', '\n', '\u{b}', '\u{c}', '\r', ' ', '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}',
    '\u{2001}', '\u{2002}', '\u{2003}', '\u{2004}', '\u{2005}', '\u{2006}', '\u{2007}', '\u{2008}',
    '\u{2009}', '\u{200a}', '\u{2028}', '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}',
];

/// Lower-cases and drops white space and [`HEADER_PUNCTUATION`] (and a leading byte-order
/// mark), so that `Customer ID`, `customer_id` and `客户ID（编号）` compare by their letters.
pub fn normalise_header(header: &str) -> String {
    header
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !c.is_whitespace() && !HEADER_PUNCTUATION.contains(c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// One role resolved to one header of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub role: Role,
    pub header: String,
    /// How the header was chosen: "--map", "config", or "synonym".
    pub via: &'static str,
}

/// An explicit role → header assignment from `--map` or the config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapEntry {
    /// The table it applies to, or every table that has the role.
    pub table: Option<TableKind>,
    pub role: Role,
    pub header: String,
    pub via: &'static str,
}

impl MapEntry {
    /// Parses `[table.]role=header` (`via` names where it came from: "--map" or "config").
    pub fn parse(spec: &str, via: &'static str) -> anyhow::Result<MapEntry> {
        let Some((lhs, header)) = spec.split_once('=') else {
            return Err(crate::error::usage(format!(
                "{via} {spec:?}: expected ROLE=HEADER, e.g. customer_id=客户编号"
            )));
        };
        let (table, role_name) = match lhs.split_once('.') {
            Some((t, r)) => {
                let table = TableKind::from_name(t).ok_or_else(|| {
                    crate::error::usage(format!(
                        "{via} {spec:?}: unknown table {t:?}; tables are {}",
                        ALL_TABLES.map(|t| t.name()).join(", ")
                    ))
                })?;
                (Some(table), r)
            }
            None => (None, lhs),
        };
        let role = Role::from_name(role_name).ok_or_else(|| {
            crate::error::usage(format!(
                "{via} {spec:?}: unknown role {role_name:?}; roles are {}",
                ALL_ROLES
                    .iter()
                    .map(|r| r.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        if let Some(t) = table {
            if !t.roles().any(|r| r == role) {
                return Err(crate::error::usage(format!(
                    "{via} {spec:?}: {t} have no {role} column"
                )));
            }
        }
        if header.trim().is_empty() {
            return Err(crate::error::usage(format!(
                "{via} {spec:?}: the header name is empty"
            )));
        }
        Ok(MapEntry {
            table,
            role,
            header: header.to_string(),
            via,
        })
    }
}

/// Why a table's columns could not be resolved.
#[derive(Debug, PartialEq, Eq)]
pub enum ResolveError {
    /// A `--map`/config header that is not in the file.
    MappedHeaderMissing {
        role: Role,
        header: String,
        via: &'static str,
    },
    /// A required role that no header matched.
    Missing { role: Role },
    /// Two headers name the same thing (they are equal once normalised, e.g. `Amount` and
    /// `amount`): which one is meant cannot be guessed.
    Ambiguous { role: Role, headers: Vec<String> },
}

/// The `--map`/config entry naming the column of `role` in a `kind` table: a table-specific
/// entry beats an unqualified one; the last of equals wins, so the command line (applied after
/// the config file) overrides it.
pub fn mapping(mappings: &[MapEntry], kind: TableKind, role: Role) -> Option<&MapEntry> {
    mappings
        .iter()
        .rfind(|m| m.role == role && m.table == Some(kind))
        .or_else(|| {
            mappings
                .iter()
                .rfind(|m| m.role == role && m.table.is_none())
        })
}

/// Resolves every role of `kind` against `headers`. Explicit mappings win; then synonyms in order
/// of preference. A header serves one role only, given to the role listed first in the table.
pub fn resolve(
    kind: TableKind,
    headers: &[String],
    mappings: &[MapEntry],
) -> Result<Vec<Binding>, ResolveError> {
    let (bindings, missing) = resolve_partial(kind, headers, mappings)?;
    match missing.first() {
        Some(&role) => Err(ResolveError::Missing { role }),
        None => Ok(bindings),
    }
}

/// Like [`resolve`], but a required role that nothing matches is returned in the second list
/// instead of failing (for `inspect`, which shows what it can).
pub fn resolve_partial(
    kind: TableKind,
    headers: &[String],
    mappings: &[MapEntry],
) -> Result<(Vec<Binding>, Vec<Role>), ResolveError> {
    let mut missing = Vec::new();
    let normalised: Vec<String> = headers.iter().map(|h| normalise_header(h)).collect();
    let mut taken = vec![false; headers.len()];
    let mut bindings = Vec::new();

    // Explicit mappings first, so a synonym can never steal the column the user named.
    let mut explicit: Vec<(Role, usize, &'static str)> = Vec::new();
    for role in kind.roles() {
        let Some(entry) = mapping(mappings, kind, role) else {
            continue;
        };
        let wanted = entry.header.trim();
        let found = headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}').trim() == wanted)
            .or_else(|| {
                let n = normalise_header(wanted);
                normalised.iter().position(|h| *h == n)
            });
        match found {
            Some(i) => {
                taken[i] = true;
                explicit.push((role, i, entry.via));
            }
            None if entry.table.is_some() || kind.required().contains(&role) => {
                return Err(ResolveError::MappedHeaderMissing {
                    role,
                    header: entry.header.clone(),
                    via: entry.via,
                })
            }
            None => {}
        }
    }

    for role in kind.roles() {
        if let Some(&(_, i, via)) = explicit.iter().find(|(r, _, _)| *r == role) {
            bindings.push(Binding {
                role,
                header: headers[i].clone(),
                via,
            });
            continue;
        }
        let matching = |syn: &&str| -> Vec<usize> {
            (0..headers.len())
                .filter(|&i| !taken[i] && normalised[i] == *syn)
                .collect()
        };
        let candidates = role.synonyms().iter().map(matching).find(|c| !c.is_empty());
        if let Some(c) = candidates.as_ref().filter(|c| c.len() > 1) {
            return Err(ResolveError::Ambiguous {
                role,
                headers: c.iter().map(|&i| headers[i].clone()).collect(),
            });
        }
        let found = candidates.map(|c| c[0]);
        match found {
            Some(i) => {
                taken[i] = true;
                bindings.push(Binding {
                    role,
                    header: headers[i].clone(),
                    via: "synonym",
                });
            }
            None if kind.required().contains(&role) => missing.push(role),
            None => {}
        }
    }
    // A required role computed from others the file has is not missing.
    missing.retain(|&role| {
        !kind
            .derivable(role)
            .is_some_and(|from| from.iter().all(|r| bindings.iter().any(|b| b.role == *r)))
    });
    Ok((bindings, missing))
}

/// Guesses which table a file is from its headers and the `--map`/config mappings: the table a
/// table-qualified mapping names (`--map orders.amount=…`), else the kind whose required roles
/// all resolve, preferring the one that resolves the most roles.
pub fn guess_kind(headers: &[String], mappings: &[MapEntry]) -> Option<TableKind> {
    if let Some(kind) = mappings.iter().rev().find_map(|m| m.table) {
        return Some(kind);
    }
    ALL_TABLES
        .into_iter()
        .filter_map(|kind| {
            resolve(kind, headers, mappings)
                .ok()
                // A subscriptions file is one with a start date or a tenure, not any file
                // with customer IDs.
                .filter(|b| {
                    kind != TableKind::Subscriptions
                        || b.iter()
                            .any(|b| matches!(b.role, Role::StartDate | Role::Tenure))
                })
                .map(|b| (kind, b.len() * 10 + kind.required().len()))
        })
        .max_by_key(|(_, score)| *score)
        .map(|(kind, _)| kind)
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
