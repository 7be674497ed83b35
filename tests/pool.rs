//! `pool` on the hand-made ownership log (tests/event_log.rs): what is due, owners, reclaims,
//! priority and health worked out by hand, and bad rules as usage errors.

use crate::common::{records, Workdir};
use crate::event_log::{by_first_column, workdir, BASE};

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
