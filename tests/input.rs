//! The shared input layer, exercised through `rfm`: every container, encoding and value format,
//! column mapping, and every error path.

use std::io::Write;

use crate::common::{records, sample, Workdir};
use crate::rfm::WORKED;

/// The worked example's rfm output, the reference every other encoding of it must reproduce.
fn reference(w: &Workdir) -> String {
    w.write("reference.csv", WORKED);
    w.stdout(&["rfm", "reference.csv", "-q"])
}

#[test]
fn gbk_export_with_chinese_headers_gives_the_same_result_as_utf8() {
    let w = Workdir::new();
    let utf8 = w.stdout(&["rfm", &sample("orders.csv"), "-q"]);
    let gbk = w.stdout(&["rfm", &sample("orders_gbk.csv"), "-q"]);
    assert_eq!(utf8, gbk);
    let explicit = w.stdout(&[
        "rfm",
        &sample("orders_gbk.csv"),
        "-q",
        "--encoding",
        "gbk",
        "--map",
        "customer_id=客户编号",
        "--map",
        "amount=实付金额",
    ]);
    assert_eq!(utf8, explicit);
}

#[test]
fn forcing_utf8_on_a_gbk_file_says_what_to_do() {
    let w = Workdir::new();
    let err = w.fails(
        &["rfm", &sample("orders_gbk.csv"), "--encoding", "utf-8"],
        1,
    );
    assert!(
        err.contains("not valid UTF-8") && err.contains("--encoding"),
        "{err}"
    );
}

#[test]
fn utf8_bom_tsv_semicolon_and_crlf() {
    let w = Workdir::new();
    let expected = reference(&w);
    let bom = format!("\u{feff}{WORKED}");
    w.write("bom.csv", bom);
    assert_eq!(w.stdout(&["rfm", "bom.csv", "-q"]), expected);
    w.write("tabs.tsv", WORKED.replace(',', "\t"));
    assert_eq!(w.stdout(&["rfm", "tabs.tsv", "-q"]), expected);
    w.write("semi.csv", WORKED.replace(',', ";"));
    assert_eq!(w.stdout(&["rfm", "semi.csv", "-q"]), expected);
    w.write("crlf.csv", WORKED.replace('\n', "\r\n"));
    assert_eq!(w.stdout(&["rfm", "crlf.csv", "-q"]), expected);
    w.write("pipes.txt", WORKED.replace(',', "|"));
    assert_eq!(
        w.stdout(&["rfm", "pipes.txt", "-q", "--delimiter", "|"]),
        expected
    );
}

#[test]
fn utf16_export_from_excel_unicode_text() {
    let w = Workdir::new();
    let expected = reference(&w);
    let mut bytes = vec![0xFF, 0xFE];
    for unit in WORKED.replace(',', "\t").encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    w.write("unicode.txt", bytes);
    assert_eq!(w.stdout(&["rfm", "unicode.txt", "-q"]), expected);
}

#[test]
fn gzip_and_zstd_compressed_csv() {
    let w = Workdir::new();
    let expected = reference(&w);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(WORKED.as_bytes()).unwrap();
    w.write("orders.csv.gz", gz.finish().unwrap());
    assert_eq!(w.stdout(&["rfm", "orders.csv.gz", "-q"]), expected);
    w.write(
        "orders.csv.zst",
        zstd::encode_all(WORKED.as_bytes(), 3).unwrap(),
    );
    assert_eq!(w.stdout(&["rfm", "orders.csv.zst", "-q"]), expected);
}

#[test]
fn standard_input() {
    let w = Workdir::new();
    let expected = reference(&w);
    let out = w
        .cmd(&["rfm", "-", "-q"])
        .write_stdin(WORKED)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
}

