//! Property tests: invariants that must hold for any input.

use std::collections::BTreeMap;

use crm_eval::input::schema::TableKind;
use crm_eval::input::{load, InputOptions};
use crm_eval::metrics::rfm::{quantile_scores, rfm, RfmOptions};
use polars::prelude::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Scores stay in 1..=bins, equal values share a score, and a higher value never scores lower.
    #[test]
    fn quantile_scores_are_in_range_tie_safe_and_monotone(
        values in proptest::collection::vec(-5i32..20, 1..60),
        bins in 2u32..=10,
    ) {
        let values: Vec<f64> = values.into_iter().map(f64::from).collect();
        let scores = quantile_scores(&values, bins);
        for (i, a) in values.iter().enumerate() {
            prop_assert!((1..=bins).contains(&scores[i]));
            for (j, b) in values.iter().enumerate() {
                if a == b { prop_assert_eq!(scores[i], scores[j]); }
                if a < b { prop_assert!(scores[i] <= scores[j]); }
            }
        }
    }
}

/// One generated order row: (customer, order number, day offset, cents, status).
type Row = (u8, u8, u16, i32, u8);

fn frame(rows: &[Row]) -> DataFrame {
    let statuses = ["paid", "paid", "paid", "refunded", "cancelled"];
    let customer: Vec<String> = rows.iter().map(|r| format!("C{}", r.0)).collect();
    let order: Vec<String> = rows.iter().map(|r| format!("O{}-{}", r.0, r.1)).collect();
    let day: Vec<i32> = rows.iter().map(|r| 19_000 + i32::from(r.2)).collect();
    let amount: Vec<f64> = rows.iter().map(|r| f64::from(r.3) / 100.0).collect();
    let status: Vec<&str> = rows
        .iter()
        .map(|r| statuses[usize::from(r.4) % statuses.len()])
        .collect();
    DataFrame::new_infer_height(vec![
        Column::new("customer_id".into(), customer),
        Column::new("order_date".into(), day)
            .cast(&DataType::Date)
            .unwrap(),
        Column::new("amount".into(), amount),
        Column::new("order_id".into(), order),
        Column::new("status".into(), status),
    ])
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Against an independent computation: every customer with a purchase appears exactly once,
    /// with the right frequency, net spend, last purchase and recency, and scores within range.
    #[test]
    fn rfm_matches_an_independent_computation(
        rows in proptest::collection::vec((0u8..12, 0u8..6, 0u16..400, -5_000i32..50_000, 0u8..5), 1..120)
    ) {
        let df = frame(&rows);
        let result = rfm(&df, &RfmOptions::default()).unwrap();
        let statuses = ["paid", "paid", "paid", "refunded", "cancelled"];

        // Independent: net per (customer, order), spend per customer, purchases = orders with net > 0.
        let as_of = rows.iter().map(|r| 19_000 + i32::from(r.2)).max().unwrap() + 1;
        let mut order_net: BTreeMap<(u8, u8), (i64, Option<i32>)> = BTreeMap::new();
        let mut spend: BTreeMap<u8, i64> = BTreeMap::new();
        for &(c, o, d, cents, s) in &rows {
            let status = statuses[usize::from(s) % statuses.len()];
            if status == "cancelled" { continue; }
            let net = if status == "refunded" { -i64::from(cents.abs()) } else { i64::from(cents) };
            *spend.entry(c).or_default() += net;
            let e = order_net.entry((c, o)).or_insert((0, None));
            e.0 += net;
            if net > 0 {
                let day = 19_000 + i32::from(d);
                e.1 = Some(e.1.map_or(day, |x: i32| x.min(day)));
            }
        }
        let mut expected: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new(); // freq, cents, last
        for ((c, _), (net, day)) in &order_net {
            if *net > 0 {
                let e = expected.entry(format!("C{c}")).or_insert((0, spend[c], i64::MIN));
                e.0 += 1;
                e.2 = e.2.max(i64::from(day.unwrap()));
            }
        }

        let out = &result.customers;
        prop_assert_eq!(out.height(), expected.len());
        let ids: Vec<String> = out.column("customer_id").unwrap().str().unwrap().iter().map(|s| s.unwrap().to_string()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        prop_assert_eq!(&sorted, &ids, "sorted by customer_id, no duplicates");
        let freq = out.column("frequency").unwrap().i64().unwrap().clone();
        let money = out.column("monetary").unwrap().f64().unwrap().clone();
        let recency = out.column("recency_days").unwrap().i64().unwrap().clone();
        for (i, id) in ids.iter().enumerate() {
            let (f, cents, last) = expected[id];
            prop_assert_eq!(freq.get(i), Some(f));
            prop_assert!((money.get(i).unwrap() - cents as f64 / 100.0).abs() < 0.005);
            prop_assert_eq!(recency.get(i), Some(i64::from(as_of) - last));
        }
        for name in ["r_score", "f_score", "m_score"] {
            let scores = out.column(name).unwrap().i32().unwrap().clone();
            prop_assert!(scores.iter().all(|s| (1..=5).contains(&s.unwrap())));
        }
        // Customers with only cancelled, unpaid or refunded rows are counted apart, not lost.
        let customers_seen: std::collections::BTreeSet<u8> = rows.iter().map(|r| r.0).collect();
        prop_assert_eq!(result.without_purchase + expected.len(), customers_seen.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever the bytes, loading returns a table or an error; it never panics.
    #[test]
    fn loading_arbitrary_text_never_panics(body in "[a-zA-Z0-9,;\t\"\n\r .:/年月日¥$()万-]{0,200}") {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        std::fs::write(&path, format!("customer_id,order_date,amount\n{body}")).unwrap();
        let _ = load(path.to_str().unwrap(), TableKind::Orders, None, &InputOptions::default());
    }

    #[test]
    fn loading_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        std::fs::write(&path, &bytes).unwrap();
        let _ = load(path.to_str().unwrap(), TableKind::Orders, None, &InputOptions::default());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// ABC: shares of positive value sum to 1, every customer gets exactly one tier, tiers never
    /// go back up the ranking, and equal values share a tier.
    #[test]
    fn abc_tiers_partition_the_customers(
        values in proptest::collection::vec(-50i32..500, 1..80),
        a in 1u32..90,
    ) {
        use crm_eval::metrics::abc::tier_customers;
        let b = a + (100 - a) / 2;
        let ids: Vec<String> = (0..values.len()).map(|i| format!("c{i:03}")).collect();
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let values: Vec<f64> = values.into_iter().map(f64::from).collect();
        let t = tier_customers(&id_refs, &values, f64::from(a) / 100.0, f64::from(b) / 100.0);
        let mut seen = t.order.clone();
        seen.sort_unstable();
        prop_assert_eq!(seen, (0..values.len()).collect::<Vec<_>>());
        if values.iter().any(|v| *v > 0.0) {
            prop_assert!((t.share.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }
        let rank_of_tier = |x: &str| ["A", "B", "C"].iter().position(|t| *t == x).unwrap();
        for pair in t.order.windows(2) {
            prop_assert!(rank_of_tier(t.tier[pair[0]]) <= rank_of_tier(t.tier[pair[1]]));
            if values[pair[0]] == values[pair[1]] {
                prop_assert_eq!(t.tier[pair[0]], t.tier[pair[1]]);
            }
        }
        // The highest-valued customer is A whenever it is worth anything.
        if values[t.order[0]] > 0.0 {
            prop_assert_eq!(t.tier[t.order[0]], "A");
        }
    }
}

mod ownership_properties {
    use crm_eval::metrics::conversion::{self, ConversionGroup, Keys};
    use crm_eval::metrics::ownership::{
        build, CustomerOrders, Event, EventIssues, EventKind, Interner, DAY_MS, NONE,
    };
    use crm_eval::metrics::recovery;
    use polars::prelude::*;
    use proptest::prelude::*;

    const KINDS: [EventKind; 5] = [
        EventKind::Assign,
        EventKind::Claim,
        EventKind::Transfer,
        EventKind::Recycle,
        EventKind::Release,
    ];

    fn u64s(df: &DataFrame, name: &str) -> Vec<u64> {
        df.column(name)
            .unwrap()
            .u64()
            .unwrap()
            .into_no_null_iter()
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(150))]

        /// Any event log: a customer's spells never overlap (one owner at a time), every spell has
        /// one owner, and per group converted ≤ matured ≤ spells with rates in [0, 1]; the same for
        /// recovery episodes.
        #[test]
        fn spells_and_rates_are_consistent(
            raw in proptest::collection::vec((0u32..6, 0i64..400, 0usize..5, 0u32..4), 0..80),
            purchases in proptest::collection::vec((0u32..6, 0i32..420), 0..40),
            window in 1i32..120,
        ) {
            let mut owners = Interner::default();
            let owner_ids: Vec<u32> = ["ann", "bob", "cat"].iter().map(|o| owners.id(o)).collect();
            let events: Vec<Event> = raw.iter().enumerate().map(|(i, &(c, day, k, o))| Event {
                customer: c,
                time_ms: 19_000 * DAY_MS + day * DAY_MS + (i as i64) * 1000,
                kind: KINDS[k],
                owner: if o == 3 { NONE } else { owner_ids[o as usize] },
                reason: NONE,
                pool: NONE,
                row: i as u32 + 2,
            }).collect();
            let own = build(events, EventIssues::default());
            let as_of = 19_000 + 420;
            // No two spells of a customer overlap in time.
            let mut by_customer: std::collections::BTreeMap<u32, Vec<(i64, i64)>> = Default::default();
            for s in &own.spells {
                let end = s.end_ms.unwrap_or(i64::from(as_of) * DAY_MS);
                prop_assert!(end >= s.start_ms);
                by_customer.entry(s.customer).or_default().push((s.start_ms, end));
            }
            for spans in by_customer.values_mut() {
                spans.sort();
                for pair in spans.windows(2) {
                    prop_assert!(pair[0].1 <= pair[1].0, "{spans:?}");
                }
            }
            let mut orders = CustomerOrders {
                purchases: vec![Vec::new(); 6],
                rows: vec![Vec::new(); 6],
                purchase_owner: vec![Vec::new(); 6],
            };
            for &(c, d) in &purchases {
                orders.purchases[c as usize].push(19_000 + d);
                orders.rows[c as usize].push((19_000 + d, 10.0));
                orders.purchase_owner[c as usize].push(NONE);
            }
            for c in 0..6 {
                orders.purchases[c].sort_unstable();
                orders.rows[c].sort_by_key(|r| r.0);
            }
            let outcomes = conversion::outcomes(&own, &orders, None, window, as_of);
            let keys = Keys { strings: &owners, source: None };
            let t = conversion::table(&own, &outcomes, &[ConversionGroup::Owner], &keys, false).unwrap();
            let (spells, matured, converted) = (u64s(&t, "spells"), u64s(&t, "matured"), u64s(&t, "converted"));
            for i in 0..t.height() {
                prop_assert!(converted[i] <= matured[i] && matured[i] <= spells[i]);
            }
            prop_assert_eq!(*spells.last().unwrap() as usize, own.spells.len());
            for name in ["conversion_rate", "ci_low", "ci_high"] {
                for v in t.column(name).unwrap().f64().unwrap().iter().flatten() {
                    prop_assert!((0.0..=1.0).contains(&v), "{name} {v}");
                }
            }
            let episodes = recovery::from_events(&own, as_of);
            let rec = recovery::outcomes(&episodes, &orders, window, as_of);
            let t = recovery::table(&episodes, &rec, &[], &owners, true).unwrap();
            let (n, m, r) = (u64s(&t, "episodes")[0], u64s(&t, "matured")[0], u64s(&t, "recovered")[0]);
            prop_assert!(r <= m && m <= n);
            prop_assert_eq!(n as usize, own.returns.len());
        }
    }
}
