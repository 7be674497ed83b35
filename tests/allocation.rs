//! `conversion`, `recovery` and `pool` on a hand-made event log whose answers are worked out here:
//! a transfer mid-window, a reclaim by the same owner inside the cooldown, an immature spell, a
//! refund inside the window, events out of order, an unknown event type, a release while nobody
//! holds the customer, orders of a customer with no events and orders before any assignment.

use std::collections::HashMap;

use crate::common::{records, sample, Workdir};

const EVENTS: &str = "customer_id,event_time,event,owner,reason,pool
A,2024-01-01 09:00:00,assign,Ann,,East
A,2024-01-20 10:00:00,transfer,Bob,rebalance,East
B,2024-01-05 09:00:00,claim,Ann,,East
B,2024-02-20 09:00:00,recycle,Ann,no_followup,East
B,2024-03-01 09:00:00,领取,Ann,,East
C,2024-06-20 09:00:00,assign,Bob,,West
D,2024-02-01 09:00:00,assign,Bob,,West
D,2024-01-15 09:00:00,assign,Ann,,West
E,2024-03-01 09:00:00,assign,Cat,,West
E,2024-03-05 09:00:00,teleport,Cat,,West
F,2024-02-10 09:00:00,release,Dan,customer_request,West
";

const ORDERS: &str = "customer_id,order_id,order_date,amount,status
A,o1,2024-01-25,100,paid
B,o2,2024-03-10,200,paid
B,o2,2024-03-12,50,refunded
B,o3,2024-03-25,80,paid
D,o4,2024-01-20,60,paid
Z,o5,2024-02-01,10,paid
E,o6,2024-02-01,30,paid
";

const FOLLOWUPS: &str = "customer_id,followup_time,owner
A,2024-01-21 10:00:00,Bob
C,2024-06-21 09:00:00,Bob
E,2024-06-28 09:00:00,Cat
";

fn workdir() -> Workdir {
    let w = Workdir::new();
    w.write("events.csv", EVENTS);
    w.write("orders.csv", ORDERS);
    w.write("followups.csv", FOLLOWUPS);
    w
}

fn by_first_column(text: &str) -> HashMap<String, HashMap<String, String>> {
    let (headers, _) = crate::common::parse_csv(text);
    records(text)
        .into_iter()
        .map(|r| (r[&headers[0]].clone(), r))
        .collect()
}

const BASE: [&str; 9] = [
    "--events",
    "events.csv",
    "--orders",
    "orders.csv",
    "--window",
    "30",
    "--as-of",
    "2024-07-01",
    "-q",
];

/// Spells (window 30 days, as of 2024-07-01):
/// 1. A/Ann 01-01 → transfer 01-20: A's 01-25 purchase is after the hand-over, so not Ann's.
/// 2. A/Bob 01-20 (transfer) → open: 01-25 purchase, converted in 5 days, revenue 100.
/// 3. B/Ann claim 01-05 → recycle 02-20: nothing by 02-04.
/// 4. B/Ann claim 03-01 → open: 03-10 (200), refund 03-12 (−50), 03-25 (80): converted in 9
///    days, revenue 230.
/// 5. C/Bob 06-20: window ends 07-20, after as_of: immature.
/// 6. D/Ann 01-15 (a row that comes after D's 02-01 row in the file) → 02-01: the 01-20 purchase,
///    converted in 5 days, revenue 60.
/// 7. D/Bob 02-01 → open: no purchase after.
/// 8. E/Cat 03-01 → open: E's only purchase (02-01) is before: not converted.
#[test]
fn conversion_by_owner_by_hand() {
    let w = workdir();
    let mut args = vec!["conversion"];
    args.extend_from_slice(&BASE);
    let rows = by_first_column(&w.stdout(&args));
    let ann = &rows["Ann"];
    assert_eq!(
        (
            &ann["spells"][..],
            &ann["matured"][..],
            &ann["immature"][..],
            &ann["converted"][..]
        ),
        ("4", "4", "0", "2")
    );
    assert_eq!(ann["conversion_rate"], "0.5");
    assert_eq!(ann["median_days_to_conversion"], "7");
    assert_eq!(ann["converted_revenue"], "290");
    let bob = &rows["Bob"];
    assert_eq!(
        (
            &bob["spells"][..],
            &bob["matured"][..],
            &bob["immature"][..],
            &bob["converted"][..]
        ),
        ("3", "2", "1", "1")
    );
    assert_eq!(bob["converted_revenue"], "100");
    assert_eq!(rows["Cat"]["converted"], "0");
    let all = &rows["all"];
    assert_eq!(
        (
            &all["spells"][..],
            &all["matured"][..],
            &all["converted"][..]
        ),
        ("8", "7", "3")
    );
    assert_eq!(all["converted_revenue"], "390");
    // Wilson interval of 3/7.
    let (p, n, z) = (3.0 / 7.0, 7.0, 1.96f64);
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / (1.0 + z * z / n);
    let low: f64 = all["ci_low"].parse().unwrap();
    assert!((low - (centre - half)).abs() < 1e-4, "{low}");
}

