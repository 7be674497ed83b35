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
            "long_cell.csv",
            rows(&format!("A,2024-01-01,{}\n", "x".repeat(500))),
            Err("…\" (500 characters) is not an amount"),
        ),
        (
            "orders.csv.bz2",
            "BZh91AY&SY\u{1}\u{2}".into(),
            Err("a bzip2-compressed file; crm-eval reads plain, gzip (.gz) and zstd (.zst)"),
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

/// Runs `crm-eval ARGS` (or `bash -c SCRIPT` with the binary as $CRM_EVAL) in `w`, failing the
/// test instead of hanging when it takes more than a minute.
fn run_within_a_minute(w: &Workdir, mut cmd: std::process::Command) -> std::process::Output {
    use std::time::{Duration, Instant};
    // Output to files, not pipes: a pipe nobody reads while waiting fills and blocks the child.
    let (out, err) = (w.path("run.stdout"), w.path("run.stderr"));
    let mut child = cmd
        .current_dir(w.path("."))
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"))
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("hung for a minute: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    std::process::Output {
        status,
        stdout: std::fs::read(&out).expect("stdout"),
        stderr: std::fs::read(&err).expect("stderr"),
    }
}

fn bash(script: &str) -> std::process::Command {
    let mut c = std::process::Command::new("bash");
    c.args(["-c", script])
        .env("CRM_EVAL", assert_cmd::cargo::cargo_bin("crm-eval"));
    c
}

/// A named pipe, a process substitution and /dev/stdin are read once, as the file is (gzip too):
/// a second open of a FIFO whose writer is done used to block forever, and `<(…)` lost the bytes
/// read to sniff the format (issue 27).
#[test]
fn pipes_and_fifos_read_like_the_file() {
    let w = Workdir::new();
    let orders = crate::common::sample("orders.csv");
    let expected = w.stdout(&["rfm", &orders, "-q", "-f", "csv"]);
    std::fs::copy(&orders, w.path("orders.csv")).unwrap();
    let gz = std::process::Command::new("gzip")
        .args(["-kn", "orders.csv"])
        .current_dir(w.path("."))
        .status()
        .unwrap();
    assert!(gz.success());
    for (script, what) in [
        (
            "mkfifo f; (cat orders.csv > f &); \"$CRM_EVAL\" rfm f -q -f csv",
            "FIFO",
        ),
        (
            "rm -f g; mkfifo g; (cat orders.csv.gz > g &); \"$CRM_EVAL\" rfm g -q -f csv",
            "gzip FIFO",
        ),
        ("\"$CRM_EVAL\" rfm <(cat orders.csv) -q -f csv", "<(…)"),
        (
            "cat orders.csv | \"$CRM_EVAL\" rfm /dev/stdin -q -f csv",
            "/dev/stdin",
        ),
    ] {
        let out = run_within_a_minute(&w, bash(script));
        assert!(
            out.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8(out.stdout).unwrap(), expected, "{what}");
    }
}

/// An output is never written onto an input (the only copy of the export): -o onto the orders,
/// onto a --customers file, onto the KPI history; each a usage error that leaves the file as it
/// was. A KPI history is a .csv or .parquet the next run can read.
#[test]
fn an_output_never_replaces_an_input() {
    let w = Workdir::new();
    let orders = std::fs::read(crate::common::sample("orders.csv")).unwrap();
    w.write("o.csv", &orders);
    let customers = std::fs::read(crate::common::sample("customers.csv")).unwrap();
    w.write("c.csv", &customers);
    let e = w.fails(&["rfm", "o.csv", "-o", "o.csv"], 2);
    assert!(e.contains("-o o.csv: that is the input o.csv"), "{e}");
    let e = w.fails(&["rfm", "o.csv", "-o", "./o.csv"], 2);
    assert!(e.contains("that is the input"), "{e}");
    std::os::unix::fs::symlink("o.csv", w.path("link.csv")).unwrap();
    w.fails(&["rfm", "link.csv", "-o", "o.csv"], 2);
    let e = w.fails(
        &[
            "rfm",
            "o.csv",
            "--customers",
            "c.csv",
            "--columns",
            "region",
            "-o",
            "c.csv",
        ],
        2,
    );
    assert!(e.contains("that is the input c.csv"), "{e}");
    w.write(
        "targets.toml",
        "[[target]]\nkpi = \"churned_share\"\nmax = 1\n",
    );
    w.write("h.csv", "kept\n");
    let e = w.fails(
        &[
            "check",
            "targets.toml",
            "--orders",
            "o.csv",
            "--kpi-history",
            "h.csv",
            "-o",
            "h.csv",
        ],
        2,
    );
    assert!(e.contains("are the same file"), "{e}");
    let e = w.fails(
        &[
            "check",
            "targets.toml",
            "--orders",
            "o.csv",
            "--kpi-history",
            "h.json",
        ],
        2,
    );
    assert!(e.contains(".csv or .parquet"), "{e}");
    assert_eq!(std::fs::read(w.path("o.csv")).unwrap(), orders);
    assert_eq!(std::fs::read(w.path("c.csv")).unwrap(), customers);
    assert_eq!(std::fs::read_to_string(w.path("h.csv")).unwrap(), "kept\n");
    // The history itself is read and rewritten, as designed.
    w.write("h2.csv", "");
    std::fs::remove_file(w.path("h2.csv")).unwrap();
    w.stdout(&[
        "check",
        "targets.toml",
        "--orders",
        "o.csv",
        "--kpi-history",
        "h2.csv",
        "-q",
    ]);
    w.stdout(&[
        "check",
        "targets.toml",
        "--orders",
        "o.csv",
        "--kpi-history",
        "h2.csv",
        "-q",
    ]);
    assert!(std::fs::read_to_string(w.path("h2.csv"))
        .unwrap()
        .contains("churned_share"));
}

/// An interrupted run (SIGINT, SIGTERM, a file-size limit) leaves no temporary output and no
/// partition folder behind, whenever the signal lands (issue 27).
#[test]
fn an_interrupted_run_leaves_nothing_behind() {
    let w = Workdir::new();
    let mut csv = String::from("customer_id,order_date,amount\n");
    for i in 0..400_000u32 {
        csv.push_str(&format!(
            "C{},2024-{:02}-{:02},{}.50\n",
            i.wrapping_mul(2_654_435_761) % 90_000,
            i % 12 + 1,
            i % 28 + 1,
            i % 997
        ));
    }
    w.write("big.csv", &csv);
    std::fs::create_dir(w.path("tmp")).unwrap();
    for (signal, delay_ms) in [("INT", 150), ("TERM", 400), ("INT", 900)] {
        let script = format!(
            "\"$CRM_EVAL\" rfm big.csv -o out.csv --memory-limit 8MiB -q & p=$!; \
             sleep {}; kill -{signal} $p; wait $p",
            f64::from(delay_ms) / 1000.0
        );
        let mut cmd = bash(&script);
        cmd.env("TMPDIR", w.path("tmp"));
        let out = run_within_a_minute(&w, cmd);
        let code = out.status.code();
        let interrupted = if signal == "INT" { 130 } else { 143 };
        assert!(
            code == Some(interrupted) || code == Some(0),
            "{signal}: {code:?} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let left: Vec<String> = std::fs::read_dir(w.path("tmp"))
            .unwrap()
            .chain(std::fs::read_dir(w.path(".")).unwrap())
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("crm-eval-partitions") || n.ends_with(".tmp"))
            .collect();
        assert!(
            left.is_empty(),
            "{signal} after {delay_ms} ms left {left:?}"
        );
        let _ = std::fs::remove_file(w.path("out.csv"));
    }
    // A file-size limit: an error naming the output, no temporary file, no signal death.
    let out = run_within_a_minute(
        &w,
        bash("ulimit -f 64; \"$CRM_EVAL\" rfm big.csv -o out.csv -q"),
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("out.csv: writing failed"), "{stderr}");
    assert!(!std::fs::read_dir(w.path(".")).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".tmp")));
}

