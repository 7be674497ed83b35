//! `rating`: grades worked out by hand with both normalisations, rules mistakes naming their
//! line, and every sample customer graded once.

use crate::common::{records, sample, Workdir};

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
