//! The worked example of docs/metrics.md, "Funnel", by hand.

use super::*;

/// Stages Lead < Proposal < Negotiation, as_of day 100. Owners A and B.
///
/// | id | created | closed | outcome | furthest | amount | owner |
/// |----|--------:|-------:|---------|----------|-------:|-------|
/// | O1 | 0  | 30 | won     | —           | 1000 | A |
/// | O2 | 10 | 50 | won     | —           | 3000 | A |
/// | O3 | 20 | 40 | lost    | Proposal    | 500  | A |
/// | O4 | 5  | 25 | lost    | Lead        | —    | B |
/// | O5 | 60 | —  | open    | Proposal    | 2000 | B |
/// | O6 | 70 | —  | open    | Lead        | 1000 | A |
/// | O7 | 80 | 85 | invalid | —           | —    | B |
fn example() -> Pipeline {
    let mut names = Interner::default();
    let (a, b) = (names.id("A"), names.id("B"));
    let lead = names.id("Lead");
    let proposal = names.id("Proposal");
    let row = |created: i32,
               closed: Option<i32>,
               outcome: Outcome,
               furthest: Option<u16>,
               stage: u32,
               amount: Option<f64>,
               owner: u32,
               last_change: i32| Opportunity {
        created,
        closed,
        outcome,
        furthest,
        stage,
        amount: amount.and_then(Money::from_f64),
        last_change,
        owner,
        customer: NONE,
        product: NONE,
        source: NONE,
        team: NONE,
        region: NONE,
    };
    Pipeline {
        as_of: Day::new(100),
        stages: vec!["Lead".into(), "Proposal".into(), "Negotiation".into()],
        ids: (1..=7)
            .map(|i| format!("O{i}"))
            .collect::<Vec<_>>()
            .iter()
            .map(|s| s.as_str())
            .collect(),
        opportunities: vec![
            row(
                0,
                Some(30),
                Outcome::Won,
                Some(2),
                NONE,
                Some(1000.0),
                a,
                15,
            ),
            row(
                10,
                Some(50),
                Outcome::Won,
                Some(1),
                NONE,
                Some(3000.0),
                a,
                37,
            ),
            row(
                20,
                Some(40),
                Outcome::Lost,
                Some(1),
                NONE,
                Some(500.0),
                a,
                23,
            ),
            row(5, Some(25), Outcome::Lost, Some(0), NONE, None, b, 5),
            row(
                60,
                None,
                Outcome::Open,
                Some(1),
                proposal,
                Some(2000.0),
                b,
                62,
            ),
            row(70, None, Outcome::Open, Some(0), lead, Some(1000.0), a, 70),
            row(80, Some(85), Outcome::Invalid, None, NONE, None, b, 80),
        ],
        // Days in stage: Lead 5, 7, 3 → median 5; Proposal 10, 20 → 15; Negotiation 15.
        stays: [
            (0, 0, 5),
            (0, 1, 10),
            (0, 2, 15),
            (1, 0, 7),
            (1, 1, 20),
            (2, 0, 3),
        ]
        .into_iter()
        .map(|(o, s, d)| Stay {
            opportunity: o,
            stage: s,
            days: d,
        })
        .collect(),
        has_history: true,
        names,
        customer_groups: None,
    }
}

fn f64s(df: &DataFrame, name: &str) -> Vec<Option<f64>> {
    df.column(name)
        .unwrap()
        .cast(&DataType::Float64)
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .collect()
}

fn last(df: &DataFrame, name: &str) -> Option<f64> {
    *f64s(df, name).last().unwrap()
}

#[test]
fn summary_of_the_worked_example() {
    let p = example();
    let s = summary(&p, &[]).unwrap();
    assert_eq!(s.height(), 1);
    for (name, want) in [
        ("opportunities", 7.0),
        ("open", 2.0),
        ("won", 2.0),
        ("lost", 2.0),
        ("invalid", 1.0),
        // 2 won of 4 closed; Wilson: centre 0.5, half-width 1.96·√(0.0625 + 0.060025)/1.9604.
        ("win_rate", 0.5),
        ("ci_low", 0.15),
        ("ci_high", 0.85),
        // Won cycles 30 and 40 days; lost 20 and 20.
        ("median_cycle_days", 35.0),
        ("cycle_p25_days", 32.5),
        ("cycle_p75_days", 37.5),
        ("lost_median_cycle_days", 20.0),
        ("won_amount", 4000.0),
        ("avg_won_amount", 2000.0),
        ("open_amount", 3000.0),
        // P(win | reached Proposal) = 2 of 3 closed; P(win | Lead) = 2 of 4:
        // 2000 × 2/3 + 1000 × 1/2 = 1833.33.
        ("weighted_pipeline", 1833.33),
        // 2 open × 0.5 × 2000 ÷ 35 days.
        ("velocity_per_day", 57.14),
    ] {
        assert_eq!(last(&s, name), Some(want), "{name}");
    }
}

#[test]
fn groups_come_sorted_then_all() {
    let p = example();
    let s = summary(&p, &[FunnelGroup::Owner]).unwrap();
    let owners: Vec<&str> = s
        .column("owner")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert_eq!(owners, ["A", "B", "all"]);
    // A: O1, O2 won, O3 lost, O6 open: 2 of 3; B: O4 lost, no win.
    assert_eq!(f64s(&s, "win_rate"), [Some(0.6667), Some(0.0), Some(0.5)]);
    assert_eq!(f64s(&s, "won_amount")[1], Some(0.0));
}

