//! `cohort`: matrices worked out by hand, and sizes that equal the first-purchase counts.

use std::collections::HashMap;

use crate::common::{records, sample, Workdir};

/// Cohorts (as_of 2024-03-02, so March is the last observed month): January = A, B; February = C.
/// A buys in Jan and Feb, B in Jan and Mar, C only in Feb.
const COHORT_ORDERS: &str = "\
customer_id,order_date,amount
A,2024-01-05,10
A,2024-02-10,20
A,2024-02-20,5
B,2024-01-20,30
B,2024-03-01,40
C,2024-02-03,50
";

#[test]
fn cohort_matrices_by_hand() {
    let w = Workdir::new();
    w.write("orders.csv", COHORT_ORDERS);
    let retention = w.stdout(&["cohort", "orders.csv", "-q"]);
    assert_eq!(
        retention,
        "cohort,customers,period_0,period_1,period_2\n2024-01,2,1,0.5,0.5\n2024-02,1,1,0,\n",
        "February's cohort has not been observed for two months: empty, not 0"
    );
    let customers = w.stdout(&["cohort", "orders.csv", "-q", "--metric", "customers"]);
    assert_eq!(
        customers,
        "cohort,customers,period_0,period_1,period_2\n2024-01,2,2,1,1\n2024-02,1,1,0,\n"
    );
    let revenue = w.stdout(&["cohort", "orders.csv", "-q", "--metric", "revenue"]);
    assert_eq!(
        revenue,
        "cohort,customers,period_0,period_1,period_2\n2024-01,2,40,25,40\n2024-02,1,50,0,\n"
    );
    let quarters = w.stdout(&["cohort", "orders.csv", "-q", "--period", "quarter"]);
    assert_eq!(quarters, "cohort,customers,period_0\n2024-Q1,3,1\n");
}

#[test]
fn cohort_sizes_equal_first_purchase_counts() {
    let w = Workdir::new();
    let cohorts = records(&w.stdout(&["cohort", &sample("orders.csv"), "-q"]));
    let rfm = records(&w.stdout(&["rfm", &sample("orders.csv"), "-q"]));
    let mut firsts: HashMap<String, usize> = HashMap::new();
    for r in &rfm {
        *firsts
            .entry(r["first_order_date"][..7].to_string())
            .or_default() += 1;
    }
    for c in &cohorts {
        assert_eq!(
            c["customers"].parse::<usize>().unwrap(),
            firsts[&c["cohort"]],
            "{}",
            c["cohort"]
        );
        assert_eq!(
            c["period_0"], "1",
            "everyone buys in their own cohort period"
        );
    }
    let total: usize = cohorts
        .iter()
        .map(|c| c["customers"].parse::<usize>().unwrap())
        .sum();
    assert_eq!(total, rfm.len());
    // The triangle: the last cohort has only period_0 observed.
    let last = cohorts.last().unwrap();
    assert_eq!(last["period_1"], "");
}
