//! `crm-eval sql` (issue 16): the generated SQL, run in DuckDB (its Python package; `.ci/run`
//! installs it), gives every cell of the command's own output: counts exact, money to the cent;
//! and `clv --summary-in` on the DuckDB-made summary gives `clv`'s parameters.

use std::collections::{BTreeMap, HashMap};

use crate::common::{data, python, records, sample, Workdir};

/// Runs `sql` in DuckDB over a view `orders` made by `view` and writes the result as CSV to
/// `out`.
fn duckdb(w: &Workdir, view: &str, sql: &str, out: &str) {
    w.write("query.sql", sql.trim().trim_end_matches(';'));
    let script = format!(
        "import duckdb\ncon = duckdb.connect()\ncon.execute({view:?})\ncon.execute(\"COPY (\" + open('query.sql').read() + \") TO '{out}' (HEADER, DELIMITER ',')\")\n"
    );
    python(w, &script);
}

fn view(csv: &str, with_order_id: bool, with_status: bool) -> String {
    let order_id = if with_order_id {
        "CAST(order_id AS VARCHAR)"
    } else {
        "CAST(NULL AS VARCHAR)"
    };
    let status = if with_status {
        "CAST(status AS VARCHAR)"
    } else {
        "CAST(NULL AS VARCHAR)"
    };
    format!(
        "CREATE VIEW orders AS SELECT CAST(customer_id AS VARCHAR) AS customer_id, {order_id} AS order_id, CAST(order_date AS DATE) AS order_date, amount, {status} AS status FROM read_csv('{csv}', header = true, all_varchar = false)"
    )
}

/// Every cell of two tables equal, money columns to the cent. The commands' `owner` column
/// (docs/metrics.md "Current owner") has no SQL yet: it is the one column the SQL may lack.
fn same_cells(sql: &[HashMap<String, String>], ours: &[HashMap<String, String>], money: &[&str]) {
    assert_eq!(sql.len(), ours.len());
    for (a, b) in sql.iter().zip(ours) {
        for (column, value) in b {
            if column == "owner" && !a.contains_key("owner") {
                continue;
            }
            let theirs = &a[column];
            if money.contains(&column.as_str()) && !(theirs.is_empty() && value.is_empty()) {
                let (x, y): (f64, f64) = (theirs.parse().unwrap(), value.parse().unwrap());
                assert!(
                    (x - y).abs() < 0.005,
                    "{column}: {theirs} vs {value} ({b:?})"
                );
            } else {
                assert_eq!(theirs, value, "{column} of {b:?}");
            }
        }
    }
}

#[test]
fn rfm_sql_in_duckdb_gives_every_cell_of_rfm() {
    let w = Workdir::new();
    let orders = sample("orders.csv");
    let sql = w.stdout(&["sql", "rfm", "--dialect", "duckdb"]);
    duckdb(&w, &view(&orders, true, true), &sql, "sql.csv");
    let theirs = records(&std::fs::read_to_string(w.path("sql.csv")).unwrap());
    let ours = records(&w.stdout(&["rfm", &orders, "-q"]));
    assert!(ours.len() > 3000);
    same_cells(&theirs, &ours, &["monetary"]);
}

/// The purchase rule's corners: the worked example of docs/metrics.md "Orders and purchases"
/// (refund rows, a fully refunded order, a free order, rows without an order ID, cancelled and
/// unpaid rows, a refund-only customer, a row on as_of) and half cents, with --as-of and 4 bins.
#[test]
fn the_purchase_rule_in_sql_is_the_ledger_s() {
    let w = Workdir::new();
    w.write(
        "orders.csv",
        "customer_id,order_id,order_date,amount,status\n\
         A,1,2024-01-05,100,paid\nA,1,2024-01-20,40,refunded\nA,2,2024-02-01,50,paid\n\
         A,2,2024-02-03,-50,paid\nA,3,2024-02-01,0,paid\nA,4,2024-03-01,70,cancelled\n\
         A,,2024-03-02,20,paid\nA,,2024-03-02,30,paid\nB,9,2024-01-10,60,refunded\n\
         C,5,2024-04-01,10,paid\nD,6,2024-02-10,10.005,paid\nD,7,2024-02-11,0.0025,paid\n\
         E,8,2024-03-15,5,unpaid\nE,10,2024-03-16,12.5,paid\nF,11,2024-01-01,30,paid\n\
         F,11,2024-01-02,30,refunded\nF,12,2024-03-31,1,paid\n\
         G,21,2024-01-10,5,paid\nG,22,2024-02-10,5,paid\nG,23,2024-03-10,5,paid\n",
    );
    let sql = w.stdout(&[
        "sql",
        "rfm",
        "--dialect",
        "duckdb",
        "--as-of",
        "2024-04-01",
        "--bins",
        "4",
    ]);
    duckdb(&w, &view("orders.csv", true, true), &sql, "sql.csv");
    let theirs = records(&std::fs::read_to_string(w.path("sql.csv")).unwrap());
    let ours = records(&w.stdout(&[
        "rfm",
        "orders.csv",
        "--as-of",
        "2024-04-01",
        "--bins",
        "4",
        "-q",
    ]));
    let ids: Vec<&str> = ours.iter().map(|r| r["customer_id"].as_str()).collect();
    assert_eq!(ids, ["A", "D", "E", "F", "G"]);
    same_cells(&theirs, &ours, &["monetary"]);
    // Rating's frequency counts purchases, two on one day being two (A: 4 purchases on 3 days,
    // 2 rows without an order ID on 03-02; G: 3 on 3 days, so A ranks above G, not level);
    // Spark on 10M orders found the SQL counting days.
    let sql = w.stdout(&["sql", "rating", "--as-of", "2024-04-01"]);
    duckdb(&w, &view("orders.csv", true, true), &sql, "sql.csv");
    let theirs = records(&std::fs::read_to_string(w.path("sql.csv")).unwrap());
    let ours = records(&w.stdout(&["rating", "orders.csv", "--as-of", "2024-04-01", "-q"]));
    let criteria = [
        "value_score",
        "frequency_score",
        "recency_score",
        "growth_score",
        "refund_rate_score",
    ];
    same_cells(
        &rounded(&theirs, &criteria, 4),
        &rounded(&ours, &criteria, 4),
        &["score"],
    );
}

#[test]
fn clv_summary_from_duckdb_fits_like_clv_on_the_orders() {
    let w = Workdir::new();
    let cdnow = data("cdnow_sample.csv");
    let sql = w.stdout(&[
        "sql",
        "clv-summary",
        "--dialect",
        "duckdb",
        "--as-of",
        "1998-07-01",
    ]);
    duckdb(&w, &view(&cdnow, false, false), &sql, "summary.csv");
    let params = |args: &[&str]| -> BTreeMap<String, f64> {
        records(&w.stdout(&[&["clv"][..], args, &["--params", "-q"]].concat()))
            .iter()
            .filter(|r| !["log_likelihood", "customers"].contains(&r["parameter"].as_str()))
            .map(|r| {
                (
                    format!("{} {}", r["model"], r["parameter"]),
                    r["estimate"].parse().unwrap(),
                )
            })
            .collect()
    };
    let direct = params(&[&cdnow, "--as-of", "1998-07-01"]);
    let summary = params(&["--summary-in", "summary.csv"]);
    assert_eq!(direct.len(), 7);
    for (name, v) in &direct {
        let s = summary[name];
        assert!(
            (v - s).abs() <= 5e-6 * v.abs(),
            "{name}: {v} from the orders, {s} from the DuckDB summary"
        );
    }
    // The published CDNOW estimates (Fader, Hardie & Lee 2005): r 0.243, α 4.414, a 0.793,
    // b 2.426 — reproduced by tests/clv.rs on the full data; this sample's are its own.
    assert!((summary["bg-nbd r"] - direct["bg-nbd r"]).abs() < 1e-6);
}

