//! `crm-eval rfm`: values worked out by hand, refunds, as-of, breakpoints, segments, config.

use crate::common::{records, Workdir};

/// Worked example (as_of = day after the latest date, 2024-03-20 → 2024-03-21):
/// - A: three orders, two on the same day → frequency 3 (2 purchase days), last 2024-03-01,
///   recency 20, monetary 180.
/// - B: O5 is refunded in full, so it is no purchase: frequency 1, monetary 200, recency 40
///   (2024 is a leap year: Feb 10 → Mar 21 is 40 days).
/// - C: O6 partly refunded with a negative row: monetary 400, purchase date stays 03-15.
/// - D: only a cancelled order → not scored (reported on stderr).
/// - E: one order on 2023-12-01 → recency 111.
pub const WORKED: &str = "\
order_id,customer_id,order_date,amount,status
O1,A,2024-01-01,100,paid
O2,A,2024-03-01,50,paid
O3,A,2024-03-01,30,paid
O4,B,2024-02-10,200,paid
O5,B,2024-02-20,80,paid
O5,B,2024-02-25,80,refunded
O6,C,2024-03-15,500,paid
O6,C,2024-03-20,-100,refunded
O7,D,2024-01-20,60,cancelled
O8,E,2023-12-01,40,paid
";

#[test]
fn worked_example_values_and_scores() {
    let w = Workdir::new();
    w.write("orders.csv", WORKED);
    let out = w.cmd(&["rfm", "orders.csv"]).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("as of 2024-03-21"), "{stderr}");
    assert!(
        stderr.contains("1 customers have order rows but no purchase"),
        "{stderr}"
    );
    let rows = records(&String::from_utf8(out.stdout).unwrap());
    let got: Vec<Vec<&str>> = rows
        .iter()
        .map(|r| {
            [
                "customer_id",
                "first_order_date",
                "last_order_date",
                "recency_days",
                "frequency",
                "monetary",
                "r_score",
                "f_score",
                "m_score",
                "rfm_code",
                "segment",
            ]
            .iter()
            .map(|k| r[*k].as_str())
            .collect()
        })
        .collect();
    // Scores: score = 1 + floor(5 × strictly-worse / 4). Recency -6 (C) beats 3 others → 4;
    // F: A alone above three tied 1s → 4, the ties → 1; M: 40 < 180 < 200 < 400 → 1, 2, 3, 4.
    // Segments on R × FM, FM = ceil((F + M) / 2): A R3 FM3 Need Attention; B R2 FM2 Hibernating;
    // C R4 FM3 Potential Loyalist; E R1 FM1 Lost.
    let expected = vec![
        vec![
            "A",
            "2024-01-01",
            "2024-03-01",
            "20",
            "3",
            "180",
            "3",
            "4",
            "2",
            "342",
            "Need Attention",
        ],
        vec![
            "B",
            "2024-02-10",
            "2024-02-10",
            "40",
            "1",
            "200",
            "2",
            "1",
            "3",
            "213",
            "Hibernating",
        ],
        vec![
            "C",
            "2024-03-15",
            "2024-03-15",
            "6",
            "1",
            "400",
            "4",
            "1",
            "4",
            "414",
            "Potential Loyalist",
        ],
        vec![
            "E",
            "2023-12-01",
            "2023-12-01",
            "111",
            "1",
            "40",
            "1",
            "1",
            "1",
            "111",
            "Lost",
        ],
    ];
    assert_eq!(got, expected);
}

#[test]
fn frequency_by_purchase_days() {
    let w = Workdir::new();
    w.write("orders.csv", WORKED);
    let rows = records(&w.stdout(&["rfm", "orders.csv", "--frequency", "days", "-q"]));
    assert_eq!(rows[0]["customer_id"], "A");
    assert_eq!(rows[0]["frequency"], "2");
}

#[test]
fn without_order_id_each_positive_row_is_a_purchase() {
    let w = Workdir::new();
    w.write(
        "orders.csv",
        "customer_id,order_date,amount,status\nA,2024-01-01,100,paid\nA,2024-01-05,100,refunded\nA,2024-01-03,50,paid\n",
    );
    let rows = records(&w.stdout(&["rfm", "orders.csv", "-q"]));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["frequency"], "2");
    assert_eq!(rows[0]["monetary"], "50");
    // The refund is the latest row, so as_of is 2024-01-06 and the last purchase 01-03.
    assert_eq!(rows[0]["recency_days"], "3");
}

