//! The current owner on every per-customer table (docs/metrics.md, "Current owner"), and
//! `predict churn` as a shortlist ("Churn prediction": the shortlist) — issue 25.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::common::{records, sample, Workdir};

const ORDERS: &str = "customer_id,order_id,order_date,amount,owner\n\
    A,1,2024-01-05,100,张伟\n\
    B,2,2024-02-01,50,张伟\n\
    C,4,2024-01-01,20,李娜\n\
    C,3,2024-03-01,70,张伟\n\
    D,5,2024-03-02,30,张伟\n\
    P,6,2024-03-03,10,张伟\n\
    N,7,2024-03-04,15,\n";

/// A is 李娜's in the customers file; B was reassigned from 王芳 to 陈静; D went back to the pool;
/// P is a pool customer (blank owner) in the customers file.
const CUSTOMERS: &str = "customer_id,owner,region\nA,李娜,east\nP,,west\n";
const EVENTS: &str = "customer_id,event_time,event,owner\n\
    A,2024-01-01,assign,王芳\n\
    B,2024-01-01,assign,王芳\n\
    B,2024-02-15,transfer,陈静\n\
    D,2024-01-01,claim,王芳\n\
    D,2024-02-20,recycle,王芳\n";

fn owners_of(table: &str) -> BTreeMap<String, String> {
    records(table)
        .into_iter()
        .map(|r| (r["customer_id"].clone(), r["owner"].clone()))
        .collect()
}

fn expect(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(c, o)| (c.to_string(), o.to_string()))
        .collect()
}

#[test]
fn the_owner_comes_from_the_first_source_that_lists_the_customer() {
    let w = Workdir::new();
    w.write("orders.csv", ORDERS);
    w.write("customers.csv", CUSTOMERS);
    w.write("events.csv", EVENTS);
    let all = expect(&[
        ("A", "李娜"),
        ("B", "陈静"),
        ("C", "张伟"),
        ("D", ""),
        ("N", ""),
        ("P", ""),
    ]);
    let files = [
        "--customers",
        "customers.csv",
        "--events",
        "events.csv",
        "-q",
        "-f",
        "csv",
    ];
    // One rule in every per-customer command.
    for command in ["rfm", "abc", "lifecycle", "rating"] {
        let mut args = vec![command, "orders.csv"];
        args.extend(files);
        assert_eq!(owners_of(&w.stdout(&args)), all, "{command}");
    }
    // Without the customers file, the events decide A and P.
    let events_only = owners_of(&w.stdout(&[
        "rfm",
        "orders.csv",
        "--events",
        "events.csv",
        "-q",
        "-f",
        "csv",
    ]));
    assert_eq!(
        events_only,
        expect(&[
            ("A", "王芳"),
            ("B", "陈静"),
            ("C", "张伟"),
            ("D", ""),
            ("N", ""),
            ("P", "张伟"),
        ])
    );
    // Orders alone: the owner on the latest purchase's row (C bought from 李娜 first).
    let orders_only = owners_of(&w.stdout(&["rfm", "orders.csv", "-q", "-f", "csv"]));
    assert_eq!(orders_only["C"], "张伟");
    assert_eq!(orders_only["A"], "张伟");
    assert_eq!(orders_only["N"], "");
    // No source at all: no owner column.
    w.write(
        "plain.csv",
        "customer_id,order_date,amount\nA,2024-01-05,100\n",
    );
    let plain = w.stdout(&["rfm", "plain.csv", "-q", "-f", "csv"]);
    assert!(plain.starts_with("customer_id,first_order_date"), "{plain}");
}