#[test]
fn parquet_input_with_typed_columns() {
    use polars::prelude::*;
    let w = Workdir::new();
    let expected = reference(&w);
    let (_, rows) = crate::common::parse_csv(WORKED);
    let col = |i: usize| rows.iter().map(|r| r[i].clone()).collect::<Vec<String>>();
    let dates: Vec<i32> = col(2)
        .iter()
        .map(|d| {
            let d = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
            (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
        })
        .collect();
    let amounts: Vec<f64> = col(3).iter().map(|a| a.parse().unwrap()).collect();
    let mut df = DataFrame::new_infer_height(vec![
        Column::new("order_id".into(), col(0)),
        Column::new("customer_id".into(), col(1)),
        Column::new("order_date".into(), dates)
            .cast(&DataType::Date)
            .unwrap(),
        Column::new("amount".into(), amounts),
        Column::new("status".into(), col(4)),
    ])
    .unwrap();
    let file = std::fs::File::create(w.path("orders.parquet")).unwrap();
    ParquetWriter::new(file).finish(&mut df).unwrap();
    assert_eq!(w.stdout(&["rfm", "orders.parquet", "-q"]), expected);
}

#[test]
fn excel_workbook_with_date_cells_and_a_named_sheet() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let w = Workdir::new();
    let expected = reference(&w);
    let (headers, rows) = crate::common::parse_csv(WORKED);
    let mut book = Workbook::new();
    book.add_worksheet()
        .set_name("notes")
        .unwrap()
        .write_string(0, 0, "not this one")
        .unwrap();
    let sheet = book.add_worksheet();
    sheet.set_name("订单").unwrap();
    let date_format = Format::new().set_num_format("yyyy-mm-dd");
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string(0, c as u16, h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        sheet.write_string(r, 0, &row[0]).unwrap();
        sheet.write_string(r, 1, &row[1]).unwrap();
        let date = ExcelDateTime::parse_from_str(&row[2]).unwrap();
        sheet
            .write_datetime_with_format(r, 2, &date, &date_format)
            .unwrap();
        sheet
            .write_number(r, 3, row[3].parse::<f64>().unwrap())
            .unwrap();
        sheet.write_string(r, 4, &row[4]).unwrap();
    }
    book.save(w.path("orders.xlsx")).unwrap();
    assert_eq!(
        w.stdout(&["rfm", "orders.xlsx", "--sheet", "订单", "-q"]),
        expected
    );
    let err = w.fails(&["rfm", "orders.xlsx", "--sheet", "Sheet9"], 2);
    assert!(
        err.contains("no sheet named") && err.contains("订单"),
        "{err}"
    );
    // The first sheet has no order columns: the error lists what it found, and the sheet that
    // has them.
    let err = w.fails(&["rfm", "orders.xlsx"], 1);
    assert!(
        err.contains("no column for customer_id")
            && err.contains("not this one")
            && err.contains("sheet \"订单\" has the columns: add --sheet \"订单\""),
        "{err}"
    );
}

#[test]
fn export_value_formats() {
    let w = Workdir::new();
    // Same purchases as A, B, C, E of the worked example, written as a Chinese CRM would.
    w.write(
        "orders.csv",
        "客户编号,下单时间,实付金额,订单状态\n\
         A,2024年1月1日,￥100.00,已完成\n\
         A,2024/3/1 10:00,\"¥80\",已支付\n\
         B,20240210,\"$1,234.50\",paid\n\
         B,45335,(34.50),已退款\n\
         C,2024-03-15T09:00:00+08:00,1.2万,交易成功\n\
         E,01-Dec-2023,40,Completed\n",
    );
    let rows = records(&w.stdout(&["rfm", "orders.csv", "-q"]));
    let got: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["customer_id"].as_str(),
                r["last_order_date"].as_str(),
                r["monetary"].as_str(),
            )
        })
        .collect();
    // 45335 is the Excel serial of 2024-02-13; the refund (34.50) nets against B.
    assert_eq!(
        got,
        [
            ("A", "2024-03-01", "180"),
            ("B", "2024-02-10", "1200"),
            ("C", "2024-03-15", "12000"),
            ("E", "2023-12-01", "40"),
        ]
    );
}

#[test]
fn decimal_comma_and_excel_1904() {
    let w = Workdir::new();
    w.write(
        "orders.csv",
        "customer_id;order_date;amount\nA;43830;1.234,56\n",
    );
    let rows = records(&w.stdout(&["rfm", "orders.csv", "-q", "--decimal-comma", "--excel-1904"]));
    assert_eq!(rows[0]["monetary"], "1234.56");
    assert_eq!(rows[0]["last_order_date"], "2024-01-01");
}

#[test]
fn time_zone_moves_calendar_days() {
    let w = Workdir::new();
    // 06:30 in Beijing is 22:30 UTC the day before.
    w.write(
        "orders.csv",
        "customer_id,order_date,amount\nA,2024-01-05T06:30:00+08:00,10\n",
    );
    let local = records(&w.stdout(&["rfm", "orders.csv", "-q"]));
    assert_eq!(local[0]["last_order_date"], "2024-01-05");
    let utc = records(&w.stdout(&["rfm", "orders.csv", "-q", "--tz", "UTC"]));
    assert_eq!(utc[0]["last_order_date"], "2024-01-04");
    let tokyo = records(&w.stdout(&["rfm", "orders.csv", "-q", "--tz", "+09:00"]));
    assert_eq!(tokyo[0]["last_order_date"], "2024-01-05");
    let err = w.fails(&["rfm", "orders.csv", "--tz", "Mars/Olympus"], 2);
    assert!(err.contains("--tz"), "{err}");
}

