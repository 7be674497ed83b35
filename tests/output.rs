//! The shared output layer: format selection, every format read back, atomic files, pipes.

use crate::common::{records, sample, Workdir};
use crate::rfm::WORKED;

#[test]
fn piped_output_is_csv_by_default() {
    let w = Workdir::new();
    w.write("orders.csv", WORKED);
    let out = w.stdout(&["rfm", "orders.csv", "-q"]);
    assert!(out.starts_with("customer_id,first_order_date,last_order_date,recency_days,frequency,monetary,r_score,f_score,m_score,rfm_code,segment\n"), "{out}");
}

#[test]
fn table_markdown_tsv_and_bom() {
    let w = Workdir::new();
    w.write("orders.csv", WORKED);
    let table = w.stdout(&["rfm", "orders.csv", "-q", "--format", "table"]);
    assert!(table.contains("┆ Potential Loyalist │"), "{table}");
    assert!(
        table.contains("┆      400 ┆"),
        "numbers are right-aligned: {table}"
    );
    let md = w.stdout(&["rfm", "orders.csv", "-q", "--format", "markdown"]);
    let lines: Vec<&str> = md.lines().collect();
    assert!(
        lines[0].starts_with("| customer_id | first_order_date |"),
        "{md}"
    );
    assert!(lines[1].starts_with("|---|---|---|---:|---:|---:|"), "{md}");
    assert_eq!(lines.len(), 2 + 4);
    let tsv = w.stdout(&["rfm", "orders.csv", "-q", "--format", "tsv"]);
    assert!(
        tsv.lines()
            .nth(1)
            .unwrap()
            .starts_with("A\t2024-01-01\t2024-03-01\t20\t3\t180\t"),
        "{tsv}"
    );
    let bom = w.stdout(&["rfm", "orders.csv", "-q", "--bom"]);
    assert!(bom.starts_with('\u{feff}'));
}

#[test]
fn json_and_ndjson_parse_back() {
    let w = Workdir::new();
    w.write("orders.csv", WORKED);
    let json: serde_json::Value =
        serde_json::from_str(&w.stdout(&["rfm", "orders.csv", "-q", "--format", "json"])).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0]["customer_id"], "A");
    assert_eq!(rows[0]["monetary"], 180);
    assert_eq!(rows[0]["last_order_date"], "2024-03-01");
    let nd = w.stdout(&["rfm", "orders.csv", "-q", "--format", "ndjson"]);
    let lines: Vec<serde_json::Value> = nd
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[3]["segment"], "Lost");
    // Several tables (inspect) become one object keyed by table.
    let inspect: serde_json::Value =
        serde_json::from_str(&w.stdout(&["inspect", "orders.csv", "--format", "json"])).unwrap();
    assert!(inspect["source"].is_array() && inspect["columns"].is_array());
}

#[test]
fn files_take_their_format_from_the_extension() {
    let w = Workdir::new();
    w.write("orders.csv", WORKED);
    let stdout = w.stdout(&["rfm", "orders.csv", "-q", "-o", "out.csv"]);
    assert!(stdout.is_empty());
    let csv = std::fs::read_to_string(w.path("out.csv")).unwrap();
    assert_eq!(csv, w.stdout(&["rfm", "orders.csv", "-q"]));

    w.stdout(&["rfm", "orders.csv", "-q", "-o", "out.parquet"]);
    use polars::prelude::SerReader;
    let file = std::fs::File::open(w.path("out.parquet")).unwrap();
    let df = polars::prelude::ParquetReader::new(file).finish().unwrap();
    assert_eq!(df.height(), 4);
    assert_eq!(
        df.column("monetary").unwrap().f64().unwrap().get(2),
        Some(400.0)
    );
    assert_eq!(
        df.column("last_order_date").unwrap().dtype(),
        &polars::prelude::DataType::Date
    );

    w.stdout(&["rfm", "orders.csv", "-q", "-o", "out.md"]);
    assert!(std::fs::read_to_string(w.path("out.md"))
        .unwrap()
        .starts_with("| customer_id |"));
}