#[test]
fn each_dialect_writes_its_own_date_arithmetic() {
    let w = Workdir::new();
    let spark = w.stdout(&[
        "sql",
        "rfm",
        "--dialect",
        "spark",
        "--orders-table",
        "lake.orders",
    ]);
    assert!(
        spark.contains("datediff(as_of.d, p.last_order_date)")
            && spark.contains("FROM lake.orders")
    );
    assert!(spark.contains("date_add(max(order_date), 1)") && spark.contains("AS STRING"));
    let postgres = w.stdout(&[
        "sql",
        "clv-summary",
        "--dialect",
        "postgres",
        "--period",
        "day",
    ]);
    assert!(postgres.contains("DOUBLE PRECISION") && postgres.contains("/ 1.0 AS recency"));
    // Mapped headers are quoted as identifiers, a quote inside doubled.
    let spark = w.stdout(&["sql", "rfm", "--dialect", "spark", "--map", "amount=a`b c"]);
    assert!(spark.contains("`a``b c` AS amount"), "{spark}");
    let postgres = w.stdout(&[
        "sql",
        "nps",
        "--dialect",
        "postgres",
        "--map",
        "score=\"评分\"",
    ]);
    assert!(postgres.contains("\"\"\"评分\"\"\" AS score"), "{postgres}");
    let e = w.fails(&["sql", "rfm", "--orders-table", "x; drop table y"], 2);
    assert!(e.contains("--orders-table"), "{e}");
    // sql funnel: the stage order must be named; groups the SQL's tables hold; no groups for
    // the open table; stage words compared without case, spaces and punctuation, per dialect.
    let e = w.fails(&["sql", "funnel"], 2);
    assert!(
        e.contains("--stages") && e.contains("--history-table"),
        "{e}"
    );
    let e = w.fails(&["sql", "funnel", "--stages", "A,B", "--by", "team"], 2);
    assert!(e.contains("--teams-table"), "{e}");
    let e = w.fails(&["sql", "funnel", "--stages", "A,B", "--by", "industry"], 2);
    assert!(e.contains("--customers-table NAME"), "{e}");
    let e = w.fails(
        &[
            "sql", "funnel", "--stages", "A", "--show", "open", "--by", "owner",
        ],
        2,
    );
    assert!(e.contains("no groups"), "{e}");
    let e = w.fails(&["sql", "funnel", "--stages", "Closed Won,Lost"], 2);
    assert!(e.contains("open stage"), "{e}");
    // Customers-file columns in --by need the table they are read from.
    for (query, by) in [
        ("conversion", "owner,region"),
        ("recovery", "region"),
        ("pool", "pool,region"),
    ] {
        let e = w.fails(&["sql", query, "--by", by], 2);
        assert!(e.contains("--customers-table NAME"), "{e}");
    }
    let e = w.fails(&["sql", "pool", "--by", "pool", "--show", "due"], 2);
    assert!(e.contains("--show health"), "{e}");
    for (dialect, lead) in [("spark", "`stage`"), ("postgres", "\"stage\"")] {
        let sql = w.stdout(&[
            "sql",
            "funnel",
            "--dialect",
            dialect,
            "--history-table",
            "h",
            "--map",
            &format!("stage={}", &lead[1..lead.len() - 1]),
        ]);
        assert!(sql.contains("lower(translate("), "{sql}");
        assert!(sql.contains(&format!("{lead} AS stage")), "{sql}");
    }
}

#[test]
fn nps_sql_in_duckdb_gives_every_cell_of_nps() {
    let w = Workdir::new();
    let surveys = sample("surveys.csv");
    let view = format!(
        "CREATE VIEW surveys AS SELECT CAST(customer_id AS VARCHAR) AS customer_id, CAST(response_date AS DATE) AS response_date, CAST(survey AS VARCHAR) AS survey, score, CAST(owner AS VARCHAR) AS owner FROM read_csv('{surveys}', header = true)"
    );
    for (sql_args, nps_args) in [
        (vec![], vec![]),
        (vec!["--by-owner"], vec!["--by", "owner"]),
    ] {
        let sql = w.stdout(&[&["sql", "nps"][..], &sql_args].concat());
        duckdb(&w, &view, &sql, "sql.csv");
        let theirs = records(&std::fs::read_to_string(w.path("sql.csv")).unwrap());
        let ours =
            records(&w.stdout(&[&["nps", surveys.as_str()][..], &nps_args, &["-q"]].concat()));
        assert!(ours.len() >= 2);
        same_cells(&theirs, &ours, &["score", "score_low", "score_high"]);
    }
}

#[test]
fn lifecycle_rates_sql_in_duckdb_gives_every_cell_of_lifecycle_rates() {
    let w = Workdir::new();
    let orders = sample("orders.csv");
    let cdnow = data("cdnow_sample.csv");
    for (file, view_sql, churn_days, period) in [
        (orders.as_str(), view(&orders, true, true), "180", "month"),
        (orders.as_str(), view(&orders, true, true), "90", "week"),
        (orders.as_str(), view(&orders, true, true), "365", "quarter"),
        (cdnow.as_str(), view(&cdnow, false, false), "90", "month"),
    ] {
        let sql = w.stdout(&[
            "sql",
            "lifecycle-rates",
            "--churn-days",
            churn_days,
            "--period",
            period,
        ]);
        duckdb(&w, &view_sql, &sql, "sql.csv");
        let theirs = records(&std::fs::read_to_string(w.path("sql.csv")).unwrap());
        let ours = records(&w.stdout(&[
            "lifecycle",
            file,
            "--rates",
            "--churn-days",
            churn_days,
            "--period",
            period,
            "-q",
        ]));
        assert!(ours.len() > 10, "{file}");
        let rates = ["churn_rate", "retention_rate"];
        same_cells(
            &rounded(&theirs, &rates, 4),
            &rounded(&ours, &rates, 4),
            &[],
        );
    }
}

/// The numbers of some columns written to `places` decimals (DuckDB writes 0.3860 where
/// crm-eval writes 0.386).
fn rounded(
    rows: &[HashMap<String, String>],
    columns: &[&str],
    places: usize,
) -> Vec<HashMap<String, String>> {
    rows.iter()
        .map(|r| {
            r.iter()
                .map(|(k, v)| {
                    let v = match (columns.contains(&k.as_str()), v.parse::<f64>()) {
                        (true, Ok(x)) => format!("{x:.places$}"),
                        _ => v.clone(),
                    };
                    (k.clone(), v)
                })
                .collect()
        })
        .collect()
}

#[test]
fn abc_sql_in_duckdb_gives_every_cell_of_abc() {
    let w = Workdir::new();
    // 50 + 30 + 10 + 10 = 100: A and B cross 80 % exactly at the tie of C and D (both B, the
    // tier of the first of them); E's refunds pass its purchase (a loss: L); F's only order is
    // free (worth 0: C).
    w.write(
        "ties.csv",
        "customer_id,order_id,order_date,amount,status\n\
         A,1,2024-01-05,50,paid\nB,2,2024-01-06,30,paid\nC,3,2024-01-07,10,paid\n\
         D,4,2024-01-08,10,paid\nE,5,2024-01-09,10,paid\nE,6,2024-01-10,30,refunded\n\
         F,7,2024-01-11,0,paid\n",
    );
    let orders = sample("orders.csv");
    for (file, thresholds) in [
        ("ties.csv", "80,95"),
        ("ties.csv", "50,90"),
        (orders.as_str(), "80,95"),
        (orders.as_str(), "62.5,97.25"),
    ] {
        let sql = w.stdout(&["sql", "abc", "--thresholds", thresholds]);
        duckdb(&w, &view(file, true, true), &sql, "sql.csv");
        let shares = ["value_share", "cumulative_share"];
        let theirs = rounded(
            &records(&std::fs::read_to_string(w.path("sql.csv")).unwrap()),
            &shares,
            6,
        );
        let ours = rounded(
            &records(&w.stdout(&["abc", file, "--thresholds", thresholds, "-q"])),
            &shares,
            6,
        );
        same_cells(&theirs, &ours, &["value"]);
        if file == "ties.csv" && thresholds == "80,95" {
            let tiers: Vec<(&str, &str)> = ours
                .iter()
                .map(|r| (r["customer_id"].as_str(), r["tier"].as_str()))
                .collect();
            assert_eq!(
                tiers,
                [
                    ("A", "A"),
                    ("B", "A"),
                    ("C", "B"),
                    ("D", "B"),
                    ("F", "C"),
                    ("E", "L")
                ]
            );
        }
    }
}

#[test]
fn cohort_sql_in_duckdb_gives_every_cell_of_cohort() {
    let w = Workdir::new();
    let orders = sample("orders.csv");
    let cdnow = data("cdnow_sample.csv");
    for (file, with_ids, period, metric) in [
        (orders.as_str(), true, "month", "retention"),
        (orders.as_str(), true, "quarter", "revenue"),
        (orders.as_str(), true, "week", "customers"),
        (cdnow.as_str(), false, "month", "revenue"),
    ] {
        let ours =
            records(&w.stdout(&["cohort", file, "--period", period, "--metric", metric, "-q"]));
        let width = ours[0].keys().filter(|k| k.starts_with("period_")).count();
        assert!(width > 5, "{file} {period}");
        let sql = w.stdout(&[
            "sql",
            "cohort",
            "--period",
            period,
            "--metric",
            metric,
            "--periods",
            &width.to_string(),
        ]);
        duckdb(&w, &view(file, with_ids, with_ids), &sql, "sql.csv");
        let theirs = records(&std::fs::read_to_string(w.path("sql.csv")).unwrap());
        let cells: Vec<String> = (0..width).map(|k| format!("period_{k}")).collect();
        let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
        match metric {
            // Shares to their 4 decimals (DuckDB writes 0.3860 where crm-eval writes 0.386).
            "retention" => same_cells(
                &rounded(&theirs, &cells, 4),
                &rounded(&ours, &cells, 4),
                &[],
            ),
            "revenue" => same_cells(&theirs, &ours, &cells),
            _ => same_cells(&theirs, &ours, &[]),
        }
    }
}