#[test]
fn ambiguous_day_month_order_asks_for_a_date_format() {
    let w = Workdir::new();
    w.write(
        "orders.csv",
        "customer_id,order_date,amount\nA,05/01/2024,10\nB,06/02/2024,20\n",
    );
    let err = w.fails(&["rfm", "orders.csv"], 1);
    assert!(
        err.contains("orders.csv")
            && err.contains("row 2")
            && err.contains("order_date")
            && err.contains("--date-format"),
        "{err}"
    );
    let rows = records(&w.stdout(&["rfm", "orders.csv", "-q", "--date-format", "%d/%m/%Y"]));
    assert_eq!(rows[0]["last_order_date"], "2024-01-05");
    let rows = records(&w.stdout(&["rfm", "orders.csv", "-q", "--date-format", "%m/%d/%Y"]));
    assert_eq!(rows[0]["last_order_date"], "2024-05-01");
    // One unambiguous value decides for the whole column.
    w.write(
        "decided.csv",
        "customer_id,order_date,amount\nA,05/01/2024,10\nB,25/02/2024,20\n",
    );
    let rows = records(&w.stdout(&["rfm", "decided.csv", "-q"]));
    assert_eq!(rows[0]["last_order_date"], "2024-01-05");
    // Evidence both ways is an error too.
    w.write(
        "mixed.csv",
        "customer_id,order_date,amount\nA,05/13/2024,10\nB,25/02/2024,20\nC,01/02/2024,5\n",
    );
    let err = w.fails(&["rfm", "mixed.csv"], 1);
    assert!(err.contains("mixes day-first"), "{err}");
    let err = w.fails(&["rfm", "orders.csv", "--date-format", "%Q"], 2);
    assert!(err.contains("--date-format"), "{err}");
}

#[test]
fn unreadable_values_name_file_row_column_and_value() {
    let w = Workdir::new();
    w.write(
        "orders.csv",
        "customer_id,order_date,amount\nA,2024-01-01,10\nB,2024-01-02,ten\nC,2024-01-03,abc\n",
    );
    let err = w.fails(&["rfm", "orders.csv"], 1);
    assert!(
        err.contains("orders.csv: row 3, column \"amount\" (amount): \"ten\" is not an amount"),
        "{err}"
    );
    assert!(err.contains("2 unreadable values"), "{err}");
    w.write(
        "dates.csv",
        "customer_id,order_date,amount\nA,2024-02-30,10\n",
    );
    let err = w.fails(&["rfm", "dates.csv"], 1);
    assert!(
        err.contains("row 2") && err.contains("\"2024-02-30\" is not a calendar date"),
        "{err}"
    );
    w.write(
        "status.csv",
        "customer_id,order_date,amount,status\nA,2024-01-01,10,shipped?\n",
    );
    let err = w.fails(&["rfm", "status.csv"], 1);
    assert!(
        err.contains("\"shipped?\" is not a known order status") && err.contains("已退款"),
        "{err}"
    );
    w.write(
        "empty_id.csv",
        "customer_id,order_date,amount\nA,2024-01-01,10\n,2024-01-02,5\n",
    );
    let err = w.fails(&["rfm", "empty_id.csv", "--strict"], 1);
    assert!(
        err.contains("row 3") && err.contains("empty") && err.contains("--strict"),
        "{err}"
    );
    w.write(
        "empty_date.csv",
        "customer_id,order_date,amount\nA,2024-01-01,10\nB,,5\n",
    );
    let err = w.fails(&["rfm", "empty_date.csv"], 1);
    assert!(
        err.contains("row 3") && err.contains("every order row needs an order_date"),
        "{err}"
    );
}

