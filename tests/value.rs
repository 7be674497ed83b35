//! `cohort`, `lifecycle` and `rating`: answers worked out by hand, and invariants on the sample.

use std::collections::HashMap;

use crate::common::{records, sample, Workdir};

/// Cohorts (as_of 2024-03-02, so March is the last observed month): January = A, B; February = C.
/// A buys in Jan and Feb, B in Jan and Mar, C only in Feb.
const COHORT_ORDERS: &str = "\
customer_id,order_date,amount
A,2024-01-05,10
A,2024-02-10,20
A,2024-02-20,5
B,2024-01-20,30
B,2024-03-01,40
C,2024-02-03,50
";

#[test]
fn cohort_matrices_by_hand() {
    let w = Workdir::new();
    w.write("orders.csv", COHORT_ORDERS);
    let retention = w.stdout(&["cohort", "orders.csv", "-q"]);
    assert_eq!(
        retention,
        "cohort,customers,period_0,period_1,period_2\n2024-01,2,1,0.5,0.5\n2024-02,1,1,0,\n",
        "February's cohort has not been observed for two months: empty, not 0"
    );
    let customers = w.stdout(&["cohort", "orders.csv", "-q", "--metric", "customers"]);
    assert_eq!(
        customers,
        "cohort,customers,period_0,period_1,period_2\n2024-01,2,2,1,1\n2024-02,1,1,0,\n"
    );
    let revenue = w.stdout(&["cohort", "orders.csv", "-q", "--metric", "revenue"]);
    assert_eq!(
        revenue,
        "cohort,customers,period_0,period_1,period_2\n2024-01,2,40,25,40\n2024-02,1,50,0,\n"
    );
    let quarters = w.stdout(&["cohort", "orders.csv", "-q", "--period", "quarter"]);
    assert_eq!(quarters, "cohort,customers,period_0\n2024-Q1,3,1\n");
}

#[test]
fn cohort_sizes_equal_first_purchase_counts() {
    let w = Workdir::new();
    let cohorts = records(&w.stdout(&["cohort", &sample("orders.csv"), "-q"]));
    let rfm = records(&w.stdout(&["rfm", &sample("orders.csv"), "-q"]));
    let mut firsts: HashMap<String, usize> = HashMap::new();
    for r in &rfm {
        *firsts
            .entry(r["first_order_date"][..7].to_string())
            .or_default() += 1;
    }
    for c in &cohorts {
        assert_eq!(
            c["customers"].parse::<usize>().unwrap(),
            firsts[&c["cohort"]],
            "{}",
            c["cohort"]
        );
        assert_eq!(
            c["period_0"], "1",
            "everyone buys in their own cohort period"
        );
    }
    let total: usize = cohorts
        .iter()
        .map(|c| c["customers"].parse::<usize>().unwrap())
        .sum();
    assert_eq!(total, rfm.len());
    // The triangle: the last cohort has only period_0 observed.
    let last = cohorts.last().unwrap();
    assert_eq!(last["period_1"], "");
}

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

#[test]
fn rating_by_hand_with_both_normalisations() {
    let w = Workdir::new();
    w.write("orders.csv", "customer_id,order_date,amount\nW,2024-01-01,10\nX,2024-01-01,20\nY,2024-01-01,30\nZ,2024-01-01,40\n");
    let rules = "[criteria]\nvalue = 1.0\n\n[[grades]]\ngrade = \"A\"\nmin_score = 50\n\n[[grades]]\ngrade = \"B\"\nmin_score = 0\n";
    w.write("rules.toml", rules);
    // Percentile: the share of customers no better → 0.25, 0.5, 0.75, 1 → scores 25 … 100.
    let rows = records(&w.stdout(&["rating", "orders.csv", "--rules", "rules.toml", "-q"]));
    let got: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["customer_id"].as_str(),
                r["score"].as_str(),
                r["grade"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("Z", "100", "A"),
            ("Y", "75", "A"),
            ("X", "50", "A"),
            ("W", "25", "B")
        ]
    );
    // Min-max: (v − 10) / 30 → 0, 33.33, 66.67, 100.
    w.write("minmax.toml", format!("normalise = \"min-max\"\n{rules}"));
    let rows = records(&w.stdout(&["rating", "orders.csv", "--rules", "minmax.toml", "-q"]));
    let got: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["customer_id"].as_str(),
                r["score"].as_str(),
                r["grade"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("Z", "100", "A"),
            ("Y", "66.67", "A"),
            ("X", "33.33", "B"),
            ("W", "0", "B")
        ]
    );
}