#[test]
fn lifecycle_sql_in_duckdb_gives_every_cell_of_lifecycle() {
    let w = Workdir::new();
    let orders = sample("orders.csv");
    let customers = sample("customers.csv");
    let cdnow = data("cdnow_sample.csv");
    let with_customers = format!(
        "{}; CREATE VIEW customers AS SELECT CAST(customer_id AS VARCHAR) AS customer_id FROM read_csv('{customers}', header = true)",
        view(&orders, true, true)
    );
    // The same stage thresholds for `sql lifecycle` and `lifecycle`.
    let thresholds = [
        "--churn-days",
        "365",
        "--new-days",
        "30",
        "--at-risk-factor",
        "1.5",
        "--loyal-orders",
        "5",
    ];
    for (file, view_sql, sql_args, args) in [
        (orders.as_str(), view(&orders, true, true), vec![], vec![]),
        (
            orders.as_str(),
            with_customers,
            vec!["--customers-table", "customers"],
            vec!["--customers", customers.as_str()],
        ),
        (
            orders.as_str(),
            view(&orders, true, true),
            thresholds.to_vec(),
            thresholds.to_vec(),
        ),
        (cdnow.as_str(), view(&cdnow, false, false), vec![], vec![]),
    ] {
        let sql = w.stdout(&[&["sql", "lifecycle"][..], &sql_args].concat());
        duckdb(&w, &view_sql, &sql, "sql.csv");
        let theirs = records(&std::fs::read_to_string(w.path("sql.csv")).unwrap());
        let ours = records(&w.stdout(&[&["lifecycle", file][..], &args, &["-q"]].concat()));
        let stages: std::collections::BTreeSet<&str> =
            ours.iter().map(|r| r["stage"].as_str()).collect();
        assert!(stages.len() >= 4, "{file} {args:?}: {stages:?}");
        same_cells(
            &rounded(&theirs, &["typical_gap_days"], 1),
            &rounded(&ours, &["typical_gap_days"], 1),
            &[],
        );
    }
}

/// An `events` view over an event export: the words the input layer maps (领取 → claim) mapped
/// here too, and the file order as `seq`.
/// Every cell of two conversion or recovery tables equal: rates and medians to 4 decimals
/// (DuckDB writes 0.5000 where crm-eval writes 0.5), money to the cent.
fn same_spell_cells(theirs: &[HashMap<String, String>], ours: &[HashMap<String, String>]) {
    let rates = [
        "conversion_rate",
        "recovery_rate",
        "loyalty_rate",
        "ci_low",
        "ci_high",
        "median_days_to_conversion",
        "median_days_to_recovery",
    ];
    same_cells(
        &rounded(theirs, &rates, 4),
        &rounded(ours, &rates, 4),
        &[
            "monetary",
            "converted_revenue",
            "value_added",
            "value_per_recovered",
        ],
    );
}

/// The events as exported (event words unmapped: the SQL maps them as the input layer does),
/// with `seq` in file order.
fn events_view(csv: &str) -> String {
    format!(
        "CREATE VIEW events AS SELECT CAST(customer_id AS VARCHAR) AS customer_id, CAST(event_time AS TIMESTAMP) AS event_time, CAST(event AS VARCHAR) AS event, CAST(owner AS VARCHAR) AS owner, reason, pool, row_number() OVER () AS seq FROM read_csv('{csv}', header = true, all_varchar = true)"
    )
}

#[test]
fn conversion_and_recovery_sql_in_duckdb_give_every_cell_of_the_commands() {
    let w = Workdir::new();
    // The worked example of tests/event_log.rs (a transfer mid-window, a recycle and reclaim,
    // an immature spell, a refund in the window, events out of order, an unknown event type, a
    // release while nobody holds the customer).
    w.write(
        "events.csv",
        "customer_id,event_time,event,owner,reason,pool\n\
         A,2024-01-01 09:00:00,assign,Ann,,East\nA,2024-01-20 10:00:00,transfer,Bob,rebalance,East\n\
         B,2024-01-05 09:00:00,claim,Ann,,East\nB,2024-02-20 09:00:00,recycle,Ann,no_followup,East\n\
         B,2024-03-01 09:00:00,领取,Ann,,East\nC,2024-06-20 09:00:00,assign,Bob,,West\n\
         D,2024-02-01 09:00:00,assign,Bob,,West\nD,2024-01-15 09:00:00,assign,Ann,,West\n\
         E,2024-03-01 09:00:00,assign,Cat,,West\nE,2024-03-05 09:00:00,teleport,Cat,,West\n\
         F,2024-02-10 09:00:00,release,Dan,customer_request,West\n",
    );
    w.write(
        "orders.csv",
        "customer_id,order_id,order_date,amount,status\n\
         A,o1,2024-01-25,100,paid\nB,o2,2024-03-10,200,paid\nB,o2,2024-03-12,50,refunded\n\
         B,o3,2024-03-25,80,paid\nD,o4,2024-01-20,60,paid\nZ,o5,2024-02-01,10,paid\n\
         E,o6,2024-02-01,30,paid\n",
    );
    let events = sample("events.csv");
    let orders = sample("orders.csv");
    let cases = [
        ("orders.csv", "events.csv", "30", Some("2024-07-01")),
        (orders.as_str(), events.as_str(), "90", None),
        (orders.as_str(), events.as_str(), "30", Some("2024-06-30")),
    ];
    for ((orders, events, window, as_of), (command, by)) in cases.iter().flat_map(|c| {
        [
            (*c, ("conversion", None)),
            (*c, ("conversion", Some("cohort,owner"))),
            (*c, ("recovery", None)),
            (*c, ("recovery", Some("previous-owner,reason"))),
            (*c, ("recovery", Some("pool,month,owner"))),
        ]
    }) {
        let mut as_of_args: Vec<&str> = as_of.map_or(vec![], |d| vec!["--as-of", d]);
        if let Some(by) = by {
            as_of_args.extend(["--by", by]);
        }
        let sql = w.stdout(&[&["sql", command, "--window", window][..], &as_of_args].concat());
        let views = format!("{}; {}", view(orders, true, true), events_view(events));
        duckdb(&w, &views, &sql, "sql.csv");
        let theirs = records(&std::fs::read_to_string(w.path("sql.csv")).unwrap());
        let ours = records(
            &w.stdout(
                &[
                    &[
                        command, "--events", events, "--orders", orders, "--window", window,
                    ][..],
                    &as_of_args,
                    &["-q"],
                ]
                .concat(),
            ),
        );
        assert!(ours.len() >= 3, "{command} {orders}");
        same_spell_cells(&theirs, &ours);
    }
}

#[test]
fn rating_sql_in_duckdb_gives_every_cell_of_rating() {
    let w = Workdir::new();
    let orders = sample("orders.csv");
    let customers = sample("customers.csv");
    w.write(
        "minmax.toml",
        "normalise = \"min-max\"\ngrowth_days = 180\n[criteria]\nvalue = 0.5\nrecency = 0.3\n\
         refund_rate = 0.2\n[[grades]]\ngrade = \"gold\"\nmin_score = 60\n\
         [[grades]]\ngrade = \"rest\"\nmin_score = 0\n",
    );
    let with_customers = format!(
        "{}; CREATE VIEW customers AS SELECT CAST(customer_id AS VARCHAR) AS customer_id FROM read_csv('{customers}', header = true)",
        view(&orders, true, true)
    );
    for (view_sql, sql_args, args) in [
        (view(&orders, true, true), vec![], vec![]),
        (
            with_customers,
            vec!["--customers-table", "customers"],
            vec!["--customers", customers.as_str()],
        ),
        (
            view(&orders, true, true),
            vec!["--rules", "minmax.toml"],
            vec!["--rules", "minmax.toml"],
        ),
    ] {
        let sql = w.stdout(&[&["sql", "rating"][..], &sql_args].concat());
        duckdb(&w, &view_sql, &sql, "sql.csv");
        let theirs = records(&std::fs::read_to_string(w.path("sql.csv")).unwrap());
        let ours = records(&w.stdout(&[&["rating", orders.as_str()][..], &args, &["-q"]].concat()));
        assert!(ours.len() > 3000, "{args:?}");
        let scores: Vec<&str> = ours[0]
            .keys()
            .filter(|k| k.ends_with("_score"))
            .map(String::as_str)
            .collect();
        assert!(scores.len() >= 3);
        same_cells(
            &rounded(&theirs, &scores, 4),
            &rounded(&ours, &scores, 4),
            &["score"],
        );
    }
    let e = w.fails(&["sql", "rating", "--rules", "nope.toml"], 2);
    assert!(e.contains("nope.toml"), "{e}");
}

