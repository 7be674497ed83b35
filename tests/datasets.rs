//! Several files read as one table (globs, hive-partitioned directories) and `--memory-limit`
//! (orders read in pieces, a ledger per partition of customers): the same bytes as one file read
//! whole (issue 16; docs/metrics.md "Several files" and "Bounded memory").

use crate::common::{data, python, sample, Workdir};

/// The sample orders split by year into `year=YYYY/part-N.csv`, each part with the header.
fn split_by_year(w: &Workdir, root: &str, drop_column: Option<&str>) {
    let text = std::fs::read_to_string(sample("orders.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let date = header.iter().position(|h| *h == "order_date").unwrap();
    let dropped = drop_column.map(|d| header.iter().position(|h| *h == d).unwrap());
    let keep = |cells: Vec<&str>| -> String {
        cells
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != dropped)
            .map(|(_, c)| *c)
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut parts: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (n, line) in lines.enumerate() {
        // The sample has no quoted commas.
        let cells: Vec<&str> = line.split(',').collect();
        let dir = match dropped {
            Some(d) => format!("{}={}", header[d], cells[d]),
            None => format!("year={}", &cells[date][..4]),
        };
        parts
            .entry(format!("{dir}/part-{}.csv", n % 2))
            .or_default()
            .push(keep(cells));
    }
    for (name, rows) in parts {
        let path = w.path(&format!("{root}/{name}"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            path,
            format!("{}\n{}\n", keep(header.clone()), rows.join("\n")),
        )
        .unwrap();
    }
    // What Spark leaves beside the data.
    w.write(&format!("{root}/_SUCCESS"), "");
}

#[test]
fn a_glob_or_a_directory_of_parts_is_the_file_they_were_cut_from() {
    let w = Workdir::new();
    split_by_year(&w, "lake", None);
    let orders = sample("orders.csv");
    for args in [vec!["rfm"], vec!["abc", "--summary"], vec!["cohort"]] {
        let whole = w.stdout(&[&args[..], &[orders.as_str(), "-q"]].concat());
        let dir = w.stdout(&[&args[..], &["lake", "-q"]].concat());
        let glob = w.stdout(&[&args[..], &["lake/*/*.csv", "-q"]].concat());
        assert_eq!(whole, dir, "{args:?}");
        assert_eq!(whole, glob, "{args:?}");
    }
}

#[test]
fn a_partition_directory_supplies_the_column_its_files_lack() {
    let w = Workdir::new();
    split_by_year(&w, "by_status", Some("status"));
    assert!(w.path("by_status/status=refunded/part-0.csv").exists());
    let part = std::fs::read_to_string(w.path("by_status/status=refunded/part-0.csv")).unwrap();
    assert!(!part.lines().next().unwrap().contains("status"));
    let orders = sample("orders.csv");
    assert_eq!(
        w.stdout(&["rfm", &orders, "-q"]),
        w.stdout(&["rfm", "by_status", "-q"])
    );
}

#[test]
fn a_hive_partitioned_parquet_dataset_from_duckdb_reads_as_the_file() {
    let w = Workdir::new();
    let orders = sample("orders.csv");
    // DuckDB writes channel=…/data_0.parquet without a channel column in the files.
    let script = format!(
        "import duckdb\nduckdb.sql(\"COPY (SELECT * FROM read_csv('{orders}', all_varchar = true)) TO 'lake' (FORMAT PARQUET, PARTITION_BY (channel))\")\n"
    );
    python(&w, &script);
    let whole = w.stdout(&["rfm", &orders, "-q"]);
    assert_eq!(whole, w.stdout(&["rfm", "lake", "-q"]));
    assert_eq!(whole, w.stdout(&["rfm", "lake/**/*.parquet", "-q"]));
    assert_eq!(
        whole,
        w.stdout(&["rfm", "lake", "--memory-limit", "1MiB", "-q"])
    );
    // The partition key is a column: abc by a customers file is not needed to see it, inspect
    // lists it.
    let inspect = w.stdout(&["inspect", "lake"]);
    assert!(inspect.contains("channel"), "{inspect}");
}

#[test]
fn the_files_of_a_dataset_must_agree() {
    let w = Workdir::new();
    std::fs::create_dir(w.path("parts")).unwrap();
    w.write(
        "parts/a.csv",
        "customer_id,order_date,amount\nA,2024-01-01,10\n",
    );
    w.write(
        "parts/b.csv",
        "customer_id,order_date,amount,status\nB,2024-01-02,10,paid\n",
    );
    let e = w.fails(&["rfm", "parts"], 1);
    assert!(
        e.contains("parts/b.csv") && e.contains("same columns"),
        "{e}"
    );
    let e = w.fails(&["rfm", "parts/*.parquet"], 2);
    assert!(e.contains("matches no file"), "{e}");
}

#[test]
fn under_a_memory_limit_the_output_is_the_whole_run_s() {
    let w = Workdir::new();
    let orders = sample("orders.csv");
    let lines = sample("invoice_lines.csv");
    let cdnow = data("cdnow_sample.csv");
    let customers = sample("customers.csv");
    let margin_rules = data("rating_margin.toml");
    for (file, args) in [
        (orders.as_str(), vec!["rfm"]),
        (
            orders.as_str(),
            vec!["rfm", "--bins", "4", "--frequency", "days"],
        ),
        (
            orders.as_str(),
            vec!["rfm", "--summary", "--as-of", "2024-06-01"],
        ),
        (orders.as_str(), vec!["abc"]),
        (orders.as_str(), vec!["abc", "--by", "margin", "--summary"]),
        (
            orders.as_str(),
            vec!["cohort", "--metric", "revenue", "--period", "quarter"],
        ),
        (orders.as_str(), vec!["cohort", "--period", "week"]),
        (cdnow.as_str(), vec!["cohort"]),
        (
            orders.as_str(),
            vec!["lifecycle", "--rates", "--period", "week"],
        ),
        (
            cdnow.as_str(),
            vec!["lifecycle", "--rates", "--churn-days", "90"],
        ),
        // Stages: the typical gap of one-time buyers is the median over every partition's
        // repeat buyers; customers without a purchase are potential.
        (orders.as_str(), vec!["lifecycle"]),
        (cdnow.as_str(), vec!["lifecycle", "--churn-days", "120"]),
        (
            orders.as_str(),
            vec!["lifecycle", "--summary", "--customers", &customers],
        ),
        // Rating: raw criteria per partition, normalised over everyone.
        (orders.as_str(), vec!["rating"]),
        (
            orders.as_str(),
            vec!["rating", "--customers", &customers, "--summary"],
        ),
        (cdnow.as_str(), vec!["rating"]),
        (orders.as_str(), vec!["rating", "--rules", &margin_rules]),
        // Cancellation rows linked across pieces: the marker is the whole file's.
        (lines.as_str(), vec!["rfm"]),
        (lines.as_str(), vec!["abc"]),
        (cdnow.as_str(), vec!["rfm"]),
    ] {
        let whole = w.cmd(&[&args[..], &[file]].concat()).output().unwrap();
        let limited = w
            .cmd(&[&args[..], &[file, "--memory-limit", "1MiB"]].concat())
            .output()
            .unwrap();
        assert!(whole.status.success() && limited.status.success());
        assert_eq!(whole.stdout, limited.stdout, "{file} {args:?}");
        // The same counts said on stderr (rows, customers, cancellations).
        let said = |out: &std::process::Output| -> Vec<String> {
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .filter(|l| {
                    l.contains("scored from")
                        || l.contains("cancellation rows")
                        || l.contains("ranked by")
                        || l.contains("cohorts as of")
                        || l.contains("complete periods as of")
                        || l.contains("customers as of")
                        || l.contains("customers rated as of")
                        || l.contains("CLV of")
                        || l.contains("bg-nbd:")
                        || l.contains("pareto-nbd:")
                })
                .map(str::to_string)
                .collect()
        };
        assert_eq!(said(&whole), said(&limited), "{file} {args:?}");
        assert!(!said(&whole).is_empty());
    }
}

#[test]
fn a_bad_cell_in_a_later_piece_is_named_by_its_row_in_the_file() {
    let w = Workdir::new();
    let mut text = String::from("order_id,customer_id,order_date,amount\n");
    for i in 0..60_000 {
        let day = if i == 45_000 {
            "2024-13-40".to_string()
        } else {
            format!("2024-{:02}-{:02}", 1 + i % 12, 1 + i % 28)
        };
        text.push_str(&format!("O{i},C{},{day},{}.50\n", i % 997, 10 + i % 50));
    }
    w.write("orders.csv", text);
    let whole = w.fails(&["rfm", "orders.csv"], 1);
    let limited = w.fails(&["rfm", "orders.csv", "--memory-limit", "1MiB"], 1);
    assert!(whole.contains("row 45002"), "{whole}");
    let error = |s: &str| {
        s.lines()
            .find(|l| l.contains("row 45002"))
            .map(str::to_string)
    };
    assert_eq!(error(&whole), error(&limited));
}

#[test]
fn a_memory_limit_is_refused_where_it_cannot_be_kept() {
    let w = Workdir::new();
    let orders = sample("orders.csv");
    let customers = sample("customers.csv");
    for command in [&["lifecycle", "--rates"][..], &["cohort"]] {
        let grouped = [
            "--memory-limit",
            "1GiB",
            "--by",
            "region",
            "--customers",
            &customers,
        ];
        let e = w.fails(&[command, &[orders.as_str()], &grouped].concat(), 2);
        assert!(e.contains("without --by"), "{command:?}: {e}");
    }
    let e = w.fails(&["rfm", &orders, "--memory-limit", "10KiB"], 2);
    assert!(e.contains("at least 1MiB"), "{e}");
    let out = w
        .cmd(&["rfm", "-", "--memory-limit", "1GiB"])
        .write_stdin(std::fs::read(&orders).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("standard input"));
}

#[test]
fn orders_bigger_than_the_memory_left_are_read_in_partitions_unasked() {
    let w = Workdir::new();
    let orders = sample("orders.csv");
    let whole = w.stdout(&["rfm", &orders, "-q"]);
    // About 3 MiB needed (3 × the 1 MiB file), 2.5 MiB said to be available.
    let out = w
        .cmd(&["rfm", &orders])
        .env("CRM_EVAL_MEMORY_AVAILABLE", "2500000")
        .output()
        .unwrap();
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("reading it in partitions"), "{said}");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), whole);
    // With room, nothing is said and the file is read whole.
    let out = w
        .cmd(&["rfm", &orders])
        .env("CRM_EVAL_MEMORY_AVAILABLE", "100000000000")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("partitions"));
}