#[test]
fn columns_follow_the_owner_and_by_owner_groups_the_summary() {
    let w = Workdir::new();
    w.write("orders.csv", ORDERS);
    w.write("customers.csv", CUSTOMERS);
    w.write("events.csv", EVENTS);
    let table = w.stdout(&[
        "rfm",
        "orders.csv",
        "--customers",
        "customers.csv",
        "--columns",
        "region",
        "-q",
        "-f",
        "csv",
    ]);
    assert!(table.starts_with("customer_id,owner,region,"), "{table}");
    let rows = records(&table);
    let region: HashMap<&str, &str> = rows
        .iter()
        .map(|r| (r["customer_id"].as_str(), r["region"].as_str()))
        .collect();
    assert_eq!(
        (region["A"], region["P"], region["B"]),
        ("east", "west", "")
    );
    // --columns needs the customers file.
    let err = w.fails(&["rfm", "orders.csv", "--columns", "region"], 2);
    assert!(err.contains("--customers"), "{err}");
    // --by owner without a customers file: one group per current owner, nobody as (unknown).
    let summary = records(&w.stdout(&[
        "rfm",
        "orders.csv",
        "--events",
        "events.csv",
        "--summary",
        "--by",
        "owner",
        "-q",
        "-f",
        "csv",
    ]));
    let mut customers: BTreeMap<String, u64> = BTreeMap::new();
    for r in &summary {
        *customers.entry(r["owner"].clone()).or_default() += r["customers"].parse::<u64>().unwrap();
    }
    let expected: BTreeMap<String, u64> = [
        ("(unknown)", 2),
        ("all", 6),
        ("张伟", 2),
        ("王芳", 1),
        ("陈静", 1),
    ]
    .iter()
    .map(|(o, n)| (o.to_string(), *n))
    .collect();
    assert_eq!(customers, expected);
}

fn ids(table: &[HashMap<String, String>]) -> BTreeSet<String> {
    table.iter().map(|r| r["customer_id"].clone()).collect()
}

#[test]
fn predict_churn_lists_the_customers_not_yet_gone_by_value_at_risk() {
    let w = Workdir::new();
    let orders = sample("orders.csv");
    let listed = records(&w.stdout(&["predict", "churn", &orders, "-q", "-f", "csv"]));
    let everyone = records(&w.stdout(&[
        "predict",
        "churn",
        &orders,
        "--include-churned",
        "-q",
        "-f",
        "csv",
    ]));
    let lifecycle = records(&w.stdout(&["lifecycle", &orders, "-q", "-f", "csv"]));
    let churned: BTreeSet<String> = lifecycle
        .iter()
        .filter(|r| r["stage"] == "churned")
        .map(|r| r["customer_id"].clone())
        .collect();
    assert!(churned.len() > 1000);
    // lifecycle and predict churn never disagree on who has left.
    assert!(ids(&listed).is_disjoint(&churned));
    assert_eq!(everyone.len(), lifecycle.len());
    let mut union = ids(&listed);
    union.extend(churned.iter().cloned());
    assert_eq!(union, ids(&everyone));
    // The owner is the latest purchase's, as rfm says.
    let rfm = owners_of(&w.stdout(&["rfm", &orders, "-q", "-f", "csv"]));
    for r in &listed {
        assert_eq!(r["owner"], rfm[&r["customer_id"]]);
    }
    // Ordered by value at risk; value at risk = probability × annual value.
    let value = |r: &HashMap<String, String>, c: &str| r[c].parse::<f64>().unwrap();
    for pair in listed.windows(2) {
        assert!(value(&pair[0], "value_at_risk") >= value(&pair[1], "value_at_risk"));
    }
    for r in &listed {
        let expected = value(r, "churn_probability") * value(r, "annual_value");
        // The probability is printed to 4 decimals, the product taken before rounding.
        assert!(
            (value(r, "value_at_risk") - expected).abs()
                <= 0.00005 * value(r, "annual_value") + 0.006,
            "{r:?}"
        );
    }
    // Bands by rank: at most ceil(10 %) high, and high is the most probable.
    let n = listed.len();
    let high: Vec<f64> = listed
        .iter()
        .filter(|r| r["risk_band"] == "high")
        .map(|r| value(r, "churn_probability"))
        .collect();
    assert!(
        !high.is_empty() && high.len() <= n.div_ceil(10),
        "{} of {n}",
        high.len()
    );
    let lowest_high = high.iter().cloned().fold(f64::INFINITY, f64::min);
    assert!(listed
        .iter()
        .filter(|r| r["risk_band"] != "high")
        .all(|r| value(r, "churn_probability") <= lowest_high));
    // --top and --sort probability.
    let top = records(&w.stdout(&[
        "predict",
        "churn",
        &orders,
        "--top",
        "5",
        "--sort",
        "probability",
        "-q",
        "-f",
        "csv",
    ]));
    assert_eq!(top.len(), 5);
    let best = listed
        .iter()
        .map(|r| value(r, "churn_probability"))
        .fold(0.0, f64::max);
    assert_eq!(value(&top[0], "churn_probability"), best);
    assert!(!top[0]["reason"].is_empty());
    w.fails(&["predict", "churn", &orders, "--top", "0"], 2);
}