/// A raw export as a warehouse would hold it: Chinese headers named with `--map` (orders.* and
/// events.*, one unqualified), status and event words in Chinese and mixed case. The SQL reads
/// the mapped columns and maps the words with the input layer's lists, so the tables equal the
/// commands' on the same files with the same flags.
#[test]
fn sql_reads_mapped_headers_and_export_words_as_the_commands_do() {
    let w = Workdir::new();
    w.write(
        "orders.csv",
        "客户,单号,下单日,实付,状态\n\
         A,1,2024-01-05,100,已完成\nA,1,2024-01-20,40,已退款\nA,2,2024-02-01,50,Shipped\n\
         A,4,2024-03-01,70,已取消\nB,9,2024-01-10,60, Refunded \nC,5,2024-03-01,10,\n\
         C,6,2024-03-20,25,交易成功\nD,7,2024-02-11,30,待付款\nD,8,2024-02-12,15,COMPLETED\n",
    );
    w.write(
        "events.csv",
        "客户,时间,动作,负责人\n\
         A,2024-01-01 09:00:00,分配,Ann\nB,2024-01-02 09:00:00,领取,Bob\n\
         C,2024-01-03 09:00:00,Assign,Ann\nC,2024-02-01 09:00:00,退回公海,Ann\n\
         C,2024-02-10 09:00:00,认领,Bob\nD,2024-01-04 09:00:00,分派,Cat\n",
    );
    let maps = [
        "--map",
        "customer_id=客户",
        "--map",
        "orders.order_id=单号",
        "--map",
        "orders.order_date=下单日",
        "--map",
        "orders.amount=实付",
        "--map",
        "orders.status=状态",
        "--map",
        "events.event_time=时间",
        "--map",
        "events.event=动作",
        "--map",
        "events.owner=负责人",
    ];
    let views = "CREATE VIEW orders AS SELECT * FROM read_csv('orders.csv', header = true, \
                 types = {'单号': 'VARCHAR', '下单日': 'DATE', '状态': 'VARCHAR'}); \
                 CREATE VIEW events AS SELECT *, row_number() OVER () AS seq FROM \
                 read_csv('events.csv', header = true, types = {'时间': 'TIMESTAMP'})";
    let spell_files = ["--events", "events.csv", "--orders", "orders.csv"];
    for query in [
        &["rfm", "--as-of", "2024-04-01"][..],
        &["conversion", "--window", "30", "--as-of", "2024-04-01"],
        &["recovery", "--window", "30", "--as-of", "2024-04-01"],
    ] {
        // The command reads the files the SQL's views are made of.
        let files = if query[0] == "rfm" {
            &["orders.csv"][..]
        } else {
            &spell_files[..]
        };
        let command = [&query[..1], files, &query[1..]].concat();
        let command = command.as_slice();
        let sql = w.stdout(&[&["sql"][..], query, &maps].concat());
        assert!(sql.contains("\"实付\" AS amount"), "{sql}");
        duckdb(&w, views, &sql, "sql.csv");
        let theirs = records(&std::fs::read_to_string(w.path("sql.csv")).unwrap());
        let ours = records(&w.stdout(&[command, &maps, &["-q"]].concat()));
        assert!(ours.len() >= 2, "{query:?}: {ours:?}");
        same_spell_cells(&theirs, &ours);
    }
    // The words did their work: B's only order is refunded (no purchase), D's unpaid row is out.
    let rfm = records(
        &w.stdout(
            &[
                &["rfm", "orders.csv", "--as-of", "2024-04-01", "-q"][..],
                &maps,
            ]
            .concat(),
        ),
    );
    let row = |id: &str| rfm.iter().find(|r| r["customer_id"] == id).cloned();
    assert!(row("B").is_none());
    assert_eq!(row("D").unwrap()["monetary"].parse::<f64>().unwrap(), 15.0);
    assert_eq!(row("A").unwrap()["frequency"], "2");
}

/// `sql recovery --churn-days` (no event log): churn episodes from the purchase days, owned by
/// the owner of the day's last purchase. The corners: two same-day purchases of equal net (the
/// owner greater in byte order is last, whatever the file order), a same-day purchase without an
/// owner (last: the episode has no owner), a refunded order and a free order beside a paid one,
/// rows without an order ID; then sample-data and CDNOW (no owner column).
#[test]
fn recovery_from_churn_sql_in_duckdb_gives_every_cell_of_recovery() {
    let w = Workdir::new();
    w.write(
        "orders.csv",
        "customer_id,order_id,order_date,amount,status,owner\n\
         A,a1,2024-01-01,50,paid,Zed\nA,a2,2024-01-01,50,paid,Amy\nA,a3,2024-03-01,20,paid,Amy\n\
         B,b1,2024-01-10,40,paid,Bob\nB,b2,2024-01-10,40,paid,\nB,b3,2024-02-20,15,paid,Bob\n\
         C,c1,2024-01-05,100,paid,Cat\nC,c1,2024-01-06,100,refunded,Cat\n\
         C,c2,2024-01-07,20,paid,Dan\nC,c3,2024-02-15,30,paid,Cat\nC,c4,2024-02-15,0,paid,Eve\n\
         D,,2024-03-01,10,paid,Amy\nD,,2024-03-01,10,paid,Bob\nD,,2024-03-20,5,paid,Amy\n\
         E,e1,2024-02-01,70,cancelled,Eve\n",
    );
    let with_owner = |csv: &str| {
        format!(
            "CREATE VIEW orders AS SELECT CAST(customer_id AS VARCHAR) AS customer_id, CAST(order_id AS VARCHAR) AS order_id, CAST(order_date AS DATE) AS order_date, amount, CAST(status AS VARCHAR) AS status, CAST(owner AS VARCHAR) AS owner FROM read_csv('{csv}', header = true)"
        )
    };
    let orders = sample("orders.csv");
    let cdnow = data("cdnow_sample.csv");
    let no_owner = view(&cdnow, false, false).replace(
        "AS status FROM",
        "AS status, CAST(NULL AS VARCHAR) AS owner FROM",
    );
    let cases = [
        (
            with_owner("orders.csv"),
            "orders.csv",
            "30",
            "30",
            Some("2024-06-01"),
        ),
        (with_owner(&orders), orders.as_str(), "120", "90", None),
        (
            with_owner(&orders),
            orders.as_str(),
            "60",
            "30",
            Some("2024-07-01"),
        ),
        (no_owner, cdnow.as_str(), "120", "90", None),
    ];
    for (view, orders, churn, window, as_of) in &cases {
        let as_of_args: Vec<&str> = as_of.map_or(vec![], |d| vec!["--as-of", d]);
        let flags = [
            &["--churn-days", churn, "--window", window][..],
            &as_of_args,
        ]
        .concat();
        let sql = w.stdout(&[&["sql", "recovery"][..], &flags].concat());
        duckdb(&w, view, &sql, "sql.csv");
        let theirs = records(&std::fs::read_to_string(w.path("sql.csv")).unwrap());
        let ours = records(&w.stdout(&[&["recovery", orders][..], &flags, &["-q"]].concat()));
        assert!(ours.len() >= 2, "{orders}");
        same_spell_cells(&theirs, &ours);
        if *orders == "orders.csv" {
            let owners: Vec<&str> = ours.iter().map(|r| r["owner"].as_str()).collect();
            // A's first churn is Zed's (equal nets: Zed after Amy), B's first nobody's, C's
            // Dan's then Cat's (the paid order after the free one), D's first Bob's.
            assert_eq!(owners, ["", "Amy", "Bob", "Cat", "Dan", "Zed", "all"]);
        }
    }
    // Grouped as the command groups churn: reason `churned`, month of the churn day, the
    // previous owner = the purchase's owner.
    let flags = ["--churn-days", "90", "--by", "month,previous-owner,reason"];
    let sql = w.stdout(&[&["sql", "recovery"][..], &flags].concat());
    duckdb(&w, &with_owner(&orders), &sql, "sql.csv");
    let theirs = records(&std::fs::read_to_string(w.path("sql.csv")).unwrap());
    let ours = records(&w.stdout(&[&["recovery", &orders][..], &flags, &["-q"]].concat()));
    assert!(ours.len() > 100);
    same_spell_cells(&theirs, &ours);
}

/// `sql rfm` takes the command's score options: `--frequency days`, breakpoints from the flags,
/// and a config's own segment table (raw scores, first match, `Other` when none).
#[test]
fn rfm_sql_follows_breakpoints_frequency_days_and_config_segments() {
    let w = Workdir::new();
    let orders = sample("orders.csv");
    w.write(
        "crm-eval.toml",
        "[rfm]\nbins = 4\n\n[[rfm.segments]]\nname = \"Best\"\nr = [3, 4]\nf = [3, 4]\n\n\
         [[rfm.segments]]\nname = \"Big spenders\"\nm = [4, 4]\n\n\
         [[rfm.segments]]\nname = \"Recent\"\nr = [4, 4]\n",
    );
    let variants: [&[&str]; 3] = [
        &["--config", "crm-eval.toml"],
        &[
            "--config",
            "crm-eval.toml",
            "--frequency",
            "days",
            "--m-breaks",
            "100,500.5,2000",
        ],
        &[
            "--r-breaks",
            "30,90,180,365",
            "--f-breaks",
            "1,2,4,8",
            "--bins",
            "3",
        ],
    ];
    for flags in variants {
        let sql = w.stdout(&[&["sql", "rfm"][..], flags].concat());
        duckdb(&w, &view(&orders, true, true), &sql, "sql.csv");
        let theirs = records(&std::fs::read_to_string(w.path("sql.csv")).unwrap());
        let ours = records(&w.stdout(&[&["rfm", &orders, "-q"][..], flags].concat()));
        assert!(ours.len() > 3000);
        same_cells(&theirs, &ours, &["monetary"]);
        let segments: std::collections::BTreeSet<&str> =
            ours.iter().map(|r| r["segment"].as_str()).collect();
        assert!(segments.len() >= 3, "{flags:?}: {segments:?}");
    }
}

