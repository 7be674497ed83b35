//! `recovery` on the hand-made ownership log (tests/event_log.rs) and on churn without a log,
//! worked out by hand.

use crate::common::Workdir;
use crate::event_log::{by_first_column, workdir, BASE};

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