/// The annual value is the year's net spend, counted here from the raw rows for the customers
/// whose rows in the year are all paid orders of their own (no refunds, no cancellations).
#[test]
fn annual_value_is_the_net_spend_of_the_year_before_as_of() {
    let w = Workdir::new();
    let orders = sample("orders.csv");
    let text = std::fs::read_to_string(&orders).unwrap();
    let rows = records(&text);
    let mut by_customer: HashMap<&str, Vec<&HashMap<String, String>>> = HashMap::new();
    for r in &rows {
        by_customer
            .entry(r["customer_id"].as_str())
            .or_default()
            .push(r);
    }
    let listed = records(&w.stdout(&[
        "predict",
        "churn",
        &orders,
        "--include-churned",
        "-q",
        "-f",
        "csv",
    ]));
    let mut checked = 0;
    for r in &listed {
        let mine = &by_customer[r["customer_id"].as_str()];
        if mine.iter().any(|o| o["status"] != "paid") {
            continue;
        }
        let cents: i64 = mine
            .iter()
            .filter(|o| o["order_date"].as_str() >= "2024-01-02")
            .map(|o| (o["amount"].parse::<f64>().unwrap() * 100.0).round() as i64)
            .sum();
        assert_eq!(
            (r["annual_value"].parse::<f64>().unwrap() * 100.0).round() as i64,
            cents,
            "{r:?}"
        );
        checked += 1;
    }
    assert!(checked > 500, "{checked}");
}

/// Segments, stages and tiers explain themselves: the summaries carry `meaning` and `action`
/// from one table, docs/metrics.md prints that same table, and a config's own segments may
/// carry their own.
#[test]
fn summaries_say_what_each_group_means_and_what_to_do() {
    use crm_eval::metrics::meanings::{ABC_TIERS, LIFECYCLE_STAGES, RFM_SEGMENTS};
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/metrics.md"),
    )
    .unwrap();
    for m in RFM_SEGMENTS
        .iter()
        .chain(&LIFECYCLE_STAGES)
        .chain(&ABC_TIERS)
    {
        let row = format!("| {} | {} | {} |", m.name, m.meaning, m.action);
        assert!(docs.contains(&row), "docs/metrics.md lacks {row}");
    }
    let w = Workdir::new();
    let orders = sample("orders.csv");
    let summary = records(&w.stdout(&["rfm", &orders, "--summary", "-q", "-f", "csv"]));
    let champions = summary
        .iter()
        .find(|r| r["segment"] == "Champions")
        .unwrap();
    assert_eq!(champions["meaning"], RFM_SEGMENTS[0].meaning);
    assert_eq!(champions["action"], RFM_SEGMENTS[0].action);
    let stages = records(&w.stdout(&["lifecycle", &orders, "--summary", "-q", "-f", "csv"]));
    assert!(stages.iter().all(|r| !r["action"].is_empty()));
    let tiers = records(&w.stdout(&["abc", &orders, "--summary", "-q", "-f", "csv"]));
    assert_eq!(tiers[0]["meaning"], ABC_TIERS[0].meaning);
    // A config's own segments: their own words, else the built-in name's, else nothing.
    w.write(
        "crm-eval.toml",
        "[[rfm.segments]]\nname = \"Best\"\nr = [4, 5]\nmeaning = \"Our best.\"\naction = \"Thank them.\"\n\
         [[rfm.segments]]\nname = \"Lost\"\nr = [1, 1]\n\
         [[rfm.segments]]\nname = \"Rest\"\nr = [1, 5]\n",
    );
    let custom = records(&w.stdout(&["rfm", &orders, "--summary", "-q", "-f", "csv"]));
    let of = |name: &str| custom.iter().find(|r| r["segment"] == name).unwrap();
    assert_eq!(
        (
            of("Best")["meaning"].as_str(),
            of("Best")["action"].as_str()
        ),
        ("Our best.", "Thank them.")
    );
    assert_eq!(of("Lost")["action"], RFM_SEGMENTS[10].action);
    assert_eq!(of("Rest")["meaning"], "");
}