/// Margin in the SQL: `abc --by margin` and rating rules that weight margin, from a margin column
/// (sample-data) and from amount − cost under a mapped header (refunded rows negative, an empty
/// cost as 0), against the commands.
#[test]
fn margin_sql_in_duckdb_gives_every_cell_of_abc_and_rating() {
    let w = Workdir::new();
    let rules = data("rating_margin.toml");
    w.write(
        "cost.csv",
        "customer_id,order_id,order_date,amount,status,成本\n\
         A,1,2024-01-05,100,paid,60\nA,1,2024-01-20,40,refunded,30\nA,2,2024-02-01,50,paid,55\n\
         B,3,2024-01-10,80,paid,\nC,4,2024-03-01,30,paid,10\nC,5,2024-03-02,20,cancelled,5\n\
         D,6,2024-02-11,10,paid,40\nE,7,2024-02-12,25,paid,25\n",
    );
    let orders = sample("orders.csv");
    let sample_view = view(&orders, true, true).replace(
        "AS status FROM",
        "AS status, CAST(margin AS DECIMAL(18, 2)) AS margin FROM",
    );
    let cost_view =
        view("cost.csv", true, true).replace("AS status FROM", "AS status, \"成本\" FROM");
    let map: &[&str] = &["--map", "orders.cost=成本"];
    let sources = [
        (sample_view.as_str(), orders.as_str(), &[][..]),
        (cost_view.as_str(), "cost.csv", map),
    ];
    let queries: [&[&str]; 2] = [&["abc", "--by", "margin"], &["rating", "--rules", &rules]];
    for ((view, orders, map), query) in sources
        .iter()
        .flat_map(|source| queries.iter().map(move |q| (*source, *q)))
    {
        let command = query;
        let sql = w.stdout(&[&["sql"][..], query, map].concat());
        duckdb(&w, view, &sql, "sql.csv");
        let theirs = records(&std::fs::read_to_string(w.path("sql.csv")).unwrap());
        let ours =
            records(&w.stdout(&[&[command[0], orders][..], &command[1..], map, &["-q"]].concat()));
        assert!(ours.len() >= 4, "{query:?}");
        let shares = [
            "value_share",
            "cumulative_share",
            "margin_score",
            "value_score",
            "refund_rate_score",
        ];
        same_cells(
            &rounded(&theirs, &shares, 6),
            &rounded(&ours, &shares, 6),
            &["value", "score"],
        );
        if orders == "cost.csv" && command[0] == "abc" {
            // A: (100 − 60) − (40 − 30) + (50 − 55) = 25; D sold below cost: a loss, tier L.
            let row = |id: &str| {
                ours.iter()
                    .find(|r| r["customer_id"] == id)
                    .unwrap()
                    .clone()
            };
            assert_eq!(row("A")["value"].parse::<f64>().unwrap(), 25.0);
            assert_eq!(row("D")["tier"], "L");
        }
    }
}

/// Runs `sql` in DuckDB over the views made by `views` (one statement each).
fn duckdb_views(w: &Workdir, views: &[String], sql: &str, out: &str) {
    w.write("query.sql", sql.trim().trim_end_matches(';'));
    let mut script = String::from("import duckdb\ncon = duckdb.connect()\n");
    for v in views {
        script.push_str(&format!("con.execute({v:?})\n"));
    }
    script.push_str(&format!(
        "con.execute(\"COPY (\" + open('query.sql').read() + \") TO '{out}' (HEADER, DELIMITER ',')\")\n"
    ));
    python(w, &script);
}

/// Every cell equal: numbers as numbers (DuckDB writes 37.0 and 0.2110 where crm-eval writes 37
/// and 0.211), money columns to the cent, other text exactly.
fn same_numbers(
    theirs: &[HashMap<String, String>],
    ours: &[HashMap<String, String>],
    money: &[&str],
) {
    assert_eq!(theirs.len(), ours.len(), "rows");
    for (a, b) in theirs.iter().zip(ours) {
        assert_eq!(a.len(), b.len(), "columns of {b:?}");
        for (column, value) in b {
            let theirs = &a[column];
            let tolerance = if money.contains(&column.as_str()) {
                0.005
            } else {
                1e-9
            };
            match (theirs.parse::<f64>(), value.parse::<f64>()) {
                (Ok(x), Ok(y)) => assert!(
                    (x - y).abs() < tolerance,
                    "{column}: {theirs} vs {value} ({b:?})"
                ),
                _ => assert_eq!(theirs, value, "{column} of {b:?}"),
            }
        }
    }
}

/// Runs `crm-eval sql ARGS` in DuckDB over `views` and `crm-eval COMMAND` (as CSV), checks
/// every cell alike ([`same_numbers`]) and returns the command's rows.
fn sql_matches_command(
    w: &Workdir,
    views: &[String],
    sql_args: &[&str],
    command: &[&str],
    money: &[&str],
) -> Vec<HashMap<String, String>> {
    let sql = w.stdout(&[&["sql"][..], sql_args].concat());
    duckdb_views(w, views, &sql, "sql.csv");
    let theirs = records(&std::fs::read_to_string(w.path("sql.csv")).unwrap());
    let ours = records(&w.stdout(&[command, &["-q", "--format", "csv"]].concat()));
    same_numbers(&theirs, &ours, money);
    ours
}

/// Views of an opportunities CSV and a stage-history CSV as the SQL reads them: text cells as
/// written, times as TIMESTAMP, close dates as DATE, `seq` the row's place in the file.
fn funnel_views(opportunities: &str, history: &str, closed: &str) -> Vec<String> {
    vec![
        format!("CREATE VIEW opportunities AS SELECT * EXCLUDE (created_at, {closed}, amount), CAST(created_at AS TIMESTAMP) AS created_at, CAST({closed} AS DATE) AS {closed}, CAST(amount AS DECIMAL(18, 4)) AS amount, row_number() OVER () AS seq FROM read_csv('{opportunities}', header = true, all_varchar = true)"),
        format!("CREATE VIEW stage_history AS SELECT opportunity_id, stage, CAST(entered_at AS TIMESTAMP) AS entered_at, row_number() OVER () AS seq FROM read_csv('{history}', header = true, all_varchar = true)"),
    ]
}

const FUNNEL_MONEY: &[&str] = &[
    "won_amount",
    "avg_won_amount",
    "open_amount",
    "weighted_pipeline",
    "velocity_per_day",
    "amount",
    "weighted_amount",
];

/// `sql funnel` in DuckDB and `crm-eval funnel` on the same files: every table, cell by cell.
fn check_funnel(w: &Workdir, views: &[String], sql_args: &[&str], command: &[&str]) {
    for show in ["summary", "stages", "open"] {
        if show == "open" && sql_args.contains(&"--by") {
            continue;
        }
        let sql = [&["funnel", "--show", show][..], sql_args].concat();
        let ours = sql_matches_command(
            w,
            views,
            &sql,
            &[command, &["--show", show]].concat(),
            FUNNEL_MONEY,
        );
        assert!(!ours.is_empty(), "{show}");
    }
}

#[test]
fn funnel_sql_in_duckdb_gives_every_cell_of_funnel_on_sample_data() {
    let w = Workdir::new();
    let (opps, history) = (sample("opportunities.csv"), sample("stage_history.csv"));
    // The export's own headers, named by --map for both.
    let views = funnel_views(&opps, &history, "close_date");
    let map = [
        "--map",
        "closed_at=close_date",
        "--map",
        "source=lead_source",
    ];
    let mut command = vec!["funnel", &opps, "--history", &history];
    command.extend_from_slice(&map);
    let mut sql = vec!["--history-table", "stage_history"];
    sql.extend_from_slice(&map);
    check_funnel(&w, &views, &sql, &command);
    for by in ["owner,month", "product,source"] {
        let mut c = command.to_vec();
        c.extend_from_slice(&["--by", by]);
        let mut s = sql.clone();
        s.extend_from_slice(&["--by", by]);
        check_funnel(&w, &views, &s, &c);
    }
    // Groups from a teams and a customers table: the owner's team, the account's region (else
    // the owner's), customers-file columns of the account.
    let (teams, customers) = (sample("teams.csv"), sample("customers.csv"));
    let mut grouped_views = views.clone();
    grouped_views.push(format!(
        "CREATE VIEW teams AS SELECT * FROM read_csv('{teams}', header = true, all_varchar = true)"
    ));
    grouped_views.push(format!(
        "CREATE VIEW customers AS SELECT * FROM read_csv('{customers}', header = true, all_varchar = true)"
    ));
    for (by, tables) in [
        ("team,region", &["teams", "customers"][..]),
        ("region", &["teams"][..]),
        ("region", &["customers"][..]),
        ("owner,industry", &["customers"][..]),
        ("industry,team", &["teams", "customers"][..]),
    ] {
        let mut c = command.to_vec();
        let mut q = sql.clone();
        for table in tables {
            let (flag, file, sql_flag) = match *table {
                "teams" => ("--teams", teams.as_str(), "--teams-table"),
                _ => ("--customers", customers.as_str(), "--customers-table"),
            };
            c.extend_from_slice(&[flag, file]);
            q.extend_from_slice(&[sql_flag, table]);
        }
        c.extend_from_slice(&["--by", by]);
        q.extend_from_slice(&["--by", by]);
        check_funnel(&w, &grouped_views, &q, &c);
    }
    // The order given, and an earlier as_of (deals closed since are open then).
    let given = [
        "--stages",
        "Prospecting,Qualification,Proposal,Negotiation",
        "--as-of",
        "2024-06-01",
    ];
    let mut c = command.to_vec();
    c.extend_from_slice(&given);
    let mut s = sql.clone();
    s.extend_from_slice(&given);
    check_funnel(&w, &views, &s, &c);
}