#[test]
fn problems_in_the_log_are_reported_not_dropped() {
    let w = workdir();
    let mut args = vec!["conversion"];
    args.extend_from_slice(&BASE[..8]);
    let out = w.cmd(&args).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("1 events of an unknown type skipped (row 11: \"teleport\")"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 events are earlier than the customer's previous row (rows 9)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 recycle/release events come while nobody holds the customer (rows 12)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 customers with purchases have no row in"),
        "{stderr}"
    );
    assert!(stderr.contains("\"Z\""), "{stderr}");
    assert!(
        stderr.contains("1 purchases of 1 customers come before the customer's first assignment"),
        "{stderr}"
    );
    assert!(stderr.contains("chi-square"), "{stderr}");
}

#[test]
fn conversion_with_followups_and_cohorts() {
    let w = workdir();
    let mut args = vec![
        "conversion",
        "--followups",
        "followups.csv",
        "--by",
        "cohort",
    ];
    args.extend_from_slice(&BASE);
    let rows = by_first_column(&w.stdout(&args));
    // January spells: A/Ann, A/Bob, B/Ann, D/Ann. A/Bob's first follow-up came 24 h after the
    // transfer; the other January spells had none during the spell.
    let jan = &rows["2024-01"];
    assert_eq!(jan["spells"], "4");
    assert_eq!(jan["followed_up"], "1");
    assert_eq!(jan["median_hours_to_first_followup"], "24");
    assert_eq!(jan["followed_up_24h_share"], "0.25");
    assert_eq!(rows["2024-06"]["immature"], "1");
}

#[test]
fn source_grouping_needs_customers() {
    let w = workdir();
    let mut args = vec!["conversion", "--by", "owner,source"];
    args.extend_from_slice(&BASE);
    let e = w.fails(&args, 2);
    assert!(e.contains("--customers"), "{e}");
}

/// Returns: B recycled 02-20 (no_followup, Ann) and reclaimed by Ann 03-01: bought 03-10 (9
/// days), value 200 − 50 + 80 = 230 in the window, bought again 03-25 (loyal). F released 02-10
/// (customer_request) while nobody held it, never reclaimed: matured, not recovered.
#[test]
fn recovery_from_the_pool_by_hand() {
    let w = workdir();
    let mut args = vec!["recovery", "--by", "reason"];
    args.extend_from_slice(&BASE);
    let rows = by_first_column(&w.stdout(&args));
    let nf = &rows["no_followup"];
    assert_eq!(
        (
            &nf["episodes"][..],
            &nf["matured"][..],
            &nf["reclaimed"][..],
            &nf["recovered"][..]
        ),
        ("1", "1", "1", "1")
    );
    assert_eq!(nf["median_days_to_recovery"], "9");
    assert_eq!(nf["value_added"], "230");
    assert_eq!(nf["loyalty_rate"], "1");
    let cr = &rows["customer_request"];
    assert_eq!(
        (
            &cr["reclaimed"][..],
            &cr["recovered"][..],
            &cr["recovery_rate"][..]
        ),
        ("0", "0", "0")
    );
    assert_eq!(rows["all"]["recovery_rate"], "0.5");
    let mut args = vec!["recovery"];
    args.extend_from_slice(&BASE);
    let by_owner = by_first_column(&w.stdout(&args));
    assert_eq!(by_owner["(pool)"]["episodes"], "1");
    assert_eq!(by_owner["Ann"]["recovered"], "1");
}

