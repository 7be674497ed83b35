//! The one purchase rule (docs/metrics.md, "Orders and purchases"): every command that lists
//! customers agrees on who has purchases, their first and last purchase and their purchase
//! counts, and each agrees with a slow reference written here from the definitions alone; money
//! is exact, so reruns give the same bytes.

use std::collections::{BTreeMap, BTreeSet};

use crm_eval::ledger::Ledger;
use crm_eval::metrics::abc::{abc, AbcOptions};
use crm_eval::metrics::clv::{purchases, summarise, Grouping, TimeUnit};
use crm_eval::metrics::cohort::{cohorts, CohortMetric};
use crm_eval::metrics::lifecycle::{lifecycle, LifecycleOptions};
use crm_eval::metrics::periods::Period;
use crm_eval::metrics::rating::{rating, RatingRules, DEFAULT_RULES};
use crm_eval::metrics::rfm::{rfm, FrequencyBasis, RfmOptions};
use crm_eval::money::Money;
use polars::prelude::*;
use proptest::prelude::*;

use crate::common::{parse_csv, records, Workdir};

const STATUSES: [Option<&str>; 6] = [
    Some("paid"),
    Some("paid"),
    None,
    Some("refunded"),
    Some("cancelled"),
    Some("unpaid"),
];

/// One generated order row: customer, order number (6 = no order ID), day, amount in
/// ten-thousandths, status.
type Row = (u8, u8, u16, i64, usize);

/// Customer IDs: odd numbers longer than the 12 bytes the ledger keeps inline, so both of its
/// ways of comparing IDs are exercised (the reference sorts the same strings).
fn customer_id(c: u8) -> String {
    if c % 2 == 1 {
        format!("customer-with-a-long-id-{c}")
    } else {
        format!("C{c}")
    }
}

/// Order IDs, long for odd numbers as for customers.
fn order_id(o: u8) -> String {
    if o % 2 == 1 {
        format!("ORDER-2024-0000{o}")
    } else {
        format!("O{o}")
    }
}

fn frame(rows: &[Row]) -> DataFrame {
    DataFrame::new_infer_height(vec![
        Column::new(
            "customer_id".into(),
            rows.iter().map(|r| customer_id(r.0)).collect::<Vec<_>>(),
        ),
        Column::new(
            "order_id".into(),
            rows.iter()
                .map(|r| (r.1 < 6).then(|| order_id(r.1)))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "order_date".into(),
            rows.iter()
                .map(|r| 19_000 + i32::from(r.2))
                .collect::<Vec<_>>(),
        )
        .cast(&DataType::Date)
        .unwrap(),
        Column::new(
            "amount".into(),
            rows.iter().map(|r| r.3).collect::<Vec<_>>(),
        ),
        Column::new(
            "status".into(),
            rows.iter().map(|r| STATUSES[r.4]).collect::<Vec<_>>(),
        ),
    ])
    .unwrap()
}

/// What the definitions say, computed the slow way: per customer with a purchase, the sorted
/// purchase days and the net spend (ten-thousandths); and every customer with any row.
struct Reference {
    purchases: BTreeMap<String, Vec<i32>>,
    spend: BTreeMap<String, i64>,
}

/// An order line after the row rules: day, net, whether it is a refund line.
type Line = (i32, i64, bool);

fn reference(rows: &[Row]) -> Reference {
    let as_of = rows.iter().map(|r| 19_000 + i32::from(r.2)).max().unwrap() + 1;
    // (customer, order key) -> its lines
    let mut orders: BTreeMap<(u8, String), Vec<Line>> = BTreeMap::new();
    let mut spend: BTreeMap<String, i64> = BTreeMap::new();
    for (i, &(c, o, d, amount, s)) in rows.iter().enumerate() {
        let day = 19_000 + i32::from(d);
        let status = STATUSES[s];
        if day >= as_of || matches!(status, Some("cancelled") | Some("unpaid")) {
            continue;
        }
        let refunded = status == Some("refunded");
        let net = if refunded && amount > 0 {
            -amount
        } else {
            amount
        };
        *spend.entry(customer_id(c)).or_default() += net;
        let key = if o < 6 {
            format!("order {o}")
        } else {
            format!("row {i}")
        };
        orders
            .entry((c, key))
            .or_default()
            .push((day, net, refunded || net < 0));
    }
    let mut purchases: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for ((c, _), lines) in &orders {
        let net: i64 = lines.iter().map(|l| l.1).sum();
        let refund = lines.iter().any(|l| l.2);
        let day = if net > 0 {
            lines.iter().filter(|l| l.1 > 0).map(|l| l.0).min()
        } else if net == 0 && !refund {
            lines.iter().map(|l| l.0).min()
        } else {
            None
        };
        if let Some(day) = day {
            purchases.entry(customer_id(*c)).or_default().push(day);
        }
    }
    for days in purchases.values_mut() {
        days.sort_unstable();
    }
    spend.retain(|id, _| purchases.contains_key(id));
    Reference { purchases, spend }
}