/// The rules' corners: an outcome column (codes, words, an unknown word), IsWon/IsClosed flags,
/// punctuated and config stage words, a repeated ID, a deal created after as_of, one without a
/// created date, one closed after as_of (open then), one closed before it was created, no amount, no owner, history rows tied in
/// time, for an unknown deal and after as_of.
#[test]
fn funnel_sql_follows_the_outcome_rules_and_history_corners() {
    let w = Workdir::new();
    w.write(
        "opportunities.csv",
        "opportunity_id,stage,created_at,closed_at,amount,owner,is_end,IsWon,IsClosed,customer_id\n\
         O1,Closed-Won,2024-01-01 09:00:00,2024-02-01,1000.005,A,,,,C1\n\
         O2,Negotiation,2024-01-05 10:00:00,2024-03-01,500,B,2,,,C2\n\
         O3,Proposal,2024-01-06 10:00:00,2024-02-15,2000,A,,yes,,C0\n\
         O4,Proposal,2024-01-07 10:00:00,2024-03-10,700,,,no,true,\n\
         O5,Proposal,2024-02-01 10:00:00,,1200,B,,,false,C2\n\
         O6,赢单,2024-03-01 10:00:00,2024-06-10,900,A,,,,C0\n\
         O2,Lead,2024-01-09 10:00:00,,1,C,,,,C1\n\
         O8,Lead,2024-07-01 10:00:00,,50,A,,,,\n\
         O9,Lead,2024-04-01 10:00:00,,,A,,,,C0\n\
         O10,无效,2024-04-02 10:00:00,2024-04-03,10,B,maybe,,,C1\n\
         O11, Closed Lost ,2024-04-05 10:00:00,2024-04-01,300,B,,,,C2\n\
         O12,Signed,2024-02-05 10:00:00,2024-05-01,450,A,,,,\n\
         O13,Negotiation,2024-02-06 10:00:00,2024-05-20,800,B,进行中,,,C1\n\
         O14,Proposal,2024-02-07 10:00:00,2024-05-02,100,A,1,,,C2\n\
         O15,Lead,,,60,A,,,,C1\n",
    );
    w.write(
        "history.csv",
        "opportunity_id,stage,entered_at\n\
         O2,Lead,2024-01-10 10:00:00\nO2,Proposal,2024-01-20 10:00:00\n\
         O2,Negotiation,2024-02-01 10:00:00\nO5,Lead,2024-02-01 10:00:00\n\
         O5,Proposal,2024-02-11 10:00:00\nO9,Lead,2024-04-01 10:00:00\n\
         O4,Proposal,2024-01-08 10:00:00\nO4,Lead,2024-01-08 10:00:00\n\
         O4,Closed Lost,2024-03-10 10:00:00\nO99,Lead,2024-01-01 10:00:00\n\
         O13,Lead,2024-02-06 10:00:00\nO13,negotiation,2024-03-06 10:00:00\n\
         O14,Lead,2024-02-07 10:00:00\nO14,Proposal,2024-02-17 10:00:00\n\
         O5,Negotiation,2024-08-01 10:00:00\n",
    );
    w.write("funnel.toml", "[funnel]\nwon = [\"Signed\"]\n");
    let views = funnel_views("opportunities.csv", "history.csv", "closed_at");
    w.write("customers.csv", "customer_id,segment\nC0,vip;new\nC1, \n");
    let mut customer_views = views.clone();
    customer_views.push(
        "CREATE VIEW customers AS SELECT * FROM read_csv('customers.csv', header = true, all_varchar = true)".into(),
    );
    let map = [
        "--map",
        "outcome=is_end",
        "--map",
        "won=IsWon",
        "--map",
        "closed=IsClosed",
        "--config",
        "funnel.toml",
    ];
    for extra in [
        &["--as-of", "2024-06-01"][..],
        &[],
        &["--stages", "Lead,Proposal,Negotiation,Closed Won"],
    ] {
        let mut command = vec!["funnel", "opportunities.csv", "--history", "history.csv"];
        command.extend_from_slice(&map);
        command.extend_from_slice(extra);
        let mut sql = vec!["--history-table", "stage_history"];
        sql.extend_from_slice(&map);
        sql.extend_from_slice(extra);
        check_funnel(&w, &views, &sql, &command);
        let mut c = command.clone();
        c.extend_from_slice(&["--by", "owner,month"]);
        let mut s = sql.clone();
        s.extend_from_slice(&["--by", "owner,month"]);
        check_funnel(&w, &views, &s, &c);
        // Accounts' customers-file values: multi-valued, blank, missing, no account at all.
        let mut c = command.clone();
        c.extend_from_slice(&["--customers", "customers.csv", "--by", "segment,owner"]);
        let mut s = sql.clone();
        s.extend_from_slice(&["--customers-table", "customers", "--by", "segment,owner"]);
        check_funnel(&w, &customer_views, &s, &c);
    }
}

fn pool_views(orders: &str, events: &str, followups: &str) -> Vec<String> {
    vec![
        view(orders, true, true),
        events_view(events),
        format!("CREATE VIEW followups AS SELECT CAST(customer_id AS VARCHAR) AS customer_id, CAST(followup_time AS TIMESTAMP) AS followup_time FROM read_csv('{followups}', header = true, all_varchar = true)"),
    ]
}

/// `sql pool` in DuckDB gives every cell of each `crm-eval pool` table on sample-data: with the
/// built-in rules, and with other rules (fractional days, no exemption for buyers, other weights
/// and activity days), another window and an earlier as_of.
#[test]
fn pool_sql_in_duckdb_gives_every_cell_of_pool() {
    let w = Workdir::new();
    let (orders, events, followups) = (
        sample("orders.csv"),
        sample("events.csv"),
        sample("followups.csv"),
    );
    w.write(
        "rules.toml",
        "[recycle]\nno_followup_days = 10.5\nno_deal_days = 45.25\nexempt_closed = false\nwarn_days = 3\n\
         [limits]\nmax_holding = 40\nmax_daily_claims = 1\n[cooldown]\nreclaim_days = 45.5\n\
         [priority]\nrecent_activity = 0.5\npast_value = 0.3\ntime_in_pool = 0.2\nactivity_days = 30\n",
    );
    let views = pool_views(&orders, &events, &followups);
    let runs: [&[&str]; 3] = [
        &[],
        &["--rules", "rules.toml", "--window", "30"],
        &["--rules", "rules.toml", "--as-of", "2024-03-15"],
    ];
    for extra in runs {
        for show in ["due", "owners", "reclaims", "priority", "health"] {
            let command = [
                "pool",
                "--events",
                &events,
                "--followups",
                &followups,
                "--orders",
                &orders,
                "--show",
                show,
            ];
            let ours = sql_matches_command(
                &w,
                &views,
                &[&["pool", "--show", show][..], extra].concat(),
                &[&command[..], extra].concat(),
                &["past_value"],
            );
            assert!(!ours.is_empty(), "{show} {extra:?}");
        }
    }
}

/// `sql conversion --followups-table` gives the command's follow-up columns (`conversion
/// --followups`): a follow-up before the spell, one at its very start, one after a hand-over
/// (the next owner's), one after as_of, a spell younger than 24 hours at as_of; and sample-data
/// by owner and by cohort, the follow-ups' latest day counting toward as_of.
#[test]
fn conversion_sql_with_followups_gives_the_follow_up_columns() {
    let w = Workdir::new();
    w.write(
        "events.csv",
        "customer_id,event_time,event,owner,reason,pool\n\
         A,2024-01-01 09:00:00,assign,Ann,,East\nA,2024-01-20 10:00:00,transfer,Bob,rebalance,East\n\
         B,2024-01-05 09:00:00,claim,Ann,,East\nB,2024-02-20 09:00:00,recycle,Ann,no_followup,East\n\
         C,2024-06-30 12:00:00,assign,Bob,,West\nD,2024-02-01 09:00:00,assign,Cat,,West\n",
    );
    w.write(
        "orders.csv",
        "customer_id,order_id,order_date,amount,status\n\
         A,o1,2024-01-25,100,paid\nB,o2,2024-01-10,200,paid\nD,o3,2024-02-03,20,paid\n",
    );
    w.write(
        "followups.csv",
        "customer_id,followup_time,owner,channel\n\
         A,2023-12-31 09:00:00,Ann,phone\nA,2024-01-02 08:00:00,Ann,phone\n\
         A,2024-01-21 09:00:00,Bob,visit\nB,2024-01-05 09:00:00,Ann,phone\n\
         C,2024-06-30 20:00:00,Bob,phone\nD,2024-02-05 09:30:00,Cat,phone\n",
    );
    let (orders, events, followups) = (
        sample("orders.csv"),
        sample("events.csv"),
        sample("followups.csv"),
    );
    let cases: [(&str, &str, &str, &[&str]); 4] = [
        (
            "orders.csv",
            "events.csv",
            "followups.csv",
            &["--as-of", "2024-07-01"],
        ),
        ("orders.csv", "events.csv", "followups.csv", &[]),
        (&orders, &events, &followups, &[]),
        (
            &orders,
            &events,
            &followups,
            &["--by", "cohort", "--window", "30"],
        ),
    ];
    for (orders, events, followups, extra) in cases {
        let command = [
            "conversion",
            "--events",
            events,
            "--orders",
            orders,
            "--followups",
            followups,
        ];
        let ours = sql_matches_command(
            &w,
            &pool_views(orders, events, followups),
            &[&["conversion", "--followups-table", "followups"][..], extra].concat(),
            &[&command[..], extra].concat(),
            &["converted_revenue"],
        );
        assert!(ours[0].contains_key("followed_up_24h_share"), "{ours:?}");
    }
}