#[test]
fn as_of_leaves_out_later_orders_and_reports_them() {
    let w = Workdir::new();
    w.write("orders.csv", WORKED);
    let out = w
        .cmd(&["rfm", "orders.csv", "--as-of", "2024-03-01"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("4 order rows dated on or after 2024-03-01"),
        "{stderr}"
    );
    let rows = records(&String::from_utf8(out.stdout).unwrap());
    let a = rows.iter().find(|r| r["customer_id"] == "A").unwrap();
    assert_eq!(
        (a["frequency"].as_str(), a["recency_days"].as_str()),
        ("1", "60")
    );
    assert!(
        rows.iter().all(|r| r["customer_id"] != "C"),
        "C's first order is after as_of"
    );
}

#[test]
fn explicit_breakpoints() {
    let w = Workdir::new();
    w.write("orders.csv", WORKED);
    let rows = records(&w.stdout(&[
        "rfm",
        "orders.csv",
        "-q",
        "--r-breaks",
        "7,30,60,100",
        "--f-breaks",
        "1,2,3,4",
        "--m-breaks",
        "50,150,250,450",
    ]));
    let codes: Vec<&str> = rows.iter().map(|r| r["rfm_code"].as_str()).collect();
    // A: recency 20 ≤ 30 → 4, f 3 ≤ 3 → 3, m 180 ≤ 250 → 3. B: 40 → 3, 1 → 1, 200 → 3.
    // C: 6 ≤ 7 → 5, 1 → 1, 400 → 4. E: 111 > 100 → 1, 1 → 1, 40 ≤ 50 → 1.
    assert_eq!(codes, ["433", "313", "514", "111"]);
}

#[test]
fn bad_scoring_flags_are_usage_errors() {
    let w = Workdir::new();
    w.write("orders.csv", WORKED);
    let err = w.fails(&["rfm", "orders.csv", "--r-breaks", "30,10"], 2);
    assert!(err.contains("strictly ascending"), "{err}");
    let err = w.fails(&["rfm", "orders.csv", "--bins", "1"], 2);
    assert!(err.contains("--bins"), "{err}");
    let err = w.fails(&["rfm", "orders.csv", "--as-of", "31/12/2024"], 2);
    assert!(err.contains("YYYY-MM-DD"), "{err}");
}

#[test]
fn summary_lists_every_segment_and_shares_add_up() {
    let w = Workdir::new();
    let rows = records(&w.stdout(&[
        "rfm",
        &crate::common::sample("orders.csv"),
        "--summary",
        "-q",
    ]));
    assert_eq!(rows.len(), 11, "the 11 default segments, each once");
    let customers: i64 = rows
        .iter()
        .map(|r| r["customers"].parse::<i64>().unwrap())
        .sum();
    let per_customer = records(&w.stdout(&["rfm", &crate::common::sample("orders.csv"), "-q"]));
    assert_eq!(customers as usize, per_customer.len());
    let share: f64 = rows
        .iter()
        .map(|r| r["customer_share"].parse::<f64>().unwrap())
        .sum();
    assert!(
        (share - 1.0).abs() < 0.001,
        "customer shares sum to {share}"
    );
    let revenue_share: f64 = rows
        .iter()
        .map(|r| r["revenue_share"].parse::<f64>().unwrap())
        .sum();
    assert!(
        (revenue_share - 1.0).abs() < 0.001,
        "revenue shares sum to {revenue_share}"
    );
    let revenue: f64 = rows
        .iter()
        .map(|r| r["revenue"].parse::<f64>().unwrap())
        .sum();
    let monetary: f64 = per_customer
        .iter()
        .map(|r| r["monetary"].parse::<f64>().unwrap())
        .sum();
    assert!((revenue - monetary).abs() < 0.05, "{revenue} vs {monetary}");
    let champions = rows.iter().find(|r| r["segment"] == "Champions").unwrap();
    let n = per_customer
        .iter()
        .filter(|r| r["segment"] == "Champions")
        .count();
    assert_eq!(champions["customers"], n.to_string());
}

#[test]
fn segment_rules_from_the_config_file() {
    let w = Workdir::new();
    w.write("orders.csv", WORKED);
    w.write(
        "crm-eval.toml",
        "[rfm]\nbins = 2\n\n[[rfm.segments]]\nname = \"Recent\"\nr = [2, 2]\n\n[[rfm.segments]]\nname = \"Old\"\nr = [1, 1]\nf = [1, 1]\n",
    );
    let rows = records(&w.stdout(&["rfm", "orders.csv", "-q"]));
    let seg: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["customer_id"].as_str(), r["segment"].as_str()))
        .collect();
    // Two bins: 1 + floor(2 × worse / 4). R: C, A → 2; B, E → 1. F: A → 2, others 1.
    assert_eq!(
        seg,
        [("A", "Recent"), ("B", "Old"), ("C", "Recent"), ("E", "Old")]
    );
    let summary = records(&w.stdout(&["rfm", "orders.csv", "-q", "--summary"]));
    let names: Vec<&str> = summary.iter().map(|r| r["segment"].as_str()).collect();
    assert_eq!(names, ["Recent", "Old"]);
}

#[test]
fn a_bad_config_file_is_a_usage_error_naming_the_line() {
    let w = Workdir::new();
    w.write("orders.csv", WORKED);
    w.write("bad.toml", "[rfm]\nbins = 5\nbinz = 3\n");
    let err = w.fails(&["rfm", "orders.csv", "--config", "bad.toml"], 2);
    assert!(err.contains("bad.toml") && err.contains("line 3"), "{err}");
    w.write("range.toml", "[[rfm.segments]]\nname = \"X\"\nr = [4, 2]\n");
    let err = w.fails(&["rfm", "orders.csv", "--config", "range.toml"], 2);
    assert!(err.contains("r = [4, 2]"), "{err}");
    let err = w.fails(&["rfm", "orders.csv", "--config", "missing.toml"], 2);
    assert!(err.contains("missing.toml"), "{err}");
}

#[test]
fn same_input_same_bytes() {
    let w = Workdir::new();
    let a = w.stdout(&["rfm", &crate::common::sample("orders.csv"), "-q"]);
    let b = w.stdout(&["rfm", &crate::common::sample("orders.csv"), "-q"]);
    assert_eq!(a, b);
}

#[test]
fn only_cancelled_orders_is_a_data_error() {
    let w = Workdir::new();
    w.write(
        "orders.csv",
        "customer_id,order_date,amount,status\nA,2024-01-01,10,cancelled\n",
    );
    let err = w.fails(&["rfm", "orders.csv"], 1);
    assert!(err.contains("no purchases"), "{err}");
}

#[test]
fn the_example_config_spells_out_the_built_in_segments() {
    let w = Workdir::new();
    let orders = crate::common::sample("orders.csv");
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/crm-eval.toml")
        .display()
        .to_string();
    let built_in = w.stdout(&["rfm", &orders, "-q"]);
    let from_file = w.stdout(&["rfm", &orders, "-q", "--config", &config]);
    assert_eq!(built_in, from_file);
}