#[test]
fn missing_columns_list_headers_and_synonyms() {
    let w = Workdir::new();
    w.write("orders.csv", "client,when,total\nA,2024-01-01,10\n");
    let err = w.fails(&["rfm", "orders.csv"], 1);
    assert!(err.contains("no column for customer_id"), "{err}");
    assert!(err.contains("headers found: client, when, total"), "{err}");
    assert!(
        err.contains("客户编号") && err.contains("--map customer_id="),
        "{err}"
    );
    let rows = records(&w.stdout(&[
        "rfm",
        "orders.csv",
        "-q",
        "--map",
        "customer_id=client",
        "--map",
        "orders.order_date=when",
    ]));
    assert_eq!(rows[0]["monetary"], "10");
    let err = w.fails(&["rfm", "orders.csv", "--map", "customer_id=客户"], 2);
    assert!(err.contains("--map maps customer_id to \"客户\""), "{err}");
    let err = w.fails(&["rfm", "orders.csv", "--map", "customer=client"], 2);
    assert!(err.contains("unknown role"), "{err}");
}

#[test]
fn mapping_from_the_config_file() {
    let w = Workdir::new();
    w.write("orders.csv", "client,when,total\nA,2024-01-01,10\n");
    w.write(
        "crm-eval.toml",
        "[map]\ncustomer_id = \"client\"\n[map.orders]\norder_date = \"when\"\n",
    );
    let rows = records(&w.stdout(&["rfm", "orders.csv", "-q"]));
    assert_eq!(rows[0]["customer_id"], "A");
}

#[test]
fn empty_and_missing_files() {
    let w = Workdir::new();
    w.write("empty.csv", "");
    let err = w.fails(&["rfm", "empty.csv"], 1);
    assert!(err.contains("empty.csv: the file is empty"), "{err}");
    w.write("header.csv", "customer_id,order_date,amount\n");
    let err = w.fails(&["rfm", "header.csv"], 1);
    assert!(err.contains("no order rows"), "{err}");
    let err = w.fails(&["rfm", "nope.csv"], 2);
    assert!(err.contains("nope.csv: no such file"), "{err}");
    std::fs::create_dir(w.path("folder")).unwrap();
    // A directory is a dataset of the files in it (tests/datasets.rs); an empty one names none.
    let err = w.fails(&["rfm", "folder"], 2);
    assert!(err.contains("folder: matches no file"), "{err}");
}

#[test]
fn binary_garbage_is_an_error_not_a_panic() {
    let w = Workdir::new();
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    w.write("garbage.csv", &garbage);
    w.fails(&["rfm", "garbage.csv"], 1);
    w.write("fake.parquet", b"PAR1 this is not parquet");
    w.fails(&["rfm", "fake.parquet"], 1);
    w.write("fake.xlsx", b"PK\x03\x04 not a zip");
    w.fails(&["rfm", "fake.xlsx"], 1);
    w.write("fake.gz", [0x1F, 0x8B, 0x08, 0x00, 0x01]);
    w.fails(&["rfm", "fake.gz"], 1);
}

