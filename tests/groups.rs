//! `--by COLUMN` on the summaries (issue 14): the groups partition the customers, the `all` rows
//! equal the ungrouped run, customers missing from the customers file are `(unknown)`, and a
//! multi-valued tag counts a customer in each tag.

use std::collections::HashMap;

use crate::common::{records, sample, Workdir};

fn sum_by(rows: &[HashMap<String, String>], key: &str, skip: &str) -> HashMap<String, i64> {
    let mut sums = HashMap::new();
    for r in rows.iter().filter(|r| r[key] != skip) {
        *sums.entry(r["segment"].clone()).or_insert(0) += r["customers"].parse::<i64>().unwrap();
    }
    sums
}

#[test]
fn rfm_summary_groups_partition_the_customers_and_all_is_the_ungrouped_run() {
    let w = Workdir::new();
    let (orders, customers) = (sample("orders.csv"), sample("customers.csv"));
    let grouped = records(&w.stdout(&[
        "rfm",
        &orders,
        "--summary",
        "--by",
        "region",
        "--customers",
        &customers,
        "-q",
    ]));
    let plain = records(&w.stdout(&["rfm", &orders, "--summary", "-q"]));
    let all: Vec<&HashMap<String, String>> =
        grouped.iter().filter(|r| r["region"] == "all").collect();
    assert_eq!(all.len(), plain.len());
    for (a, p) in all.iter().zip(&plain) {
        for (k, v) in p.iter() {
            assert_eq!(&a[k], v, "{k}");
        }
    }
    // Every customer is in exactly one region: the groups add up to the all rows.
    let groups = sum_by(&grouped, "region", "all");
    for p in &plain {
        assert_eq!(
            groups[&p["segment"]],
            p["customers"].parse::<i64>().unwrap(),
            "{}",
            p["segment"]
        );
    }
    // And the same for the lifecycle stages.
    let stages = records(&w.stdout(&[
        "lifecycle",
        &orders,
        "--summary",
        "--by",
        "industry",
        "--customers",
        &customers,
        "-q",
    ]));
    let plain = records(&w.stdout(&[
        "lifecycle",
        &orders,
        "--summary",
        "--customers",
        &customers,
        "-q",
    ]));
    for p in &plain {
        let total: i64 = stages
            .iter()
            .filter(|r| r["stage"] == p["stage"] && r["industry"] != "all")
            .map(|r| r["customers"].parse::<i64>().unwrap())
            .sum();
        assert_eq!(
            total,
            p["customers"].parse::<i64>().unwrap(),
            "{}",
            p["stage"]
        );
    }
}

