//! `crm-eval inspect`: detection, roles, data-quality counts.

use std::collections::HashMap;

use crate::common::{records, sample, Workdir};

fn facts(text: &str) -> HashMap<String, String> {
    let source = text.split("\n\n").next().unwrap();
    records(source)
        .into_iter()
        .map(|r| (r["property"].clone(), r["value"].clone()))
        .collect()
}

fn columns(text: &str) -> Vec<HashMap<String, String>> {
    records(text.split("\n\n").nth(1).unwrap())
}

#[test]
fn gbk_orders_are_detected_and_mapped() {
    let w = Workdir::new();
    let out = w.stdout(&["inspect", &sample("orders_gbk.csv"), "-f", "csv"]);
    let f = facts(&out);
    assert_eq!(f["encoding"], "gb18030");
    assert_eq!(f["delimiter"], "comma");
    assert_eq!(f["table"], "orders (guessed from the headers)");
    assert_eq!(f["status_refunded"], "484");
    let cols = columns(&out);
    let amount = cols.iter().find(|c| c["column"] == "实付金额").unwrap();
    assert_eq!(amount["role"], "amount (synonym)");
    assert_eq!(amount["invalid"], "0");
    // Statuses are read as words and counted above; no meaningless min/max of their codes.
    let status = cols
        .iter()
        .find(|c| c["role"].starts_with("status"))
        .unwrap();
    assert_eq!((status["min"].as_str(), status["max"].as_str()), ("", ""));
    assert_eq!(status["distinct"], "3");
}

#[test]
fn problems_are_counted_not_fatal() {
    let w = Workdir::new();
    w.write(
        "orders.csv",
        "customer_id,order_date,amount,note\nA,2024-01-01,10,x\nA,2024-01-01,10,x\nB,someday,abc,y\nC,,5,\n",
    );
    let out = w.stdout(&["inspect", "orders.csv", "-f", "csv"]);
    let f = facts(&out);
    assert_eq!(f["rows"], "4");
    assert_eq!(f["duplicate_rows"], "1");
    let cols = columns(&out);
    let date = cols.iter().find(|c| c["column"] == "order_date").unwrap();
    assert_eq!(
        (date["invalid"].as_str(), date["empty"].as_str()),
        ("1", "1")
    );
    assert!(date["first_problem"].contains("row 4"), "{date:?}");
    let note = cols.iter().find(|c| c["column"] == "note").unwrap();
    assert_eq!(note["type"], "text (unused)");
}

#[test]
fn unknown_tables_and_explicit_kinds() {
    let w = Workdir::new();
    w.write("x.csv", "a,b\n1,2\n");
    let f = facts(&w.stdout(&["inspect", "x.csv", "-f", "csv"]));
    assert!(f["table"].starts_with("unknown"), "{f:?}");
    let f = facts(&w.stdout(&["inspect", "x.csv", "--kind", "orders", "-f", "csv"]));
    assert_eq!(f["missing_required"], "customer_id, order_date, amount");
    let out = w.stdout(&["inspect", &sample("events.csv"), "-f", "csv"]);
    assert_eq!(facts(&out)["table"], "events (guessed from the headers)");
}
