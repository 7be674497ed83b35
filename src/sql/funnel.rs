//! `crm-eval funnel` as SQL (docs/metrics.md "Funnel", "SQL"): the summary, the stage table or
//! the open opportunities of an `opportunities` table (and a `stage_history` table), with the
//! command's rules — first row of an ID, as_of, the outcome rules, the stage order, furthest
//! stage, win probabilities, stays — written once here for every dialect.
//!
//! Stage and outcome words compare as the command compares them ([`normalise_header`]): the SQL
//! drops the same white space and punctuation (`translate`) and lower-cases; the word lists are
//! the command's ([`StageWords`], [`Outcome::CODES`], [`Outcome::OPEN_WORDS`], the flag words).

use super::{
    customer_keys, quote, quote_ident, relation, round4, round_to, wilson_bound, wilson_columns,
    CustomerColumns, Dialect,
};
use crate::input::schema::{
    mapping, normalise_header, MapEntry, Role, TableKind, HEADER_PUNCTUATION, WHITE_SPACE,
};
use crate::input::values::{FLAG_FALSE, FLAG_TRUE};
use crate::metrics::funnel::stages::{Outcome, StageKind, StageWords};
use crate::metrics::funnel::FunnelGroup;
use crate::metrics::funnel::Show;
use crate::metrics::periods::Period;

/// What `sql funnel` writes and from which tables.
pub struct FunnelQuery<'a> {
    pub dialect: Dialect,
    /// The opportunities table or view (opportunity_id, stage, created_at, closed_at, amount,
    /// seq; owner, customer_id, product, source when used; outcome, won, closed when `--map`
    /// names them).
    pub opportunities: &'a str,
    /// The stage history table or view (opportunity_id, stage, entered_at, seq).
    pub history: Option<&'a str>,
    /// The open stages in order (`--stages` or the config's); None: from the history.
    pub stages: Option<&'a [String]>,
    pub words: &'a StageWords,
    pub as_of: Option<&'a str>,
    pub by: &'a [FunnelGroup],
    pub show: Show,
    pub stale_days: i32,
    pub mappings: &'a [MapEntry],
    /// The teams table or view (owner, team, region), for `--by team` and the owner's region.
    pub teams: Option<&'a str>,
    /// The customers table or view: the account's region (`--by region`, before the owner's)
    /// and the columns of `--by` that are not the funnel's own groups.
    pub customers: Option<&'a str>,
    pub customer_columns: &'a [String],
}

/// One group column: its name inside the query, its name in the output and its value for an
/// opportunity `o` of `priced` (with `tm`, `ar` and `ck` joined).
struct KeyColumn {
    internal: String,
    output: String,
    value: String,
}

/// A text expression's stage key: white space and [`HEADER_PUNCTUATION`] dropped, lower-cased
/// (the leading byte-order mark `normalise_header` trims is dropped anywhere).
fn stage_key(text: &str) -> String {
    let dropped: String = WHITE_SPACE
        .iter()
        .chain(HEADER_PUNCTUATION)
        .chain(&['\u{feff}'])
        .collect();
    format!("lower(translate({text}, {}, ''))", quote(&dropped))
}

/// `key IN ('a', 'b')` for normalised words (FALSE for none).
fn key_in(key: &str, words: &[String]) -> String {
    if words.is_empty() {
        return "FALSE".into();
    }
    let list: Vec<String> = words.iter().map(|w| quote(w)).collect();
    format!("{key} IN ({})", list.join(", "))
}

/// The outcome a stage key says (the command's `StageWords::kind`: won, lost, invalid, else open).
fn outcome_of_stage(key: &str, words: &StageWords) -> String {
    format!(
        "CASE WHEN {} THEN 'won' WHEN {} THEN 'lost' WHEN {} THEN 'invalid' ELSE 'open' END",
        key_in(key, &words.won),
        key_in(key, &words.lost),
        key_in(key, &words.invalid)
    )
}