#[test]
fn ragged_rows_are_reported() {
    let w = Workdir::new();
    w.write("orders.csv", "customer_id,order_date,amount\nA,2024-01-01,10\nB,2024-01-02\nC,2024-01-03,5,extra,fields\n");
    let out = w.cmd(&["rfm", "orders.csv", "-q"]).output().unwrap();
    // Either read with the short row's amount empty (then an error naming row 3) or refused
    // outright; never a panic and never a silent result.
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The first rows decide that polars may parse amounts and dates itself; a later cell it cannot
/// take must still be read (or reported) exactly as crm-eval's own parsers do.
#[test]
fn cells_after_the_sampled_rows_are_still_read_exactly() {
    let w = Workdir::new();
    let mut text = String::from("customer_id,order_date,amount\n");
    for i in 0..500 {
        text.push_str(&format!("C{i},2024-01-{:02},10.5\n", i % 28 + 1));
    }
    let clean = text.clone();
    text.push_str("Z,2024/2/1,\"¥1,000\"\n");
    w.write("late_formats.csv", &text);
    let rows = records(&w.stdout(&["rfm", "late_formats.csv", "-q"]));
    let z = rows.iter().find(|r| r["customer_id"] == "Z").unwrap();
    assert_eq!(
        (z["last_order_date"].as_str(), z["monetary"].as_str()),
        ("2024-02-01", "1000")
    );

    w.write("late_bad.csv", format!("{clean}Y,2024-02-30,5\n"));
    let err = w.fails(&["rfm", "late_bad.csv"], 1);
    assert!(
        err.contains("row 502") && err.contains("\"2024-02-30\" is not a calendar date"),
        "{err}"
    );
    w.write("late_empty.csv", format!("{clean}X,2024-02-01,\n"));
    let err = w.fails(&["rfm", "late_empty.csv"], 1);
    assert!(err.contains("row 502") && err.contains("empty"), "{err}");
    w.write("late_nan.csv", format!("{clean}W,2024-02-01,NaN\n"));
    let err = w.fails(&["rfm", "late_nan.csv"], 1);
    assert!(
        err.contains("row 502") && err.contains("\"NaN\" is not an amount"),
        "{err}"
    );
}

/// `--on-bad-rows skip`: a row with an unreadable or missing required cell is left out, counted
/// on stderr and listed in `--rejects`; what is left gives the same answer as the file without
/// those rows (nothing else is lost), and the default still fails naming the cell.
#[test]
fn bad_rows_are_skipped_and_listed_when_asked() {
    let w = Workdir::new();
    let clean = "order_id,customer_id,order_date,amount,status\n\
                 1,a,2024-01-05,100.00,paid\n\
                 2,a,2024-02-05,50.00,paid\n\
                 3,b,2024-01-20,80.00,paid\n\
                 4,c,2024-03-01,20.00,paid\n";
    let bad = "order_id,customer_id,order_date,amount,status\n\
               1,a,2024-01-05,100.00,paid\n\
               9,a,2024-02-30,999.00,paid\n\
               2,a,2024-02-05,50.00,paid\n\
               8,b,2024-01-21,12x,paid\n\
               3,b,2024-01-20,80.00,paid\n\
               7,c,,5.00,paid\n\
               6,c,2024-03-02,5.00,maybe\n\
               4,c,2024-03-01,20.00,paid\n";
    w.write("clean.csv", clean);
    w.write("bad.csv", bad);
    let e = w.fails(&["rfm", "bad.csv"], 1);
    assert!(e.contains("bad.csv: row 3, column \"order_date\""), "{e}");
    let want = w.stdout(&["rfm", "clean.csv", "--as-of", "2024-04-01", "-q"]);
    let out = w
        .cmd(&[
            "rfm",
            "bad.csv",
            "--as-of",
            "2024-04-01",
            "--rejects",
            "rejects.csv",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), want);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "bad.csv: skipped 4 of 8 rows (50.0 %) for a bad or missing cell (--on-bad-rows \
             skip; --rejects FILE lists them); first at row 3, column \"order_date\""
        ),
        "{stderr}"
    );
    // --max-rejects: more skipped rows than N, or than P% of the file's rows, fail the run.
    for (max, code) in [("4", 0), ("3", 1), ("50%", 0), ("49.9%", 1)] {
        let args = [
            "rfm",
            "bad.csv",
            "--on-bad-rows",
            "skip",
            "--max-rejects",
            max,
            "-q",
        ];
        if code == 0 {
            assert_eq!(
                w.stdout(&args),
                w.stdout(&["rfm", "bad.csv", "--on-bad-rows", "skip", "-q"])
            );
        } else {
            let e = w.fails(&args, 1);
            assert!(
                e.contains(&format!("skipped 4 of 8 rows (50.0 %) for a bad or missing cell, more than --max-rejects {max} allows")),
                "{e}"
            );
        }
    }
    let e = w.fails(&["rfm", "bad.csv", "--max-rejects", "3"], 2);
    assert!(e.contains("add --on-bad-rows skip"), "{e}");
    let e = w.fails(
        &[
            "rfm",
            "bad.csv",
            "--on-bad-rows",
            "skip",
            "--max-rejects",
            "1O",
        ],
        2,
    );
    assert!(
        e.contains("expected a number of rows (100) or a share of them (0.5%)"),
        "{e}"
    );
    let rejects = records(&std::fs::read_to_string(w.path("rejects.csv")).unwrap());
    let rows: Vec<(&str, &str, &str)> = rejects
        .iter()
        .map(|r| (r["row"].as_str(), r["column"].as_str(), r["value"].as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            ("3", "order_date", "2024-02-30"),
            ("5", "amount", "12x"),
            ("7", "order_date", ""),
            ("8", "status", "maybe"),
        ]
    );
    assert!(rejects[1]["reason"].contains("is not an amount; expected an amount"));
    // No bad row: the file is still written, with its header, so a cron job can rely on it.
    w.stdout(&["rfm", "clean.csv", "--rejects", "none.csv", "-q"]);
    assert_eq!(
        std::fs::read_to_string(w.path("none.csv")).unwrap(),
        "file,row,column,value,reason\n"
    );
    let e = w.fails(
        &[
            "rfm",
            "bad.csv",
            "--rejects",
            "r.csv",
            "--on-bad-rows",
            "fail",
        ],
        2,
    );
    assert!(e.contains("--rejects"), "{e}");
    // The config file says it for every run; the command line still wins.
    w.write("crm-eval.toml", "[input]\non_bad_rows = \"skip\"\n");
    assert_eq!(
        w.stdout(&["rfm", "bad.csv", "--as-of", "2024-04-01", "-q"]),
        want
    );
    w.fails(&["rfm", "bad.csv", "--on-bad-rows", "fail", "-q"], 1);
}

