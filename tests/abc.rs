//! `crm-eval abc`: tiers worked out by hand, margin, thresholds, summary invariants.

use crate::common::{records, sample, Workdir};

/// Revenue: A 500, B 300, C 100 − 50 refunded = 50, D 50, E 50; total 950. F has only a cancelled
/// order, so no purchase, and is not ranked (docs/metrics.md, "Orders and purchases").
/// Ranked A, B, then the tie C, D, E by customer_id.
/// Cumulative share before each: A 0 → A; B 500/950 = 0.53 → A; C 800/950 = 0.84 → B, and D, E
/// tie with C → B.
const ORDERS: &str = "\
customer_id,order_date,amount,status,cost
A,2024-01-01,500,paid,300
B,2024-01-02,300,paid,100
C,2024-01-03,100,paid,20
C,2024-01-04,50,refunded,10
D,2024-01-05,50,paid,45
E,2024-01-06,50,paid,10
F,2024-01-07,30,cancelled,0
";

fn tiers(rows: &[std::collections::HashMap<String, String>]) -> Vec<(String, String)> {
    rows.iter()
        .map(|r| (r["customer_id"].clone(), r["tier"].clone()))
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn revenue_tiers_by_hand() {
    let w = Workdir::new();
    w.write("orders.csv", ORDERS);
    let rows = records(&w.stdout(&["abc", "orders.csv", "-q"]));
    assert_eq!(
        tiers(&rows),
        pairs(&[("A", "A"), ("B", "A"), ("C", "B"), ("D", "B"), ("E", "B"),])
    );
    let cumulative: Vec<&str> = rows
        .iter()
        .map(|r| r["cumulative_share"].as_str())
        .collect();
    assert_eq!(
        cumulative,
        ["0.526316", "0.842105", "0.894737", "0.947368", "1"]
    );
    assert_eq!(rows[2]["value"], "50");
    let summary = records(&w.stdout(&["abc", "orders.csv", "-q", "--summary"]));
    let got: Vec<(&str, &str, &str, &str)> = summary
        .iter()
        .map(|r| {
            (
                r["tier"].as_str(),
                r["customers"].as_str(),
                r["value"].as_str(),
                r["value_share"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("A", "2", "800", "0.8421"),
            ("B", "3", "150", "0.1579"),
            ("C", "0", "0", "0")
        ]
    );
}

/// Margin = amount − cost, refunds negative: A 200, B 200, C 80 − 40 = 40, D 5, E 40 (F has no
/// purchase); total 485. A and B tie (A first by id, B shares its tier); C 400/485 = 0.82 → B with E;
/// D 480/485 = 0.99 → C. With thresholds 90,99: C and E → A, D → B.
#[test]
fn margin_tiers_and_thresholds() {
    let w = Workdir::new();
    w.write("orders.csv", ORDERS);
    let rows = records(&w.stdout(&["abc", "orders.csv", "-q", "--by", "margin"]));
    assert_eq!(
        tiers(&rows),
        pairs(&[("A", "A"), ("B", "A"), ("C", "B"), ("E", "B"), ("D", "C"),])
    );
    let rows = records(&w.stdout(&[
        "abc",
        "orders.csv",
        "-q",
        "--by",
        "margin",
        "--thresholds",
        "90,99",
    ]));
    assert_eq!(
        tiers(&rows),
        pairs(&[("A", "A"), ("B", "A"), ("C", "A"), ("E", "A"), ("D", "B"),])
    );
}

/// Margins A 200, B 200, C 80 − 40 = 40, D 5, E 40, G 10 − 60 = −50 (sold below cost):
/// positive total 485; G is tier L, ranked last, with share 0, and the summary's C row holds
/// no negative value.
#[test]
fn loss_making_customers_are_tier_l_outside_the_shares() {
    let w = Workdir::new();
    w.write("orders.csv", format!("{ORDERS}G,2024-01-08,10,paid,60\n"));
    let rows = records(&w.stdout(&["abc", "orders.csv", "-q", "--by", "margin"]));
    let last = rows.last().unwrap();
    assert_eq!(
        (
            last["customer_id"].as_str(),
            last["tier"].as_str(),
            last["value"].as_str()
        ),
        ("G", "L", "-50")
    );
    assert_eq!(last["value_share"], "0");
    assert_eq!(last["cumulative_share"], "1");
    let summary = records(&w.stdout(&["abc", "orders.csv", "-q", "--by", "margin", "--summary"]));
    let tiers: Vec<(&str, &str, &str)> = summary
        .iter()
        .map(|r| {
            (
                r["tier"].as_str(),
                r["value"].as_str(),
                r["value_share"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        tiers,
        [
            ("A", "400", "0.8247"),
            ("B", "80", "0.1649"),
            ("C", "5", "0.0103"),
            ("L", "-50", "0")
        ]
    );
}

#[test]
fn usage_and_data_errors() {
    let w = Workdir::new();
    w.write("orders.csv", ORDERS);
    let err = w.fails(&["abc", "orders.csv", "--thresholds", "95,80"], 2);
    assert!(err.contains("0 < A < B <= 100"), "{err}");
    let err = w.fails(&["abc", "orders.csv", "--thresholds", "80"], 2);
    assert!(err.contains("two percentages"), "{err}");
    w.write(
        "plain.csv",
        "customer_id,order_date,amount\nA,2024-01-01,5\n",
    );
    let err = w.fails(&["abc", "plain.csv", "--by", "margin"], 1);
    assert!(
        err.contains("plain.csv") && err.contains("margin column"),
        "{err}"
    );
}

#[test]
fn sample_tiers_cover_every_customer_once_and_shares_add_up() {
    let w = Workdir::new();
    let rows = records(&w.stdout(&["abc", &sample("orders.csv"), "-q"]));
    let mut ids: Vec<&str> = rows.iter().map(|r| r["customer_id"].as_str()).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "no customer twice");
    let summary = records(&w.stdout(&["abc", &sample("orders.csv"), "-q", "--summary"]));
    let customers: usize = summary
        .iter()
        .map(|r| r["customers"].parse::<usize>().unwrap())
        .sum();
    assert_eq!(customers, n);
    for column in ["customer_share", "value_share"] {
        let total: f64 = summary
            .iter()
            .map(|r| r[column].parse::<f64>().unwrap())
            .sum();
        assert!((total - 1.0).abs() < 0.001, "{column} sums to {total}");
    }
    // Ranked by value, descending; the cumulative share never decreases.
    let values: Vec<f64> = rows.iter().map(|r| r["value"].parse().unwrap()).collect();
    assert!(values.windows(2).all(|w| w[0] >= w[1]));
    let tier_of = |t: &str| rows.iter().filter(|r| r["tier"] == t).count();
    assert!(
        tier_of("A") < tier_of("B") + tier_of("C"),
        "Pareto: A is the minority"
    );
}