/// `sql conversion` and `sql recovery` by customers-file columns (`--customers-table`) give the
/// commands' groups: a multi-valued cell (`vip;new`, `vip；x`), a blank cell, a customer missing
/// from the table, a placeholder (`NaN`, ` null `) and one listed twice are `(unknown)` or in each value's group as the commands
/// put them; sample-data by region, owner and region, industry and region.
#[test]
fn conversion_and_recovery_sql_by_customers_file_columns() {
    let w = Workdir::new();
    w.write(
        "events.csv",
        "customer_id,event_time,event,owner,reason,pool\n\
         A,2024-01-01 09:00:00,assign,Ann,,East\nB,2024-01-05 09:00:00,claim,Ann,,East\n\
         B,2024-02-20 09:00:00,recycle,Ann,no_followup,East\nB,2024-03-01 09:00:00,claim,Bob,,East\n\
         C,2024-02-01 09:00:00,assign,Bob,,West\nD,2024-02-01 09:00:00,assign,Cat,,West\n\
         E,2024-01-10 09:00:00,assign,Cat,,West\nE,2024-03-10 09:00:00,release,Cat,,West\n",
    );
    w.write(
        "orders.csv",
        "customer_id,order_id,order_date,amount,status\n\
         A,o1,2024-01-25,100,paid\nB,o2,2024-03-10,200,paid\nC,o3,2024-02-03,20,paid\n\
         E,o4,2024-03-20,15,paid\n",
    );
    w.write(
        "customers.csv",
        "customer_id,segment,region\nA,vip;new,North\nB, ,South\nC,vip；x,North\nC,y,North\nE,new,\n\
         D,NaN, null \n",
    );
    let (orders, events, customers) = (
        sample("orders.csv"),
        sample("events.csv"),
        sample("customers.csv"),
    );
    let cases: [(&str, &str, &str, &str); 5] = [
        ("orders.csv", "events.csv", "customers.csv", "segment"),
        (
            "orders.csv",
            "events.csv",
            "customers.csv",
            "owner,segment,region",
        ),
        (&orders, &events, &customers, "region"),
        (&orders, &events, &customers, "owner,region"),
        (&orders, &events, &customers, "industry,region"),
    ];
    for (orders, events, customers, by) in cases {
        let views = vec![
            view(orders, true, true),
            events_view(events),
            format!("CREATE VIEW customers AS SELECT * FROM read_csv('{customers}', header = true, all_varchar = true)"),
        ];
        for command in ["conversion", "recovery"] {
            let as_of = ["--as-of", "2024-07-01"];
            let ours = sql_matches_command(
                &w,
                &views,
                &[
                    &[command, "--by", by, "--customers-table", "customers"][..],
                    &as_of,
                ]
                .concat(),
                &[
                    &[
                        command,
                        "--events",
                        events,
                        "--orders",
                        orders,
                        "--customers",
                        customers,
                        "--by",
                        by,
                    ][..],
                    &as_of,
                ]
                .concat(),
                &["converted_revenue", "value_added", "value_per_recovered"],
            );
            assert!(ours.len() >= 3, "{command} {by}: {ours:?}");
            // NaN and null are placeholders: D is (unknown), never a group of its own.
            let flat = format!("{ours:?}").to_lowercase();
            assert!(
                !flat.contains("nan") && !flat.contains("null"),
                "{command} {by}: {ours:?}"
            );
        }
    }
}

/// `sql pool --show health --by pool,region --customers-table customers` (and by region alone)
/// gives the command's health table grouped by customers-file columns.
#[test]
fn pool_health_sql_by_customers_file_columns() {
    let w = Workdir::new();
    let (orders, events, followups, customers) = (
        sample("orders.csv"),
        sample("events.csv"),
        sample("followups.csv"),
        sample("customers.csv"),
    );
    let mut views = pool_views(&orders, &events, &followups);
    views.push(format!(
        "CREATE VIEW customers AS SELECT * FROM read_csv('{customers}', header = true, all_varchar = true)"
    ));
    for by in ["pool,region", "region", "industry"] {
        let ours = sql_matches_command(
            &w,
            &views,
            &[
                "pool",
                "--show",
                "health",
                "--by",
                by,
                "--customers-table",
                "customers",
            ],
            &[
                "pool",
                "--events",
                &events,
                "--followups",
                &followups,
                "--orders",
                &orders,
                "--customers",
                &customers,
                "--by",
                by,
                "--show",
                "health",
            ],
            &[],
        );
        assert!(ours.len() > 5, "{by}");
    }
}

/// A mapping the SQL cannot honour is an error naming it, never ignored: a quantity, unit price
/// or discount without the line-amount step's pair (quantity and unit price, no amount), and a
/// product (the cancellation step's, which the SQL lacks). `sql rfm` on Online Retail's invoice
/// lines with them mapped used to give 275 other RFM codes than `crm-eval rfm`, with exit 0
/// (issue 28).
#[test]
fn a_mapping_the_sql_cannot_use_is_an_error() {
    let w = Workdir::new();
    for (args, named) in [
        (
            vec!["sql", "rfm", "--map", "quantity=Quantity"],
            "--map quantity=Quantity",
        ),
        (
            vec!["sql", "abc", "--map", "orders.unit_price=UnitPrice"],
            "--map unit_price=UnitPrice",
        ),
        (
            vec!["sql", "clv-summary", "--map", "discount=Rabatt"],
            "--map discount=Rabatt",
        ),
    ] {
        let e = w.fails(&args, 2);
        assert!(
            e.contains(named) && e.contains("only when both are named and no amount column is"),
            "{e}"
        );
    }
    // A product mapping brings the cancellation step, which links by product.
    let sql = w.stdout(&["sql", "rfm", "--map", "product=StockCode"]);
    assert!(
        sql.contains("\"StockCode\" AS product") && sql.contains("is_cancel"),
        "{sql}"
    );
    w.write("crm-eval.toml", "[map]\n\"orders.quantity\" = \"Qty\"\n");
    let e = w.fails(&["sql", "rfm"], 2);
    assert!(
        e.contains("quantity = \"Qty\" under [map] in the config"),
        "{e}"
    );
    // Mappings the SQL reads still work.
    std::fs::remove_file(w.path("crm-eval.toml")).unwrap();
    let sql = w.stdout(&["sql", "rfm", "--map", "amount=Sales"]);
    assert!(sql.contains("Sales"), "{sql}");
}

/// Text snapshots of every query in every dialect (tests/snapshots/sql/QUERY.DIALECT.sql), beside
/// the execution tests: a change to the generated SQL shows as a diff to review, and a refactor
/// that should not change it proves it did not. `CRM_EVAL_BLESS=1 cargo test --test cli
/// sql::snapshots` rewrites them.
#[test]
fn snapshots_of_every_query_and_dialect() {
    let w = Workdir::new();
    let rules = data("rating_margin.toml");
    let stages = "Prospecting,Qualification,Proposal,Negotiation";
    let queries: [(&str, Vec<&str>); 13] = [
        ("rfm", vec!["rfm"]),
        ("clv-summary", vec!["clv-summary"]),
        ("nps", vec!["nps", "--by-owner"]),
        (
            "lifecycle",
            vec!["lifecycle", "--customers-table", "customers"],
        ),
        ("lifecycle-rates", vec!["lifecycle-rates"]),
        (
            "conversion",
            vec!["conversion", "--followups-table", "followups"],
        ),
        (
            "conversion-by",
            vec![
                "conversion",
                "--by",
                "owner,region",
                "--customers-table",
                "customers",
            ],
        ),
        ("recovery", vec!["recovery", "--by", "reason"]),
        ("rating", vec!["rating", "--rules", &rules]),
        ("abc", vec!["abc"]),
        ("cohort", vec!["cohort"]),
        ("funnel", vec!["funnel", "--stages", stages]),
        ("pool", vec!["pool", "--show", "health", "--by", "pool"]),
    ];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/sql");
    let bless = std::env::var_os("CRM_EVAL_BLESS").is_some();
    let mut differ = Vec::new();
    for (name, args) in &queries {
        for dialect in ["duckdb", "spark", "postgres"] {
            let mut all = vec!["sql"];
            all.extend(args.iter().copied());
            all.extend(["--dialect", dialect, "-q"]);
            let sql = w.stdout(&all);
            let path = dir.join(format!("{name}.{dialect}.sql"));
            if bless {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &sql).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(sql.as_str()) {
                differ.push(path.display().to_string());
            }
        }
    }
    assert!(
        differ.is_empty(),
        "the SQL differs from its snapshot (review, then CRM_EVAL_BLESS=1): {differ:?}"
    );
}

