//! `crm-eval funnel`: the worked example of docs/metrics.md ("Funnel") through real exports in
//! the shapes CRMs write them, which must all read to the same figures; stage history long and
//! wide; bad input reported, never a panic.

use std::collections::HashMap;

use crate::common::{records, sample, Workdir};

/// The worked example: day 0 = 2024-01-01, as_of 2024-04-10 (day 100).
const ENGLISH: &str = "\
opportunity_id,account,sales_agent,deal_stage,engage_date,close_date,close_value,product
O1,Acme,A,Closed Won,2024-01-01,2024-01-31,1000,Pro
O2,Beta,A,Closed Won,2024-01-11,2024-02-20,3000,Pro
O3,Acme,A,Closed Lost,2024-01-21,2024-02-10,500,Basic
O4,Gamma,B,Closed Lost,2024-01-06,2024-01-26,,Basic
O5,Delta,B,Proposal,2024-03-01,2024-05-30,2000,Pro
O6,Beta,A,Lead,2024-03-11,,1000,Basic
O7,Eps,B,Disqualified,2024-03-21,2024-03-26,,Basic
";

/// Days in stage: Lead 5, 7, 3, 2 (median 4); Proposal 10, 20, 17 (17); Negotiation 15, 13 (14).
const HISTORY: &str = "\
opportunity_id,stage,entered_at
O1,Lead,2024-01-01 09:00:00
O1,Proposal,2024-01-06 09:00:00
O1,Negotiation,2024-01-16 09:00:00
O1,Closed Won,2024-01-31 09:00:00
O2,Lead,2024-01-11 10:00:00
O2,Proposal,2024-01-18 10:00:00
O2,Negotiation,2024-02-07 10:00:00
O3,Lead,2024-01-21 11:00:00
O3,Proposal,2024-01-24 11:00:00
O5,Lead,2024-03-01 12:00:00
O5,Proposal,2024-03-03 12:00:00
O6,Lead,2024-03-11 12:00:00
";

const STAGES: &str = "Lead,Proposal,Negotiation";

fn summary(w: &Workdir, args: &[&str]) -> HashMap<String, String> {
    let mut all = vec!["funnel"];
    all.extend_from_slice(args);
    all.extend([
        "--as-of",
        "2024-04-10",
        "--show",
        "summary",
        "-q",
        "-f",
        "csv",
    ]);
    let rows = records(&w.stdout(&all));
    rows.into_iter().last().expect("an all row")
}

fn assert_worked_example(s: &HashMap<String, String>, what: &str) {
    for (column, want) in [
        ("opportunities", "7"),
        ("open", "2"),
        ("won", "2"),
        ("lost", "2"),
        ("invalid", "1"),
        ("win_rate", "0.5"),
        ("ci_low", "0.15"),
        ("ci_high", "0.85"),
        ("median_cycle_days", "35"),
        ("cycle_p25_days", "32.5"),
        ("cycle_p75_days", "37.5"),
        ("lost_median_cycle_days", "20"),
        ("won_amount", "4000"),
        ("avg_won_amount", "2000"),
        ("open_amount", "3000"),
        ("weighted_pipeline", "1833.33"),
        ("velocity_per_day", "57.14"),
    ] {
        assert_eq!(s[column], want, "{what}: {column}");
    }
}

#[test]
fn the_worked_example_with_its_stage_history() {
    let w = Workdir::new();
    w.write("opps.csv", ENGLISH);
    w.write("history.csv", HISTORY);
    let s = summary(
        &w,
        &["opps.csv", "--history", "history.csv", "--stages", STAGES],
    );
    assert_worked_example(&s, "english + history");
    // The order can come from the history alone (mean order of first entry).
    let s = summary(&w, &["opps.csv", "--history", "history.csv"]);
    assert_worked_example(&s, "order from the history");

    let stages = records(&w.stdout(&[
        "funnel",
        "opps.csv",
        "--history",
        "history.csv",
        "--as-of",
        "2024-04-10",
        "--show",
        "stages",
        "-q",
        "-f",
        "csv",
    ]));
    let col = |name: &str| stages.iter().map(|r| r[name].as_str()).collect::<Vec<_>>();
    assert_eq!(col("stage"), ["Lead", "Proposal", "Negotiation", "won"]);
    assert_eq!(col("reached"), ["6", "4", "2", "2"]);
    assert_eq!(col("advanced"), ["4", "2", "2", ""]);
    assert_eq!(col("conversion_rate"), ["0.6667", "0.5", "1", ""]);
    assert_eq!(col("open_here"), ["1", "1", "0", "0"]);
    assert_eq!(col("lost_here"), ["1", "1", "0", "0"]);
    assert_eq!(col("median_days_in_stage"), ["4", "17", "14", ""]);
    assert_eq!(col("win_probability"), ["0.5", "0.6667", "1", "1"]);
}

