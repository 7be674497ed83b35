//! A bad-input corpus (issue 13): small generated files that real exports resemble, run through
//! every order command. Each must end in a clear error (exit 1 or 2, naming the file, never an
//! internal error) or succeed with the documented reading of the file.

use polars::prelude::*;

use crate::common::Workdir;

/// Every command that reads an orders file as its first argument.
const ORDER_COMMANDS: [&str; 8] = [
    "rfm",
    "abc",
    "clv",
    "lifecycle",
    "cohort",
    "rating",
    "report",
    "inspect",
];

/// (file name, contents, what must happen: `Ok` or `Err(substring of the message)`).
fn corpus() -> Vec<(&'static str, String, Result<(), &'static str>)> {
    let header = "customer_id,order_date,amount\n";
    let rows = |body: &str| format!("{header}{body}");
    vec![
        ("empty.csv", String::new(), Err("empty.csv")),
        ("header_only.csv", header.into(), Err("no order rows")),
        ("one_order.csv", rows("A,2024-01-01,10\n"), Ok(())),
        (
            "no_customer_column.csv",
            "client,when,total\nA,2024-01-01,10\n".into(),
            Err("no column for customer_id"),
        ),
        (
            "two_amounts.csv",
            "customer_id,order_date,Amount,amount\nA,2024-01-01,10,12\n".into(),
            Err("both name amount"),
        ),
        ("nan.csv", rows("A,2024-01-01,NaN\n"), Err("row 2")),
        ("huge.csv", rows("A,2024-01-01,1e309\n"), Err("row 2")),
        (
            "trillion.csv",
            rows("A,2024-01-01,5e12\n"),
            Err("below a trillion"),
        ),
        (
            "decimal_comma.csv",
            rows("A,2024-01-01,\"1,5\"\n"),
            Err("--decimal-comma"),
        ),
        (
            "bad_date.csv",
            rows("A,2024-02-30,10\n"),
            Err("not a calendar date"),
        ),
        (
            "ambiguous.csv",
            rows("A,01/02/2024 08:26,10\nB,03/04/2024 09:00,5\n"),
            Err("--date-format '%d/%m/%Y %H:%M'"),
        ),
        (
            "all_guests.csv",
            rows(",2024-01-01,10\n"),
            Err("no order rows"),
        ),
        (
            "only_refunds.csv",
            "customer_id,order_date,amount,status\nA,2024-01-01,10,refunded\n".into(),
            Err("no purchases"),
        ),
        (
            "far_date.csv",
            rows("A,2024-01-01,10\nB,9999-12-31,5\nC,2024-02-01,4\nA,2024-03-01,8\n"),
            Ok(()),
        ),
        (
            "binary.csv",
            "\u{0}\u{1}\u{2}PK\u{3}\u{4}".into(),
            Err("binary.csv"),
        ),
        (
            "ragged.csv",
            rows("A,2024-01-01,10,extra\nB,2024-01-02\n"),
            Err("ragged.csv"),
        ),
    ]
}

#[test]
fn every_order_command_over_the_corpus() {
    let w = Workdir::new();
    let mut cases = corpus();
    // Parquet from a warehouse: a DECIMAL(12, 2) amount and dictionary-encoded IDs.
    let mut df = DataFrame::new_infer_height(vec![
        Column::new("customer_id".into(), ["A", "B", "A"]),
        Column::new(
            "order_date".into(),
            ["2024-01-01", "2024-01-02", "2024-02-01"],
        ),
        Column::new("amount".into(), [10.5f64, 3.25, 1.0])
            .cast(&DataType::Decimal(12, 2))
            .unwrap(),
    ])
    .unwrap();
    let file = std::fs::File::create(w.path("decimal.parquet")).unwrap();
    ParquetWriter::new(file).finish(&mut df).unwrap();
    cases.push(("decimal.parquet", String::new(), Ok(())));
    for (name, contents, _) in &cases {
        if !name.ends_with(".parquet") {
            w.write(name, contents);
        }
    }
    for (name, _, expected) in &cases {
        for command in ORDER_COMMANDS {
            let args = if command == "report" {
                vec![command, "--orders", *name, "-o", "report.xlsx", "-q"]
            } else {
                vec![command, *name, "-q"]
            };
            let out = w.cmd(&args).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            let code = out.status.code();
            assert!(
                !stderr.contains("internal error") && !stderr.contains("panicked"),
                "{command} {name}: {stderr}"
            );
            match expected {
                // inspect describes a file it can open, whatever is wrong inside.
                Err(_) if command == "inspect" => assert!(
                    matches!(code, Some(0..=2)),
                    "{command} {name}: {code:?} {stderr}"
                ),
                Err(message) => {
                    assert!(
                        matches!(code, Some(1 | 2)) && stderr.contains(name),
                        "{command} {name}: expected exit 1 or 2 naming the file, got {code:?}: {stderr}"
                    );
                    assert!(stderr.contains(message), "{command} {name}: {stderr}");
                }
                // A file with too little history for a model may fail, clearly; never silently.
                // (A 9999-12-31 date makes the report's cohort sheet 95,000 months wide: more
                // than Excel holds, said so.)
                Ok(()) => assert!(
                    code == Some(0)
                        || (code == Some(1)
                            && (stderr.contains(name)
                                || stderr.contains("more than an Excel sheet holds"))),
                    "{command} {name}: {code:?} {stderr}"
                ),
            }
        }
    }
    // The decimal amounts are read exactly.
    let out = w.stdout(&["rfm", "decimal.parquet", "-q", "-f", "csv"]);
    assert!(out.contains("A,2024-01-01,2024-02-01,1,2,11.5,"), "{out}");
    // A date far from the rest is noted with its row (and -q silences it).
    let out = w.cmd(&["rfm", "far_date.csv"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 order_date value in \"order_date\" lies far outside the rest")
            && stderr.contains("row 3 (9999-12-31)"),
        "{stderr}"
    );
}
