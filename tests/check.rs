//! `crm-eval check`: every KPI of the catalogue equals the figure of the command that defines it,
//! the miss rules, the exit codes (0, 3, 1, 2) and the history file.

use std::collections::HashMap;

use crate::common::{records, sample, Workdir};

const KPIS: [&str; 13] = [
    "tier_a_revenue_share",
    "expected_clv_12m",
    "churned_share",
    "churn_rate",
    "retention_rate",
    "lead_conversion_rate",
    "recovery_rate",
    "loyalty_after_recovery",
    "pool_items_overdue",
    "owners_over_cap",
    "win_rate",
    "nps",
    "csat",
];

fn inputs() -> Vec<String> {
    let mut v = Vec::new();
    for (flag, file) in [
        ("--orders", "orders.csv"),
        ("--events", "events.csv"),
        ("--followups", "followups.csv"),
        ("--surveys", "surveys.csv"),
        ("--opportunities", "opportunities.csv"),
    ] {
        v.push(flag.to_string());
        v.push(sample(file));
    }
    v
}

fn run(w: &Workdir, targets: &str, extra: &[&str]) -> std::process::Output {
    w.write("targets.toml", targets);
    let inputs = inputs();
    let mut args: Vec<&str> = vec!["check", "targets.toml", "-f", "csv"];
    args.extend(inputs.iter().map(String::as_str));
    args.extend_from_slice(extra);
    w.cmd(&args).output().unwrap()
}

fn value(rows: &[HashMap<String, String>], key: &str, key_value: &str, column: &str) -> f64 {
    rows.iter()
        .find(|r| r[key] == key_value)
        .unwrap_or_else(|| panic!("no {key} = {key_value}"))[column]
        .parse()
        .unwrap()
}