#[test]
fn every_crm_shape_reads_to_the_same_figures() {
    let w = Workdir::new();
    w.write("history.csv", HISTORY);
    // Salesforce: IsWon / IsClosed decide, the stage names are the company's own.
    w.write(
        "salesforce.csv",
        "\
Id,AccountId,OwnerId,StageName,CreatedDate,CloseDate,Amount,IsWon,IsClosed
O1,Acme,A,Negotiation,2024-01-01T08:00:00Z,2024-01-31,1000,true,true
O2,Beta,A,Negotiation,2024-01-11T08:00:00Z,2024-02-20,3000,true,true
O3,Acme,A,Proposal,2024-01-21T08:00:00Z,2024-02-10,500,false,true
O4,Gamma,B,Lead,2024-01-06T08:00:00Z,2024-01-26,,false,true
O5,Delta,B,Proposal,2024-03-01T08:00:00Z,2024-05-30,2000,false,false
O6,Beta,A,Lead,2024-03-11T08:00:00Z,2024-06-30,1000,false,false
O7,Eps,B,Disqualified,2024-03-21T08:00:00Z,2024-03-26,,false,true
",
    );
    // O7 is closed but not won: Salesforce would call it lost; the stage name says disqualified,
    // but the flags decide first. So the Salesforce shape has 3 lost, 0 invalid — a real
    // difference of the export, checked here on its own figures.
    let s = summary(&w, &["salesforce.csv", "--stages", STAGES]);
    assert_eq!((s["lost"].as_str(), s["invalid"].as_str()), ("3", "0"));
    assert_eq!(s["won"], "2");
    // O3 lost at Proposal (its current stage), so the weighting matches the worked example.
    // O7 now reached Lead as a lost deal: P(Lead) = 2/5, P(Proposal) = 2/3.
    assert_eq!(s["weighted_pipeline"], "1733.33");

    // WukongCRM: is_end codes, status_id as the stage, money, deal_date.
    w.write(
        "wukong.csv",
        "\
business_id,customer_id,owner_user_id,status_id,create_time,deal_date,money,is_end
O1,Acme,A,Negotiation,2024-01-01 08:00:00,2024-01-31,1000,1
O2,Beta,A,Negotiation,2024-01-11 08:00:00,2024-02-20,3000,1
O3,Acme,A,Proposal,2024-01-21 08:00:00,2024-02-10,500,2
O4,Gamma,B,Lead,2024-01-06 08:00:00,2024-01-26,,2
O5,Delta,B,Proposal,2024-03-01 08:00:00,,2000,0
O6,Beta,A,Lead,2024-03-11 08:00:00,,1000,0
O7,Eps,B,Lead,2024-03-21 08:00:00,2024-03-26,,3
",
    );
    let s = summary(&w, &["wukong.csv", "--stages", STAGES]);
    // O4 was lost at Lead and O3 at Proposal (their stages say so): as the worked example.
    assert_worked_example(&s, "wukong");

    // Fxiaoke: Chinese headers and stages, GBK, 2024/1/5 dates.
    let cn = ENGLISH
        .replace(
            "opportunity_id,account,sales_agent,deal_stage,engage_date,close_date,close_value,product",
            "商机编号,客户名称,负责人,销售阶段,创建时间,结单日期,商机金额,产品",
        )
        .replace("Closed Won", "赢单")
        .replace("Closed Lost", "输单")
        .replace("Disqualified", "无效")
        .replace("Proposal", "方案报价")
        .replace("Lead", "初次接触")
        .replace('-', "/");
    let (gbk, _, _) = encoding_rs::GBK.encode(&cn);
    w.write("fxiaoke.csv", &*gbk);
    let history_cn = HISTORY
        .replace(
            "opportunity_id,stage,entered_at",
            "商机编号,销售阶段,进入时间",
        )
        .replace("Closed Won", "赢单")
        .replace("Negotiation", "谈判")
        .replace("Proposal", "方案报价")
        .replace("Lead", "初次接触");
    w.write("history_cn.csv", history_cn);
    let s = summary(&w, &["fxiaoke.csv", "--history", "history_cn.csv"]);
    assert_worked_example(&s, "fxiaoke");

    // HubSpot: the stage history as `Date entered` columns of the deals export itself.
    w.write(
        "hubspot.csv",
        "\
Record ID,Associated Company,Deal owner,Deal Stage,Create Date,Close Date,Amount,Date entered \"Lead (Sales Pipeline)\",Date entered \"Proposal (Sales Pipeline)\",Date entered \"Negotiation (Sales Pipeline)\"
O1,Acme,A,Closed Won,2024-01-01 09:00,2024-01-31,1000,2024-01-01 09:00,2024-01-06 09:00,2024-01-16 09:00
O2,Beta,A,Closed Won,2024-01-11 10:00,2024-02-20,3000,2024-01-11 10:00,2024-01-18 10:00,2024-02-07 10:00
O3,Acme,A,Closed Lost,2024-01-21 11:00,2024-02-10,500,2024-01-21 11:00,2024-01-24 11:00,
O4,Gamma,B,Closed Lost,2024-01-06 11:00,2024-01-26,,,,
O5,Delta,B,Proposal,2024-03-01 12:00,2024-05-30,2000,2024-03-01 12:00,2024-03-03 12:00,
O6,Beta,A,Lead,2024-03-11 12:00,,1000,2024-03-11 12:00,,
O7,Eps,B,Disqualified,2024-03-21 12:00,2024-03-26,,,,
",
    );
    let s = summary(&w, &["hubspot.csv"]);
    assert_worked_example(&s, "hubspot wide history");
}

