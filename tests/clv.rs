//! `crm-eval clv`: the CDNOW reference estimates, the summary convention, holdout validation,
//! refunds and zero-amount orders, the historical formulas, and errors.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::common::{data, parse_csv, records, sample, Workdir};

fn cdnow() -> String {
    data("cdnow_sample.csv")
}

/// `--params` as (model, parameter) → estimate.
fn params(w: &Workdir, extra: &[&str]) -> HashMap<(String, String), f64> {
    let path = cdnow();
    let mut args = vec!["clv", &path, "--as-of", "1997-10-01", "--params", "-q"];
    args.extend_from_slice(extra);
    records(&w.stdout(&args))
        .into_iter()
        .map(|r| {
            (
                (r["model"].clone(), r["parameter"].clone()),
                r["estimate"].parse().expect("estimate"),
            )
        })
        .collect()
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

/// Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to the
/// Pareto/NBD Model", Marketing Science 24(2), section 5: the CDNOW sample, 39-week calibration,
/// weekly time: r 0.243, α 4.414, a 0.793, b 2.426, LL −9582.4. Gamma-Gamma on the 946 repeat
/// buyers: p 6.25, q 3.74, γ 15.44 (Fader, Hardie & Lee 2005, "RFM and CLV: Using Iso-Value Curves
/// for Customer Base Analysis", JMR 42(4); Fader & Hardie 2013, note 025).
#[test]
fn cdnow_bg_nbd_and_gamma_gamma_reproduce_the_published_estimates() {
    let w = Workdir::new();
    let p = params(&w, &[]);
    let get = |m: &str, k: &str| p[&(m.to_string(), k.to_string())];
    assert_eq!(round(get("bg-nbd", "r"), 3), 0.243);
    assert_eq!(round(get("bg-nbd", "alpha"), 3), 4.414);
    assert_eq!(round(get("bg-nbd", "a"), 3), 0.793);
    assert_eq!(round(get("bg-nbd", "b"), 3), 2.426);
    assert_eq!(round(get("bg-nbd", "log_likelihood"), 1), -9582.4);
    assert_eq!(get("bg-nbd", "customers"), 2357.0);
    assert_eq!(round(get("gamma-gamma", "p"), 2), 6.25);
    assert_eq!(round(get("gamma-gamma", "q"), 2), 3.74);
    assert_eq!(round(get("gamma-gamma", "gamma"), 2), 15.44);
    assert_eq!(get("gamma-gamma", "customers"), 946.0);
}

/// Same paper (and Fader & Hardie 2005, note 009): Pareto/NBD on CDNOW, r 0.553, α 10.578,
/// s 0.606, β 11.669.
#[test]
fn cdnow_pareto_nbd_reproduces_the_published_estimates() {
    let w = Workdir::new();
    let p = params(&w, &["--model", "pareto-nbd"]);
    let get = |k: &str| p[&("pareto-nbd".to_string(), k.to_string())];
    assert_eq!(round(get("r"), 3), 0.553);
    assert_eq!(round(get("alpha"), 3), 10.578);
    assert_eq!(round(get("s"), 3), 0.606);
    assert_eq!(round(get("beta"), 3), 11.669);
}

#[test]
fn params_come_with_standard_errors_and_units() {
    let w = Workdir::new();
    let out = w.stdout(&["clv", &cdnow(), "--as-of", "1997-10-01", "--params", "-q"]);
    for r in records(&out) {
        let k = r["parameter"].as_str();
        if k == "log_likelihood" || k == "customers" {
            assert_eq!(r["std_error"], "");
            continue;
        }
        let se: f64 = r["std_error"].parse().expect("a standard error");
        let est: f64 = r["estimate"].parse().unwrap();
        assert!(se > 0.0 && se < est, "{k}: se {se} vs {est}");
        let unit = match k {
            "alpha" => "weeks",
            "gamma" => "money",
            _ => "",
        };
        assert_eq!(r["unit"], unit, "{k}");
    }
}

/// The per-customer summary (x, t_x, T in weeks, mean repeat spend) equals Fader & Hardie's own
/// summary of the same transactions, for all 2,357 customers.
#[test]
fn cdnow_summary_matches_the_published_summary_for_every_customer() {
    let w = Workdir::new();
    let out = w.stdout(&["clv", &cdnow(), "--as-of", "1997-10-01", "-q"]);
    let ours: HashMap<String, HashMap<String, String>> = records(&out)
        .into_iter()
        .map(|r| (r["customer_id"].clone(), r))
        .collect();
    let reference = records(&std::fs::read_to_string(data("cdnow_summary.csv")).unwrap());
    assert_eq!(reference.len(), 2357);
    assert_eq!(ours.len(), 2357);
    for r in reference {
        let o = &ours[&r["ID"]];
        let num = |s: &str| s.parse::<f64>().unwrap();
        assert_eq!(o["frequency"], r["x"], "customer {}", r["ID"]);
        assert!((num(&o["recency_weeks"]) - num(&r["t_x"])).abs() < 0.005 + 1e-9);
        assert!((num(&o["t_weeks"]) - num(&r["T"])).abs() < 0.005 + 1e-9);
        assert!((num(&o["monetary_value"]) - num(&r["zbar"])).abs() < 0.0101);
    }
}

#[test]
fn customers_are_ranked_by_clv_with_sane_values() {
    let w = Workdir::new();
    let out = w.stdout(&["clv", &cdnow(), "--as-of", "1997-10-01", "-q"]);
    let (headers, rows) = parse_csv(&out);
    assert_eq!(
        headers,
        [
            "customer_id",
            "frequency",
            "recency_weeks",
            "t_weeks",
            "monetary_value",
            "p_alive",
            "expected_purchases",
            "expected_avg_spend",
            "clv"
        ]
    );
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let mut last = f64::INFINITY;
    for row in &rows {
        let v = |name: &str| row[col(name)].parse::<f64>().unwrap();
        assert!(v("clv") <= last);
        last = v("clv");
        assert!((0.0..=1.0).contains(&v("p_alive")));
        assert!(v("expected_purchases") >= 0.0 && v("expected_avg_spend") > 0.0);
        if v("frequency") == 0.0 {
            assert_eq!(
                v("p_alive"),
                1.0,
                "BG/NBD: no repeat purchase, P(alive) = 1"
            );
        }
    }
    // Discounting and a margin scale CLV down; a longer horizon raises it.
    let path = cdnow();
    let total = |extra: &[&str]| -> f64 {
        let mut args = vec!["clv", &path, "--as-of", "1997-10-01", "-q"];
        args.extend_from_slice(extra);
        let (h, rows) = parse_csv(&w.stdout(&args));
        let c = h.iter().position(|x| x == "clv").unwrap();
        rows.iter().map(|r| r[c].parse::<f64>().unwrap()).sum()
    };
    let base = total(&[]);
    let half = total(&["--margin", "0.5"]);
    assert!((half - base / 2.0).abs() < 0.01 * rows.len() as f64);
    assert!(total(&["--discount", "0"]) > base);
    assert!(total(&["--horizon", "24"]) > base);
}

/// Fit on weeks 1–39, predict weeks 40–78: the table's counts agree with an independent count
/// of the holdout purchase days, and the overall prediction is within 15 % (the paper's figure 3
/// shows BG/NBD tracking the holdout closely).
#[test]
fn holdout_report_counts_what_happened() {
    let w = Workdir::new();
    let out = w.stdout(&["clv", &cdnow(), "--holdout", "1997-10-01", "-q"]);
    let rows = records(&out);
    let all = rows.last().unwrap();
    assert_eq!(all["calibration_frequency"], "all");
    assert_eq!(all["customers"], "2357");
    let per_bucket: u64 = rows[..rows.len() - 1]
        .iter()
        .map(|r| r["customers"].parse::<u64>().unwrap())
        .sum();
    assert_eq!(per_bucket, 2357);

    // Independent count: distinct (customer, day) pairs from 1997-10-01 on.
    let text = std::fs::read_to_string(cdnow()).unwrap();
    let days: BTreeSet<(String, String)> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1] >= "1997-10-01").then(|| (f[0].to_string(), f[1].to_string()))
        })
        .collect();
    let actual: f64 = all["actual_purchases"].parse().unwrap();
    assert_eq!(actual, days.len() as f64);
    let predicted: f64 = all["predicted_purchases"].parse().unwrap();
    assert!(
        (predicted / actual - 1.0).abs() < 0.15,
        "{predicted} vs {actual}"
    );
    let stderr = w
        .cmd(&["clv", &cdnow(), "--holdout", "1997-10-01"])
        .output()
        .unwrap()
        .stderr;
    let stderr = String::from_utf8(stderr).unwrap();
    assert!(stderr.contains("39.00 weeks"), "{stderr}");
    assert!(stderr.contains("MAE"), "{stderr}");
}