/// `--like FILE`: the SQL reads the orders table under the export's own headers, resolved as the
/// command resolves them, and the optional columns the export lacks are none — on the CDNOW
/// sample (no status, no order ID: every row an order, every row paid) and on a Superstore-shaped
/// export (its own headers, `--map amount=Sales`, several lines per order ID, no status), every
/// cell equals the command's in DuckDB over a view of the file as it is (issue 28).
#[test]
fn sql_like_an_export_reads_it_as_the_command_does() {
    let w = Workdir::new();
    let cdnow = data("cdnow_sample.csv");
    let views = vec![format!(
        "CREATE VIEW orders AS SELECT * FROM read_csv('{cdnow}', header = true, types = {{'customer_id': 'VARCHAR', 'order_date': 'DATE'}})"
    )];
    let rows = sql_matches_command(
        &w,
        &views,
        &["rfm", "--like", &cdnow, "--as-of", "1998-07-01"],
        &["rfm", &cdnow, "--as-of", "1998-07-01"],
        &["monetary"],
    );
    assert_eq!(rows.len(), 2357);
    w.write(
        "superstore.csv",
        "Row ID,Order ID,Order Date,Ship Mode,Customer ID,Sales\n\
         1,CA-1,2024-01-08,Second Class,CG-1,261.96\n\
         2,CA-1,2024-01-08,Second Class,CG-1,731.94\n\
         3,CA-2,2024-02-12,Standard,DV-2,14.62\n\
         4,CA-3,2024-03-11,Standard,CG-1,957.58\n\
         5,CA-4,2024-03-11,First Class,SO-3,22.37\n\
         6,CA-4,2024-03-11,First Class,SO-3,-22.37\n\
         7,CA-5,2024-04-01,Standard,DV-2,48.86\n",
    );
    let store = w.path("superstore.csv").display().to_string();
    let views = vec![format!(
        "CREATE VIEW orders AS SELECT * FROM read_csv('{store}', header = true, types = {{'Order Date': 'DATE', 'Sales': 'DECIMAL(18,4)'}})"
    )];
    let rows = sql_matches_command(
        &w,
        &views,
        &[
            "rfm",
            "--like",
            &store,
            "--map",
            "amount=Sales",
            "--as-of",
            "2024-05-01",
        ],
        &[
            "rfm",
            &store,
            "--map",
            "amount=Sales",
            "--as-of",
            "2024-05-01",
        ],
        &["monetary"],
    );
    // CG-1: orders CA-1 (993.90) and CA-3; SO-3's only order nets to 0 with a negative line: no
    // purchase, not listed.
    assert_eq!(rows.len(), 2);
    let e = w.fails(&["sql", "nps", "--like", &cdnow], 2);
    assert!(e.contains("--like FILE describes an orders export"), "{e}");
}

/// Invoice lines in SQL: with `--like` (or `--map quantity=… --map unit_price=…` and no amount),
/// each line's amount is quantity × unit price less the discount — a rate when every discount
/// lies between 0 and 1, else money off — rounded to 1/10,000 half away from zero, as the
/// command computes it; DuckDB gives `crm-eval rfm`'s cells on sample-data's invoice lines
/// without their cancellations (6,617 lines, guest lines among them: the SQL leaves them out as
/// the command does) and on a file with rate discounts and an empty one.
#[test]
fn sql_computes_line_amounts_as_the_command_does() {
    let w = Workdir::new();
    let lines = std::fs::read_to_string(sample("invoice_lines.csv")).unwrap();
    let kept: String = lines
        .lines()
        .filter(|l| !l.starts_with('C'))
        .map(|l| format!("{l}\n"))
        .collect();
    w.write("lines.csv", kept);
    let file = w.path("lines.csv").display().to_string();
    let view = |file: &str, date: &str| {
        vec![format!(
            "CREATE VIEW orders AS SELECT * REPLACE (CAST(strptime(\"InvoiceDate\", '{date}') AS DATE) AS \"InvoiceDate\") FROM read_csv('{file}', header = true, all_varchar = true)"
        )]
    };
    sql_matches_command(
        &w,
        &view(&file, "%m/%d/%Y %H:%M"),
        &["rfm", "--like", &file, "--as-of", "2024-07-01"],
        &["rfm", &file, "--as-of", "2024-07-01"],
        &["monetary"],
    );
    w.write(
        "discounts.csv",
        "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,Discount,CustomerID\n\
         100,X,6,2024-01-05 10:00,2.55,0.1,A\n\
         100,Y,2,2024-01-05 10:00,10.00,0,A\n\
         101,Z,1,2024-02-01 11:00,0.0001,0.5,A\n\
         102,X,3,2024-02-10 12:00,1.35,0.25,B\n\
         103,Y,-1,2024-02-11 12:00,10.00,,B\n",
    );
    let file = w.path("discounts.csv").display().to_string();
    let rows = sql_matches_command(
        &w,
        &view(&file, "%Y-%m-%d %H:%M"),
        &["rfm", "--like", &file, "--as-of", "2024-03-01"],
        &["rfm", &file, "--as-of", "2024-03-01"],
        &["monetary"],
    );
    // A: 6 × 2.55 × 0.9 = 13.77, + 20 = 33.77 on 01-05, and 0.0001 × 0.5 on 02-01; B:
    // 3 × 1.35 × 0.75 = 3.0375, then a −10 line of its own.
    assert_eq!(rows.len(), 2);
    // Named by --map without --like: the same SQL.
    let mapped = w.stdout(&[
        "sql",
        "rfm",
        "--map",
        "customer_id=CustomerID",
        "--map",
        "order_id=InvoiceNo",
        "--map",
        "order_date=InvoiceDate",
        "--map",
        "quantity=Quantity",
        "--map",
        "unit_price=UnitPrice",
        "--map",
        "discount=Discount",
    ]);
    assert!(
        mapped.contains(
            "round(CAST(li.quantity AS DECIMAL(18, 4)) * CAST(li.unit_price AS DECIMAL(18, 4)), 4)"
        ),
        "{mapped}"
    );
}

/// Invoice cancellations in SQL (`sql/cancel.rs`): with `--like` on an export whose invoice
/// numbers mark cancellations, a `C` invoice joins the customer's invoice of the same number,
/// else the latest invoice of the same stock code issued at or before it — to the minute when the
/// table's dates are timestamps —, else stays a refund of its own. DuckDB gives `crm-eval rfm`'s
/// cells on sample-data's invoice lines (120 cancellations: 60 by number, 60 by product) and on
/// Online Retail's customer 18268 case (a cancellation at 11:16 before a purchase at 19:13 the same
/// day), with timestamps and with dates only.
#[test]
fn sql_nets_invoice_cancellations_as_the_command_does() {
    let w = Workdir::new();
    let file = sample("invoice_lines.csv");
    let timestamps = |file: &str, format: &str| {
        vec![format!(
            "CREATE VIEW orders AS SELECT * REPLACE (strptime(\"InvoiceDate\", '{format}') AS \"InvoiceDate\") FROM read_csv('{file}', header = true, all_varchar = true)"
        )]
    };
    let rows = sql_matches_command(
        &w,
        &timestamps(&file, "%m/%d/%Y %H:%M"),
        &["rfm", "--like", &file, "--as-of", "2024-07-01"],
        &["rfm", &file, "--as-of", "2024-07-01"],
        &["monetary"],
    );
    assert_eq!(rows.len(), 368);
    let lines = "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID\n\
                 536000,X,2,2011-12-01 09:00,5.00,17000\n\
                 C536100,X,-3,2011-12-02 11:16,5.00,18268\n\
                 536200,X,3,2011-12-02 19:13,5.00,18268\n\
                 C536300,X,-1,2011-12-02 19:13,5.00,17000\n";
    for (name, text, format, buyers) in [
        ("timed.csv", lines.to_string(), "%Y-%m-%d %H:%M", 2),
        (
            "days.csv",
            lines
                .replace(" 09:00", "")
                .replace(" 11:16", "")
                .replace(" 19:13", ""),
            "%Y-%m-%d",
            1,
        ),
    ] {
        w.write(name, text);
        let file = w.path(name).display().to_string();
        let rows = sql_matches_command(
            &w,
            &timestamps(&file, format),
            &["rfm", "--like", &file, "--as-of", "2011-12-10"],
            &["rfm", &file, "--as-of", "2011-12-10"],
            &["monetary"],
        );
        assert_eq!(rows.len(), buyers, "{name}");
    }
}