#[test]
fn bad_rows_are_counted_with_their_rows_and_the_rest_is_analysed() {
    let w = Workdir::new();
    w.write(
        "opps.csv",
        "\
opportunity_id,owner,stage,created_at,closed_at,amount
A1,x,Closed Won,2024-02-01,2024-01-15,100
A1,x,Closed Won,2024-02-01,2024-02-15,100
A2,x,Closed Won,2024-02-01,2024-03-01,
A3,y,Proposal,2024-02-05,,50
A4,y,Prospecting,,,70
",
    );
    w.write(
        "history.csv",
        "opportunity_id,stage,entered_at\nA3,Proposal,2024-02-05\nZZ,Proposal,2024-02-06\n",
    );
    let out = w
        .cmd(&[
            "funnel",
            "opps.csv",
            "--history",
            "history.csv",
            "--show",
            "summary",
            "-f",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("opps.csv: 1 rows repeat an earlier opportunity ID"),
        "{err}"
    );
    assert!(err.contains("(rows 3)"), "{err}");
    assert!(
        err.contains("1 opportunities close before they were created"),
        "{err}"
    );
    assert!(
        err.contains("1 won opportunities have no amount (left out of the won amounts) (rows 4)"),
        "{err}"
    );
    assert!(
        err.contains("history.csv: 1 stage changes name an opportunity not in the export"),
        "{err}"
    );
    // A deal not yet engaged has no created date (Maven's Prospecting rows): left out, counted.
    assert!(
        err.contains("opps.csv: 1 opportunities have no created date and are left out (rows 6)"),
        "{err}"
    );
    let s = records(&String::from_utf8(out.stdout).unwrap())
        .pop()
        .unwrap();
    assert_eq!((s["opportunities"].as_str(), s["won"].as_str()), ("3", "2"));
    // A1 closed before it was created: no cycle from it; A2: 29 days.
    assert_eq!(s["median_cycle_days"], "29");
}

#[test]
fn usage_and_data_errors_name_what_is_wrong() {
    let w = Workdir::new();
    w.write("opps.csv", ENGLISH);
    // A stage outside the given order: exit 1, the stages seen listed.
    let err = w.fails(&["funnel", "opps.csv", "--stages", "Lead,Negotiation"], 1);
    assert!(
        err.contains("stage \"Proposal\" is not one of the funnel's stages"),
        "{err}"
    );
    assert!(err.contains("the stages seen are Proposal, Lead"), "{err}");
    // No stage column: exit 1 naming the file and the role.
    w.write("nostage.csv", "opportunity_id,created_at\nO1,2024-01-01\n");
    let err = w.fails(&["funnel", "nostage.csv"], 1);
    assert!(err.contains("nostage.csv: no column for stage"), "{err}");
    // Usage mistakes: exit 2 before any file is read.
    let err = w.fails(&["funnel", "opps.csv", "--by", "team"], 2);
    assert!(err.contains("--by team needs --teams FILE"), "{err}");
    w.fails(&["funnel", "opps.csv", "--stale-days", "0"], 2);
    w.fails(&["funnel", "missing.csv"], 2);
}

#[test]
fn open_deals_with_age_staleness_and_weight() {
    let w = Workdir::new();
    w.write("opps.csv", ENGLISH);
    w.write("history.csv", HISTORY);
    let open = records(&w.stdout(&[
        "funnel",
        "opps.csv",
        "--history",
        "history.csv",
        "--as-of",
        "2024-04-10",
        "--open",
        "--stale-days",
        "30",
        "-q",
        "-f",
        "csv",
    ]));
    let col = |name: &str| open.iter().map(|r| r[name].as_str()).collect::<Vec<_>>();
    assert_eq!(col("opportunity_id"), ["O5", "O6"]);
    assert_eq!(col("stage"), ["Proposal", "Lead"]);
    assert_eq!(col("age_days"), ["40", "30"]);
    assert_eq!(col("days_since_change"), ["38", "30"]);
    assert_eq!(col("stale"), ["true", "false"]);
    assert_eq!(col("weighted_amount"), ["1333.33", "500"]);
    // Without --as-of: the day after the last event of the data, 2024-03-27 (O7's close); O5's
    // expected close date (2024-05-30) is no event.
    let open = records(&w.stdout(&["funnel", "opps.csv", "--open", "-q", "-f", "csv"]));
    assert_eq!(open[0]["opportunity_id"], "O5");
    assert_eq!(open[0]["age_days"], "26");
}

#[test]
fn the_sample_pipeline_in_english_and_in_chinese_agrees() {
    let w = Workdir::new();
    let by_owner = |opps: &str, history: &str| {
        w.stdout(&[
            "funnel",
            &sample(opps),
            "--history",
            &sample(history),
            "--by",
            "owner,team",
            "--teams",
            &sample("teams.csv"),
            "--show",
            "summary",
            "-q",
            "-f",
            "csv",
        ])
    };
    let english = by_owner("opportunities.csv", "stage_history.csv");
    let chinese = by_owner("opportunities_gbk.csv", "stage_history_gbk.csv");
    assert_eq!(english, chinese);
    let rows = records(&english);
    assert_eq!(rows.len(), 11, "10 owners and all");
    // The planted differences: the strongest rep wins more often than the weakest.
    let rate = |owner: &str| -> f64 {
        rows.iter().find(|r| r["owner"] == owner).unwrap()["win_rate"]
            .parse()
            .unwrap()
    };
    assert!(
        rate("张伟") > rate("吴婷") + 0.15,
        "{} vs {}",
        rate("张伟"),
        rate("吴婷")
    );
}

/// A Salesforce org's export as it comes (tests/data/README.md): the two files carry dates in two
/// formats (`--date-format TABLE=…` for one of them), and the stage history, in which 3 of 36
/// deals move, cannot order the funnel: the built-in order is used and said, so the history no
/// longer changes the weighted pipeline (1,983,142.86 with the alphabetical order it gave).
#[test]
fn a_salesforce_org_export_reads_as_it_comes() {
    let w = Workdir::new();
    let opportunities = crate::common::data("sfdc_earthfink_opportunity.csv");
    let history = crate::common::data("sfdc_earthfink_opportunity_history.csv");
    let e = w.fails(&["funnel", &opportunities], 1);
    // 23 is no month: the one format that reads the value is suggested.
    assert!(
        e.contains("--date-format '%m/%d/%y' (month first)") && !e.contains("%d/%m/%y"),
        "{e}"
    );
    let summary = |extra: &[&str]| {
        let mut args = vec![
            "funnel",
            opportunities.as_str(),
            "--date-format",
            "%m/%d/%y",
            "--show",
            "summary",
            "-f",
            "csv",
        ];
        args.extend_from_slice(extra);
        let out = w.cmd(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            records(&String::from_utf8(out.stdout).unwrap()),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (plain, _) = summary(&[]);
    let (with_history, notes) = summary(&[
        "--stage-history",
        &history,
        "--date-format",
        "history=%m/%d/%y %I:%M %p",
    ]);
    assert_eq!(plain[0]["weighted_pipeline"], "2075000");
    assert_eq!(
        with_history[0]["weighted_pipeline"],
        plain[0]["weighted_pipeline"]
    );
    assert!(notes.contains("the history cannot order them"), "{notes}");
    assert_eq!(plain[0]["win_rate"], "0.6");
}

#[test]
fn row_numbers_in_notes_count_the_rows_left_out_without_an_id() {
    // The second data row (file row 3) has no ID and is left out; the bad outcome is on file
    // row 4, and the note must say 4, not 3.
    let w = Workdir::new();
    w.write(
        "opps.csv",
        "opportunity_id,stage,created_at,outcome\n\
         o1,Prospecting,2024-01-01,0\n\
         ,Prospecting,2024-01-02,0\n\
         o2,Prospecting,2024-01-03,bogus\n",
    );
    let out = w.cmd(&["funnel", "opps.csv"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 outcome cells are not one of") && stderr.contains("(rows 4)"),
        "{stderr}"
    );
}