fn strs(df: &DataFrame, name: &str) -> Vec<String> {
    df.column(name)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.unwrap_or_default().to_string())
        .collect()
}

fn ints(df: &DataFrame, name: &str) -> Vec<i64> {
    df.column(name)
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or(i64::MIN))
        .collect()
}

fn floats(df: &DataFrame, name: &str) -> Vec<f64> {
    df.column(name)
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect()
}

fn distinct(days: &[i32]) -> i64 {
    days.iter().collect::<BTreeSet<_>>().len() as i64
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Repeated order IDs, partial and full refunds, cancellations, zero amounts, rows without an
    /// order ID and same-day orders: rfm (orders and days), clv, lifecycle, abc, rating and cohort
    /// list the same customers with the same purchases, and all match the reference.
    #[test]
    fn every_command_agrees_with_the_reference(
        rows in proptest::collection::vec(
            (0u8..9, 0u8..7, 0u16..300,
             prop_oneof![Just(0i64), -500_000i64..3_000_000, (0i64..40).prop_map(|c| c * 5_000)],
             0usize..6),
            1..90)
    ) {
        let df = frame(&rows);
        let want = reference(&rows);
        let ledger = Ledger::build(&df, None).unwrap();
        let ids: Vec<String> = want.purchases.keys().cloned().collect();

        // rfm, frequency = purchases, then = purchase days.
        let r = rfm(&ledger, &RfmOptions::default()).unwrap().customers;
        prop_assert_eq!(strs(&r, "customer_id"), ids.clone());
        let firsts: Vec<i64> = want.purchases.values().map(|d| i64::from(d[0])).collect();
        let lasts: Vec<i64> = want.purchases.values().map(|d| i64::from(*d.last().unwrap())).collect();
        let counts: Vec<i64> = want.purchases.values().map(|d| d.len() as i64).collect();
        let days: Vec<i64> = want.purchases.values().map(|d| distinct(d)).collect();
        prop_assert_eq!(ints(&r, "first_order_date"), firsts.clone());
        prop_assert_eq!(ints(&r, "last_order_date"), lasts.clone());
        prop_assert_eq!(ints(&r, "frequency"), counts.clone());
        let spend: Vec<f64> = want.spend.values().map(|&m| Money(m).to_f64_cents()).collect();
        prop_assert_eq!(floats(&r, "monetary"), spend.clone());
        let opts = RfmOptions { frequency: FrequencyBasis::Days, ..RfmOptions::default() };
        let r = rfm(&ledger, &opts).unwrap().customers;
        prop_assert_eq!(ints(&r, "frequency"), days.clone());

        // clv's summary: x = purchase days − 1, first purchase.
        let p = purchases(&ledger);
        let g = Grouping { unit: TimeUnit::Day, by_period: false };
        let (index, c, _) = summarise(&p, g, ledger.as_of.days(), ledger.as_of.days());
        let clv_ids: Vec<String> = index.iter().map(|&i| p.id(i).to_string()).collect();
        prop_assert_eq!(clv_ids, ids.clone());
        prop_assert_eq!(c.x.iter().map(|&x| i64::from(x) + 1).collect::<Vec<_>>(), days.clone());
        prop_assert_eq!(c.first.iter().map(|&d| i64::from(d)).collect::<Vec<_>>(), firsts.clone());
        let recency: Vec<f64> = want.purchases.values().map(|d| f64::from(d[d.len() - 1] - d[0])).collect();
        prop_assert_eq!(c.tx.clone(), recency);

        // lifecycle: the same customers, dates and counts.
        let l = lifecycle(&ledger, None, &LifecycleOptions::default()).unwrap().customers;
        prop_assert_eq!(strs(&l, "customer_id"), ids.clone());
        prop_assert_eq!(ints(&l, "first_order_date"), firsts.clone());
        prop_assert_eq!(ints(&l, "last_order_date"), lasts);
        prop_assert_eq!(ints(&l, "frequency"), counts);

        // abc and rating rank the same customers.
        let a = abc(&ledger, &AbcOptions::default()).unwrap().customers;
        let mut abc_ids = strs(&a, "customer_id");
        abc_ids.sort();
        prop_assert_eq!(abc_ids, ids.clone());
        let rules = RatingRules::parse(DEFAULT_RULES).unwrap();
        let rated = rating(&ledger, None, &rules).unwrap().customers;
        let mut rated_ids = strs(&rated, "customer_id");
        rated_ids.sort();
        prop_assert_eq!(rated_ids, ids.clone());

        // cohorts: one customer per first purchase, in the month of it.
        let m = cohorts(&ledger, Period::Month, CohortMetric::Customers).unwrap().matrix;
        let mut per_cohort: BTreeMap<String, i64> = BTreeMap::new();
        for d in want.purchases.values() {
            *per_cohort.entry(Period::Month.label(Period::Month.index(d[0]))).or_default() += 1;
        }
        let got: BTreeMap<String, i64> = strs(&m, "cohort").into_iter().zip(ints(&m, "customers")).collect();
        prop_assert_eq!(got, per_cohort);
    }
}