#[test]
fn unknown_customers_and_multi_valued_tags() {
    let w = Workdir::new();
    w.write(
        "orders.csv",
        "customer_id,order_date,amount\nA,2024-01-01,10\nB,2024-01-02,20\nC,2024-01-03,30\n",
    );
    w.write("customers.csv", "customer_id,标签\nA,vip;new\nB,vip\n");
    let out = w
        .cmd(&[
            "lifecycle",
            "orders.csv",
            "--summary",
            "--by",
            "标签",
            "--customers",
            "customers.csv",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("1 customers are not in customers.csv and are grouped as (unknown)"));
    let rows = records(&String::from_utf8(out.stdout).unwrap());
    let customers = |tag: &str| -> i64 {
        rows.iter()
            .filter(|r| r["标签"] == tag)
            .map(|r| r["customers"].parse::<i64>().unwrap())
            .sum()
    };
    // A in new and vip, B in vip, C unknown; all three once in `all`, after the other groups.
    assert_eq!(
        (
            customers("new"),
            customers("vip"),
            customers("(unknown)"),
            customers("all")
        ),
        (1, 2, 1, 3)
    );
    let order: Vec<&str> = rows.iter().map(|r| r["标签"].as_str()).collect();
    let firsts: Vec<&str> = order.iter().copied().fold(Vec::new(), |mut v, t| {
        if v.last() != Some(&t) {
            v.push(t);
        }
        v
    });
    assert_eq!(firsts, ["new", "vip", "(unknown)", "all"]);
    let e = w.fails(
        &[
            "rfm",
            "orders.csv",
            "--summary",
            "--by",
            "tier",
            "--customers",
            "customers.csv",
        ],
        2,
    );
    assert!(
        e.contains("--by tier: customers.csv has no such column"),
        "{e}"
    );
}

#[test]
fn abc_summary_by_region_keeps_the_overall_tiers() {
    let w = Workdir::new();
    let (orders, customers) = (sample("orders.csv"), sample("customers.csv"));
    let grouped = records(&w.stdout(&[
        "abc",
        &orders,
        "--summary",
        "--by",
        "margin,region",
        "--customers",
        &customers,
        "-q",
    ]));
    let plain = records(&w.stdout(&["abc", &orders, "--summary", "--by", "margin", "-q"]));
    let all: Vec<_> = grouped.iter().filter(|r| r["region"] == "all").collect();
    assert_eq!(all.len(), plain.len());
    for (a, p) in all.iter().zip(&plain) {
        for (k, v) in p.iter() {
            assert_eq!(&a[k], v, "{k}");
        }
        // Each customer keeps its overall tier: the regions' counts add up to the tier's.
        let total: i64 = grouped
            .iter()
            .filter(|r| r["tier"] == p["tier"] && r["region"] != "all")
            .map(|r| r["customers"].parse::<i64>().unwrap())
            .sum();
        assert_eq!(total, p["customers"].parse::<i64>().unwrap());
    }
    let e = w.fails(&["abc", &orders, "--by", "region"], 2);
    assert!(e.contains("needs --summary"), "{e}");
}

#[test]
fn conversion_by_customer_columns_partitions_the_spells() {
    let w = Workdir::new();
    let s = |f: &str| sample(f);
    let base = [
        "conversion".to_string(),
        "--events".into(),
        s("events.csv"),
        "--orders".into(),
        s("orders.csv"),
        "--customers".into(),
        s("customers.csv"),
        "-q".into(),
    ];
    let run = |by: &str| {
        let mut args: Vec<&str> = base.iter().map(String::as_str).collect();
        args.extend(["--by", by]);
        records(&w.stdout(&args))
    };
    let by_region = run("owner,region");
    let by_owner = run("owner");
    let all = by_region.iter().find(|r| r["owner"] == "all").unwrap();
    let plain_all = by_owner.iter().find(|r| r["owner"] == "all").unwrap();
    for k in [
        "spells",
        "matured",
        "converted",
        "conversion_rate",
        "ci_low",
        "ci_high",
    ] {
        assert_eq!(all[k], plain_all[k], "{k}");
    }
    // Each customer has one region: per owner, the regions' spells add up to the owner's.
    for o in by_owner.iter().filter(|r| r["owner"] != "all") {
        let total: i64 = by_region
            .iter()
            .filter(|r| r["owner"] == o["owner"])
            .map(|r| r["spells"].parse::<i64>().unwrap())
            .sum();
        assert_eq!(total, o["spells"].parse::<i64>().unwrap(), "{}", o["owner"]);
    }
    assert!(by_region.iter().all(|r| r.contains_key("region")));
}

#[test]
fn recovery_by_region_partitions_the_returns() {
    let w = Workdir::new();
    let s = |f: &str| sample(f);
    let (events, orders, customers) = (s("events.csv"), s("orders.csv"), s("customers.csv"));
    let grouped = records(&w.stdout(&[
        "recovery",
        "--events",
        &events,
        "--orders",
        &orders,
        "--customers",
        &customers,
        "--by",
        "region",
        "-q",
    ]));
    let plain = records(&w.stdout(&["recovery", "--events", &events, "--orders", &orders, "-q"]));
    let all = grouped.iter().find(|r| r["region"] == "all").unwrap();
    let plain_all = plain.iter().find(|r| r["owner"] == "all").unwrap();
    for k in [
        "episodes",
        "matured",
        "recovered",
        "recovery_rate",
        "loyalty_rate",
    ] {
        assert_eq!(all[k], plain_all[k], "{k}");
    }
    let total: i64 = grouped
        .iter()
        .filter(|r| r["region"] != "all")
        .map(|r| r["episodes"].parse::<i64>().unwrap())
        .sum();
    assert_eq!(total, all["episodes"].parse::<i64>().unwrap());
    let e = w.fails(
        &[
            "recovery", "--events", &events, "--orders", &orders, "--by", "region",
        ],
        2,
    );
    assert!(e.contains("needs --customers"), "{e}");
}

#[test]
fn lifecycle_rates_by_region_add_up_period_by_period() {
    let w = Workdir::new();
    let (orders, customers) = (sample("orders.csv"), sample("customers.csv"));
    let grouped = records(&w.stdout(&[
        "lifecycle",
        &orders,
        "--rates",
        "--by",
        "region",
        "--customers",
        &customers,
        "-q",
    ]));
    let plain = records(&w.stdout(&["lifecycle", &orders, "--rates", "-q"]));
    let all: Vec<_> = grouped.iter().filter(|r| r["region"] == "all").collect();
    assert_eq!(all.len(), plain.len());
    for (a, p) in all.iter().zip(&plain) {
        for (k, v) in p.iter() {
            assert_eq!(&a[k], v, "{k}");
        }
        // Each customer is in one region: the regions' counts add up to the period's.
        for k in ["customers_at_start", "retained", "churned", "won"] {
            let total: i64 = grouped
                .iter()
                .filter(|r| r["period"] == p["period"] && r["region"] != "all")
                .map(|r| r[k].parse::<i64>().unwrap())
                .sum();
            assert_eq!(total, p[k].parse::<i64>().unwrap(), "{} {k}", p["period"]);
        }
    }
}

#[test]
fn cohort_by_region_stacks_matrices_of_the_same_width() {
    let w = Workdir::new();
    let (orders, customers) = (sample("orders.csv"), sample("customers.csv"));
    let grouped = w.stdout(&[
        "cohort",
        &orders,
        "--by",
        "region",
        "--customers",
        &customers,
        "--metric",
        "customers",
        "-q",
    ]);
    let plain = w.stdout(&["cohort", &orders, "--metric", "customers", "-q"]);
    let (g, p) = (records(&grouped), records(&plain));
    // One more column (region) than the ungrouped matrix, the same period columns.
    assert_eq!(
        grouped.lines().next().unwrap(),
        format!("region,{}", plain.lines().next().unwrap())
    );
    for row in &p {
        let all = g
            .iter()
            .find(|r| r["region"] == "all" && r["cohort"] == row["cohort"])
            .unwrap();
        for (k, v) in row {
            assert_eq!(&all[k], v, "{k}");
        }
        // Customers and active counts of a cohort add up over the regions.
        for k in ["customers", "period_0", "period_1"] {
            let total: i64 = g
                .iter()
                .filter(|r| r["cohort"] == row["cohort"] && r["region"] != "all")
                .map(|r| r[k].parse::<i64>().unwrap_or(0))
                .sum();
            assert_eq!(
                total.to_string(),
                row[k].clone().max("0".into()),
                "{} {k}",
                row["cohort"]
            );
        }
    }
}

#[test]
fn nps_by_a_customer_column() {
    let w = Workdir::new();
    let (surveys, customers) = (sample("surveys.csv"), sample("customers.csv"));
    let grouped = records(&w.stdout(&[
        "nps",
        &surveys,
        "--by",
        "region",
        "--customers",
        &customers,
        "-q",
    ]));
    let plain = records(&w.stdout(&["nps", &surveys, "-q"]));
    // Every response's customer has one region: the regions' responses add up per survey.
    for p in &plain {
        let total: i64 = grouped
            .iter()
            .filter(|r| r["survey"] == p["survey"])
            .map(|r| r["responses"].parse::<i64>().unwrap())
            .sum();
        assert_eq!(
            total,
            p["responses"].parse::<i64>().unwrap(),
            "{}",
            p["survey"]
        );
    }
    w.write("anonymous.csv", "score,survey\n9,nps\n");
    let e = w.fails(
        &[
            "nps",
            "anonymous.csv",
            "--by",
            "region",
            "--customers",
            &customers,
        ],
        1,
    );
    assert!(e.contains("needs the responding customer"), "{e}");
}

#[test]
fn clv_summary_by_source_adds_up_to_the_cent() {
    let w = Workdir::new();
    let (orders, customers) = (sample("orders.csv"), sample("customers.csv"));
    let grouped = records(&w.stdout(&[
        "clv",
        &orders,
        "--summary",
        "--by",
        "source",
        "--customers",
        &customers,
        "-q",
    ]));
    let plain = records(&w.stdout(&["clv", &orders, "--summary", "-q"]));
    let all = grouped.iter().find(|r| r["source"] == "all").unwrap();
    for (k, v) in &plain[0] {
        assert_eq!(&all[k], v, "{k}");
    }
    let cents =
        |r: &HashMap<String, String>| (r["clv"].parse::<f64>().unwrap() * 100.0).round() as i64;
    let groups: Vec<_> = grouped.iter().filter(|r| r["source"] != "all").collect();
    assert_eq!(groups.iter().map(|r| cents(r)).sum::<i64>(), cents(all));
    assert_eq!(
        groups
            .iter()
            .map(|r| r["customers"].parse::<i64>().unwrap())
            .sum::<i64>(),
        all["customers"].parse::<i64>().unwrap()
    );
    // The per-customer CLV column adds up to the summary.
    let total: i64 = records(&w.stdout(&["clv", &orders, "-q"]))
        .iter()
        .map(|r| (r["clv"].parse::<f64>().unwrap() * 100.0).round() as i64)
        .sum();
    assert_eq!(total, cents(&plain[0]));
}

/// Sums of integer columns over the rows whose `key` is not `all`, and the `all` row.
fn totals(
    rows: &[HashMap<String, String>],
    key: &str,
    columns: &[&str],
) -> (Vec<i64>, HashMap<String, String>) {
    let int = |r: &HashMap<String, String>, c: &str| r[c].parse::<i64>().unwrap();
    let sums = columns
        .iter()
        .map(|c| {
            rows.iter()
                .filter(|r| r[key] != "all")
                .map(|r| int(r, c))
                .sum()
        })
        .collect();
    let all = rows.iter().find(|r| r[key] == "all").unwrap().clone();
    (sums, all)
}

#[test]
fn pool_health_by_region_partitions_the_spells_and_all_is_the_pool_table() {
    let w = Workdir::new();
    let files = [
        "--events",
        &sample("events.csv"),
        "--orders",
        &sample("orders.csv"),
        "--followups",
        &sample("followups.csv"),
        "--show",
        "health",
        "-q",
    ]
    .map(str::to_string);
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let customers = sample("customers.csv");
    let run = |by: &[&str]| records(&w.stdout(&[&["pool"][..], &files, by].concat()));
    let plain = run(&[]);
    let by_region = run(&["--by", "region", "--customers", &customers]);
    let counts = ["spells", "returns", "in_pool_now", "claims_matured"];
    let (sums, all) = totals(&by_region, "region", &counts);
    let plain_all = plain.iter().find(|r| r["pool"] == "all").unwrap();
    for (c, sum) in counts.iter().zip(&sums) {
        assert_eq!(sum.to_string(), plain_all[*c], "{c}");
    }
    for (k, v) in plain_all.iter().filter(|(k, _)| *k != "pool") {
        assert_eq!(&all[k], v, "{k}");
    }
    assert!(by_region.len() > 3);
    // pool,region: each pool's rows add up to the pool's row of the plain table.
    let both = run(&["--by", "pool,region", "--customers", &customers]);
    for p in plain.iter().filter(|r| r["pool"] != "all") {
        let spells: i64 = both
            .iter()
            .filter(|r| r["pool"] == p["pool"])
            .map(|r| r["spells"].parse::<i64>().unwrap())
            .sum();
        assert_eq!(spells.to_string(), p["spells"], "{}", p["pool"]);
    }
    // Groups belong to the health table; a customers-file column needs the file.
    let e = w.fails(
        &[
            &["pool"][..],
            &files[..6],
            &["--show", "due", "--by", "region"],
        ]
        .concat(),
        2,
    );
    assert!(
        e.contains("--by region: a customers-file column needs --customers FILE"),
        "{e}"
    );
    let e = w.fails(
        &[
            &["pool"][..],
            &files[..6],
            &["--show", "due", "--by", "region", "--customers", &customers],
        ]
        .concat(),
        2,
    );
    assert!(e.contains("--by groups the health table"), "{e}");
}

#[test]
fn funnel_by_a_customer_column_partitions_the_opportunities() {
    let w = Workdir::new();
    let opportunities = sample("opportunities.csv");
    let customers = sample("customers.csv");
    let run = |args: &[&str]| {
        records(&w.stdout(&[&["funnel", opportunities.as_str()][..], args, &["-q"]].concat()))
    };
    let plain = run(&["--show", "summary"]);
    let grouped = run(&[
        "--show",
        "summary",
        "--by",
        "industry",
        "--customers",
        &customers,
    ]);
    let counts = ["opportunities", "open", "won", "lost", "invalid"];
    let (sums, all) = totals(&grouped, "industry", &counts);
    for (c, sum) in counts.iter().zip(&sums) {
        assert_eq!(sum.to_string(), plain[0][*c], "{c}");
    }
    for (k, v) in &plain[0] {
        assert_eq!(&all[k], v, "{k}");
    }
    // owner × industry in the stage table: the all rows are the plain stage table.
    let stages = run(&[
        "--show",
        "stages",
        "--by",
        "owner,industry",
        "--customers",
        &customers,
    ]);
    let plain_stages = run(&["--show", "stages"]);
    let all_rows: Vec<&HashMap<String, String>> = stages
        .iter()
        .filter(|r| r["owner"] == "all" && r["industry"] == "all")
        .collect();
    assert_eq!(all_rows.len(), plain_stages.len());
    for (a, p) in all_rows.iter().zip(&plain_stages) {
        for (k, v) in p {
            assert_eq!(&a[k], v, "{k}");
        }
    }
    // An account missing from the customers file is (unknown), said on stderr; a tag cell
    // counts the deal under each tag.
    w.write(
        "opps.csv",
        "opportunity_id,customer_id,stage,created_at,close_date\n\
         O1,A,Closed Won,2024-01-01,2024-02-01\n\
         O2,B,Closed Lost,2024-01-05,2024-02-03\n\
         O3,Z,Closed Won,2024-01-07,2024-02-05\n",
    );
    w.write("accounts.csv", "customer_id,标签\nA,vip;new\nB,vip\n");
    let out = w
        .cmd(&[
            "funnel",
            "opps.csv",
            "--show",
            "summary",
            "--by",
            "标签",
            "--customers",
            "accounts.csv",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "1 opportunities have no account in accounts.csv and are grouped as (unknown)"
        ),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = records(&String::from_utf8(out.stdout).unwrap());
    let got: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (r["标签"].clone(), r["won"].clone(), r["lost"].clone()))
        .collect();
    let want = [
        ("new", "1", "0"),
        ("vip", "1", "1"),
        ("(unknown)", "1", "0"),
        ("all", "2", "1"),
    ]
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()));
    assert_eq!(got, want);
}