/// Refunds, same-day orders and a free order, worked by hand on top of the CDNOW customers (who
/// make the fit possible).
#[test]
fn refunds_same_day_orders_and_free_orders() {
    let w = Workdir::new();
    let mut csv = String::from("customer_id,order_id,order_date,amount,status\n");
    for (i, line) in std::fs::read_to_string(cdnow())
        .unwrap()
        .lines()
        .skip(1)
        .enumerate()
    {
        let f: Vec<&str> = line.split(',').collect();
        if f[1] < "1997-10-01" {
            csv.push_str(&format!("{},c{i},{},{},paid\n", f[0], f[1], f[3]));
        }
    }
    csv.push_str(
        "X1,a1,1997-02-01,10.00,paid\n\
         X1,a2,1997-03-01,20.00,paid\n\
         X1,a3,1997-03-01,5.00,paid\n\
         X1,a4,1997-05-01,50.00,paid\n\
         X1,a4,1997-05-03,50.00,refunded\n\
         X1,a5,1997-06-01,0.00,paid\n\
         X2,b1,1997-04-01,30.00,paid\n\
         X2,b1,1997-04-02,-30.00,refunded\n",
    );
    w.write("orders.csv", csv);
    let out = w.cmd(&["clv", "orders.csv"]).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let rows = records(&String::from_utf8(out.stdout).unwrap());
    let x1 = rows.iter().find(|r| r["customer_id"] == "X1").unwrap();
    // Purchases: 02-01 (10), 03-01 (20 + 5, one purchase day), 06-01 (free); a4 refunded in full.
    assert_eq!(x1["frequency"], "2");
    // Repeat spend: (25 + 0) / 2.
    assert_eq!(x1["monetary_value"], "12.5");
    // First 1997-02-01, last 06-01: 120 days; T to 1997-09-30 (the last day in the file): 241 days.
    assert_eq!(x1["recency_weeks"], format!("{}", round(120.0 / 7.0, 4)));
    assert_eq!(x1["t_weeks"], format!("{}", round(241.0 / 7.0, 4)));
    assert!(!rows.iter().any(|r| r["customer_id"] == "X2"));
    assert!(
        stderr.contains("2 orders with a negative net amount, or zero after a refund"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 customers have no purchase left"),
        "{stderr}"
    );
    assert!(
        stderr.contains("zero-amount orders (never refunded) count as purchases"),
        "{stderr}"
    );
}

#[test]
fn historical_clv_by_hand() {
    let w = Workdir::new();
    w.write(
        "orders.csv",
        "customer_id,order_date,amount\n\
         A,2022-08-01,100\n\
         A,2023-07-15,200\n\
         A,2024-01-01,300\n\
         B,2023-01-01,50\n\
         C,2024-06-20,80\n",
    );
    let out = w.stdout(&[
        "clv",
        "orders.csv",
        "--model",
        "historical",
        "--margin",
        "0.5",
        "--lifespan",
        "12",
        "--as-of",
        "2024-07-01",
        "--discount",
        "0",
        "-q",
    ]);
    let rows: BTreeMap<String, HashMap<String, String>> = records(&out)
        .into_iter()
        .map(|r| (r["customer_id"].clone(), r))
        .collect();
    let month = 365.25 / 12.0;
    // A: 3 orders, 600, first 2022-08-01, 700 days before as_of.
    let tenure = 700.0 / month;
    let per_month = 3.0 / tenure;
    let a = &rows["A"];
    assert_eq!(a["avg_order_value"], "200");
    assert_eq!(a["tenure_months"], format!("{}", round(tenure, 2)));
    assert_eq!(
        a["historical_clv"],
        format!("{}", round(200.0 * per_month * 0.5 * 12.0, 2))
    );
    // Retention: bought in 2022-07-02 .. 2023-07-01 → A and B; again in the last
    // year: A only. r = 1/2, d = 0: retention_clv = yearly margin × r / (1 + 0 − r) = yearly.
    let yearly = 200.0 * per_month * 12.0 * 0.5;
    assert_eq!(a["retention_clv"], format!("{}", round(yearly, 2)));
    // C's tenure is 11 days: counted as one month.
    assert_eq!(rows["C"]["tenure_months"], "1");
    assert_eq!(
        rows["C"]["historical_clv"],
        format!("{}", round(80.0 * 0.5 * 12.0, 2))
    );
}

#[test]
fn bad_options_and_data_are_clear_errors() {
    let w = Workdir::new();
    let e = w.fails(&["clv", &cdnow(), "--margin", "2"], 2);
    assert!(e.contains("--margin"), "{e}");
    let e = w.fails(&["clv", &cdnow(), "--model", "historical", "--params"], 2);
    assert!(e.contains("fitted model"), "{e}");
    let e = w.fails(&["clv", &cdnow(), "--holdout", "1999-01-01"], 1);
    assert!(e.contains("not before the analysis date"), "{e}");
    let e = w.fails(&["clv", &cdnow(), "--holdout", "1997-13-01"], 2);
    assert!(e.contains("--holdout"), "{e}");
    // One customer, one day: nothing to fit, said plainly.
    w.write(
        "one.csv",
        "customer_id,order_date,amount\nA,2024-01-01,10\n",
    );
    let e = w.fails(&["clv", "one.csv"], 1);
    assert!(e.contains("one.csv") && e.contains("T = 0"), "{e}");
    // Too few repeat buyers for Gamma-Gamma.
    w.write(
        "few.csv",
        "customer_id,order_date,amount\nA,2024-01-01,10\nB,2024-02-01,10\nA,2024-03-01,12\n",
    );
    let e = w.fails(&["clv", "few.csv"], 1);
    assert!(e.contains("few.csv"), "{e}");
}

#[test]
fn sample_data_runs_with_every_model() {
    let w = Workdir::new();
    for model in ["bg-nbd", "pareto-nbd", "historical"] {
        let out = w.stdout(&["clv", &sample("orders.csv"), "--model", model, "-q"]);
        assert!(records(&out).len() > 3000, "{model}");
    }
    let out = w.stdout(&[
        "clv",
        &sample("orders.csv"),
        "--period",
        "month",
        "--group-by-period",
        "-q",
    ]);
    let (headers, _) = parse_csv(&out);
    assert!(headers.contains(&"recency_months".to_string()));
}

/// 30 customers who keep buying every 20 to 39 days from their first purchase to the last weeks
/// of the data: nobody drops out, and every customer buys at much the same rate.
fn no_dropouts() -> String {
    let mut csv = String::from("customer_id,order_date,amount\n");
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    for c in 0..30u32 {
        let gap = 20 + (c * 7) % 20;
        let mut day = (c * 5) % 40;
        while day < 360 {
            let date = start + chrono::Duration::days(i64::from(day));
            csv.push_str(&format!("C{c:02},{date},{}.50\n", 10 + c % 7));
            day += gap;
        }
    }
    csv
}

#[test]
fn fits_that_run_to_a_boundary_are_errors_that_say_what_it_means() {
    let w = Workdir::new();
    w.write("steady.csv", no_dropouts());
    // BG/NBD: the dropout probability runs to 0.
    let e = w.fails(&["clv", "steady.csv"], 1);
    assert!(
        e.contains("steady.csv: bg-nbd fit: a ran to 0")
            && e.contains("no sign of customers dropping out")
            && e.contains("--model historical"),
        "{e}"
    );
    // A penalty does not make a dropout process appear, and is not suggested for it.
    assert!(!e.contains("--penalty"), "{e}");
    // Pareto/NBD: screened with BG/NBD, which finds no dropout (the slow Pareto/NBD fit of a
    // no-dropout region is not run).
    let e = w.fails(&["clv", "steady.csv", "--model", "pareto-nbd"], 1);
    assert!(
        e.contains(
            "pareto-nbd fit: BG/NBD on the same customers runs its dropout probability to 0"
        ) && e.contains("no sign of customers dropping out"),
        "{e}"
    );
    // With a penalty already given, the advice is not the same penalty again.
    let e = w.fails(&["clv", "steady.csv", "--penalty", "0.001"], 1);
    assert!(!e.contains("try --penalty"), "{e}");
    // The historical model has nothing to estimate and runs.
    let out = w.stdout(&["clv", "steady.csv", "--model", "historical", "-q"]);
    assert_eq!(records(&out).len(), 30);
}

#[test]
fn purchase_and_spend_penalties_are_separate() {
    let w = Workdir::new();
    let plain = params(&w, &[]);
    let purchase = params(&w, &["--penalty", "0.01"]);
    let spend = params(&w, &["--spend-penalty", "0.0001"]);
    let key = |m: &str, p: &str| (m.to_string(), p.to_string());
    for p in ["p", "q", "gamma"] {
        assert_eq!(
            plain[&key("gamma-gamma", p)],
            purchase[&key("gamma-gamma", p)],
            "{p}"
        );
    }
    for p in ["r", "alpha", "a", "b"] {
        assert_eq!(plain[&key("bg-nbd", p)], spend[&key("bg-nbd", p)], "{p}");
    }
    assert_ne!(plain[&key("bg-nbd", "r")], purchase[&key("bg-nbd", "r")]);
    assert_ne!(
        plain[&key("gamma-gamma", "p")],
        spend[&key("gamma-gamma", "p")]
    );
    let e = w.fails(&["clv", &cdnow(), "--spend-penalty=-1"], 2);
    assert!(e.contains("--spend-penalty"), "{e}");
}

/// `clv --summary-in`: a per-customer summary made elsewhere fits the same models. crm-eval's
/// own per-customer table read back gives BG/NBD's CDNOW parameters to 6 significant digits
/// (its times are written to 4 decimals, enough for them); Gamma-Gamma's to 4, as the table's
/// monetary values are rounded to cents. Bad rows name the file, row and column.
#[test]
fn a_summary_made_elsewhere_gives_the_same_fit() {
    let w = Workdir::new();
    let params = |args: &[&str]| -> BTreeMap<String, f64> {
        records(&w.stdout(&[&["clv"][..], args, &["--params", "-q"]].concat()))
            .iter()
            .map(|r| {
                (
                    format!("{} {}", r["model"], r["parameter"]),
                    r["estimate"].parse().unwrap(),
                )
            })
            .collect()
    };
    let orders = cdnow();
    let direct = params(&[&orders, "--as-of", "1998-07-01"]);
    w.stdout(&[
        "clv",
        &orders,
        "--as-of",
        "1998-07-01",
        "-q",
        "-o",
        "summary.csv",
    ]);
    let from_summary = params(&["--summary-in", "summary.csv"]);
    let significant = |a: f64, b: f64, digits: i32| {
        (a - b).abs() <= 0.5 * 10f64.powi(-digits + 1) * a.abs().max(1e-12)
    };
    for name in ["bg-nbd r", "bg-nbd alpha", "bg-nbd a", "bg-nbd b"] {
        assert!(
            significant(direct[name], from_summary[name], 6),
            "{name}: {} vs {}",
            direct[name],
            from_summary[name]
        );
    }
    for name in ["gamma-gamma p", "gamma-gamma q", "gamma-gamma gamma"] {
        assert!(significant(direct[name], from_summary[name], 4), "{name}");
    }
    // lifetimes' column names read too; a bad row is an error naming it.
    let text = std::fs::read_to_string(w.path("summary.csv")).unwrap();
    let renamed = text.replacen(
        "customer_id,frequency,recency_weeks,t_weeks,monetary_value",
        "customer_id,frequency,recency,T,monetary_value",
        1,
    );
    assert_ne!(renamed, text);
    w.write("lifetimes.csv", renamed);
    assert_eq!(params(&["--summary-in", "lifetimes.csv"]), from_summary);
    w.write(
        "bad.csv",
        "customer_id,frequency,recency,T,monetary\nA,2,25,20,30\n",
    );
    let e = w.fails(&["clv", "--summary-in", "bad.csv"], 1);
    assert!(
        e.contains("bad.csv: row 2: column recency: expected the time of the last repeat purchase in weeks, from 0 to T (20)"),
        "{e}"
    );
    // Values no order file could produce are refused like an order amount or count would be.
    for (row, expected) in [
        (
            "A,2,15,20,1e300",
            "column monetary: expected the mean repeat spend, 0 or more and below a trillion",
        ),
        (
            "A,3e9,15,20,10",
            "column frequency: expected a whole number of repeat purchases, from 0 to a billion",
        ),
        (
            "A,2,15,1e12,10",
            "column T: expected the customer's age in weeks, from 0 to 36525",
        ),
    ] {
        w.write(
            "huge.csv",
            format!("customer_id,frequency,recency,T,monetary\n{row}\n"),
        );
        let e = w.fails(&["clv", "--summary-in", "huge.csv"], 1);
        assert!(e.contains(&format!("huge.csv: row 2: {expected}")), "{e}");
    }
    let e = w.fails(&["clv", "--summary-in", "bad.csv", &orders], 2);
    assert!(e.contains("--summary-in"), "{e}");
}

/// Net spend is one definition: `clv --model historical`'s net_spend is rfm's monetary, the
/// ledger's net, refunds of their own included (it left out unlinked refunds: issue 29).
#[test]
fn historical_net_spend_is_rfm_s_monetary() {
    let w = Workdir::new();
    // B has a refund row of an order not in the export (an unlinked refund).
    w.write(
        "orders.csv",
        "customer_id,order_id,order_date,amount,status\n\
         A,1,2023-01-05,100,paid\nA,2,2023-06-01,50,paid\n\
         B,3,2023-02-01,200,paid\nB,99,2023-03-01,30,refunded\nB,4,2023-09-01,80,paid\n\
         C,5,2023-04-01,60,paid\n",
    );
    let monetary: std::collections::HashMap<String, String> =
        crate::common::records(&w.stdout(&["rfm", "orders.csv", "-q", "-f", "csv"]))
            .into_iter()
            .map(|r| (r["customer_id"].clone(), r["monetary"].clone()))
            .collect();
    let historical = crate::common::records(&w.stdout(&[
        "clv",
        "orders.csv",
        "--model",
        "historical",
        "-q",
        "-f",
        "csv",
    ]));
    assert_eq!(historical.len(), monetary.len());
    for r in &historical {
        assert_eq!(r["net_spend"], monetary[&r["customer_id"]], "{r:?}");
    }
    assert_eq!(monetary["B"], "250");
    // And on sample-data, every customer.
    let orders = crate::common::sample("orders.csv");
    let monetary: std::collections::HashMap<String, f64> =
        crate::common::records(&w.stdout(&["rfm", &orders, "-q", "-f", "csv"]))
            .into_iter()
            .map(|r| (r["customer_id"].clone(), r["monetary"].parse().unwrap()))
            .collect();
    for r in crate::common::records(&w.stdout(&[
        "clv",
        &orders,
        "--model",
        "historical",
        "-q",
        "-f",
        "csv",
    ])) {
        let net: f64 = r["net_spend"].parse().unwrap();
        assert!((net - monetary[&r["customer_id"]]).abs() < 0.005, "{r:?}");
    }
}

/// `--summary-out` writes the models' per-customer summary in lifetimes' and PyMC-Marketing's
/// column names (frequency, recency, T, monetary_value) before fitting: on CDNOW it is Fader &
/// Hardie's published calibration summary (tests/data/cdnow_summary.csv, to its 2 decimals), and
/// `--summary-in` fits the same parameters from it as from the transactions.
#[test]
fn summary_out_is_the_published_summary_and_reads_back() {
    let w = Workdir::new();
    let cdnow = data("cdnow_sample.csv");
    let params = w.stdout(&[
        "clv",
        &cdnow,
        "--as-of",
        "1997-10-01",
        "--params",
        "--summary-out",
        "s.csv",
        "-q",
        "-f",
        "csv",
    ]);
    let ours: HashMap<String, HashMap<String, String>> =
        records(&std::fs::read_to_string(w.path("s.csv")).unwrap())
            .into_iter()
            .map(|r| (r["customer_id"].clone(), r))
            .collect();
    let published = records(&std::fs::read_to_string(data("cdnow_summary.csv")).unwrap());
    assert_eq!(ours.len(), published.len());
    let near =
        |a: &str, b: &str| (a.parse::<f64>().unwrap() - b.parse::<f64>().unwrap()).abs() < 0.0051;
    for p in &published {
        let o = &ours[&p["ID"]];
        assert_eq!(o["frequency"], p["x"], "{p:?}");
        assert!(near(&o["recency"], &p["t_x"]), "{o:?} {p:?}");
        assert!(near(&o["T"], &p["T"]), "{o:?} {p:?}");
        assert!(near(&o["monetary_value"], &p["zbar"]), "{o:?} {p:?}");
    }
    let again = w.stdout(&[
        "clv",
        "--summary-in",
        "s.csv",
        "--params",
        "-q",
        "-f",
        "csv",
    ]);
    assert_eq!(again, params);
    let e = w.fails(&["clv", &cdnow, "--summary-out", "s.json"], 2);
    assert!(e.contains(".csv or .parquet"), "{e}");
}

/// `--intervals`: every customer's interval holds its point value, the total's interval holds
/// the total and is narrower than the sum of the customers' bounds (it comes from the same
/// draws), the parameters get Wald intervals, and reruns give the same bytes.
#[test]
fn intervals_hold_their_point_values_and_totals_come_from_the_same_draws() {
    let w = Workdir::new();
    let orders = crate::common::sample("orders.csv");
    let args = [
        "clv",
        orders.as_str(),
        "--intervals",
        "0.9",
        "-q",
        "-f",
        "csv",
    ];
    let out = w.stdout(&args);
    assert_eq!(out, w.stdout(&args), "same bytes on a rerun");
    let rows = records(&out);
    let num =
        |r: &std::collections::HashMap<String, String>, c: &str| -> f64 { r[c].parse().unwrap() };
    let (mut low_sum, mut high_sum) = (0.0, 0.0);
    for r in &rows {
        for f in ["p_alive", "expected_purchases", "clv"] {
            let (lo, v, hi) = (
                num(r, &format!("{f}_low")),
                num(r, f),
                num(r, &format!("{f}_high")),
            );
            assert!(
                lo <= v + 0.01 && v <= hi + 0.01,
                "{f} of {}: {lo} {v} {hi}",
                r["customer_id"]
            );
        }
        low_sum += num(r, "clv_low");
        high_sum += num(r, "clv_high");
    }
    let mut summary_args = args.to_vec();
    summary_args.push("--summary");
    let total = &records(&w.stdout(&summary_args))[0];
    let (lo, v, hi) = (
        num(total, "clv_low"),
        num(total, "clv"),
        num(total, "clv_high"),
    );
    assert!(lo < v && v < hi, "{lo} {v} {hi}");
    assert!(
        hi - lo < high_sum - low_sum,
        "the total's interval is not the sum of the bounds"
    );
    let mut params_args = args.to_vec();
    params_args.push("--params");
    let params = records(&w.stdout(&params_args));
    let r = params.iter().find(|p| p["parameter"] == "r").unwrap();
    assert!(num(r, "ci_low") < num(r, "estimate") && num(r, "estimate") < num(r, "ci_high"));
    let e = w.fails(&["clv", orders.as_str(), "--intervals", "1.5"], 2);
    assert!(e.contains("--intervals 1.5"), "{e}");
    let e = w.fails(
        &[
            "clv",
            orders.as_str(),
            "--intervals",
            "0.9",
            "--model",
            "historical",
        ],
        2,
    );
    assert!(e.contains("historical"), "{e}");
    // With --holdout: a predictive interval on each row of the holdout table, holding each
    // row's prediction; the whole's interval is narrower than the rows' bounds added up.
    let holdout = [
        "clv",
        orders.as_str(),
        "--holdout",
        "2024-07-01",
        "--intervals",
        "0.9",
        "-q",
        "-f",
        "csv",
    ];
    let out = w.stdout(&holdout);
    assert_eq!(out, w.stdout(&holdout), "same bytes on a rerun");
    let rows = records(&out);
    let (mut low_sum, mut high_sum) = (0.0, 0.0);
    for r in &rows {
        let (lo, v, hi) = (
            num(r, "predicted_low"),
            num(r, "predicted_purchases"),
            num(r, "predicted_high"),
        );
        assert!(
            lo < v && v < hi,
            "{}: {lo} {v} {hi}",
            r["calibration_frequency"]
        );
        if r["calibration_frequency"] != "all" {
            low_sum += lo;
            high_sum += hi;
        }
    }
    let all = rows.last().unwrap();
    assert_eq!(all["calibration_frequency"], "all");
    assert!(num(all, "predicted_high") - num(all, "predicted_low") < high_sum - low_sum);
}

/// `--show tracking|histogram|alive` on CDNOW (39-week calibration), checked against Python
/// lifetimes 0.11.3 with the same parameters: Σ_i P(X(T_i) = k) from
/// `BetaGeoFitter.probability_of_n_purchases_up_to_time` (1407.67, 460.33, 192.46, 101.17, 59.85,
/// 38.12, 25.55) and the cumulative expectation Σ_i `expected_number_of_purchases_up_to_time` at
/// the calibration's last day (2493.92) and the holdout's (4160.54). The tracking's actual counts
/// are the summary's Σ x (2,457) and the holdout table's 1,882.
#[test]
fn diagnostics_match_lifetimes_and_the_holdout_table() {
    let w = Workdir::new();
    let data = cdnow();
    let histogram = records(&w.stdout(&[
        "clv",
        &data,
        "--as-of",
        "1997-10-01",
        "--show",
        "histogram",
        "-q",
        "-f",
        "csv",
    ]));
    let customers: Vec<&str> = histogram.iter().map(|r| r["customers"].as_str()).collect();
    assert_eq!(
        customers,
        ["1411", "439", "214", "100", "62", "38", "29", "64"]
    );
    let lifetimes = [1407.67, 460.33, 192.46, 101.17, 59.85, 38.12, 25.55];
    for (r, want) in histogram.iter().zip(lifetimes) {
        let got: f64 = r["expected"].parse().unwrap();
        assert!(
            (got - want).abs() < 0.1,
            "{}: {got} vs {want}",
            r["repeat_purchases"]
        );
    }
    let expected_total: f64 = histogram
        .iter()
        .map(|r| r["expected"].parse::<f64>().unwrap())
        .sum();
    assert!((expected_total - 2357.0).abs() < 0.1, "{expected_total}");

    let tracking = records(&w.stdout(&[
        "clv",
        &data,
        "--holdout",
        "1997-10-01",
        "--as-of",
        "1998-07-01",
        "--show",
        "tracking",
        "-q",
        "-f",
        "csv",
    ]));
    let last_calibration = tracking
        .iter()
        .rposition(|r| r["phase"] == "calibration")
        .unwrap();
    let first_holdout = &tracking[last_calibration + 1];
    assert_eq!(first_holdout["week_start"], "1997-10-01");
    let at = |i: usize, c: &str| -> f64 { tracking[i][c].parse().unwrap() };
    assert_eq!(at(last_calibration, "cumulative_actual"), 2457.0);
    assert!((at(last_calibration, "cumulative_expected") - 2493.92).abs() < 0.2);
    let last = tracking.len() - 1;
    assert_eq!(
        at(last, "cumulative_actual") - at(last_calibration, "cumulative_actual"),
        1882.0
    );
    assert!((at(last, "cumulative_expected") - 4160.54).abs() < 0.2);
    let weekly: f64 = (0..tracking.len()).map(|i| at(i, "actual")).sum();
    assert_eq!(weekly, at(last, "cumulative_actual"));

    let alive = records(&w.stdout(&[
        "clv",
        &data,
        "--as-of",
        "1997-10-01",
        "--show",
        "alive",
        "-q",
        "-f",
        "csv",
    ]));
    assert_eq!(alive[0]["recency_0_weeks"], "1");
    // More recent buyers are likelier alive: each row rises with recency.
    for row in &alive[1..] {
        let mut cells: Vec<(f64, f64)> = row
            .iter()
            .filter_map(|(k, v)| {
                let r = k.strip_prefix("recency_")?.strip_suffix("_weeks")?;
                Some((r.parse().ok()?, v.parse().ok()?))
            })
            .collect();
        cells.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(cells.windows(2).all(|p| p[0].1 <= p[1].1), "{row:?}");
    }
    let e = w.fails(
        &["clv", &data, "--model", "pareto-nbd", "--show", "histogram"],
        2,
    );
    assert!(e.contains("bg-nbd only"), "{e}");
    let e = w.fails(
        &["clv", &data, "--model", "historical", "--show", "alive"],
        2,
    );
    assert!(e.contains("--show"), "{e}");
}