#[test]
fn xlsx_opens_back_with_headers_and_numbers() {
    use calamine::{open_workbook, Data, Reader, Xlsx};
    let w = Workdir::new();
    w.write("orders.csv", WORKED);
    w.stdout(&[
        "rfm",
        "orders.csv",
        "--as-of",
        "2024-03-21",
        "-q",
        "-o",
        "rfm.xlsx",
    ]);
    let mut book: Xlsx<_> = open_workbook(w.path("rfm.xlsx")).unwrap();
    let range = book.worksheet_range("result").unwrap();
    let header: Vec<String> = range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(header[0], "customer_id");
    assert_eq!(header[10], "segment");
    let row = range.rows().nth(3).unwrap();
    assert_eq!(row[0], Data::String("C".into()));
    assert_eq!(row[5], Data::Float(400.0));
    // Dates are real Excel dates, not text.
    match &row[2] {
        Data::DateTime(d) => assert_eq!(d.as_f64(), 45366.0), // 2024-03-15
        other => panic!("expected a date cell, got {other:?}"),
    }
}

#[test]
fn failed_run_leaves_the_old_file_and_no_temporary_files() {
    let w = Workdir::new();
    w.write(
        "bad.csv",
        "customer_id,order_date,amount\nA,2024-01-01,oops\n",
    );
    w.write("out.csv", "previous result\n");
    w.fails(&["rfm", "bad.csv", "-o", "out.csv"], 1);
    assert_eq!(
        std::fs::read_to_string(w.path("out.csv")).unwrap(),
        "previous result\n"
    );
    w.fails(&["rfm", "bad.csv", "-o", "new.csv"], 1);
    assert!(!w.path("new.csv").exists());
    let leftovers: Vec<_> = std::fs::read_dir(w.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn output_usage_errors() {
    let w = Workdir::new();
    w.write("orders.csv", WORKED);
    let err = w.fails(&["rfm", "orders.csv", "-o", "out.docx"], 2);
    assert!(err.contains("--format"), "{err}");
    std::fs::create_dir(w.path("dir")).unwrap();
    let err = w.fails(&["rfm", "orders.csv", "-o", "dir"], 2);
    assert!(err.contains("is a directory"), "{err}");
    let err = w.fails(&["rfm", "orders.csv", "-o", "missing/dir/out.csv"], 1);
    assert!(err.contains("missing/dir/out.csv"), "{err}");
    let err = w.fails(&["rfm", "orders.csv", "--format", "pdf"], 2);
    assert!(err.contains("pdf"), "{err}");
    let err = w.fails(&["rfm"], 2);
    assert!(err.contains("ORDERS"), "{err}");
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let w = Workdir::new();
    let bin = assert_cmd::cargo::cargo_bin("crm-eval");
    let script = format!(
        "set -o pipefail; '{}' rfm '{}' -q | head -n 1",
        bin.display(),
        sample("orders.csv")
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 1);
    // A reader gone before the first write (`true` reads nothing): `sql` printed with println!
    // and panicked here.
    for args in ["sql rfm --dialect spark", "rfm ORDERS -q"] {
        let args = args.replace("ORDERS", &sample("orders.csv"));
        let script = format!(
            "set -o pipefail; (sleep 0.3; '{}' {args}) | true",
            bin.display()
        );
        let out = std::process::Command::new("bash")
            .args(["-c", &script])
            .current_dir(w.dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "{args}: {stderr}"
        );
    }
}

#[test]
fn quiet_silences_notes_only() {
    let w = Workdir::new();
    w.write("orders.csv", WORKED);
    let out = w.cmd(&["rfm", "orders.csv", "--quiet"]).output().unwrap();
    assert!(out.stderr.is_empty());
    assert_eq!(records(&String::from_utf8(out.stdout).unwrap()).len(), 4);
}

#[cfg(unix)]
#[test]
fn output_files_are_readable_like_any_other_file() {
    use std::os::unix::fs::PermissionsExt;
    let w = Workdir::new();
    w.write("orders.csv", WORKED);
    w.stdout(&["rfm", "orders.csv", "-q", "-o", "new.csv"]);
    let mode = std::fs::metadata(w.path("new.csv"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o644);
    w.write("kept.csv", "old\n");
    std::fs::set_permissions(w.path("kept.csv"), std::fs::Permissions::from_mode(0o640)).unwrap();
    w.stdout(&["rfm", "orders.csv", "-q", "-o", "kept.csv"]);
    let mode = std::fs::metadata(w.path("kept.csv"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o640, "a replaced file keeps its permissions");
}

/// A CSV, TSV, NDJSON or Parquet stream holds one table: by default the command's main one (a
/// note names the others), and two asked for by name are a usage error that says how to get
/// them. DuckDB reads each default stream back as one table whose header is the main table's.
#[test]
fn a_one_table_stream_gets_one_table() {
    let w = Workdir::new();
    let [events, orders, followups, opportunities] = [
        "events.csv",
        "orders.csv",
        "followups.csv",
        "opportunities.csv",
    ]
    .map(sample);
    let pool = [
        "pool",
        "--events",
        &events,
        "--orders",
        &orders,
        "--followups",
        &followups,
    ];
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            vec!["funnel", &opportunities],
            "summary,stages",
            "opportunities",
        ),
        (pool.to_vec(), "due,owners", "customer_id"),
        (vec!["inspect", &orders], "source,columns", "column"),
        (
            vec!["predict", "churn", &orders],
            "predictions,coefficients",
            "churn_probability",
        ),
    ];
    for (args, two, main_column) in cases {
        let mut default = args.clone();
        default.extend(["-f", "csv"]);
        let out = w.cmd(&default).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        let rows = records(&text);
        assert!(
            !rows.is_empty() && rows[0].contains_key(main_column),
            "{args:?}: {text:.200}"
        );
        // No second header, no blank line: every line has the header's number of fields.
        assert!(!text.contains("\n\n"), "{args:?}");
        // predict's default is its one predictions table; the others make several by default.
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.contains("CSV holds one table"),
            args[0] != "predict",
            "{args:?}: {stderr}"
        );
        w.write("out.csv", &text);
        crate::common::python(
            &w,
            &format!(
                "import duckdb\nrel = duckdb.read_csv('out.csv')\nassert {main_column:?} in rel.columns, rel.columns\nassert len(rel.fetchall()) == {}\n",
                rows.len()
            ),
        );
        for format in ["csv", "tsv", "ndjson"] {
            let mut asked = args.clone();
            asked.extend(["--show", two, "-f", format]);
            let e = w.fails(&asked, 2);
            assert!(
                e.contains("holds one table") && e.contains("-o FILE.xlsx"),
                "{e}"
            );
        }
        // A workbook or JSON takes both.
        let mut json = args.clone();
        json.extend(["--show", two, "-f", "json", "-q"]);
        let v: serde_json::Value = serde_json::from_str(&w.stdout(&json)).unwrap();
        assert_eq!(v.as_object().map(|o| o.len()), Some(2), "{args:?}");
    }
}

/// On a terminal (a pty from `script`, util-linux) a table fits the screen: a screenful of rows
/// and the count of the rest, middle columns left out by name, a one-row table too wide shown
/// as column/value lines; shares as percentages and numbers grouped. `--all` prints every row;
/// a pipe gets every row and column, and CSV keeps raw numbers.
#[test]
fn terminal_tables_fit_the_screen() {
    let w = Workdir::new();
    let bin = assert_cmd::cargo::cargo_bin("crm-eval");
    let on_terminal = |args: &str| -> String {
        let out = std::process::Command::new("script")
            .args(["-qec", &format!("{} {args}", bin.display()), "/dev/null"])
            .env("COLUMNS", "80")
            .env("LINES", "20")
            .current_dir(w.path("."))
            .output()
            .expect("script (util-linux) runs a command on a pseudo-terminal");
        assert!(out.status.success(), "{args}");
        String::from_utf8_lossy(&out.stdout).replace('\r', "")
    };
    let orders = sample("orders.csv");
    let rfm = on_terminal(&format!("rfm {orders} -q"));
    assert!(rfm.contains("columns not shown: "), "{rfm}");
    assert!(rfm.contains("… 3,163 more rows (--all"), "{rfm}");
    let widest = rfm
        .lines()
        .filter(|l| l.starts_with(['│', '┌', '╞']))
        .map(unicode_width::UnicodeWidthStr::width)
        .max()
        .unwrap();
    assert!(widest <= 80, "{widest}: {rfm}");
    let all = on_terminal(&format!("rfm {orders} -q --all"));
    assert!(all.lines().count() > 3175 && !all.contains("more rows"));
    let funnel = on_terminal(&format!(
        "funnel {} -q --show summary",
        sample("opportunities.csv")
    ));
    assert!(
        funnel.contains("│ win_rate ") && funnel.contains("21.6%"),
        "{funnel}"
    );
    assert!(funnel.contains("16,944,473.65"), "{funnel}");
    // A pipe: every row and column; CSV: raw numbers.
    let piped = w.stdout(&["rfm", &orders, "-q", "-f", "table"]);
    assert!(piped.lines().count() > 3175 && !piped.contains("not shown"));
    let csv = w.stdout(&[
        "funnel",
        &sample("opportunities.csv"),
        "-q",
        "--show",
        "summary",
        "-f",
        "csv",
    ]);
    assert!(
        csv.contains(",0.2165,") && csv.contains(",16944473.65,"),
        "{csv}"
    );
}

/// `-o x.arrow` (or `.feather`, `-f arrow`) is an Arrow IPC file with the columns' types, the
/// same table as Parquet; a terminal refuses it like any binary format.
#[test]
fn arrow_files_hold_the_typed_table() {
    use polars::prelude::*;
    let w = Workdir::new();
    let orders = sample("orders.csv");
    w.stdout(&["rfm", &orders, "-q", "-o", "rfm.arrow"]);
    w.stdout(&["rfm", &orders, "-q", "-o", "rfm.parquet"]);
    w.stdout(&["rfm", &orders, "-q", "-o", "rfm.feather"]);
    let arrow = IpcReader::new(std::fs::File::open(w.path("rfm.arrow")).unwrap())
        .finish()
        .unwrap();
    let parquet = ParquetReader::new(std::fs::File::open(w.path("rfm.parquet")).unwrap())
        .finish()
        .unwrap();
    assert!(arrow.height() > 3000);
    assert!(arrow.equals_missing(&parquet));
    assert_eq!(
        arrow.column("monetary").unwrap().dtype(),
        &DataType::Float64
    );
    assert_eq!(
        std::fs::read(w.path("rfm.arrow")).unwrap(),
        std::fs::read(w.path("rfm.feather")).unwrap()
    );
    let e = w.fails(
        &[
            "funnel",
            &sample("opportunities.csv"),
            "--show",
            "summary,stages",
            "-o",
            "f.arrow",
        ],
        2,
    );
    assert!(e.contains("holds one table"), "{e}");
}

/// Same input, same bytes, xlsx included (the workbook's created/modified times were the
/// clock's); every sheet with rows has a filter; probabilities read as percentages.
#[test]
fn workbooks_are_the_same_bytes_on_every_run_with_filters() {
    let w = Workdir::new();
    let orders = sample("orders.csv");
    let events = sample("events.csv");
    let report = |out: &str| {
        w.stdout(&[
            "report", "--orders", &orders, "--events", &events, "-q", "-o", out,
        ]);
    };
    report("a.xlsx");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    report("b.xlsx");
    assert_eq!(
        std::fs::read(w.path("a.xlsx")).unwrap(),
        std::fs::read(w.path("b.xlsx")).unwrap()
    );
    let check = std::process::Command::new("python3")
        .args([
            "-c",
            "import zipfile\n\
             z = zipfile.ZipFile('a.xlsx')\n\
             sheets = [n for n in z.namelist() if n.startswith('xl/worksheets/sheet')]\n\
             assert sheets and all('<autoFilter ref=' in z.read(n).decode() for n in sheets), sheets\n\
             styles = z.read('xl/styles.xml').decode()\n\
             assert 'formatCode=\"0.0%\"' in styles and 'formatCode=\"#,##0\"' in styles\n",
        ])
        .current_dir(w.path("."))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
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
