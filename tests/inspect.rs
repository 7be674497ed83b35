//! `crm-eval inspect`: detection, roles, data-quality counts.

use std::collections::HashMap;

use crate::common::{records, sample, Workdir};

/// Both tables of `inspect ARGS` (one CSV stream holds one: `--show source`, then `--show
/// columns`), as the blank-line-separated text the helpers below read.
fn both(w: &Workdir, args: &[&str]) -> String {
    let run = |show: &str| {
        let mut a = args.to_vec();
        a.extend(["--show", show]);
        w.stdout(&a)
    };
    format!("{}\n{}", run("source"), run("columns"))
}

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
    let out = both(&w, &["inspect", &sample("orders_gbk.csv"), "-f", "csv"]);
    let f = facts(&out);
    assert_eq!(f["encoding"], "gb18030");
    assert_eq!(f["delimiter"], "comma");
    assert_eq!(f["table"], "orders (guessed from the headers)");
    assert_eq!(f["status_refunded"], "481");
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
    let out = both(&w, &["inspect", "orders.csv", "-f", "csv"]);
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
    let f = facts(&both(&w, &["inspect", "x.csv", "-f", "csv"]));
    assert!(f["table"].starts_with("unknown"), "{f:?}");
    let f = facts(&both(
        &w,
        &["inspect", "x.csv", "--kind", "orders", "-f", "csv"],
    ));
    assert_eq!(f["missing_required"], "customer_id, order_date, amount");
    let out = both(&w, &["inspect", &sample("events.csv"), "-f", "csv"]);
    assert_eq!(facts(&out)["table"], "events (guessed from the headers)");
}

#[test]
fn a_line_item_export_is_orders_with_types_by_value() {
    let w = Workdir::new();
    // The C-prefixed invoice sits past the first rows; the order of the rows must not matter.
    let mut csv = String::from(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country,Shipped\n",
    );
    for i in 0..1200 {
        csv.push_str(&format!(
            "{},85123A,HEART,6,12/1/2010 08:26,2.55,17850,United Kingdom,2010-12-0{}\n",
            536365 + i,
            1 + i % 9
        ));
    }
    csv.push_str("C536379,D,Discount,-1,12/1/2010 09:41,27.50,,United Kingdom,2010-12-02\n");
    w.write("lines.csv", csv);
    let out = both(
        &w,
        &[
            "inspect",
            "lines.csv",
            "-f",
            "csv",
            "--date-format",
            "%m/%d/%Y %H:%M",
        ],
    );
    let f = facts(&out);
    assert_eq!(f["table"], "orders (guessed from the headers)");
    assert!(
        f["amount"].starts_with("computed per line: quantity × unit_price"),
        "{f:?}"
    );
    assert!(f["rows_without_customer_id"].starts_with("1 "), "{f:?}");
    assert!(f["cancellation_rows"].starts_with("1 "), "{f:?}");
    let cols = columns(&out);
    let typed = |name: &str| {
        let c = cols.iter().find(|c| c["column"] == name).unwrap();
        (c["role"].clone(), c["type"].clone())
    };
    assert_eq!(
        typed("InvoiceNo"),
        ("order_id (synonym)".into(), "id".into())
    );
    assert_eq!(
        typed("Quantity"),
        ("quantity (synonym)".into(), "number".into())
    );
    assert_eq!(typed("Country"), ("".into(), "text (unused)".into()));
    assert_eq!(typed("Shipped"), ("".into(), "date (unused)".into()));
    assert_eq!(typed("Description"), ("".into(), "text (unused)".into()));
}

#[test]
fn map_applies_without_kind() {
    let w = Workdir::new();
    w.write(
        "o.csv",
        "cid,when,total,ref\nA,2024-01-01,5,X12\nB,2024-01-02,7,12\n",
    );
    let out = both(
        &w,
        &[
            "inspect",
            "o.csv",
            "-f",
            "csv",
            "--map",
            "customer_id=cid",
            "--map",
            "order_date=when",
        ],
    );
    assert_eq!(facts(&out)["table"], "orders (guessed from the headers)");
    let cols = columns(&out);
    let when = cols.iter().find(|c| c["column"] == "when").unwrap();
    assert_eq!(when["role"], "order_date (--map)");
    // An ID with a letter is text even though its other values are numbers.
    let r = cols.iter().find(|c| c["column"] == "ref").unwrap();
    assert_eq!(r["type"], "text (unused)");
}
