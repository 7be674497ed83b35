//! `conversion` on the hand-made ownership log (tests/event_log.rs), worked out by hand; and the
//! three commands of the log (conversion, recovery, pool) end to end on sample-data.

use crate::common::{records, sample, Workdir};
use crate::event_log::{by_first_column, workdir, BASE};

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