/// Without a log: churn 60 days after a purchase with no next one. Customer P buys 01-01, churns
/// 03-01, comes back 03-20 (within 30 days: recovered), buys again 04-05 (loyal); Q buys 01-10,
/// churns 03-10, comes back 05-01 (too late: not recovered in the window).
#[test]
fn recovery_from_churn_by_hand() {
    let w = Workdir::new();
    w.write(
        "orders.csv",
        "customer_id,order_date,amount\nP,2024-01-01,10\nP,2024-03-20,40\nP,2024-04-05,15\nQ,2024-01-10,20\nQ,2024-05-01,25\n",
    );
    let rows = by_first_column(&w.stdout(&[
        "recovery",
        "orders.csv",
        "--churn-days",
        "60",
        "--window",
        "30",
        "--by",
        "month",
        "--as-of",
        "2024-12-31",
        "-q",
    ]));
    // Episodes: P 03-01, Q 03-10, then after the last purchases: P 06-04, Q 06-30.
    assert_eq!(rows["2024-03"]["episodes"], "2");
    assert_eq!(rows["2024-03"]["recovered"], "1");
    assert_eq!(rows["2024-03"]["value_added"], "40");
    assert_eq!(rows["2024-03"]["loyalty_rate"], "1");
    assert_eq!(rows["2024-06"]["episodes"], "2");
    assert_eq!(rows["2024-06"]["recovered"], "0");
    assert_eq!(rows["all"]["recovery_rate"], "0.25");
    let e = w.fails(&["recovery", "orders.csv"], 2);
    assert!(e.contains("--churn-days"), "{e}");
}

const RULES: &str = "[recycle]
no_followup_days = 30
no_deal_days = 90
exempt_closed = false
warn_days = 25
[limits]
max_holding = 1
max_daily_claims = 0
[cooldown]
reclaim_days = 30
[priority]
recent_activity = 0.4
past_value = 0.4
time_in_pool = 0.2
activity_days = 90
";

fn pool(w: &Workdir, show: &str) -> String {
    w.write("rules.toml", RULES);
    let mut args = vec![
        "pool",
        "--followups",
        "followups.csv",
        "--rules",
        "rules.toml",
        "--show",
        show,
    ];
    args.extend_from_slice(&BASE);
    w.stdout(&args)
}

/// Open spells at 2024-07-01 00:00 and when each falls due:
/// A/Bob: last follow-up 01-21 10:00 → no_followup due 02-20 (bought in the spell: no no_deal);
/// D/Bob: no follow-up since 02-01 09:00 → 03-02 (no_deal would be 05-01);
/// B/Ann: claimed 03-01 09:00, no follow-up → 03-31; E/Cat: follow-up 06-28, but no deal since
/// 03-01 → no_deal due 05-30; C/Bob: follow-up 06-21 → 07-21, inside the 25 warning days.
#[test]
fn pool_due_list_by_hand() {
    let w = workdir();
    let rows = records(&pool(&w, "due"));
    let got: Vec<(String, String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["customer_id"].clone(),
                r["rule"].clone(),
                r["due_on"].clone(),
                r["status"].clone(),
            )
        })
        .collect();
    let want = [
        ("A", "no_followup", "2024-02-20", "overdue"),
        ("D", "no_followup", "2024-03-02", "overdue"),
        ("B", "no_followup", "2024-03-31", "overdue"),
        ("E", "no_deal", "2024-05-30", "overdue"),
        ("C", "no_followup", "2024-07-21", "due_soon"),
    ];
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (g, w) in got.iter().zip(want) {
        assert_eq!((&g.0[..], &g.1[..], &g.2[..], &g.3[..]), w);
    }
}