/// Row numbers in errors count the rows skipped before them: --strict's missing ID after a
/// skipped row names the file's row.
#[test]
fn row_numbers_after_skipped_rows_are_the_files() {
    let w = Workdir::new();
    w.write(
        "s.csv",
        "order_id,customer_id,order_date,amount\n1,a,2024-01-01,10\n2,b,bad,20\n3,,2024-02-01,5\n",
    );
    let e = w.fails(&["rfm", "s.csv", "--on-bad-rows", "skip", "--strict"], 1);
    assert!(e.contains("s.csv: row 4, column \"customer_id\""), "{e}");
}

/// The skip contract on a real export (the CDNOW sample, 6,919 order lines): corrupt twelve of
/// its lines in every way a cell can be unreadable, and `--rejects` lists exactly those lines,
/// while `rfm --on-bad-rows skip` gives byte for byte what `rfm` gives on the file without them.
#[test]
fn skipping_on_a_corrupted_real_export_equals_the_export_without_those_lines() {
    let w = Workdir::new();
    let text = std::fs::read_to_string(crate::common::data("cdnow_sample.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // (file line, 1 = header; how the line is broken)
    type Break = fn(&str) -> String;
    let corrupt: [(usize, Break); 12] = [
        (2, |l| l.replace("1997-01-01", "1997-02-30")),
        (57, |l| {
            format!("{},12,3x", l.rsplitn(3, ',').last().unwrap())
        }),
        (400, |l| l.replace("1997", "19x7")),
        (1001, |l| {
            format!("{},1,", l.rsplitn(3, ',').last().unwrap())
        }),
        (1500, |l| {
            format!("{},1,NaN", l.rsplitn(3, ',').last().unwrap())
        }),
        (2222, |l| {
            format!("{},1,1e13", l.rsplitn(3, ',').last().unwrap())
        }),
        (3000, |l| {
            l.replacen(",1997", ",", 1).replacen(",1998", ",", 1)
        }),
        (4321, |l| {
            format!("{},1,ten", l.rsplitn(3, ',').last().unwrap())
        }),
        (5000, |l| l.replacen("-", "/13/", 1)),
        (6000, |l| {
            format!("{},1,\"1,5\"", l.rsplitn(3, ',').last().unwrap())
        }),
        (6500, |l| {
            format!("{},1,--", l.rsplitn(3, ',').last().unwrap())
        }),
        (lines.len(), |l| {
            format!("{},1,∞", l.rsplitn(3, ',').last().unwrap())
        }),
    ];
    let mut broken: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    for (line, f) in &corrupt {
        broken[line - 1] = f(lines[line - 1]);
        assert_ne!(broken[line - 1], lines[line - 1], "line {line} unchanged");
    }
    let kept: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| !corrupt.iter().any(|(l, _)| *l == i + 1))
        .map(|(_, l)| *l)
        .collect();
    w.write("broken.csv", broken.join("\n") + "\n");
    w.write("kept.csv", kept.join("\n") + "\n");
    let want = w.stdout(&["rfm", "kept.csv", "--as-of", "1998-07-01", "-q"]);
    let got = w.stdout(&[
        "rfm",
        "broken.csv",
        "--as-of",
        "1998-07-01",
        "--rejects",
        "rejects.csv",
        "-q",
    ]);
    let rejects = records(&std::fs::read_to_string(w.path("rejects.csv")).unwrap());
    let rows: Vec<usize> = rejects.iter().map(|r| r["row"].parse().unwrap()).collect();
    let expected: Vec<usize> = corrupt.iter().map(|(l, _)| *l).collect();
    assert_eq!(rows, expected, "{rejects:?}");
    assert!(
        rejects.iter().all(|r| r["file"] == "broken.csv"),
        "{rejects:?}"
    );
    assert!(
        got == want,
        "the kept rows give another answer than the file without them"
    );
}
