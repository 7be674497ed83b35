//! `crm-eval report`: the workbook opens back with one sheet per analysis.

use calamine::{open_workbook, Data, Reader, Xlsx};

use crate::common::{sample, Workdir};

#[test]
fn workbook_has_every_built_analysis() {
    let w = Workdir::new();
    w.stdout(&[
        "report",
        "--orders",
        &sample("orders.csv"),
        "--customers",
        &sample("customers.csv"),
        "--surveys",
        &sample("surveys.csv"),
        "-q",
        "-o",
        "report.xlsx",
    ]);
    let mut book: Xlsx<_> = open_workbook(w.path("report.xlsx")).unwrap();
    assert_eq!(
        book.sheet_names(),
        [
            "notes",
            "segments",
            "rfm",
            "abc_tiers",
            "abc",
            "lifecycle_stages",
            "lifecycle_rates",
            "lifecycle",
            "cohort",
            "nps"
        ]
    );
    let segments = book.worksheet_range("segments").unwrap();
    let header: Vec<String> = segments
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(header[..3], ["segment", "customers", "customer_share"]);
    assert_eq!(
        segments.rows().nth(1).unwrap()[0],
        Data::String("Champions".into())
    );
    // The same numbers as the command on its own.
    let summary =
        crate::common::records(&w.stdout(&["rfm", &sample("orders.csv"), "--summary", "-q"]));
    assert_eq!(
        segments.rows().nth(1).unwrap()[1],
        Data::Float(summary[0]["customers"].parse().unwrap())
    );
    let notes = book.worksheet_range("notes").unwrap();
    let text: Vec<String> = notes
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join("=")
        })
        .collect();
    assert!(
        text.iter()
            .any(|t| t == "clv=not included: this analysis is not built yet"),
        "{text:?}"
    );
    assert_eq!(
        book.worksheet_range("lifecycle").unwrap().rows().count(),
        5001
    );
}

#[test]
fn a_report_needs_a_format_that_holds_several_tables() {
    let w = Workdir::new();
    let err = w.fails(
        &[
            "report",
            "--orders",
            &sample("orders.csv"),
            "-o",
            "report.csv",
        ],
        2,
    );
    assert!(err.contains("report.xlsx"), "{err}");
    assert!(!w.path("report.csv").exists());
}