#[test]
fn stage_conversion_of_the_worked_example() {
    let p = example();
    let t = stage_table(&p, &[]).unwrap();
    let stages: Vec<&str> = t
        .column("stage")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert_eq!(stages, ["Lead", "Proposal", "Negotiation", "won"]);
    // Reached: Lead by all 6 valid, Proposal by O1, O2, O3, O5, Negotiation by the 2 won.
    assert_eq!(
        f64s(&t, "reached"),
        [Some(6.0), Some(4.0), Some(2.0), Some(2.0)]
    );
    assert_eq!(
        f64s(&t, "advanced"),
        [Some(4.0), Some(2.0), Some(2.0), None]
    );
    assert_eq!(
        f64s(&t, "conversion_rate"),
        [Some(0.6667), Some(0.5), Some(1.0), None]
    );
    assert_eq!(
        f64s(&t, "open_here"),
        [Some(1.0), Some(1.0), Some(0.0), Some(0.0)]
    );
    assert_eq!(
        f64s(&t, "lost_here"),
        [Some(1.0), Some(1.0), Some(0.0), Some(0.0)]
    );
    assert_eq!(
        f64s(&t, "median_days_in_stage"),
        [Some(5.0), Some(15.0), Some(15.0), None]
    );
    assert_eq!(
        f64s(&t, "win_probability"),
        [Some(0.5), Some(0.6667), Some(1.0), Some(1.0)]
    );
}

#[test]
fn without_a_stage_order_the_plain_win_rate_weights_open_deals() {
    let mut p = example();
    p.stages.clear();
    for o in &mut p.opportunities {
        o.furthest = None;
    }
    let s = summary(&p, &[]).unwrap();
    // 3000 open × 0.5.
    assert_eq!(last(&s, "weighted_pipeline"), Some(1500.0));
    let t = stage_table(&p, &[]).unwrap();
    let stages: Vec<&str> = t
        .column("stage")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert_eq!(stages, ["Lead", "Proposal"]);
    assert_eq!(f64s(&t, "reached"), [None, None]);
    assert_eq!(f64s(&t, "open_amount"), [Some(1000.0), Some(2000.0)]);
}

#[test]
fn open_deals_by_weighted_amount_with_staleness() {
    let p = example();
    let t = open_table(&p, 30).unwrap();
    let ids: Vec<&str> = t
        .column("opportunity_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert_eq!(ids, ["O5", "O6"]);
    assert_eq!(f64s(&t, "weighted_amount"), [Some(1333.33), Some(500.0)]);
    assert_eq!(f64s(&t, "days_since_change"), [Some(38.0), Some(30.0)]);
    let stale: Vec<bool> = t
        .column("stale")
        .unwrap()
        .bool()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert_eq!(stale, [true, false], "stale means more than 30 days");
    assert_eq!(f64s(&t, "age_days"), [Some(40.0), Some(30.0)]);
}

#[test]
fn quantiles_interpolate_between_ranks() {
    let v = [1.0, 2.0, 3.0, 4.0];
    assert_eq!(quantile(&v, 0.5), Some(2.5));
    assert_eq!(quantile(&v, 0.25), Some(1.75));
    assert_eq!(quantile(&[7.0], 0.75), Some(7.0));
    assert_eq!(quantile(&[], 0.5), None);
}

#[test]
fn a_range_keeps_the_deals_closed_in_it_and_the_open_ones_with_their_stays_and_groups() {
    let mut p = example();
    // Groups per opportunity: O1 in x and y, the others in x.
    let key = |v: &str| vec![v.to_string()];
    p.customer_groups = Some(GroupKeys {
        names: vec!["tag".into()],
        of: (0..7)
            .map(|i| {
                if i == 0 {
                    vec![key("x"), key("y")]
                } else {
                    vec![key("x")]
                }
            })
            .collect(),
    });
    // Closed from day 30: O1 (won, 30), O2 (won, 50), O3 (lost, 40), O7 (invalid, 85); open at
    // as_of: O5, O6. O4 (lost on day 25) is left out.
    let p = p.counted_from(30);
    let ids: Vec<&str> = p.ids.iter().flatten().collect();
    assert_eq!(ids, ["O1", "O2", "O3", "O5", "O6", "O7"]);
    let w = win_rate(&p).unwrap();
    assert!((w.value - 2.0 / 3.0).abs() < 1e-12);
    // O3's stay (was opportunity 2) is now opportunity 2 still; O1's and O2's keep theirs.
    let stays: Vec<(u32, u16)> = p.stays.iter().map(|s| (s.opportunity, s.stage)).collect();
    assert_eq!(stays, [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (2, 0)]);
    // The groups follow their opportunities: x holds all 6, y only O1; all counts each once.
    let s = summary(&p, &[FunnelGroup::Customer]).unwrap();
    let tags: Vec<&str> = s
        .column("tag")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert_eq!(tags, ["x", "y", "all"]);
    let won: Vec<i64> = s
        .column("won")
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert_eq!(won, [2, 1, 2]);
}
