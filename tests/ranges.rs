//! Date ranges (`--from/--to`, `--range`; docs/metrics.md "Periods"): each command's ranged
//! output equals the plain command on a file cut by hand to the range by the documented counting
//! rule, and equals `check`'s figure for the same period (issue 25).

use std::collections::HashMap;

use crate::common::{records, sample, Workdir};

type Rows = Vec<HashMap<String, String>>;

fn value(rows: &Rows, key: &str, key_value: &str, column: &str) -> f64 {
    rows.iter()
        .find(|r| r[key] == key_value)
        .unwrap_or_else(|| panic!("no {key} = {key_value}"))[column]
        .parse()
        .unwrap()
}

/// The rows of a ranged table without its `from`/`to` columns, checking they name the days.
fn without_range(rows: Rows, from: &str, to: &str) -> Rows {
    rows.into_iter()
        .map(|mut r| {
            assert_eq!((r["from"].as_str(), r["to"].as_str()), (from, to), "{r:?}");
            r.remove("from");
            r.remove("to");
            r
        })
        .collect()
}

/// `check` with one target per KPI and period, as of 2024-11-15 on sample-data: the KPI values.
fn check_values(w: &Workdir, targets: &[(&str, &str)]) -> HashMap<String, f64> {
    let toml: String = targets
        .iter()
        .map(|(k, p)| format!("[[target]]\nkpi = \"{k}\"\nmin = -1e18\nperiod = \"{p}\"\n"))
        .collect();
    w.write("targets.toml", toml);
    let mut args = vec!["check".to_string(), "targets.toml".into(), "-q".into()];
    for (flag, file) in [
        ("--orders", "orders.csv"),
        ("--events", "events.csv"),
        ("--surveys", "surveys.csv"),
        ("--opportunities", "opportunities.csv"),
    ] {
        args.push(flag.into());
        args.push(sample(file));
    }
    args.extend([
        "--as-of".into(),
        "2024-11-15".into(),
        "-f".into(),
        "csv".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    records(&w.stdout(&args))
        .into_iter()
        .map(|r| (r["kpi"].clone(), r["value"].parse().unwrap()))
        .collect()
}

#[test]
fn funnel_counts_the_deals_closed_in_the_range_and_open_at_its_end() {
    let w = Workdir::new();
    let opportunities = sample("opportunities.csv");
    let ranged = without_range(
        records(&w.stdout(&[
            "funnel",
            &opportunities,
            "--by",
            "owner",
            "--range",
            "2024-Q3",
            "--show",
            "summary",
            "-q",
        ])),
        "2024-07-01",
        "2024-09-30",
    );
    // By hand: deals created before 2024-10-01 that were not closed before 2024-07-01.
    let text = std::fs::read_to_string(&opportunities).unwrap();
    let mut lines = text.lines();
    let mut kept = vec![lines.next().unwrap().to_string()];
    kept.extend(
        lines
            .filter(|l| {
                let f: Vec<&str> = l.split(',').collect();
                f[4] < "2024-10-01" && (f[5].is_empty() || f[5] >= "2024-07-01")
            })
            .map(str::to_string),
    );
    w.write("q3.csv", kept.join("\n") + "\n");
    let plain = records(&w.stdout(&[
        "funnel",
        "q3.csv",
        "--by",
        "owner",
        "--as-of",
        "2024-10-01",
        "--show",
        "summary",
        "-q",
    ]));
    assert_eq!(ranged, plain);
    // --from/--to name the same days.
    let dates = without_range(
        records(&w.stdout(&[
            "funnel",
            &opportunities,
            "--by",
            "owner",
            "--from",
            "2024-07-01",
            "--to",
            "2024-09-30",
            "--show",
            "summary",
            "-q",
        ])),
        "2024-07-01",
        "2024-09-30",
    );
    assert_eq!(dates, plain);
    // check's win rate of the quarter to date (as of 2024-11-15) is the ranged funnel's.
    let kpis = check_values(&w, &[("win_rate", "quarter to date")]);
    let to_date = records(&w.stdout(&[
        "funnel",
        &opportunities,
        "--range",
        "quarter to date",
        "--as-of",
        "2024-11-15",
        "--show",
        "summary",
        "-q",
    ]));
    assert_eq!(
        (to_date[0]["from"].as_str(), to_date[0]["to"].as_str()),
        ("2024-10-01", "2024-11-14")
    );
    let win_rate: f64 = to_date[0]["win_rate"].parse().unwrap();
    assert!((kpis["win_rate"] - win_rate).abs() < 5e-5);
}

/// Per agent on the public Maven Analytics pipeline export (its excerpt in tests/data): the win
/// rate of 2017-Q2 is won ÷ (won + lost) of the deals closed in that quarter, counted here.
#[test]
fn funnel_by_owner_for_a_quarter_of_a_real_export() {
    let w = Workdir::new();
    let file = crate::common::data("maven_pipeline_excerpt.csv");
    let ranged = records(&w.stdout(&[
        "funnel",
        &file,
        "--map",
        "opportunity_id=opportunity_id",
        "--map",
        "owner=sales_agent",
        "--map",
        "created_at=engage_date",
        "--map",
        "closed_at=close_date",
        "--map",
        "amount=close_value",
        "--stages",
        "Prospecting,Engaging",
        "--by",
        "owner",
        "--range",
        "2017-Q2",
        "--show",
        "summary",
        "-q",
    ]));
    let text = std::fs::read_to_string(&file).unwrap();
    let rows = records(&text);
    let mut counts: HashMap<String, (u32, u32)> = HashMap::new();
    for r in &rows {
        let closed = r["close_date"].as_str();
        if ("2017-04-01".."2017-07-01").contains(&closed) {
            let c = counts.entry(r["sales_agent"].clone()).or_default();
            match r["deal_stage"].as_str() {
                "Won" => c.0 += 1,
                "Lost" => c.1 += 1,
                _ => {}
            }
        }
    }
    assert!(counts.len() >= 5);
    for (agent, (won, lost)) in &counts {
        let row = ranged.iter().find(|r| &r["owner"] == agent).unwrap();
        let expected = f64::from(*won) / f64::from(won + lost);
        let got: f64 = row["win_rate"].parse().unwrap();
        assert!(
            (got - expected).abs() < 5e-5,
            "{agent}: {got} vs {expected}"
        );
        assert_eq!(row["won"], won.to_string());
    }
}

#[test]
fn conversion_and_recovery_count_the_spells_and_returns_that_begin_in_the_range() {
    let w = Workdir::new();
    let own = [
        "--events",
        &sample("events.csv"),
        "--orders",
        &sample("orders.csv"),
    ];
    let run =
        |args: &[&str]| records(&w.stdout(&[&args[..1], &own[..], &args[1..], &["-q"]].concat()));
    let conversion = without_range(
        run(&["conversion", "--range", "2024-Q3"]),
        "2024-07-01",
        "2024-09-30",
    );
    let recovery = without_range(
        run(&["recovery", "--range", "2024-Q3"]),
        "2024-07-01",
        "2024-09-30",
    );
    // Spells started and returns made in the quarter, counted from the event log.
    let events = records(&std::fs::read_to_string(sample("events.csv")).unwrap());
    let in_q3 = |r: &&HashMap<String, String>| {
        ("2024-07-01".."2024-10-01").contains(&&r["event_time"][..10])
    };
    let started = events
        .iter()
        .filter(in_q3)
        .filter(|r| ["assign", "claim", "transfer"].contains(&r["event"].as_str()))
        .count();
    let returned = events
        .iter()
        .filter(in_q3)
        .filter(|r| ["recycle", "release"].contains(&r["event"].as_str()))
        .count();
    let all = |rows: &Rows, column: &str| value(rows, "owner", "all", column);
    assert_eq!(
        all(&conversion, "matured") + all(&conversion, "immature"),
        started as f64
    );
    assert_eq!(all(&recovery, "episodes"), returned as f64);
    // The same figures as check's last full quarter, as of 2024-11-15 (the range's end moves the
    // analysis date to 2024-10-01).
    let kpis = check_values(
        &w,
        &[
            ("lead_conversion_rate", "last full quarter"),
            ("recovery_rate", "last full quarter"),
        ],
    );
    assert!((kpis["lead_conversion_rate"] - all(&conversion, "conversion_rate")).abs() < 5e-5);
    assert!((kpis["recovery_rate"] - all(&recovery, "recovery_rate")).abs() < 5e-5);
    let relative = without_range(
        run(&[
            "conversion",
            "--range",
            "last full quarter",
            "--as-of",
            "2024-11-15",
        ]),
        "2024-07-01",
        "2024-09-30",
    );
    assert_eq!(relative, conversion);
}

#[test]
fn nps_and_lifecycle_rates_over_a_range() {
    let w = Workdir::new();
    let surveys = sample("surveys.csv");
    let ranged = without_range(
        records(&w.stdout(&["nps", &surveys, "--by", "owner", "--range", "2024-07", "-q"])),
        "2024-07-01",
        "2024-07-31",
    );
    let text = std::fs::read_to_string(&surveys).unwrap();
    let mut lines = text.lines();
    let mut kept = vec![lines.next().unwrap().to_string()];
    kept.extend(
        lines
            .filter(|l| l.split(',').nth(1).unwrap().starts_with("2024-07"))
            .map(str::to_string),
    );
    w.write("july.csv", kept.join("\n") + "\n");
    assert_eq!(
        ranged,
        records(&w.stdout(&["nps", "july.csv", "--by", "owner", "-q"]))
    );
    // The quarter's churn as check measures it and as one quarter row of the rates.
    let orders = sample("orders.csv");
    let quarter = without_range(
        records(&w.stdout(&[
            "lifecycle",
            &orders,
            "--rates",
            "--period",
            "quarter",
            "--range",
            "2024-Q3",
            "-q",
        ])),
        "2024-07-01",
        "2024-09-30",
    );
    assert_eq!(quarter.len(), 1);
    let kpis = check_values(
        &w,
        &[("churn_rate", "last full quarter"), ("nps", "last 90 days")],
    );
    assert!((kpis["churn_rate"] - value(&quarter, "period", "2024-Q3", "churn_rate")).abs() < 5e-5);
    // The months of a range are the unranged months inside it.
    let months = without_range(
        records(&w.stdout(&[
            "lifecycle",
            &orders,
            "--rates",
            "--from",
            "2024-03-01",
            "--to",
            "2024-05-31",
            "-q",
        ])),
        "2024-03-01",
        "2024-05-31",
    );
    let all = records(&w.stdout(&[
        "lifecycle",
        &orders,
        "--rates",
        "--as-of",
        "2024-06-01",
        "-q",
    ]));
    let inside: Rows = all
        .into_iter()
        .filter(|r| ("2024-03".."2024-06").contains(&r["period"].as_str()))
        .collect();
    assert_eq!(months, inside);
    // check's NPS of the last 90 days before 2024-11-15 is the ranged command's.
    let ninety = records(&w.stdout(&[
        "nps",
        &surveys,
        "--from",
        "2024-08-17",
        "--to",
        "2024-11-14",
        "-q",
    ]));
    assert!((kpis["nps"] - value(&ninety, "survey", "nps", "score")).abs() < 0.005);
}

#[test]
fn range_mistakes_are_usage_or_data_errors_naming_the_flag() {
    let w = Workdir::new();
    let opportunities = sample("opportunities.csv");
    let e = w.fails(
        &[
            "funnel",
            &opportunities,
            "--from",
            "2024-09-01",
            "--to",
            "2024-08-01",
        ],
        2,
    );
    assert!(e.contains("--from is after --to"), "{e}");
    let e = w.fails(&["funnel", &opportunities, "--range", "2024-H1"], 2);
    assert!(e.contains("--range") && e.contains("2024-Q3"), "{e}");
    let e = w.fails(&["funnel", &opportunities, "--range", "2030"], 1);
    assert!(
        e.contains("--range \"2030\"") && e.contains("no deal"),
        "{e}"
    );
    let e = w.fails(
        &[
            "funnel",
            &opportunities,
            "--range",
            "2024-Q3",
            "--as-of",
            "2024-12-01",
        ],
        2,
    );
    assert!(e.contains("leave out --as-of"), "{e}");
    let e = w.fails(&["nps", &sample("surveys.csv"), "--range", "2019"], 1);
    assert!(e.contains("no response"), "{e}");
    let e = w.fails(
        &["lifecycle", &sample("orders.csv"), "--range", "2024-Q3"],
        2,
    );
    assert!(e.contains("--rates"), "{e}");
    w.fails(
        &[
            "funnel",
            &opportunities,
            "--range",
            "2024",
            "--from",
            "2024-01-01",
        ],
        2,
    );
}

/// The plain commands on the event log cut by hand to the events from the range's first day,
/// as of the day after it, count the same spells and returns as the ranged ones.
#[test]
fn conversion_and_recovery_over_a_range_equal_the_log_cut_by_hand() {
    let w = Workdir::new();
    let text = std::fs::read_to_string(sample("events.csv")).unwrap();
    let mut lines = text.lines();
    let mut kept = vec![lines.next().unwrap().to_string()];
    kept.extend(
        lines
            .filter(|l| l.split(',').nth(1).unwrap() >= "2024-04-01")
            .map(str::to_string),
    );
    w.write("events_q2.csv", kept.join("\n") + "\n");
    let orders = sample("orders.csv");
    for command in ["conversion", "recovery"] {
        let ranged = without_range(
            records(&w.stdout(&[
                command,
                "--events",
                &sample("events.csv"),
                "--orders",
                &orders,
                "--range",
                "2024-Q2",
                "-q",
            ])),
            "2024-04-01",
            "2024-06-30",
        );
        let cut = records(&w.stdout(&[
            command,
            "--events",
            "events_q2.csv",
            "--orders",
            &orders,
            "--as-of",
            "2024-07-01",
            "-q",
        ]));
        assert_eq!(ranged, cut, "{command}");
    }
}

/// `cohort --range`: the cohorts whose first purchase falls in the range, followed to its end —
/// the rows of the plain matrix as of the day after the range (its extra columns empty).
#[test]
fn cohort_over_a_range_is_the_cohorts_that_start_in_it() {
    let w = Workdir::new();
    let orders = sample("orders.csv");
    let ranged = without_range(
        records(&w.stdout(&[
            "cohort", &orders, "--period", "quarter", "--range", "2023", "-q",
        ])),
        "2023-01-01",
        "2023-12-31",
    );
    let plain = records(&w.stdout(&[
        "cohort",
        &orders,
        "--period",
        "quarter",
        "--as-of",
        "2024-01-01",
        "-q",
    ]));
    assert_eq!(ranged.len(), 4);
    for r in &ranged {
        let p = plain.iter().find(|p| p["cohort"] == r["cohort"]).unwrap();
        for (column, value) in r {
            assert_eq!(&p[column], value, "{column} of {}", r["cohort"]);
        }
        assert!(p.iter().all(|(c, v)| r.contains_key(c) || v.is_empty()));
    }
    w.fails(&["cohort", &orders, "--range", "2030"], 1);
}