/// Line totals with four decimals whose sums end in half a cent, in an order that parallel float
/// sums would round differently from run to run.
fn half_cent_orders() -> String {
    let mut s = String::from("order_id,customer_id,order_date,amount,status,margin\n");
    for i in 0..6_000u32 {
        let customer = i % 40;
        let day = 1 + (i * 7) % 28;
        let month = 1 + (i * 5) % 12;
        // Every seventh line ends in half a cent, so some customers' totals do too.
        let half = if i % 7 == 0 { 50 } else { 0 };
        let amount = format!("{}.{:04}", 1 + (i * 37) % 900, half + (i * 100) % 9_900);
        let status = if i % 17 == 0 { "refunded" } else { "paid" };
        s.push_str(&format!(
            "O{},{},2024-{month:02}-{day:02},{amount},{status},{}.0025\n",
            i / 2,
            customer,
            (i * 13) % 50
        ));
    }
    s
}

#[test]
fn every_value_command_gives_the_same_bytes_twenty_times_on_half_cent_totals() {
    let w = Workdir::new();
    w.write("orders.csv", half_cent_orders());
    let commands: [&[&str]; 7] = [
        &["rfm", "orders.csv"],
        &["rfm", "orders.csv", "--summary"],
        &["abc", "orders.csv", "--by", "margin"],
        &["cohort", "orders.csv", "--metric", "revenue"],
        &["lifecycle", "orders.csv"],
        &["rating", "orders.csv"],
        &["clv", "orders.csv", "--model", "historical"],
    ];
    for args in commands {
        let mut args = args.to_vec();
        args.extend(["-q", "-f", "csv"]);
        let first = w.stdout(&args);
        assert!(first.lines().count() > 1, "{args:?}: {first}");
        for run in 1..20 {
            assert_eq!(w.stdout(&args), first, "{args:?}: run {run} differs");
        }
    }
    // The sums are exact: a customer's monetary is its rows' exact total rounded half away from
    // zero, worked out here in integers.
    let mut total: BTreeMap<String, i64> = BTreeMap::new();
    let (_, rows) = parse_csv(&half_cent_orders());
    for r in &rows {
        let m = Money::from_f64(r[3].parse().unwrap()).unwrap().0;
        *total.entry(r[1].clone()).or_default() += if r[4] == "refunded" { -m } else { m };
    }
    let out = records(&w.stdout(&["rfm", "orders.csv", "-q"]));
    assert_eq!(out.len(), 40);
    let mut half_cents = 0;
    for r in out {
        let exact = total[&r["customer_id"]];
        half_cents += usize::from(exact % 100 == 50);
        let cents = Money(exact).cents();
        assert_eq!(r["monetary"], format!("{}", cents as f64 / 100.0), "{r:?}");
    }
    assert!(half_cents > 0, "the data hits half-cent totals");
}

#[test]
fn no_purchase_at_all_is_a_data_error_with_nothing_written() {
    let w = Workdir::new();
    w.write(
        "orders.csv",
        "customer_id,order_date,amount,status\nA,2024-01-01,5,cancelled\nB,2024-01-02,9,refunded\n",
    );
    for cmd in ["rfm", "abc", "cohort"] {
        let err = w.fails(&[cmd, "orders.csv", "-o", "out.xlsx"], 1);
        assert!(
            err.contains("orders.csv: no purchases before 2024-01-03"),
            "{cmd}: {err}"
        );
        assert!(!w.path("out.xlsx").exists(), "{cmd}");
    }
}

/// CDNOW has zero-amount orders: rfm and clv must agree on every customer.
#[test]
fn rfm_and_clv_agree_on_cdnow() {
    let w = Workdir::new();
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cdnow_sample.csv");
    let data = data.to_str().unwrap();
    let rfm_rows = records(&w.stdout(&["rfm", data, "--frequency", "days", "-q", "-f", "csv"]));
    let clv_rows = records(&w.stdout(&["clv", data, "--period", "day", "-q", "-f", "csv"]));
    assert_eq!(rfm_rows.len(), 2357);
    assert_eq!(clv_rows.len(), rfm_rows.len());
    let clv: BTreeMap<&str, (&str, &str)> = clv_rows
        .iter()
        .map(|r| {
            (
                r["customer_id"].as_str(),
                (r["frequency"].as_str(), r["recency_days"].as_str()),
            )
        })
        .collect();
    for r in &rfm_rows {
        let (x, recency) = clv[r["customer_id"].as_str()];
        let x: i64 = x.parse().unwrap();
        assert_eq!(r["frequency"].parse::<i64>().unwrap(), x + 1, "{r:?}");
        let first = chrono_day(&r["first_order_date"]);
        let last = chrono_day(&r["last_order_date"]);
        assert_eq!(
            f64::from(last - first),
            recency.parse::<f64>().unwrap(),
            "{r:?}"
        );
    }
}

fn chrono_day(s: &str) -> i32 {
    crm_eval::day::Day::parse(s).unwrap().days()
}