/// A file whose name holds glob characters is itself, not a pattern (issue 27).
#[test]
fn a_file_named_like_a_pattern_is_read_as_itself() {
    let w = Workdir::new();
    w.write(
        "orders[2024].csv",
        "customer_id,order_date,amount\nA,2024-01-01,10\n",
    );
    let out = w.stdout(&["rfm", "orders[2024].csv", "-q", "-f", "csv"]);
    assert!(out.contains("A,"), "{out}");
}

/// Values that used to give a silent wrong answer, or no end, are refused with the option, the
/// file or the row named (issue 27): a dot decimal under --decimal-comma (read ×100), NUL bytes
/// before the header (a column lost), a negative number to an option (clap named none), a config
/// value blamed on a flag nobody typed, a stage named twice, a discount rate of 3, unbounded
/// backtest cutoffs, a pool rule of 10¹² days (overflowed into "overdue").
#[test]
fn silent_answers_and_endless_runs_are_refused() {
    let w = Workdir::new();
    w.write(
        "dc.csv",
        "customer_id;order_date;amount\nA;2024-01-01;1.234,50\nB;2024-01-02;100.00\n",
    );
    let e = w.fails(&["rfm", "dc.csv", "--decimal-comma"], 1);
    assert!(
        e.contains("row 3") && e.contains("\"100.00\" is a dot decimal"),
        "{e}"
    );
    let orders = std::fs::read(crate::common::sample("orders.csv")).unwrap();
    let mut nul = vec![0u8; 1000];
    nul.extend_from_slice(&orders);
    w.write("nul.csv", &nul);
    let e = w.fails(&["rfm", "nul.csv"], 1);
    assert!(e.contains("nul.csv: NUL bytes in the header row"), "{e}");
    w.write("o.csv", &orders);
    let e = w.fails(&["rfm", "o.csv", "--top", "-5"], 2);
    assert!(e.contains("'--top <N>'"), "{e}");
    let e = w.fails(&["predict", "churn", "o.csv", "--horizon", "-5"], 2);
    assert!(e.contains("--horizon"), "{e}");
    let e = w.fails(&["predict", "churn", "o.csv", "--cutoffs", "100000"], 2);
    assert!(e.contains("--cutoffs 100000"), "{e}");
    w.write("crm-eval.toml", "[rfm]\nbins = 1\n");
    let e = w.fails(&["rfm", "o.csv"], 2);
    assert!(e.contains("crm-eval.toml: [rfm] bins = 1"), "{e}");
    std::fs::remove_file(w.path("crm-eval.toml")).unwrap();
    let e = w.fails(
        &[
            "funnel",
            &crate::common::sample("opportunities.csv"),
            "--stages",
            "Prospecting,Proposal,prospecting",
        ],
        2,
    );
    assert!(e.contains("name the same stage twice"), "{e}");
    w.write(
        "lines.csv",
        "invoice,customer_id,order_date,quantity,unit_price,discount\n1,A,2024-01-01,2,10,0.1\n2,A,2024-01-02,1,10,3\n",
    );
    let e = w.fails(&["rfm", "lines.csv", "--line-discount", "rate"], 1);
    assert!(
        e.contains("row 3") && e.contains("not a discount rate between 0 and 1"),
        "{e}"
    );
    let rules = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/pool-rules.toml"),
    )
    .unwrap()
    .replace("no_followup_days = 30", "no_followup_days = 1e12");
    w.write("rules.toml", rules);
    let e = w.fails(
        &[
            "pool",
            "--events",
            &crate::common::sample("events.csv"),
            "--orders",
            "o.csv",
            "--rules",
            "rules.toml",
        ],
        2,
    );
    assert!(
        e.contains("no_followup_days = 1000000000000: expected 0 to 36600 days"),
        "{e}"
    );
}

