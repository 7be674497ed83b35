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
    // NPS 3.67 (−1.75 to 9.09): below 5, but the interval reaches it.
    let out = run(
        &w,
        "[[target]]\nkpi = \"nps\"\nmin = 5\nmiss = \"interval\"\n",
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    let out = run(&w, "[[target]]\nkpi = \"nps\"\nmin = 5\n", &[]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 of 1 rows missed their target as of 2025-01-01"),
        "{stderr}"
    );
    assert!(records(&String::from_utf8_lossy(&out.stdout))[0]["status"] == "missed");
    // --quiet: the exit status alone.
    let out = run(&w, "[[target]]\nkpi = \"nps\"\nmin = 5\n", &["-q"]);
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
        let out = w.stdout(&["inspect", history, "-f", "csv"]);
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
        stderr.contains("--history other.csv: it is not a KPI history"),
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
                "--history",
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
    assert_eq!(nps[2], "3.671971");
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