#[test]
fn bad_rating_rules_are_usage_errors_naming_the_line() {
    let w = Workdir::new();
    w.write(
        "orders.csv",
        "customer_id,order_date,amount\nW,2024-01-01,10\n",
    );
    w.write(
        "sum.toml",
        "[criteria]\nvalue = 0.6\nrecency = 0.6\n[[grades]]\ngrade = \"A\"\nmin_score = 0\n",
    );
    let err = w.fails(&["rating", "orders.csv", "--rules", "sum.toml"], 2);
    assert!(
        err.contains("sum.toml: line 1: the [criteria] weights sum to 1.2"),
        "{err}"
    );
    w.write(
        "unknown.toml",
        "[criteria]\nvalue = 0.5\n\nloyalty = 0.5\n[[grades]]\ngrade = \"A\"\nmin_score = 0\n",
    );
    let err = w.fails(&["rating", "orders.csv", "--rules", "unknown.toml"], 2);
    assert!(
        err.contains("unknown.toml: line 4: unknown criterion \"loyalty\""),
        "{err}"
    );
    w.write(
        "margin.toml",
        "[criteria]\nmargin = 1\n[[grades]]\ngrade = \"A\"\nmin_score = 0\n",
    );
    let err = w.fails(&["rating", "orders.csv", "--rules", "margin.toml"], 1);
    assert!(err.contains("margin or cost column"), "{err}");
}

#[test]
fn rating_on_the_sample_grades_every_customer_once() {
    let w = Workdir::new();
    let rows = records(&w.stdout(&[
        "rating",
        &sample("orders.csv"),
        "--customers",
        &sample("customers.csv"),
        "--rules",
        &format!("{}/examples/rating.toml", env!("CARGO_MANIFEST_DIR")),
        "-q",
    ]));
    assert_eq!(rows.len(), 5000);
    assert!(rows
        .iter()
        .all(|r| ["A", "B", "C", "D"].contains(&r["grade"].as_str())));
    let scores: Vec<f64> = rows.iter().map(|r| r["score"].parse().unwrap()).collect();
    assert!(scores.windows(2).all(|s| s[0] >= s[1]), "sorted by score");
    assert!(scores.iter().all(|s| (0.0..=100.0).contains(s)));
    // The built-in rules are the example file.
    let example = format!("{}/examples/rating.toml", env!("CARGO_MANIFEST_DIR"));
    let with_file = w.stdout(&["rating", &sample("orders.csv"), "--rules", &example, "-q"]);
    let built_in = w.stdout(&["rating", &sample("orders.csv"), "-q"]);
    assert_eq!(built_in, with_file);
}

#[test]
fn every_value_command_gives_the_same_bytes_twice() {
    let w = Workdir::new();
    let orders = sample("orders.csv");
    let customers = sample("customers.csv");
    let events = sample("events.csv");
    let followups = sample("followups.csv");
    let runs: [Vec<&str>; 10] = [
        vec!["clv", &orders],
        vec![
            "conversion",
            "--events",
            &events,
            "--orders",
            &orders,
            "--followups",
            &followups,
        ],
        vec![
            "recovery",
            "--events",
            &events,
            "--orders",
            &orders,
            "--by",
            "reason,owner",
        ],
        vec![
            "pool",
            "--events",
            &events,
            "--orders",
            &orders,
            "--followups",
            &followups,
        ],
        vec!["clv", &orders, "--model", "pareto-nbd", "--params"],
        vec!["abc", &orders, "--by", "margin"],
        vec!["cohort", &orders, "--metric", "revenue", "--period", "week"],
        vec!["lifecycle", &orders, "--customers", &customers],
        vec!["lifecycle", &orders, "--rates"],
        vec!["rating", &orders, "--customers", &customers],
    ];
    for args in runs {
        let mut args = args.clone();
        args.push("-q");
        // Several runs: parallel aggregation must not change a single byte.
        let first = w.stdout(&args);
        for _ in 0..3 {
            assert_eq!(first, w.stdout(&args), "{args:?}");
        }
    }
}