/// A file without a header row (the public Olist lead list is one): a first row that looks like
/// data is said with the hint, and `--no-header --names …` reads every row, the first included,
/// as the same file with a header does (issue 27).
#[test]
fn a_file_without_a_header_row() {
    let w = Workdir::new();
    let rows = "dac32acd4db4c29c230538b72f8dd87d,2018-02-01 00:00:00,10.5\n\
                8c18d1de7f67e60dbd64e3c07d7e9d5d,2017-10-20 00:00:00,20\n\
                dac32acd4db4c29c230538b72f8dd87d,2018-03-02 00:00:00,7\n";
    w.write("headerless.csv", rows);
    w.write(
        "with_header.csv",
        format!("customer_id,order_date,amount\n{rows}"),
    );
    let e = w.fails(&["rfm", "headerless.csv"], 1);
    assert!(
        e.contains("the first row looks like data") && e.contains("--no-header"),
        "{e}"
    );
    let out = w.cmd(&["inspect", "headerless.csv"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-header --names"));
    let read = w.stdout(&[
        "rfm",
        "headerless.csv",
        "--no-header",
        "--names",
        "customer_id,order_date,amount",
        "-q",
        "-f",
        "csv",
    ]);
    assert_eq!(
        read,
        w.stdout(&["rfm", "with_header.csv", "-q", "-f", "csv"])
    );
    assert!(read.contains("dac32acd4db4c29c230538b72f8dd87d,"), "{read}");
    w.fails(&["rfm", "headerless.csv", "--no-header"], 2);
    // A bad cell is named by its line in the file (no header: data starts at line 1).
    w.write("bad.csv", "A,2018-02-01,10\nB,soon,20\n");
    let e = w.fails(
        &[
            "rfm",
            "bad.csv",
            "--no-header",
            "--names",
            "customer_id,order_date,amount",
        ],
        1,
    );
    assert!(e.contains("row 2"), "{e}");
}