impl FunnelQuery<'_> {
    fn named(&self, role: Role) -> bool {
        mapping(self.mappings, TableKind::Opportunities, role).is_some()
    }

    fn text(&self) -> &'static str {
        self.dialect.text()
    }

    /// A text column trimmed, NULL when empty (the input layer's text cells).
    fn cell(&self, column: &str) -> String {
        format!("nullif(trim(CAST({column} AS {})), '')", self.text())
    }

    /// The rows' outcome before as_of is applied, by the first rule that decides: the outcome
    /// column, the won/closed flags (each read when `--map` names it), the stage.
    fn base_outcome(&self) -> String {
        let mut rules = Vec::new();
        if self.named(Role::Outcome) {
            let cell = format!("trim(CAST(o.outcome AS {}))", self.text());
            let codes: Vec<String> = Outcome::CODES
                .iter()
                .map(|(code, o)| format!("WHEN {cell} = {} THEN '{}'", quote(code), o.name()))
                .collect();
            let key = stage_key(&cell);
            let builtin = StageWords::builtin();
            let open: Vec<String> = Outcome::OPEN_WORDS.iter().map(|w| w.to_string()).collect();
            rules.push(format!(
                "CASE {} WHEN {} THEN 'won' WHEN {} THEN 'lost' WHEN {} THEN 'invalid' \
                 WHEN {} THEN 'open' END",
                codes.join(" "),
                key_in(&key, &builtin.won),
                key_in(&key, &builtin.lost),
                key_in(&key, &builtin.invalid),
                key_in(&key, &open)
            ));
        }
        let flag = |column: &str, words: &[&str]| {
            let list: Vec<String> = words.iter().map(|w| quote(w)).collect();
            format!(
                "lower(trim(CAST(o.{column} AS {}))) IN ({})",
                self.text(),
                list.join(", ")
            )
        };
        let (won, closed) = (self.named(Role::Won), self.named(Role::Closed));
        if won || closed {
            let mut arms = Vec::new();
            if won {
                arms.push(format!("WHEN {} THEN 'won'", flag("won", FLAG_TRUE)));
            }
            if closed {
                arms.push(format!("WHEN {} THEN 'lost'", flag("closed", FLAG_TRUE)));
                arms.push(format!("WHEN {} THEN 'open'", flag("closed", FLAG_FALSE)));
            }
            rules.push(format!("CASE {} END", arms.join(" ")));
        }
        rules.push(outcome_of_stage(
            &stage_key("coalesce(o.stage, '')"),
            self.words,
        ));
        if rules.len() == 1 {
            rules.remove(0)
        } else {
            format!("coalesce({})", rules.join(", "))
        }
    }

    /// The opportunities relation: the roles the query reads, and seq.
    fn opportunities_relation(&self) -> String {
        let mut roles = vec![
            Role::OpportunityId,
            Role::Stage,
            Role::CreatedAt,
            Role::ClosedAt,
            Role::Amount,
        ];
        for (role, wanted) in [
            (
                Role::Owner,
                self.show == Show::Open
                    || [FunnelGroup::Owner, FunnelGroup::Team, FunnelGroup::Region]
                        .iter()
                        .any(|g| self.by.contains(g)),
            ),
            (
                Role::CustomerId,
                self.show == Show::Open
                    || self.by.contains(&FunnelGroup::Customer)
                    || (self.by.contains(&FunnelGroup::Region) && self.customers.is_some()),
            ),
            (Role::Product, self.by.contains(&FunnelGroup::Product)),
            (Role::Source, self.by.contains(&FunnelGroup::Source)),
            (Role::Outcome, self.named(Role::Outcome)),
            (Role::Won, self.named(Role::Won)),
            (Role::Closed, self.named(Role::Closed)),
        ] {
            if wanted {
                roles.push(role);
            }
        }
        relation(
            self.dialect,
            TableKind::Opportunities,
            self.opportunities,
            &roles,
            &["seq"],
            self.mappings,
        )
    }

    /// The group columns in `--by` order (customers-file columns where the first is named): the
    /// text, '' when none, the month created as `2024-01`, the owner's team, the account's
    /// region else the owner's, a customers-file value else `(unknown)`.
    fn key_columns(&self) -> Vec<KeyColumn> {
        let d = self.dialect;
        let mut out = Vec::new();
        for g in self.by {
            let value = match g {
                FunnelGroup::Month => d.period_label(
                    Period::Month,
                    &d.period_index(Period::Month, "o.created_day"),
                ),
                FunnelGroup::Team => "coalesce(tm.team, '')".to_string(),
                FunnelGroup::Region => {
                    let account = if self.customers.is_some() {
                        "ar.region"
                    } else {
                        "NULL"
                    };
                    let owner = if self.teams.is_some() {
                        "tm.region"
                    } else {
                        "NULL"
                    };
                    format!("coalesce({account}, {owner}, '')")
                }
                FunnelGroup::Customer => {
                    for (k, name) in self.customer_columns.iter().enumerate() {
                        out.push(KeyColumn {
                            internal: format!("c{}", k + 1),
                            output: quote_ident(d, name),
                            value: format!(
                                "coalesce(ck.c{}, '{}')",
                                k + 1,
                                crate::metrics::UNKNOWN
                            ),
                        });
                    }
                    continue;
                }
                _ => format!("coalesce(o.{}, '')", g.name()),
            };
            out.push(KeyColumn {
                internal: format!("k_{}", g.name()),
                output: g.name().to_string(),
                value,
            });
        }
        out
    }

    /// The tables the group columns join: the owner's team and region (`tm`), the account's
    /// region (`ar`) and customers-file values (`ck`), as CTEs and as joins onto `o`.
    fn group_tables(&self) -> (String, String) {
        let d = self.dialect;
        let (mut ctes, mut joins) = (String::new(), String::new());
        let wants = |g: FunnelGroup| self.by.contains(&g);
        if let (Some(table), true) = (
            self.teams,
            wants(FunnelGroup::Team) || wants(FunnelGroup::Region),
        ) {
            let mut roles = vec![Role::Owner];
            let null = format!("CAST(NULL AS {})", self.text());
            let (mut team, mut region) = (null.clone(), null);
            if wants(FunnelGroup::Team) {
                roles.push(Role::Team);
                team = format!("min({})", self.cell("team"));
            }
            if wants(FunnelGroup::Region) {
                roles.push(Role::Region);
                region = format!("min({})", self.cell("region"));
            }
            // An owner listed twice: the smallest team and region (crm-eval: the first row).
            ctes.push_str(&format!(
                ",\nteams_in AS ({}),\nteam_of AS (\n  SELECT {owner} AS owner, {team} AS team, {region} AS region\n  FROM teams_in WHERE {owner} IS NOT NULL GROUP BY {owner}\n)",
                relation(d, TableKind::Teams, table, &roles, &[], self.mappings),
                owner = self.cell("owner"),
            ));
            joins.push_str(" LEFT JOIN team_of tm ON tm.owner = o.owner");
        }
        if let (Some(table), true) = (self.customers, wants(FunnelGroup::Region)) {
            // A customer listed twice: the greatest region (crm-eval: the last row with one).
            ctes.push_str(&format!(
                ",\naccount_regions_in AS ({}),\naccount_region AS (\n  SELECT {id} AS customer_id, max({region}) AS region\n  FROM account_regions_in WHERE {id} IS NOT NULL GROUP BY {id}\n)",
                relation(
                    d,
                    TableKind::Customers,
                    table,
                    &[Role::CustomerId, Role::Region],
                    &[],
                    self.mappings
                ),
                id = self.cell("customer_id"),
                region = self.cell("region"),
            ));
            joins.push_str(" LEFT JOIN account_region ar ON ar.customer_id = o.customer_id");
        }
        if let (Some(table), false) = (self.customers, self.customer_columns.is_empty()) {
            ctes.push_str(&customer_keys(
                d,
                &CustomerColumns {
                    table: table.to_string(),
                    names: self.customer_columns.to_vec(),
                },
                self.mappings,
            ));
            joins.push_str(" LEFT JOIN customer_keys ck ON ck.customer_id = o.customer_id");
        }
        (ctes, joins)
    }

    /// The common table expressions every table reads: `opp` (one row per kept opportunity:
    /// id, seq, stage, stage_key, created_day, closed, amount, units, outcome, furthest,
    /// last_change and the group columns), `stage_order` (stage_key, stage, pos), `probs`
    /// (pos, prob: the win probability from each stage over all opportunities), `hist`
    /// (history rows of kept opportunities before as_of), `m` (each opportunity once per group
    /// it is in, `k_*` label columns, `is_all`).
    fn ctes(&self) -> String {
        let d = self.dialect;
        let text = self.text();
        // Text columns carried along: the groups' (team and region by the owner and the
        // account, customers-file columns by the account) and, for the open table, owner and
        // account.
        let mut carried: Vec<&str> = Vec::new();
        for g in self.by {
            let names: &[&str] = match g {
                FunnelGroup::Month => &[],
                FunnelGroup::Team => &["owner"],
                FunnelGroup::Region if self.customers.is_some() => &["owner", "customer_id"],
                FunnelGroup::Region => &["owner"],
                FunnelGroup::Customer => &["customer_id"],
                other => &[other.name()],
            };
            for name in names {
                if !carried.contains(name) {
                    carried.push(name);
                }
            }
        }
        if self.show == Show::Open {
            for name in ["owner", "customer_id"] {
                if !carried.contains(&name) {
                    carried.push(name);
                }
            }
        }
        let extra: String = carried
            .iter()
            .map(|c| format!(", {} AS {c}", self.cell(&format!("o.{c}"))))
            .collect();
        let history_in = match self.history {
            Some(table) => format!(
                "\nstage_history_in AS ({}),\nhistory_rows AS (\n  SELECT {} AS id, {} AS stage, h.entered_at, \
                 CAST(h.entered_at AS DATE) AS day, h.seq\n  FROM stage_history_in h\n),",
                relation(
                    d,
                    TableKind::StageHistory,
                    table,
                    &[Role::OpportunityId, Role::Stage, Role::EnteredAt],
                    &["seq"],
                    self.mappings
                ),
                self.cell("h.opportunity_id"),
                self.cell("h.stage"),
            ),
            None => format!(
                "\nhistory_rows AS (\n  SELECT CAST(NULL AS {text}) AS id, CAST(NULL AS {text}) AS stage, \
                 CAST(NULL AS TIMESTAMP) AS entered_at, CAST(NULL AS DATE) AS day, 0 AS seq\n  FROM opportunities_in WHERE 1 = 0\n),"
            ),
        };
        let as_of = match self.as_of {
            Some(day) => format!("SELECT DATE {} AS d", quote(day)),
            None => format!(
                "SELECT {} AS d FROM (\n    SELECT created_day AS day FROM rows\n    UNION ALL SELECT closed_day FROM rows WHERE base_outcome <> 'open'\n    UNION ALL SELECT day FROM history_rows\n  ) days",
                d.plus_days("max(day)", 1)
            ),
        };
        let closing: Vec<String> = self
            .words
            .won
            .iter()
            .chain(&self.words.lost)
            .chain(&self.words.invalid)
            .cloned()
            .collect();
        let stage_order = match self.stages {
            Some(given) => {
                let rows: Vec<String> = given
                    .iter()
                    .filter(|s| self.words.kind(s) == StageKind::Open)
                    .enumerate()
                    .map(|(k, s)| {
                        format!(
                            "SELECT {} AS stage_key, CAST({} AS {text}) AS stage, {k} AS pos",
                            quote(&normalise_header(s)),
                            quote(s)
                        )
                    })
                    .collect();
                format!("stage_order AS (\n  {}\n)", rows.join("\n  UNION ALL "))
            }
            None => format!(
                "first_entries AS (
  SELECT id, opp_seq, stage_key, stage, entered_at, seq,
         row_number() OVER (PARTITION BY id, stage_key ORDER BY entered_at, seq) AS nth
  FROM hist WHERE NOT ({closing})
),
positions AS (
  SELECT id, opp_seq, stage_key, stage, entered_at, seq,
         row_number() OVER (PARTITION BY id ORDER BY entered_at, seq) - 1 AS pos
  FROM first_entries WHERE nth = 1
),
spellings AS (
  SELECT stage_key, stage,
         row_number() OVER (PARTITION BY stage_key ORDER BY opp_seq, entered_at, seq) AS nth
  FROM positions
),
means AS (
  SELECT stage_key, CAST(sum(pos) AS {double}) / count(*) AS mean FROM positions GROUP BY stage_key
),
stage_order AS (
  SELECT m.stage_key, s.stage, row_number() OVER (ORDER BY m.mean, {by_name}) - 1 AS pos
  FROM means m JOIN spellings s ON s.stage_key = m.stage_key AND s.nth = 1
)",
                closing = key_in("stage_key", &closing),
                double = d.double(),
                by_name = d.bytewise("s.stage"),
            ),
        };
        let columns = self.key_columns();
        let labels: String = columns
            .iter()
            .map(|c| format!("{} AS {}, ", c.value, c.internal))
            .collect();
        let alls: String = columns
            .iter()
            .map(|c| format!("'all' AS {}, ", c.internal))
            .collect();
        let (group_ctes, group_joins) = self.group_tables();
        let grouped = if self.by.is_empty() {
            String::new()
        } else {
            format!("SELECT 0 AS is_all, {labels}o.* FROM priced o{group_joins}\n  UNION ALL\n  ")
        };
        format!(
            "opportunities_in AS ({opportunities}),{history_in}
rows AS (
  SELECT {id} AS id, o.seq, {stage} AS stage, CAST(o.created_at AS DATE) AS created_day,
         CAST(o.closed_at AS DATE) AS closed_day, CAST(o.amount AS DECIMAL(18, 4)) AS amount,
         {outcome} AS base_outcome{extra}
  FROM opportunities_in o
),
as_of AS ({as_of}),
firsts AS (
  SELECT r.*, row_number() OVER (PARTITION BY r.id ORDER BY r.seq) AS nth
  FROM rows r CROSS JOIN as_of
  WHERE r.id IS NOT NULL AND r.created_day IS NOT NULL AND r.created_day < as_of.d
),
kept AS (
  SELECT f.*, {key} AS stage_key,
         CASE WHEN f.base_outcome <> 'open' AND f.closed_day >= as_of.d THEN 'open'
              ELSE f.base_outcome END AS outcome,
         CASE WHEN f.base_outcome = 'open' OR f.closed_day >= as_of.d THEN NULL
              ELSE f.closed_day END AS closed
  FROM firsts f CROSS JOIN as_of WHERE f.nth = 1
),
hist AS (
  SELECT h.id, h.stage, {hist_key} AS stage_key, h.day, h.entered_at, h.seq, k.seq AS opp_seq
  FROM history_rows h JOIN kept k ON k.id = h.id CROSS JOIN as_of
  WHERE h.stage IS NOT NULL AND h.entered_at IS NOT NULL AND h.day < as_of.d
),
{stage_order},
last_stage AS (SELECT max(pos) AS pos FROM stage_order),
reach AS (
  SELECT x.id, max(p.pos) AS furthest
  FROM (SELECT id, stage_key FROM hist UNION ALL SELECT id, stage_key FROM kept) x
  JOIN stage_order p ON p.stage_key = x.stage_key
  GROUP BY x.id
),
changes AS (SELECT id, max(day) AS day FROM hist GROUP BY id),
opp AS (
  SELECT k.*, CAST(CAST(k.amount * 10000 AS BIGINT) AS {double}) / 10000 AS amount_f,
         CASE WHEN k.outcome = 'won' THEN l.pos ELSE coalesce(r.furthest, 0) END AS furthest,
         coalesce(c.day, k.created_day) AS last_change
  FROM kept k CROSS JOIN last_stage l
  LEFT JOIN reach r ON r.id = k.id LEFT JOIN changes c ON c.id = k.id
),
totals AS (SELECT sum(CASE WHEN outcome = 'won' THEN 1 ELSE 0 END) AS won FROM opp),
lost_at AS (SELECT furthest AS pos, count(*) AS n FROM opp WHERE outcome = 'lost' GROUP BY furthest),
probs AS (
  SELECT p.pos, CAST(t.won AS {double}) / nullif(t.won + coalesce(sum(l.n), 0), 0) AS prob
  FROM stage_order p CROSS JOIN totals t LEFT JOIN lost_at l ON l.pos >= p.pos
  GROUP BY p.pos, t.won
),
priced AS (
  SELECT o.*, pr.prob, CASE WHEN o.outcome = 'open' THEN o.amount_f * pr.prob END AS weighted
  FROM opp o LEFT JOIN probs pr ON pr.pos = o.furthest
){group_ctes},
m AS (
  {grouped}SELECT 1 AS is_all, {alls}o.* FROM priced o
)",
            opportunities = self.opportunities_relation(),
            id = self.cell("o.opportunity_id"),
            stage = self.cell("o.stage"),
            outcome = self.base_outcome(),
            key = stage_key("coalesce(f.stage, '')"),
            hist_key = stage_key("h.stage"),
            double = d.double(),
        )
    }

    /// `k_owner, k_month` and the like (empty without groups), each followed by `sep`.
    fn keys(&self, alias: &str, sep: &str) -> String {
        self.key_columns()
            .iter()
            .map(|c| format!("{alias}{}{sep}", c.internal))
            .collect()
    }

    /// ` AND a.k_owner = b.k_owner …`.
    fn join(&self, a: &str, b: &str) -> String {
        self.key_columns()
            .iter()
            .map(|c| format!(" AND {a}.{n} = {b}.{n}", n = c.internal))
            .collect()
    }

    /// `k_owner AS owner, ` … for the output.
    fn named_keys(&self) -> String {
        self.key_columns()
            .iter()
            .map(|c| format!("{} AS {}, ", c.internal, c.output))
            .collect()
    }

    /// `, k_owner, k_month` in byte order; with customers-file columns, groups holding
    /// `(unknown)` first go after the others, as the command sorts them.
    fn key_order(&self) -> String {
        let columns = self.key_columns();
        let mut order = String::new();
        if !self.customer_columns.is_empty() {
            let any: Vec<String> = columns
                .iter()
                .map(|c| format!("{} = '{}'", c.internal, crate::metrics::UNKNOWN))
                .collect();
            order.push_str(&format!(
                ", CASE WHEN {} THEN 1 ELSE 0 END",
                any.join(" OR ")
            ));
        }
        for c in &columns {
            order.push_str(&format!(", {}", self.dialect.bytewise(&c.internal)));
        }
        order
    }

    fn summary(&self) -> String {
        let d = self.dialect;
        let double = d.double();
        let cycle = |outcome: &str| {
            format!(
                "CASE WHEN outcome = '{outcome}' AND cycle >= 0 THEN CAST(cycle AS {double}) END"
            )
        };
        let q = |outcome: &str, at: f64| d.quantile(&cycle(outcome), at);
        format!(
            "WITH {ctes},
cycles AS (SELECT m.*, {days} AS cycle FROM m),
summary AS (
  SELECT is_all, {keys}count(*) AS opportunities,
         sum(CASE WHEN outcome = 'open' THEN 1 ELSE 0 END) AS open,
         sum(CASE WHEN outcome = 'won' THEN 1 ELSE 0 END) AS won,
         sum(CASE WHEN outcome = 'lost' THEN 1 ELSE 0 END) AS lost,
         sum(CASE WHEN outcome = 'invalid' THEN 1 ELSE 0 END) AS invalid,
         {median} AS median_cycle, {p25} AS p25_cycle, {p75} AS p75_cycle,
         {lost_median} AS lost_median_cycle,
         sum(CASE WHEN outcome = 'won' THEN amount END) AS won_amount,
         count(CASE WHEN outcome = 'won' THEN amount END) AS priced_wins,
         sum(CASE WHEN outcome = 'won' THEN CAST(amount * 10000 AS BIGINT) END) AS won_units,
         sum(CASE WHEN outcome = 'open' THEN amount END) AS open_amount,
         sum(weighted) AS weighted
  FROM cycles GROUP BY is_all{group_keys}
),
rates AS (
  SELECT s.*, CAST(won AS {double}) / nullif(won + lost, 0) AS p,
         CAST(nullif(won + lost, 0) AS {double}) AS n,
         CAST(won_units AS {double}) / nullif(priced_wins, 0) / 10000 AS avg_won
  FROM summary s
),
w AS (SELECT rates.*, {wilson} FROM rates)
SELECT {named_keys}opportunities, open, won, lost, invalid, {rate} AS win_rate,
       {low} AS ci_low, {high} AS ci_high,
       {median_days} AS median_cycle_days, {p25_days} AS cycle_p25_days,
       {p75_days} AS cycle_p75_days, {lost_days} AS lost_median_cycle_days,
       CAST(round(coalesce(won_amount, 0), 2) AS {double}) AS won_amount,
       {avg_won} AS avg_won_amount,
       CAST(round(coalesce(open_amount, 0), 2) AS {double}) AS open_amount,
       {weighted} AS weighted_pipeline,
       CASE WHEN median_cycle > 0 THEN {velocity} END AS velocity_per_day
FROM w ORDER BY is_all{key_order}",
            ctes = self.ctes(),
            days = d.days_between("closed", "created_day"),
            keys = self.keys("", ", "),
            group_keys = self.keys(", ", ""),
            median = q("won", 0.5),
            p25 = q("won", 0.25),
            p75 = q("won", 0.75),
            lost_median = q("lost", 0.5),
            wilson = wilson_columns(),
            named_keys = self.named_keys(),
            rate = round4("w.p"),
            low = wilson_bound("greatest(w.centre - w.half, 0)"),
            high = wilson_bound("least(w.centre + w.half, 1)"),
            median_days = round_to(d, "median_cycle", 1),
            p25_days = round_to(d, "p25_cycle", 1),
            p75_days = round_to(d, "p75_cycle", 1),
            lost_days = round_to(d, "lost_median_cycle", 1),
            avg_won = round_to(d, "avg_won", 2),
            weighted = round_to(d, "coalesce(weighted, 0)", 2),
            velocity = round_to(d, "open * p * avg_won / median_cycle", 2),
            key_order = self.key_order(),
        )
    }

    fn stage_table(&self) -> String {
        let d = self.dialect;
        let double = d.double();
        format!(
            "WITH {ctes},
at_stage AS (
  SELECT is_all, {keys}furthest AS pos, count(*) AS at_n,
         sum(CASE WHEN outcome = 'lost' THEN 1 ELSE 0 END) AS lost_n,
         sum(CASE WHEN outcome = 'open' THEN 1 ELSE 0 END) AS open_n,
         sum(CASE WHEN outcome = 'open' THEN amount END) AS open_amount
  FROM m WHERE outcome IN ('open', 'lost') GROUP BY is_all, {keys}furthest
),
grp AS (
  SELECT is_all, {keys}sum(CASE WHEN outcome = 'won' THEN 1 ELSE 0 END) AS won
  FROM m GROUP BY is_all{group_keys}
),
steps AS (
  SELECT h.*, lead(h.day) OVER (PARTITION BY h.id ORDER BY h.entered_at, h.seq) AS next_day
  FROM hist h
),
stays AS (
  SELECT s.id, p.pos, {stay_days} AS days
  FROM steps s JOIN stage_order p ON p.stage_key = s.stage_key JOIN opp o ON o.id = s.id
  WHERE coalesce(s.next_day, o.closed) IS NOT NULL
),
stay_days AS (
  SELECT m.is_all, {m_keys}st.pos, {median} AS median_days
  FROM stays st JOIN m ON m.id = st.id GROUP BY m.is_all, {m_keys}st.pos
),
grid AS (
  SELECT g.is_all, {g_keys}g.won, p.pos, p.stage,
         g.won + coalesce(sum(a.at_n), 0) AS reached, coalesce(sum(a.lost_n), 0) AS lost_from
  FROM grp g CROSS JOIN stage_order p
  LEFT JOIN at_stage a ON a.is_all = g.is_all{join_ag} AND a.pos >= p.pos
  GROUP BY g.is_all, {g_keys}g.won, p.pos, p.stage
),
stage_rows AS (
  SELECT gr.is_all, {gr_keys}gr.pos, gr.stage, gr.reached,
         coalesce(lead(gr.reached) OVER (PARTITION BY gr.is_all{gr_partition} ORDER BY gr.pos), gr.won)
           AS advanced,
         coalesce(h.open_n, 0) AS open_here, coalesce(h.lost_n, 0) AS lost_here,
         coalesce(h.open_amount, 0) AS open_amount, sd.median_days,
         CAST(gr.won AS {double}) / nullif(gr.won + gr.lost_from, 0) AS win_probability
  FROM grid gr
  LEFT JOIN at_stage h ON h.is_all = gr.is_all{join_hgr} AND h.pos = gr.pos
  LEFT JOIN stay_days sd ON sd.is_all = gr.is_all{join_sdgr} AND sd.pos = gr.pos
),
both_rows AS (
  SELECT is_all, {keys}pos, stage, reached, advanced,
         CASE WHEN reached > 0 THEN {conversion} END AS conversion_rate, open_here, lost_here,
         CAST(round(open_amount, 2) AS {double}) AS open_amount,
         {median_days} AS median_days_in_stage, {probability} AS win_probability
  FROM stage_rows
  UNION ALL
  SELECT g.is_all, {g_keys}l.pos + 1, 'won', g.won, NULL, NULL, 0, 0, CAST(0 AS {double}), NULL,
         CAST(1 AS DECIMAL(38, 4))
  FROM grp g CROSS JOIN last_stage l
)
SELECT {named_keys}stage, reached, advanced, conversion_rate, open_here, lost_here, open_amount,
       median_days_in_stage, win_probability
FROM both_rows ORDER BY is_all{key_order}, pos",
            ctes = self.ctes(),
            keys = self.keys("", ", "),
            group_keys = self.keys(", ", ""),
            m_keys = self.keys("m.", ", "),
            g_keys = self.keys("g.", ", "),
            gr_keys = self.keys("gr.", ", "),
            gr_partition = self.keys(", gr.", ""),
            join_ag = self.join("a", "g"),
            join_hgr = self.join("h", "gr"),
            join_sdgr = self.join("sd", "gr"),
            stay_days = d.days_between("coalesce(s.next_day, o.closed)", "s.day"),
            median = d.median(&format!("CAST(st.days AS {double})")),
            conversion = round4(&format!("CAST(advanced AS {double}) / reached")),
            median_days = round_to(d, "median_days", 1),
            probability = round4("win_probability"),
            named_keys = self.named_keys(),
            key_order = self.key_order(),
        )
    }

    fn open_table(&self) -> String {
        let d = self.dialect;
        let days_since = d.days_between("as_of.d", "o.last_change");
        format!(
            "WITH {ctes}
SELECT o.id AS opportunity_id, o.owner, o.customer_id, o.stage,
       CAST(round(o.amount, 2) AS {double}) AS amount, o.created_day AS created_at,
       {age} AS age_days, {days_since} AS days_since_change, {days_since} > {stale} AS stale,
       {probability} AS win_probability, {weighted} AS weighted_amount
FROM priced o CROSS JOIN as_of
WHERE o.outcome = 'open'
ORDER BY weighted_amount DESC NULLS LAST, {id}",
            ctes = self.ctes(),
            double = d.double(),
            age = d.days_between("as_of.d", "o.created_day"),
            stale = self.stale_days,
            probability = round4("o.prob"),
            weighted = round_to(d, "o.amount_f * o.prob", 2),
            id = d.bytewise("o.id"),
        )
    }

    /// The SQL of the table `show`.
    pub fn sql(&self) -> String {
        match self.show {
            Show::Summary => self.summary(),
            Show::Stages => self.stage_table(),
            Show::Open => self.open_table(),
        }
    }
}