#[test]
fn top_cuts_every_list_and_value_at_risk_adds_up_per_owner() {
    let w = Workdir::new();
    let orders = sample("orders.csv");
    for command in ["rfm", "abc", "lifecycle", "rating", "clv"] {
        let all = records(&w.stdout(&[command, &orders, "-q", "-f", "csv"]));
        let top = records(&w.stdout(&[command, &orders, "--top", "7", "-q", "-f", "csv"]));
        assert_eq!(top[..], all[..7], "{command}");
    }
    w.fails(&["rfm", &orders, "--top", "0"], 2);
    let listed = records(&w.stdout(&["predict", "churn", &orders, "-q", "-f", "csv"]));
    let owners = records(&w.stdout(&[
        "predict", "churn", &orders, "--show", "owners", "-q", "-f", "csv",
    ]));
    let cents = |v: &str| (v.parse::<f64>().unwrap() * 100.0).round() as i64;
    let mut by_hand: BTreeMap<String, (usize, i64)> = BTreeMap::new();
    for r in &listed {
        let e = by_hand.entry(r["owner"].clone()).or_default();
        e.0 += 1;
        e.1 += cents(&r["value_at_risk"]);
    }
    assert_eq!(owners.len(), by_hand.len());
    for r in &owners {
        let (n, at_risk) = by_hand[&r["owner"]];
        assert_eq!(r["customers"], n.to_string());
        assert_eq!(cents(&r["value_at_risk"]), at_risk);
    }
    let values: Vec<i64> = owners.iter().map(|r| cents(&r["value_at_risk"])).collect();
    assert!(values.windows(2).all(|v| v[0] >= v[1]));
}

/// `lifecycle --summary --by owner` needs no customers file: each owner's stages add up to all.
#[test]
fn lifecycle_stages_by_owner() {
    let w = Workdir::new();
    let orders = sample("orders.csv");
    let rows = records(&w.stdout(&[
        "lifecycle",
        &orders,
        "--summary",
        "--by",
        "owner",
        "-q",
        "-f",
        "csv",
    ]));
    let total = |pick: &dyn Fn(&str) -> bool| -> u64 {
        rows.iter()
            .filter(|r| pick(&r["owner"]))
            .map(|r| r["customers"].parse::<u64>().unwrap())
            .sum()
    };
    assert!(rows.iter().any(|r| r["owner"] == "李娜"));
    assert_eq!(total(&|o| o != "all"), total(&|o| o == "all"));
    assert_eq!(total(&|o| o == "all"), 3175);
    w.fails(&["lifecycle", &orders, "--rates", "--by", "region"], 2);
}
