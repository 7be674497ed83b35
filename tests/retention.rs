//! `crm-eval retention`: published sBG fits, the Telco export as it comes, Kaplan–Meier by hand,
//! dated subscriptions chained into one, and bad cells named.

use crate::common::{data, records, sample, Workdir};

/// Fader & Hardie (2007), "How to project customer retention", table 1: survivors of 1,000 at
/// years 0–12 (years 0–7 are fitted, 8–12 held out).
const REGULAR: [u32; 13] = [
    1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173,
];
const HIGH_END: [u32; 13] = [
    1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394,
];

/// A tenure file of the first eight years of a cohort: the lost of year t with tenure t, the
/// survivors of year 7 with tenure 7, not churned.
fn cohort_file(alive: &[u32]) -> String {
    let mut out = String::from("customer_id,tenure,churn\n");
    let mut id = 0;
    for t in 1..8 {
        for _ in 0..alive[t - 1] - alive[t] {
            id += 1;
            out.push_str(&format!("c{id},{t},Yes\n"));
        }
    }
    for _ in 0..alive[7] {
        id += 1;
        out.push_str(&format!("c{id},7,No\n"));
    }
    out
}

fn number(row: &std::collections::HashMap<String, String>, column: &str) -> f64 {
    row[column]
        .parse()
        .unwrap_or_else(|_| panic!("{column}: {:?}", row[column]))
}

#[test]
fn sbg_reproduces_the_published_fits_and_projects_the_held_out_years() {
    let w = Workdir::new();
    for (name, alive, alpha, beta, ll) in [
        ("regular", REGULAR, 0.704, 1.182, -1680.27),
        ("high_end", HIGH_END, 0.668, 3.806, -1611.16),
    ] {
        let file = format!("{name}.csv");
        w.write(&file, cohort_file(&alive));
        let params =
            records(&w.stdout(&["retention", &file, "--period", "year", "--show", "params"]));
        let get = |p: &str| params.iter().find(|r| r["parameter"] == p).unwrap();
        assert!(
            (number(get("alpha"), "estimate") - alpha).abs() < 5e-4,
            "{name}"
        );
        assert!(
            (number(get("beta"), "estimate") - beta).abs() < 5e-4,
            "{name}"
        );
        assert!((number(get("alpha"), "log_likelihood") - ll).abs() < 5e-3);
        assert_eq!(get("alpha")["status"], "converged");
        assert!(number(get("beta"), "ci_low") < beta && beta < number(get("beta"), "ci_high"));
        // Years 8–12: the curve's projection is the paper's model, S(t) = Π (β + i − 1)/(α + β + i − 1)
        // with its parameters, and it tracks the held-out survivors within 5 % as the paper shows.
        let curve = records(&w.stdout(&[
            "retention",
            &file,
            "--period",
            "year",
            "--show",
            "curve",
            "--horizon",
            "5",
        ]));
        assert_eq!(curve.len(), 12);
        let mut s = 1.0;
        for (t, row) in curve.iter().enumerate() {
            let t = t + 1;
            s *= (beta + t as f64 - 1.0) / (alpha + beta + t as f64 - 1.0);
            let model = number(row, "model_survival");
            assert!((model - s).abs() < 6e-4, "{name} year {t}: {model} vs {s}");
            if t <= 7 {
                // Observed: the Kaplan–Meier of a closed cohort is the survivors' share.
                assert!((number(row, "survival") - f64::from(alive[t]) / 1000.0).abs() < 1e-4);
            } else {
                assert_eq!(row["survival"], "", "nothing observed in year {t}");
                let actual = f64::from(alive[t]) / 1000.0;
                assert!((model - actual).abs() / actual < 0.05, "{name} year {t}");
            }
        }
    }
}