#[test]
fn pool_owners_reclaims_priority_and_health_by_hand() {
    let w = workdir();
    let owners = by_first_column(&pool(&w, "owners"));
    assert_eq!(owners["Bob"]["holding"], "3");
    assert_eq!(owners["Bob"]["over_holding_cap"], "2");
    assert_eq!(owners["Ann"]["most_claims_in_a_day"], "1");
    assert_eq!(owners["Ann"]["days_over_claim_limit"], "2");
    let reclaims = records(&pool(&w, "reclaims"));
    assert_eq!(reclaims.len(), 1);
    assert_eq!(reclaims[0]["customer_id"], "B");
    // 02-20 09:00 → 03-01 09:00 in a leap year.
    assert_eq!(reclaims[0]["days_between"], "10");
    let priority = records(&pool(&w, "priority"));
    assert_eq!(priority.len(), 1);
    assert_eq!(priority[0]["customer_id"], "F");
    let health = by_first_column(&pool(&w, "health"));
    assert_eq!(health["East"]["spells"], "4");
    assert_eq!(health["East"]["recycle_rate"], "0.25");
    assert_eq!(health["East"]["claim_to_win_rate"], "0.5");
    assert_eq!(health["West"]["in_pool_now"], "1");
    assert_eq!(health["all"]["returns"], "2");
}

#[test]
fn bad_pool_rules_are_usage_errors() {
    let w = workdir();
    w.write(
        "bad.toml",
        RULES.replace("time_in_pool = 0.2", "time_in_pool = 0.5"),
    );
    let mut args = vec![
        "pool",
        "--followups",
        "followups.csv",
        "--rules",
        "bad.toml",
    ];
    args.extend_from_slice(&BASE);
    let e = w.fails(&args, 2);
    assert!(e.contains("bad.toml") && e.contains("sum to 1"), "{e}");
    w.write("typo.toml", RULES.replace("warn_days", "warn_dayz"));
    let mut args = vec![
        "pool",
        "--followups",
        "followups.csv",
        "--rules",
        "typo.toml",
    ];
    args.extend_from_slice(&BASE);
    let e = w.fails(&args, 2);
    assert!(e.contains("typo.toml") && e.contains("warn_dayz"), "{e}");
}

#[test]
fn sample_data_runs_end_to_end() {
    let w = Workdir::new();
    let (ev, or, fu, cu) = (
        sample("events.csv"),
        sample("orders.csv"),
        sample("followups.csv"),
        sample("customers.csv"),
    );
    let out = w.stdout(&[
        "conversion",
        "--events",
        &ev,
        "--orders",
        &or,
        "--followups",
        &fu,
        "--customers",
        &cu,
        "--by",
        "owner,source",
        "-q",
    ]);
    for r in records(&out) {
        let n = |k: &str| r[k].parse::<u64>().unwrap();
        assert!(n("converted") <= n("matured") && n("matured") <= n("spells"));
    }
    let out = w.stdout(&["recovery", "--events", &ev, "--orders", &or, "-q"]);
    assert!(records(&out).len() > 5);
    let out = w.stdout(&[
        "pool",
        "--events",
        &ev,
        "--orders",
        &or,
        "--followups",
        &fu,
        "--as-of",
        "2024-12-31",
        "--show",
        "health",
        "-q",
    ]);
    assert_eq!(records(&out).last().unwrap()["pool"], "all");
}

/// Customers of the event log missing from the customers export are reported, and their spells
/// still count (in the `(unknown)` group).
#[test]
fn event_customers_without_a_customer_record_are_reported() {
    let w = workdir();
    w.write(
        "customers.csv",
        "customer_id,source\nA,web\nB,fair\nC,web\n",
    );
    let mut args = vec![
        "conversion",
        "--customers",
        "customers.csv",
        "--by",
        "source",
    ];
    args.extend_from_slice(&BASE[..8]);
    let out = w.cmd(&args).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    // D, E and F have events but no customer row.
    assert!(
        stderr.contains(
            "events.csv: 3 customers have no row in customers.csv (e.g. \"D\", \"E\", \"F\")"
        ),
        "{stderr}"
    );
    let rows = by_first_column(&String::from_utf8(out.stdout).unwrap());
    // A has two spells (Ann, then Bob after the transfer), C one; D two, E one, F none.
    assert_eq!(rows["web"]["spells"], "3");
    assert_eq!(rows["fair"]["spells"], "2");
    assert_eq!(rows["(unknown)"]["spells"], "3");
    assert_eq!(rows["all"]["spells"], "8");
}
