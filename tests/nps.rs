//! `crm-eval nps`: NPS and CSAT worked out by hand, intervals, out-of-range scores reported.

use crate::common::{records, sample, Workdir};

/// NPS answers 10, 9 (promoters), 8, 7 (passives), 6, 0 (detractors) → NPS 0, with p = d = 1/3:
/// v = 2/3, half-width 1.96 × √(2/3 / 6) = 0.6533 → [−65.33, 65.33].
/// CSAT answers 5, 4 (satisfied), 3, 1 → 50 %, Wilson 95 % interval [15.00, 85.00].
/// Out of range: NPS 11, CSAT 0, NPS 7.5, and a survey named "poll".
const SURVEYS: &str = "\
customer_id,response_date,survey,score,owner
A,2024-01-03,nps,10,Li
B,2024-01-04,nps,9,Li
C,2024-01-05,nps,8,Wang
D,2024-02-01,nps,7,Wang
E,2024-02-02,nps,6,Wang
F,2024-02-03,nps,0,Li
A,2024-01-03,csat,5,Li
B,2024-01-04,csat,4,Li
C,2024-02-05,csat,3,Wang
D,2024-02-06,csat,1,Wang
G,2024-02-07,nps,11,Li
H,2024-02-08,csat,0,Li
I,2024-02-09,nps,7.5,Li
J,2024-02-10,poll,3,Li
";

fn close(a: &str, b: f64) -> bool {
    (a.parse::<f64>().unwrap() - b).abs() < 0.01
}

#[test]
fn overall_scores_and_intervals_by_hand() {
    let w = Workdir::new();
    w.write("surveys.csv", SURVEYS);
    let out = w.cmd(&["nps", "surveys.csv"]).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("4 of 14 responses left out"), "{stderr}");
    assert!(
        stderr.contains("row 12: nps score 11 is outside 0–10"),
        "{stderr}"
    );
    let rows = records(&String::from_utf8(out.stdout).unwrap());
    let nps = rows.iter().find(|r| r["survey"] == "nps").unwrap();
    assert_eq!(
        (
            nps["responses"].as_str(),
            nps["favourable"].as_str(),
            nps["neutral"].as_str(),
            nps["unfavourable"].as_str()
        ),
        ("6", "2", "2", "2")
    );
    assert!(
        close(&nps["score"], 0.0)
            && close(&nps["score_low"], -65.33)
            && close(&nps["score_high"], 65.33),
        "{nps:?}"
    );
    let csat = rows.iter().find(|r| r["survey"] == "csat").unwrap();
    assert_eq!(csat["responses"], "4");
    assert!(
        close(&csat["score"], 50.0)
            && close(&csat["score_low"], 15.0)
            && close(&csat["score_high"], 85.0),
        "{csat:?}"
    );
}

#[test]
fn grouped_by_owner_and_month() {
    let w = Workdir::new();
    w.write("surveys.csv", SURVEYS);
    let rows = records(&w.stdout(&["nps", "surveys.csv", "--by", "owner,month", "-q"]));
    let li_jan = rows
        .iter()
        .find(|r| r["owner"] == "Li" && r["month"] == "2024-01" && r["survey"] == "nps")
        .unwrap();
    // Li in January: 10 and 9, both promoters → NPS 100.
    assert_eq!(
        (li_jan["responses"].as_str(), li_jan["score"].as_str()),
        ("2", "100")
    );
    let total: usize = rows
        .iter()
        .filter(|r| r["survey"] == "nps")
        .map(|r| r["responses"].parse::<usize>().unwrap())
        .sum();
    assert_eq!(total, 6, "every valid NPS answer in exactly one group");
}

#[test]
fn scale_without_a_survey_column_and_missing_group_columns() {
    let w = Workdir::new();
    w.write("csat.csv", "customer_id,score\nA,5\nB,4\nC,2\nD,4\n");
    let rows = records(&w.stdout(&["nps", "csat.csv", "--scale", "csat", "-q"]));
    assert_eq!(
        (rows[0]["survey"].as_str(), rows[0]["score"].as_str()),
        ("csat", "75")
    );
    let err = w.fails(&["nps", "csat.csv", "--by", "owner"], 1);
    assert!(err.contains("--by owner needs an owner column"), "{err}");
}

#[test]
fn sample_surveys() {
    let w = Workdir::new();
    let rows = records(&w.stdout(&["nps", &sample("surveys.csv"), "--by", "owner", "-q"]));
    assert_eq!(rows.len(), 20, "10 owners × 2 surveys");
    for r in &rows {
        let (s, l, h): (f64, f64, f64) = (
            r["score"].parse().unwrap(),
            r["score_low"].parse().unwrap(),
            r["score_high"].parse().unwrap(),
        );
        assert!(l <= s && s <= h, "{r:?}");
    }
}