#[test]
fn telco_as_exported_churn_by_contract_and_month_to_month_sbg() {
    // IBM's Telco export (tests/data/README.md), its headers as they come: customerID, tenure,
    // Contract, MonthlyCharges, Churn.
    let w = Workdir::new();
    let file = data("telco_churn_columns.csv.gz");
    let summary = records(&w.stdout(&["retention", &file, "--by", "plan"]));
    let of = |plan: &str| summary.iter().find(|r| r["plan"] == plan).unwrap();
    // Churn Yes / subscribers, counted independently: 1655/3875, 166/1473, 48/1695.
    assert_eq!(of("Month-to-month")["churn_rate"], "0.4271");
    assert_eq!(of("One year")["churn_rate"], "0.1127");
    assert_eq!(of("Two year")["churn_rate"], "0.0283");
    assert_eq!(of("all")["subscribers"], "7043");
    let out = w
        .cmd(&["retention", &file, "--by", "Contract", "--show", "params"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let params = records(&String::from_utf8(out.stdout).unwrap());
    let m2m = |p: &str| {
        params
            .iter()
            .find(|r| r["Contract"] == "Month-to-month" && r["parameter"] == p)
            .unwrap()
    };
    // scipy's Nelder-Mead on the same likelihood: α 0.42262, β 7.39329, LL −7679.1750.
    assert!((number(m2m("alpha"), "estimate") - 0.42262).abs() < 1e-4);
    assert!((number(m2m("beta"), "estimate") - 7.39329).abs() < 2e-3);
    assert!((number(m2m("alpha"), "log_likelihood") - -7679.175).abs() < 1e-3);
    // One- and two-year contracts run off to the boundary: the geometric in their place, said.
    for contract in ["One year", "Two year"] {
        let rows: Vec<_> = params
            .iter()
            .filter(|r| r["Contract"] == contract)
            .collect();
        assert_eq!(rows.len(), 1, "{contract}");
        assert_eq!(
            (rows[0]["model"].as_str(), rows[0]["status"].as_str()),
            ("geometric", "boundary")
        );
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("One year: sBG's") && stderr.contains("geometric"),
        "{stderr}"
    );
}

#[test]
fn kaplan_meier_with_censoring_by_hand() {
    // Six subscribers: lost in months 1, 2, 2 and 4; active after 2 and 3 renewals.
    // t=1: 6 at risk, 1 lost → 5/6; t=2: 5 at risk, 2 lost (1 censored after) → 0.5;
    // t=3: 2 at risk, none lost → 0.5; t=4: 1 at risk, 1 lost → 0.
    let w = Workdir::new();
    w.write(
        "subs.csv",
        "customer_id,tenure,churned\na,1,1\nb,2,1\nc,2,1\nd,4,1\ne,2,0\nf,3,0\n",
    );
    let curve = records(&w.stdout(&["retention", "subs.csv", "--show", "curve", "--horizon", "0"]));
    let col = |c: &str| curve.iter().map(|r| r[c].clone()).collect::<Vec<_>>();
    assert_eq!(col("at_risk"), ["6", "5", "2", "1"]);
    assert_eq!(col("churned"), ["1", "2", "0", "1"]);
    assert_eq!(col("censored"), ["0", "1", "1", "0"]);
    assert_eq!(col("survival"), ["0.8333", "0.5", "0.5", "0"]);
    let summary = records(&w.stdout(&["retention", "subs.csv"]));
    assert_eq!(summary[0]["median_tenure_months"], "2");
    assert_eq!(summary[0]["churn_rate"], "0.6667");
}

#[test]
fn dated_rows_chain_into_subscriptions_and_count_periods_from_their_dates() {
    let w = Workdir::new();
    // a: an annual contract renewed the day after it ends, still running → one subscription
    //    from 2023-01-01, 23 renewals of a month observed by the last day 2024-12-31.
    // b: lost in its third month (started 01-15, ended 03-20); back in June as a new one.
    // c: ended on its first renewal day → lost in month 1.
    w.write(
        "subs.csv",
        "customer_id,start_date,end_date,mrr\n\
         a,2023-01-01,2023-12-31,100\n\
         a,2024-01-01,,120\n\
         b,2024-01-15,2024-03-20,50\n\
         b,2024-06-01,,50\n\
         c,2024-05-10,2024-06-10,10\n",
    );
    let out = w
        .cmd(&[
            "retention",
            "subs.csv",
            "--show",
            "subscribers",
            "--as-of",
            "2025-01-01",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 rows renew an earlier subscription"),
        "{stderr}"
    );
    let rows = records(&String::from_utf8(out.stdout).unwrap());
    let of = |id: &str| rows.iter().find(|r| r["customer_id"] == id).unwrap();
    assert_eq!(rows.len(), 2, "active subscriptions only: {rows:?}");
    assert_eq!(of("a")["tenure_months"], "23");
    assert_eq!(of("a")["start_date"], "2023-01-01");
    assert_eq!(of("a")["mrr"], "120", "the latest row's amount");
    assert_eq!(of("b")["tenure_months"], "6");
    // Likeliest to cancel first: the younger subscription under a retention rising with tenure.
    assert_eq!(rows[0]["customer_id"], "b");
    let curve = records(&w.stdout(&[
        "retention",
        "subs.csv",
        "--show",
        "curve",
        "--as-of",
        "2025-01-01",
        "--horizon",
        "0",
    ]));
    // Lost: c in month 1, b's first in month 3.
    assert_eq!(curve[0]["churned"], "1");
    assert_eq!(curve[2]["churned"], "1");
    assert_eq!(curve[0]["at_risk"], "4");
}

#[test]
fn the_sample_subscriptions_by_plan_rerun_to_the_same_bytes() {
    let w = Workdir::new();
    let file = sample("subscriptions.csv");
    for show in ["summary", "curve", "params", "subscribers", "cohort"] {
        let mut args = vec!["retention", file.as_str(), "--show", show];
        if show != "cohort" {
            args.extend(["--by", "plan"]);
        }
        let a = w.stdout(&args);
        assert_eq!(a, w.stdout(&args), "{show}");
        assert!(a.lines().count() > 3, "{show}: {a}");
    }
    let summary = records(&w.stdout(&["retention", &file, "--by", "plan"]));
    // The generator's plans: basic churns most, the annual enterprise contracts least.
    let rate = |p: &str| {
        number(
            summary.iter().find(|r| r["plan"] == p).unwrap(),
            "churn_rate",
        )
    };
    assert!(rate("basic") > rate("pro") && rate("pro") > rate("enterprise"));
}

#[test]
fn bad_cells_are_named_with_file_row_and_column() {
    let w = Workdir::new();
    w.write(
        "ends.csv",
        "customer_id,start_date,end_date\na,2024-01-01,\nb,2024-03-01,2024-02-01\n",
    );
    let e = w.fails(&["retention", "ends.csv"], 1);
    assert!(
        e.contains("ends.csv: row 3, column \"end_date\"") && e.contains("before"),
        "{e}"
    );
    w.write(
        "tenure.csv",
        "customer_id,tenure,churn\na,3,No\nb,1.5,Yes\n",
    );
    let e = w.fails(&["retention", "tenure.csv"], 1);
    assert!(
        e.contains("tenure.csv: row 3, column \"tenure\"") && e.contains("whole number"),
        "{e}"
    );
    w.write("flag.csv", "customer_id,tenure,churn\na,3,No\nb,2,maybe\n");
    let e = w.fails(&["retention", "flag.csv"], 1);
    assert!(
        e.contains("flag.csv: row 3, column \"churn\"") && e.contains("yes/no"),
        "{e}"
    );
    w.write("none.csv", "customer_id,plan\na,basic\n");
    let e = w.fails(&["retention", "none.csv"], 1);
    assert!(e.contains("start date") && e.contains("tenure"), "{e}");
    w.write("noflag.csv", "customer_id,tenure\na,3\n");
    let e = w.fails(&["retention", "noflag.csv"], 1);
    assert!(e.contains("churned flag"), "{e}");
    let e = w.fails(&["retention", "tenure.csv", "--by", "region"], 2);
    assert!(
        e.contains("region") && e.contains("headers: customer_id, tenure, churn"),
        "{e}"
    );
    let e = w.fails(&["retention", "ends.csv", "--discount", "0"], 2);
    assert!(e.contains("--discount"), "{e}");
}

#[test]
fn check_measures_subscriber_and_mrr_churn_over_the_file_and_a_period() {
    // As of 2024-07-01 (the orders' day after). Active on 2024-05-31: a, b, c, d (e started in
    // June, f ended in April). Ended in June: b (mrr 20) and c (mrr 30) → 2 of 4, MRR 50 of
    // 10 + 20 + 30 + 40 = 100. Over the file: b, c, f cancelled of 6, MRR 20 + 30 + 60 of 210.
    let w = Workdir::new();
    w.write(
        "orders.csv",
        "customer_id,order_date,amount\nx,2024-06-30,10\n",
    );
    w.write(
        "subs.csv",
        "customer_id,start_date,end_date,mrr\n\
         a,2024-01-01,,10\nb,2024-02-01,2024-06-10,20\nc,2024-03-01,2024-06-30,30\n\
         d,2024-04-01,2024-07-15,40\ne,2024-06-05,,50\nf,2024-01-01,2024-04-01,60\n",
    );
    w.write(
        "targets.toml",
        "[[target]]\nkpi = \"subscriber_churn_rate\"\nmax = 0.4\n\n\
         [[target]]\nkpi = \"subscriber_churn_rate\"\nmax = 0.4\nperiod = \"last full month\"\n\n\
         [[target]]\nkpi = \"mrr_churn_rate\"\nmax = 0.6\nperiod = \"last full month\"\n",
    );
    let out = w
        .cmd(&[
            "check",
            "targets.toml",
            "--orders",
            "orders.csv",
            "--subscriptions",
            "subs.csv",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = records(&String::from_utf8(out.stdout).unwrap());
    let get = |kpi: &str, period: &str| {
        rows.iter()
            .find(|r| r["kpi"] == kpi && r["period"] == period)
            .unwrap_or_else(|| panic!("{kpi} {period}: {rows:?}"))
    };
    assert_eq!(get("subscriber_churn_rate", "")["value"], "0.5");
    assert_eq!(get("subscriber_churn_rate", "")["status"], "missed");
    let month = get("subscriber_churn_rate", "last full month");
    assert_eq!(
        (month["value"].as_str(), month["status"].as_str()),
        ("0.5", "missed")
    );
    assert_eq!(get("mrr_churn_rate", "last full month")["value"], "0.5");
    // The report has the section's sheets.
    let report = w.stdout(&[
        "report",
        "--orders",
        "orders.csv",
        "--subscriptions",
        "subs.csv",
        "-f",
        "json",
    ]);
    assert!(
        report.contains("\"retention\"") && report.contains("\"cancel_next\""),
        "{report}"
    );
}
