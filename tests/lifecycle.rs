//! `lifecycle`: stages worked out by hand, and one stage per customer with consistent rates on
//! the sample.

use std::collections::HashMap;

use crate::common::{records, sample, Workdir};

/// As of 2024-07-01 with the defaults (churn 180 days, new 90, loyal 3 purchases, factor 1):
/// N first bought 30 days ago → new; L bought 4 times, typical gap 162 / 3 = 54 days, last 11 days
/// ago → loyal; R bought twice 31 days apart, last 151 days ago → at_risk; X last bought 274 days
/// ago → churned; T bought twice 106 days apart, last 16 days ago → active; P only in the
/// customers file → potential.
const LIFECYCLE_ORDERS: &str = "\
customer_id,order_date,amount
N,2024-06-01,10
L,2024-01-10,10
L,2024-03-10,10
L,2024-05-10,10
L,2024-06-20,10
R,2024-01-01,10
R,2024-02-01,10
X,2023-10-01,10
T,2024-03-01,10
T,2024-06-15,10
";

#[test]
fn lifecycle_stages_by_hand() {
    let w = Workdir::new();
    w.write("orders.csv", LIFECYCLE_ORDERS);
    w.write(
        "customers.csv",
        "customer_id,created_at\nP,2024-01-01\nN,2024-05-01\n",
    );
    let rows = records(&w.stdout(&[
        "lifecycle",
        "orders.csv",
        "--customers",
        "customers.csv",
        "--as-of",
        "2024-07-01",
        "-q",
    ]));
    let stages: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["customer_id"].as_str(), r["stage"].as_str()))
        .collect();
    assert_eq!(
        stages,
        [
            ("L", "loyal"),
            ("N", "new"),
            ("P", "potential"),
            ("R", "at_risk"),
            ("T", "active"),
            ("X", "churned")
        ]
    );
    let l = &rows[0];
    assert_eq!(
        (l["typical_gap_days"].as_str(), l["recency_days"].as_str()),
        ("54", "11")
    );
    // A longer churn window keeps X; a factor of 5 takes R out of at_risk.
    let rows = records(&w.stdout(&[
        "lifecycle",
        "orders.csv",
        "--as-of",
        "2024-07-01",
        "-q",
        "--churn-days",
        "300",
        "--at-risk-factor",
        "5",
    ]));
    let stage = |id: &str| rows.iter().find(|r| r["customer_id"] == id).unwrap()["stage"].clone();
    assert_eq!(
        (stage("X").as_str(), stage("R").as_str()),
        ("at_risk", "active")
    );
    let err = w.fails(&["lifecycle", "orders.csv", "--churn-days", "0"], 2);
    assert!(err.contains("--churn-days"), "{err}");
    w.fails(&["lifecycle", "orders.csv", "--rates", "--summary"], 2);
}

#[test]
fn lifecycle_on_the_sample_gives_every_customer_one_stage_and_consistent_rates() {
    let w = Workdir::new();
    let rows = records(&w.stdout(&[
        "lifecycle",
        &sample("orders.csv"),
        "--customers",
        &sample("customers.csv"),
        "-q",
    ]));
    assert_eq!(
        rows.len(),
        5000,
        "every customer of the customers file, once"
    );
    let summary = records(&w.stdout(&[
        "lifecycle",
        &sample("orders.csv"),
        "--customers",
        &sample("customers.csv"),
        "-q",
        "--summary",
    ]));
    let total: usize = summary
        .iter()
        .map(|r| r["customers"].parse::<usize>().unwrap())
        .sum();
    assert_eq!(total, 5000);
    let rates = records(&w.stdout(&[
        "lifecycle",
        &sample("orders.csv"),
        "-q",
        "--rates",
        "--period",
        "month",
    ]));
    assert_eq!(rates.len(), 36, "36 complete months in 2022–2024");
    for pair in rates.windows(2) {
        let n = |r: &HashMap<String, String>, k: &str| r[k].parse::<i64>().unwrap();
        // Who is active at the end of one month is who is active at the start of the next.
        assert_eq!(
            n(&pair[1], "customers_at_start"),
            n(&pair[0], "retained") + n(&pair[0], "won")
        );
        assert_eq!(
            n(&pair[1], "churned"),
            n(&pair[1], "customers_at_start") - n(&pair[1], "retained")
        );
        let (c, r): (f64, f64) = (
            pair[1]["churn_rate"].parse().unwrap(),
            pair[1]["retention_rate"].parse().unwrap(),
        );
        assert!((c + r - 1.0).abs() < 1e-3);
    }
}