#[test]
fn every_kpi_equals_the_figure_of_its_command() {
    let w = Workdir::new();
    let targets: String = KPIS
        .iter()
        .map(|k| format!("[[target]]\nkpi = \"{k}\"\nmin = -1e18\n"))
        .collect();
    let out = run(&w, &targets, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = records(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(rows.len(), KPIS.len());
    assert!(rows
        .iter()
        .all(|r| r["status"] == "ok" && r["as_of"] == "2025-01-01"));
    let kpi = |k: &str| value(&rows, "kpi", k, "value");
    let close = |a: f64, b: f64, tol: f64, what: &str| {
        assert!((a - b).abs() <= tol, "{what}: check {a} vs command {b}")
    };
    let s = |f: &str| sample(f);
    let cmd = |args: &[&str]| records(&w.stdout(args));

    let abc = cmd(&["abc", &s("orders.csv"), "--summary", "-q"]);
    close(
        kpi("tier_a_revenue_share"),
        value(&abc, "tier", "A", "value_share"),
        5e-5,
        "tier A",
    );
    let clv: f64 = cmd(&["clv", &s("orders.csv"), "-q"])
        .iter()
        .map(|r| r["clv"].parse::<f64>().unwrap())
        .sum();
    close(kpi("expected_clv_12m"), clv, 0.01, "clv");
    let stages = cmd(&["lifecycle", &s("orders.csv"), "--summary", "-q"]);
    close(
        kpi("churned_share"),
        value(&stages, "stage", "churned", "customer_share"),
        5e-5,
        "churned",
    );
    let rates = cmd(&["lifecycle", &s("orders.csv"), "--rates", "-q"]);
    let last = rates.last().unwrap();
    close(
        kpi("churn_rate"),
        last["churn_rate"].parse().unwrap(),
        0.0,
        "churn",
    );
    close(
        kpi("retention_rate"),
        last["retention_rate"].parse().unwrap(),
        0.0,
        "retention",
    );
    let own = ["--events", &s("events.csv"), "--orders", &s("orders.csv")];
    let conversion = cmd(&[&["conversion"][..], &own, &["-q"]].concat());
    close(
        kpi("lead_conversion_rate"),
        value(&conversion, "owner", "all", "conversion_rate"),
        5e-5,
        "conversion",
    );
    let recovery = cmd(&[&["recovery"][..], &own, &["-q"]].concat());
    close(
        kpi("recovery_rate"),
        value(&recovery, "owner", "all", "recovery_rate"),
        5e-5,
        "recovery",
    );
    close(
        kpi("loyalty_after_recovery"),
        value(&recovery, "owner", "all", "loyalty_rate"),
        5e-5,
        "loyalty",
    );
    let pool = |show: &str| {
        cmd(&[
            &["pool"][..],
            &own,
            &["--followups", &s("followups.csv"), "--show", show, "-q"],
        ]
        .concat())
    };
    let overdue = pool("due")
        .iter()
        .filter(|r| r["status"] == "overdue")
        .count();
    close(kpi("pool_items_overdue"), overdue as f64, 0.0, "overdue");
    let over = pool("owners")
        .iter()
        .filter(|r| r["over_holding_cap"] != "0" || r["days_over_claim_limit"] != "0")
        .count();
    close(kpi("owners_over_cap"), over as f64, 0.0, "over cap");
    let funnel = cmd(&["funnel", &s("opportunities.csv"), "--show", "summary", "-q"]);
    close(
        kpi("win_rate"),
        funnel[0]["win_rate"].parse().unwrap(),
        5e-5,
        "win rate",
    );
    let nps = cmd(&["nps", &s("surveys.csv"), "-q"]);
    close(
        kpi("nps"),
        value(&nps, "survey", "nps", "score"),
        0.005,
        "nps",
    );
    close(
        kpi("csat"),
        value(&nps, "survey", "csat", "score") / 100.0,
        5e-5,
        "csat",
    );
    // Rates carry their interval, counts and money do not.
    let row = |k: &str| rows.iter().find(|r| r["kpi"] == k).unwrap();
    assert!(!row("win_rate")["ci_low"].is_empty() && row("expected_clv_12m")["ci_low"].is_empty());
}

#[test]
fn exit_codes_and_the_interval_rule() {
    let w = Workdir::new();
    // NPS 6.91 (1.48 to 12.35): below 10, but the interval reaches it.
    let out = run(
        &w,
        "[[target]]\nkpi = \"nps\"\nmin = 10\nmiss = \"interval\"\n",
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    let out = run(&w, "[[target]]\nkpi = \"nps\"\nmin = 10\n", &[]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 of 1 rows missed their target as of 2025-01-01"),
        "{stderr}"
    );
    assert!(records(&String::from_utf8_lossy(&out.stdout))[0]["status"] == "missed");
    // --quiet: the exit status alone.
    let out = run(&w, "[[target]]\nkpi = \"nps\"\nmin = 10\n", &["-q"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A KPI whose input is not given has no data, which is not a miss.
    w.write("t.toml", "[[target]]\nkpi = \"win_rate\"\nmin = 0.9\n");
    let out = w
        .cmd(&[
            "check",
            "t.toml",
            "--orders",
            &sample("orders.csv"),
            "-f",
            "csv",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains(",no data,"));
    // Usage: unknown KPI, both bounds, a missing targets file.
    w.write("bad.toml", "[[target]]\nkpi = \"happiness\"\nmin = 1\n");
    let e = w.fails(&["check", "bad.toml", "--orders", &sample("orders.csv")], 2);
    assert!(
        e.contains("bad.toml: target 1: unknown kpi \"happiness\"") && e.contains("win_rate"),
        "{e}"
    );
    let e = w.fails(
        &["check", "nope.toml", "--orders", &sample("orders.csv")],
        2,
    );
    assert!(e.contains("nope.toml"), "{e}");
    // Bad data: exit 1.
    w.write(
        "orders.csv",
        "customer_id,order_date,amount\nA,2024-02-30,10\n",
    );
    let e = w.fails(&["check", "t.toml", "--orders", "orders.csv"], 1);
    assert!(e.contains("orders.csv: row 2"), "{e}");
}

#[test]
fn history_appends_replaces_the_same_as_of_and_refuses_other_files() {
    let w = Workdir::new();
    let targets = "[[target]]\nkpi = \"tier_a_revenue_share\"\nmax = 0.9\n[[target]]\nkpi = \"churned_share\"\nmax = 0.9\n";
    let orders = sample("orders.csv");
    w.write("t.toml", targets);
    let check = |as_of: &str, history: &str| {
        w.cmd(&[
            "check",
            "t.toml",
            "--orders",
            &orders,
            "--as-of",
            as_of,
            "--history",
            history,
            "-q",
        ])
        .output()
        .unwrap()
    };
    for history in ["kpi.csv", "kpi.parquet"] {
        assert!(check("2024-06-01", history).status.success());
        assert!(check("2024-07-01", history).status.success());
        assert!(check("2024-07-01", history).status.success(), "rerun");
        // 2 dates × 2 targets: the rerun replaced its date instead of adding rows.
        let out = w.stdout(&["inspect", history, "--show", "source", "-f", "csv"]);
        assert!(out.contains("\nrows,4\n"), "{history}: {out}");
    }
    let csv = std::fs::read_to_string(w.path("kpi.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert_eq!(csv.matches("2024-07-01").count(), 2, "{csv}");
    // Another file's shape is an error naming it, and the file is left as it was.
    w.write("other.csv", "a,b\n1,2\n");
    let out = check("2024-07-01", "other.csv");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--kpi-history other.csv: it is not a KPI history"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(w.path("other.csv")).unwrap(),
        "a,b\n1,2\n"
    );
}

#[test]
fn a_per_owner_target_has_a_row_per_owner_equal_to_the_command() {
    let w = Workdir::new();
    let out = run(
        &w,
        "[[target]]\nkpi = \"win_rate\"\nmin = 0.2\nby = \"owner\"\n[[target]]\nkpi = \"csat\"\nmin = 0\nby = \"owner\"\n",
        &[],
    );
    let rows = records(&String::from_utf8_lossy(&out.stdout));
    let funnel = records(&w.stdout(&[
        "funnel",
        &sample("opportunities.csv"),
        "--show",
        "summary",
        "--by",
        "owner",
        "-q",
    ]));
    let owners: Vec<&HashMap<String, String>> =
        funnel.iter().filter(|r| r["owner"] != "all").collect();
    let win: Vec<&HashMap<String, String>> =
        rows.iter().filter(|r| r["kpi"] == "win_rate").collect();
    assert_eq!(win.len(), owners.len());
    let mut missed = 0;
    for o in owners {
        let r = win.iter().find(|r| r["group"] == o["owner"]).unwrap();
        let v: f64 = r["value"].parse().unwrap();
        assert!(
            (v - o["win_rate"].parse::<f64>().unwrap()).abs() < 5e-5,
            "{}",
            o["owner"]
        );
        let expected = if v < 0.2 { "missed" } else { "ok" };
        missed += usize::from(v < 0.2);
        assert_eq!(r["status"], expected);
    }
    // Every owner has a CSAT row (all met), and a miss of any owner is exit 3.
    assert_eq!(rows.iter().filter(|r| r["kpi"] == "csat").count(), 10);
    assert_eq!(out.status.code(), Some(if missed > 0 { 3 } else { 0 }));
    assert!(missed > 0, "the sample has owners below a 20 % win rate");
    w.write(
        "t.toml",
        "[[target]]\nkpi = \"churn_rate\"\nmax = 0.1\nby = \"owner\"\n",
    );
    let e = w.fails(&["check", "t.toml", "--orders", &sample("orders.csv")], 2);
    assert!(e.contains("by = \"owner\" is available for"), "{e}");
}

#[test]
fn history_trends_in_the_report_and_responses_after_as_of_left_out() {
    let w = Workdir::new();
    w.write(
        "t.toml",
        "[[target]]\nkpi = \"nps\"\nmin = 30\n[[target]]\nkpi = \"churn_rate\"\nmax = 0.05\n",
    );
    let (orders, surveys) = (sample("orders.csv"), sample("surveys.csv"));
    for as_of in ["2024-10-01", "2024-11-01", "2025-01-01"] {
        let out = w
            .cmd(&[
                "check",
                "t.toml",
                "--orders",
                &orders,
                "--surveys",
                &surveys,
                "--as-of",
                as_of,
                "--kpi-history",
                "kpi.csv",
                "-q",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3));
    }
    let history = records(&std::fs::read_to_string(w.path("kpi.csv")).unwrap());
    let nps: Vec<&str> = history
        .iter()
        .filter(|r| r["kpi"] == "nps")
        .map(|r| r["value"].as_str())
        .collect();
    // Each run sees only the responses before its as_of: the NPS moves.
    assert_eq!(nps.len(), 3);
    assert_ne!(nps[0], nps[2]);
    assert_eq!(nps[2], "6.91358");
    w.stdout(&[
        "report",
        "--orders",
        &orders,
        "--kpi-history",
        "kpi.csv",
        "-o",
        "r.html",
        "--charts",
        "charts",
        "-q",
    ]);
    for kpi in ["nps", "churn_rate"] {
        let svg = std::fs::read_to_string(w.path(&format!("charts/kpi_{kpi}.svg"))).unwrap();
        assert!(
            svg.contains("2024-10-01") && svg.contains("2025-01-01"),
            "{kpi}"
        );
    }
    let page = std::fs::read_to_string(w.path("r.html")).unwrap();
    assert!(page.contains("KPI history"));
    w.write("bad.csv", "a,b\n1,2\n");
    let e = w.fails(
        &[
            "report",
            "--orders",
            &orders,
            "--kpi-history",
            "bad.csv",
            "-o",
            "x.html",
        ],
        1,
    );
    assert!(e.contains("bad.csv: not a KPI history"), "{e}");
}

#[test]
fn a_period_measures_its_days_as_the_commands_do() {
    let w = Workdir::new();
    let targets = [
        ("churn_rate", "last full quarter"),
        ("lead_conversion_rate", "last full quarter"),
        ("recovery_rate", "last full quarter"),
        ("pool_items_overdue", "last full month"),
        ("nps", "last 90 days"),
        ("win_rate", "quarter"),
    ]
    .iter()
    .map(|(k, p)| format!("[[target]]\nkpi = \"{k}\"\nmin = -1e18\nperiod = \"{p}\"\n"))
    .collect::<String>();
    let out = run(&w, &targets, &["--as-of", "2024-11-15"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = records(&String::from_utf8(out.stdout).unwrap());
    let row = |k: &str| rows.iter().find(|r| r["kpi"] == k).unwrap();
    let kpi = |k: &str| row(k)["value"].parse::<f64>().unwrap();
    let span = |k: &str| (row(k)["from"].clone(), row(k)["to"].clone());
    assert_eq!(
        span("churn_rate"),
        ("2024-07-01".into(), "2024-09-30".into())
    );
    assert_eq!(span("nps"), ("2024-08-17".into(), "2024-11-14".into()));
    assert_eq!(span("win_rate"), ("2024-10-01".into(), "2024-11-14".into()));
    assert!(rows.iter().all(|r| r["as_of"] == "2024-11-15"));
    let s = |f: &str| sample(f);
    let cmd = |args: &[&str]| records(&w.stdout(args));

    // A quarter's churn is the quarter as one span, as `lifecycle --rates --period quarter`.
    let rates = cmd(&[
        "lifecycle",
        &s("orders.csv"),
        "--rates",
        "--period",
        "quarter",
        "--as-of",
        "2024-11-15",
        "-q",
    ]);
    assert_eq!(
        kpi("churn_rate"),
        value(&rates, "period", "2024-Q3", "churn_rate")
    );
    // The last full quarter ended on 2024-09-30: the spells and returns of its months, matured
    // by 2024-10-01.
    let own = [
        "--events",
        &s("events.csv"),
        "--orders",
        &s("orders.csv"),
        "--as-of",
        "2024-10-01",
        "-q",
    ];
    let months = ["2024-07", "2024-08", "2024-09"];
    let rate = |rows: &[HashMap<String, String>], key: &str, n: &str, k: &str| {
        let sum = |c: &str| -> f64 { months.iter().map(|m| value(rows, key, m, c)).sum() };
        sum(k) / sum(n)
    };
    let conversion = cmd(&[&["conversion", "--by", "cohort"][..], &own].concat());
    let expected = rate(&conversion, "cohort", "matured", "converted");
    assert!((kpi("lead_conversion_rate") - expected).abs() < 5e-7);
    let recovery = cmd(&[&["recovery", "--by", "month"][..], &own].concat());
    let expected = rate(&recovery, "month", "matured", "recovered");
    assert!((kpi("recovery_rate") - expected).abs() < 5e-7);
    // The pool at the end of October.
    let due = cmd(&[
        &["pool", "--followups", &s("followups.csv"), "--show", "due"][..],
        &own,
    ]
    .concat()
    .iter()
    .map(|a| if *a == "2024-10-01" { "2024-11-01" } else { a })
    .collect::<Vec<_>>());
    let overdue = due.iter().filter(|r| r["status"] == "overdue").count();
    assert_eq!(kpi("pool_items_overdue"), overdue as f64);
    // NPS of the responses dated in the 90 days.
    let surveys = std::fs::read_to_string(s("surveys.csv")).unwrap();
    let mut lines = surveys.lines();
    let mut kept = vec![lines.next().unwrap().to_string()];
    kept.extend(
        lines
            .filter(|l| {
                let date = l.split(',').nth(1).unwrap();
                ("2024-08-17"..="2024-11-14").contains(&date)
            })
            .map(str::to_string),
    );
    w.write("surveys_90.csv", kept.join("\n") + "\n");
    let nps = cmd(&["nps", "surveys_90.csv", "-q"]);
    assert!((kpi("nps") - value(&nps, "survey", "nps", "score")).abs() < 0.005);
    // Win rate of the deals closed from 2024-10-01 to 2024-11-14, counted here from the file.
    let opportunities = std::fs::read_to_string(s("opportunities.csv")).unwrap();
    let (mut won, mut lost) = (0.0, 0.0);
    for l in opportunities.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        if ("2024-10-01"..="2024-11-14").contains(&f[5]) {
            match f[3] {
                "Closed Won" => won += 1.0,
                "Closed Lost" => lost += 1.0,
                _ => {}
            }
        }
    }
    assert!(won + lost > 10.0);
    assert!((kpi("win_rate") - won / (won + lost)).abs() < 5e-5);
}

/// The 95 % Wilson interval of k of n, written out here apart from the crate's.
fn wilson(k: f64, n: f64) -> (f64, f64) {
    let z = 1.96_f64; // as docs/metrics.md writes it
    let p = k / n;
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / (1.0 + z * z / n);
    (centre - half, centre + half)
}

/// Every KPI but expected_clv_12m on a file small enough to count by hand (--as-of 2024-07-01,
/// --window 30). expected_clv_12m is a BG/NBD fit, which needs more than a handful of
/// customers: `every_kpi_equals_the_figure_of_its_command` ties it to `clv`, whose estimates
/// tests/clv.rs checks against the published CDNOW figures.
#[test]
fn every_kpi_by_hand() {
    let w = Workdir::new();
    // Net spend: A 1000, B 400, E 300, C 200, D 200 (total 2100).
    w.write(
        "orders.csv",
        "customer_id,order_date,amount\n\
         A,2024-01-10,500\nA,2024-03-10,300\nA,2024-06-10,200\n\
         B,2024-01-01,400\n\
         C,2023-06-01,200\n\
         D,2024-02-10,150\nD,2024-03-01,50\n\
         E,2023-10-01,300\n",
    );
    // Spells (window 30 days): A 王 01-01 (buys 01-10: converted), B 王 2023-12-20 (buys
    // 01-01: converted), C 李 03-01 (no), returned 04-15, C 王 05-01 (no), D 李 2023-11-01
    // (no), returned 2023-12-15, D 王 02-01 (buys 02-10: converted), E 李 06-15 (immature),
    // F 李 04-01 and G 李 06-20 (never buy), H1–H6 claimed by 赵 on 06-25 (immature).
    let mut events = String::from("customer_id,event_time,event,owner\n");
    for (c, t, e, o) in [
        ("A", "2024-01-01 09:00", "assign", "王"),
        ("B", "2023-12-20 09:00", "assign", "王"),
        ("C", "2024-03-01 09:00", "claim", "李"),
        ("C", "2024-04-15 09:00", "recycle", "李"),
        ("C", "2024-05-01 09:00", "claim", "王"),
        ("D", "2023-11-01 09:00", "assign", "李"),
        ("D", "2023-12-15 09:00", "recycle", "李"),
        ("D", "2024-02-01 09:00", "claim", "王"),
        ("E", "2024-06-15 09:00", "assign", "李"),
        ("F", "2024-04-01 09:00", "assign", "李"),
        ("G", "2024-06-20 09:00", "assign", "李"),
    ] {
        events.push_str(&format!("{c},{t},{e},{o}\n"));
    }
    for h in 1..=6 {
        events.push_str(&format!("H{h},2024-06-25 10:0{h},claim,赵\n"));
    }
    w.write("events.csv", &events);
    w.write(
        "followups.csv",
        "customer_id,followup_time,owner\nF,2024-06-15 10:00,李\n",
    );
    w.write(
        "opportunities.csv",
        "opportunity_id,customer_id,owner,stage,created_at,close_date\n\
         O1,A,王,Closed Won,2024-01-05,2024-02-01\n\
         O2,B,王,Closed Won,2024-01-06,2024-03-01\n\
         O3,C,李,Closed Lost,2024-02-01,2024-03-15\n\
         O4,D,李,Closed Lost,2024-02-02,2024-04-01\n\
         O5,E,王,Closed Lost,2024-03-01,2024-05-01\n\
         O6,F,李,Prospecting,2024-06-01,\n\
         O7,G,李,Disqualified,2024-06-02,2024-06-10\n",
    );
    let mut surveys = String::from("customer_id,response_date,survey,score\n");
    for (i, s) in [10, 10, 9, 8, 7, 6, 2].iter().enumerate() {
        surveys.push_str(&format!("A,2024-05-{:02},nps,{s}\n", i + 1));
    }
    for (i, s) in [5, 4, 4, 3, 1].iter().enumerate() {
        surveys.push_str(&format!("B,2024-05-{:02},csat,{s}\n", i + 1));
    }
    w.write("surveys.csv", &surveys);
    let targets: String = KPIS
        .iter()
        .filter(|k| **k != "expected_clv_12m")
        .map(|k| format!("[[target]]\nkpi = \"{k}\"\nmin = -1e18\n"))
        .collect();
    w.write("targets.toml", targets);
    let out = w
        .cmd(&[
            "check",
            "targets.toml",
            "--orders",
            "orders.csv",
            "--events",
            "events.csv",
            "--followups",
            "followups.csv",
            "--opportunities",
            "opportunities.csv",
            "--surveys",
            "surveys.csv",
            "--window",
            "30",
            "--as-of",
            "2024-07-01",
            "-f",
            "csv",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = records(&String::from_utf8(out.stdout).unwrap());
    let num = |k: &str, c: &str| -> f64 {
        let r = rows.iter().find(|r| r["kpi"] == k).unwrap();
        r[c].parse()
            .unwrap_or_else(|_| panic!("{k} {c} = {:?}", r[c]))
    };
    // The ABC table's shares are rounded to 4 places, the other figures to 6.
    let close = |k: &str, want: f64| {
        let got = num(k, "value");
        let tol = if k == "tier_a_revenue_share" {
            5e-5
        } else {
            5e-7
        };
        assert!((got - want).abs() < tol, "{k}: {got}, by hand {want}");
    };
    let interval = |k: &str, (low, high): (f64, f64)| {
        let got = (num(k, "ci_low"), num(k, "ci_high"));
        assert!(
            (got.0 - low).abs() < 5e-7 && (got.1 - high).abs() < 5e-7,
            "{k}: {got:?}, by hand {low}–{high}"
        );
    };
    // ABC: A 1000, B 400, E 300 are tier A (the customers above E hold 1400 / 2100 < 80 %);
    // C (above it 1700 / 2100 = 81 %) is B, and D, equal to C, takes C's tier.
    close("tier_a_revenue_share", 1700.0 / 2100.0);
    // Days since the last purchase on 2024-07-01: A 21, B 182, C 396, D 122, E 274; more than
    // 180 is churned: B, C, E of 5.
    close("churned_share", 3.0 / 5.0);
    // June 2024: active on 05-31 (a purchase in the 180 days to it): A, B, D; on 06-30 B's
    // 01-01 purchase is 181 days back: A and D remain.
    close("churn_rate", 0.3333);
    close("retention_rate", 0.6667);
    // Matured spells (start + 30 days before 07-01): A, B, C×2, D×2, F; converted A, B, D (王).
    close("lead_conversion_rate", 3.0 / 7.0);
    interval("lead_conversion_rate", wilson(3.0, 7.0));
    // Returns: C (next spell 05-01, no purchase by 05-31) and D (next spell 02-01, buys 02-10):
    // 1 of 2 recovered; D buys again on 03-01, 19 days after: loyalty 1 of 1.
    close("recovery_rate", 1.0 / 2.0);
    interval("recovery_rate", wilson(1.0, 2.0));
    close("loyalty_after_recovery", 1.0);
    // Held, never bought: F (assigned 04-01, 91 days > no_deal_days 90: overdue; its follow-up
    // on 06-15 keeps it inside no_followup_days), G (11 days), H1–H6 (6 days). Everyone else
    // has bought and is exempt.
    close("pool_items_overdue", 1.0);
    // 赵 claimed 6 customers on 06-25, over max_daily_claims 5; nobody holds 150.
    close("owners_over_cap", 1.0);
    // Won 2, lost 3 (O6 is open, O7 invalid).
    close("win_rate", 2.0 / 5.0);
    interval("win_rate", wilson(2.0, 5.0));
    // NPS: promoters 10, 10, 9; detractors 6, 2; of 7: 100 × 1/7.
    let (p, d, n) = (3.0 / 7.0, 2.0 / 7.0, 7.0);
    close("nps", 100.0 * (p - d));
    let half = 1.96 * 100.0 * ((p + d - (p - d) * (p - d)) / n).sqrt();
    interval("nps", (100.0 * (p - d) - half, 100.0 * (p - d) + half));
    // CSAT: 4–5 satisfied: 3 of 5.
    close("csat", 3.0 / 5.0);
    interval("csat", wilson(3.0, 5.0));
    // Per owner: 王 converted 3 of 4 matured spells (A, B, C, D), 李 0 of 3 (C, D, F).
    w.write(
        "owners.toml",
        "[[target]]\nkpi = \"lead_conversion_rate\"\nmin = 0.5\nby = \"owner\"\n",
    );
    let out = w
        .cmd(&[
            "check",
            "owners.toml",
            "--orders",
            "orders.csv",
            "--events",
            "events.csv",
            "--window",
            "30",
            "--as-of",
            "2024-07-01",
            "-f",
            "csv",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let rows = records(&String::from_utf8(out.stdout).unwrap());
    let owner = |o: &str| rows.iter().find(|r| r["group"] == o).unwrap();
    assert_eq!(
        (
            owner("王")["value"].as_str(),
            owner("王")["status"].as_str()
        ),
        ("0.75", "ok")
    );
    assert_eq!(
        (
            owner("李")["value"].as_str(),
            owner("李")["status"].as_str()
        ),
        ("0", "missed")
    );
}

/// A period the data do not reach (it ends before the first order) is a `no data` row, and the
/// other targets are still checked; the reason says the orders are after as_of, not that they
/// are cancelled (issue 27).
#[test]
fn a_period_before_the_data_is_no_data_not_a_failed_run() {
    let w = Workdir::new();
    w.write(
        "targets.toml",
        "[[target]]\nkpi = \"churn_rate\"\nmax = 0.5\nperiod = \"last full quarter\"\n\
         [[target]]\nkpi = \"churned_share\"\nmax = 0.9\n",
    );
    let orders = sample("orders.csv");
    let out = w
        .cmd(&[
            "check",
            "targets.toml",
            "--orders",
            &orders,
            "--as-of",
            "2022-02-15",
            "-f",
            "csv",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = records(&String::from_utf8(out.stdout).unwrap());
    let status = |k: &str| rows.iter().find(|r| r["kpi"] == k).unwrap()["status"].clone();
    assert_eq!(status("churn_rate"), "no data");
    assert_eq!(status("churned_share"), "ok");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("every order row is dated on or after it"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("cancelled, unpaid or refunded"),
        "{stderr}"
    );
}
