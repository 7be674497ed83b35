//! Property tests: invariants that must hold for any input.

use crm_eval::input::schema::TableKind;
use crm_eval::input::{load, InputOptions};
use crm_eval::metrics::rfm::quantile_scores;
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
        let rank_of_tier = |x: &str| ["A", "B", "C", "L"].iter().position(|t| *t == x).unwrap();
        for (i, v) in values.iter().enumerate() {
            // Exactly the losses are L.
            prop_assert_eq!(t.tier[i] == "L", *v < 0.0);
        }
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
    use std::sync::Arc;

    use crm_eval::day::DAY_MS;
    use crm_eval::ledger::Ledger;
    use crm_eval::metrics::ownership::{
        build, CustomerOrders, Event, EventIssues, EventKind, Interner, NONE,
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
            let as_of = crm_eval::day::Day::new(19_000 + 420);
            // No two spells of a customer overlap in time.
            let mut by_customer: std::collections::BTreeMap<u32, Vec<(i64, i64)>> = Default::default();
            for s in &own.spells {
                let end = s.end_ms.unwrap_or(as_of.start_ms());
                prop_assert!(end >= s.start_ms);
                by_customer.entry(s.customer).or_default().push((s.start_ms, end));
            }
            for spans in by_customer.values_mut() {
                spans.sort();
                for pair in spans.windows(2) {
                    prop_assert!(pair[0].1 <= pair[1].0, "{spans:?}");
                }
            }
            // The purchases as an orders export (one paid order of 10 each), through the ledger.
            let mut customers = Interner::default();
            let names: Vec<String> = (0..6).map(|c| format!("c{c}")).collect();
            for n in &names {
                customers.id(n);
            }
            let df = DataFrame::new_infer_height(vec![
                Column::new("customer_id".into(), purchases.iter().map(|p| names[p.0 as usize].as_str()).collect::<Vec<_>>()),
                Column::new("order_date".into(), purchases.iter().map(|p| 19_000 + p.1).collect::<Vec<_>>())
                    .cast(&DataType::Date).unwrap(),
                Column::new("amount".into(), vec![100_000i64; purchases.len()]),
            ]).unwrap();
            let orders = if purchases.is_empty() {
                CustomerOrders::default()
            } else {
                let ledger = Ledger::build(&df, Some(as_of)).unwrap();
                CustomerOrders::new(Arc::new(ledger), &mut customers, &mut owners)
            };
            prop_assert_eq!(customers.len(), 6);
            let outcomes = conversion::outcomes(&own, &orders, None, window, as_of);
            let keys = Keys { strings: &owners, customer: None };
            let t = conversion::table(&own.spells, &outcomes, &[ConversionGroup::Owner], &keys, false).unwrap();
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
            let t = recovery::table(&episodes, &rec, &[], &owners, None, true).unwrap();
            let (n, m, r) = (u64s(&t, "episodes")[0], u64s(&t, "matured")[0], u64s(&t, "recovered")[0]);
            prop_assert!(r <= m && m <= n);
            prop_assert_eq!(n as usize, own.returns.len());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// `assign` never gives an owner more than their room, never gives a customer to an owner
    /// barred from it, gives each customer at most one owner, and leaves a customer without one
    /// only when every owner allowed to take it is full.
    #[test]
    fn allocation_respects_caps_and_the_cooldown(
        history in proptest::collection::vec((0u32..4, 0u32..3, any::<bool>()), 1..80),
        pool in proptest::collection::vec((0u32..3, proptest::collection::vec(0u32..4, 0..3)), 0..40),
        rooms in proptest::collection::vec(0u64..6, 4),
    ) {
        use crm_eval::metrics::assign::{allocate, Candidate, Case, Rates, Taker};
        let cases: Vec<Case> = history
            .iter()
            .map(|&(owner, segment, converted)| Case { owner, segment, converted, start_day: 0 })
            .collect();
        let rates = Rates::fit(&cases);
        let candidates: Vec<Candidate> = pool
            .iter()
            .enumerate()
            .map(|(i, (segment, barred))| Candidate {
                id: format!("c{i:03}"),
                segment: *segment,
                barred: barred.clone(),
                value: 1.0,
            })
            .collect();
        let takers: Vec<Taker> = rooms
            .iter()
            .enumerate()
            .map(|(o, &room)| Taker { owner: o as u32, name: format!("o{o}"), holding: 0, room })
            .collect();
        let d = allocate(&candidates, &takers, &rates);
        prop_assert_eq!(d.len(), candidates.len());
        let mut given = [0u64; 4];
        for (c, decision) in candidates.iter().zip(&d) {
            match decision.owner {
                Some(o) => {
                    prop_assert!(!c.barred.contains(&o));
                    given[o as usize] += 1;
                }
                None => {
                    // Unallocated: every allowed owner is full.
                    for t in &takers {
                        if !c.barred.contains(&t.owner) {
                            prop_assert!(given[t.owner as usize] == t.room || d.iter().filter(|x| x.owner == Some(t.owner)).count() as u64 == t.room);
                        }
                    }
                }
            }
        }
        for t in &takers {
            prop_assert!(given[t.owner as usize] <= t.room);
        }
        // Deterministic: the same inputs, the same decisions.
        prop_assert_eq!(allocate(&candidates, &takers, &rates), d);
    }
}
