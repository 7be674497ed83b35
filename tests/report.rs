//! `crm-eval report`: the workbook opens back with one sheet per analysis.

use calamine::{open_workbook, Data, Reader, Xlsx};

use crate::common::{sample, Workdir};

fn full_report_args<'a>(files: &'a [String; 9], out: &'a str) -> Vec<&'a str> {
    vec![
        "report",
        "--orders",
        &files[0],
        "--customers",
        &files[1],
        "--events",
        &files[2],
        "--followups",
        &files[3],
        "--surveys",
        &files[4],
        "--opportunities",
        &files[5],
        "--stage-history",
        &files[6],
        "--teams",
        &files[7],
        "--subscriptions",
        &files[8],
        "-q",
        "-o",
        out,
    ]
}

fn sample_files() -> [String; 9] {
    [
        sample("orders.csv"),
        sample("customers.csv"),
        sample("events.csv"),
        sample("followups.csv"),
        sample("surveys.csv"),
        sample("opportunities.csv"),
        sample("stage_history.csv"),
        sample("teams.csv"),
        sample("subscriptions.csv"),
    ]
}

fn header(range: &calamine::Range<Data>) -> Vec<String> {
    range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect()
}

#[test]
fn workbook_has_a_sheet_per_analysis() {
    let w = Workdir::new();
    let files = sample_files();
    w.stdout(&full_report_args(&files, "report.xlsx"));
    let mut book: Xlsx<_> = open_workbook(w.path("report.xlsx")).unwrap();
    assert_eq!(
        book.sheet_names(),
        [
            "notes",
            "segments",
            "rfm",
            "abc_tiers",
            "abc",
            "clv",
            "clv_params",
            "clv_tracking",
            "clv_holdout",
            "clv_histogram",
            "clv_alive",
            "lifecycle_stages",
            "lifecycle_rates",
            "lifecycle",
            "cohort",
            "churn_risk",
            "churn_by_owner",
            "churn_backtest",
            "churn_calibration",
            "retention",
            "cancel_next",
            "conversion",
            "conversion_cohorts",
            "recovery",
            "recovery_reasons",
            "pool_health",
            "pool_due",
            "pool_owners",
            "pool_reclaims",
            "pool_priority",
            "assign",
            "funnel",
            "funnel_stages",
            "funnel_open",
            "nps",
            "nps_by_owner"
        ]
    );
    let segments = book.worksheet_range("segments").unwrap();
    assert_eq!(
        header(&segments)[..5],
        [
            "segment",
            "meaning",
            "action",
            "customers",
            "customer_share"
        ]
    );
    assert_eq!(
        segments.rows().nth(1).unwrap()[0],
        Data::String("Champions".into())
    );
    // The same numbers as the commands on their own.
    let summary =
        crate::common::records(&w.stdout(&["rfm", &sample("orders.csv"), "--summary", "-q"]));
    assert_eq!(
        segments.rows().nth(1).unwrap()[3],
        Data::Float(summary[0]["customers"].parse().unwrap())
    );
    assert_eq!(
        segments.rows().nth(1).unwrap()[1],
        Data::String(summary[0]["meaning"].clone())
    );
    // The churn risk sheet is `predict churn` with the report's follow-ups, events and surveys.
    let risk = book.worksheet_range("churn_risk").unwrap();
    let alone = crate::common::records(&w.stdout(&[
        "predict",
        "churn",
        &files[0],
        "--events",
        &files[2],
        "--followups",
        &files[3],
        "--surveys",
        &files[4],
        "-q",
    ]));
    assert_eq!(risk.rows().count() - 1, alone.len());
    let columns = header(&risk);
    for (row, want) in risk.rows().skip(1).zip(&alone).take(50) {
        for (cell, name) in row.iter().zip(&columns) {
            if ["customer_id", "owner", "churn_probability", "driver_1"].contains(&name.as_str()) {
                assert_eq!(cell.to_string(), want[name.as_str()], "{name}");
            }
        }
    }
    assert_eq!(columns[..3], ["customer_id", "owner", "churn_probability"]);
    let conversion = book.worksheet_range("conversion").unwrap();
    assert_eq!(header(&conversion)[..2], ["owner", "spells"]);
    let alone = crate::common::records(&w.stdout(&[
        "conversion",
        "--events",
        &files[2],
        "--orders",
        &files[0],
        "--followups",
        &files[3],
        "--as-of",
        "2025-01-01",
        "-q",
    ]));
    let last = conversion.rows().next_back().unwrap();
    assert_eq!(last[0], Data::String("all".into()));
    let all = alone.iter().find(|r| r["owner"] == "all").unwrap();
    assert_eq!(last[1], Data::Float(all["spells"].parse().unwrap()));
    assert_eq!(last[4], Data::Float(all["converted"].parse().unwrap()));
    let clv_params = book.worksheet_range("clv_params").unwrap();
    assert_eq!(
        clv_params.rows().nth(1).unwrap()[..2],
        [Data::String("bg-nbd".into()), Data::String("r".into())]
    );
    // The retention sheet is `retention --by plan` as of the report's date.
    let retention = book.worksheet_range("retention").unwrap();
    let alone = crate::common::records(&w.stdout(&[
        "retention",
        &files[8],
        "--by",
        "plan",
        "--as-of",
        "2025-01-01",
        "-q",
    ]));
    assert_eq!(retention.rows().count() - 1, alone.len());
    for (row, want) in retention.rows().skip(1).zip(&alone) {
        assert_eq!(row[0].to_string(), want["plan"]);
        assert_eq!(row[1], Data::Float(want["subscribers"].parse().unwrap()));
        assert_eq!(row[3], Data::Float(want["churned"].parse().unwrap()));
    }
    // Native charts for the tables that read as pictures, a colour scale on the cohort matrix.
    crate::common::python(
        &w,
        r#"
import re, zipfile
z = zipfile.ZipFile('report.xlsx')
charts = sorted(n for n in z.namelist() if re.fullmatch(r'xl/charts/chart\d+\.xml', n))
assert len(charts) == 8, charts
text = ' '.join(z.read(n).decode() for n in charts)
for title in ['Customers by RFM segment', 'Pareto curve', 'Lead conversion rate by owner',
              'Win rate by owner', 'Subscriber churn by plan']:
    assert title in text, title
names = re.findall(r'<sheet name="([^"]+)"', z.read('xl/workbook.xml').decode())
cohort = z.read('xl/worksheets/sheet%d.xml' % (names.index('cohort') + 1)).decode()
assert '<colorScale>' in cohort
# The conversion chart leaves the `all` row out: 10 owners.
conv = [z.read(n).decode() for n in charts if 'Lead conversion' in z.read(n).decode()][0]
assert '$A$2:$A$11' in conv, conv[:400]
"#,
    );
    // The assign sheet is `assign` on the same files, its first 50 rows.
    let sheet = book.worksheet_range("assign").unwrap();
    let alone = crate::common::records(&w.stdout(&[
        "assign",
        "--events",
        &files[2],
        "--orders",
        &files[0],
        "--customers",
        &files[1],
        "--top",
        "50",
        "-q",
    ]));
    assert_eq!(sheet.rows().count() - 1, alone.len());
    for (row, want) in sheet.rows().skip(1).zip(&alone) {
        assert_eq!(row[0].to_string(), want["customer_id"]);
        assert_eq!(row[7].to_string(), want["reason"]);
    }
    // The notes: as_of, every input file by its flag, nothing left out, and what the run said
    // (the subscriptions chained; no owner with room under the built-in cap of 150).
    let notes = book.worksheet_range("notes").unwrap();
    let items: Vec<(String, String)> = notes
        .rows()
        .skip(1)
        .map(|r| (r[0].to_string(), r[1].to_string()))
        .collect();
    assert_eq!(items[0], ("as_of".to_string(), "2025-01-01".to_string()));
    let inputs: Vec<&str> = items[1..10].iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        inputs,
        [
            "orders",
            "customers",
            "events",
            "followups",
            "surveys",
            "subscriptions",
            "opportunities",
            "stage_history",
            "teams"
        ]
    );
    assert!(!items.iter().any(|(_, v)| v.starts_with("not included")));
    let said: Vec<&str> = items
        .iter()
        .filter(|(k, _)| k == "note")
        .map(|(_, v)| v.as_str())
        .collect();
    assert!(
        said.iter()
            .any(|n| n.contains("rows renew an earlier subscription")),
        "{said:?}"
    );
    assert!(said.iter().any(|n| n.contains("have no room")), "{said:?}");
    assert_eq!(
        book.worksheet_range("lifecycle").unwrap().rows().count(),
        5001
    );
}

#[test]
fn a_missing_input_leaves_its_analyses_out_with_a_note() {
    let w = Workdir::new();
    let out = w
        .cmd(&[
            "report",
            "--orders",
            &sample("orders.csv"),
            "-o",
            "report.xlsx",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("conversion: not included: pass --events FILE"),
        "{stderr}"
    );
    let mut book: Xlsx<_> = open_workbook(w.path("report.xlsx")).unwrap();
    let names = book.sheet_names();
    assert!(names.contains(&"clv".to_string()));
    for absent in ["conversion", "recovery", "pool_health", "nps"] {
        assert!(!names.contains(&absent.to_string()), "{names:?}");
    }
    let notes: Vec<String> = book
        .worksheet_range("notes")
        .unwrap()
        .rows()
        .map(|r| format!("{}={}", r[0], r[1]))
        .collect();
    for line in [
        "recovery=not included: pass --events FILE (the ownership log)",
        "nps=not included: pass --surveys FILE",
    ] {
        assert!(notes.iter().any(|n| n == line), "{notes:?}");
    }
}

#[test]
fn html_page_is_self_contained_with_every_chart() {
    let w = Workdir::new();
    let files = sample_files();
    let mut args = full_report_args(&files, "report.html");
    args.extend(["--charts", "charts"]);
    w.stdout(&args);
    let html = std::fs::read_to_string(w.path("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    // No scripts, stylesheets, images or fonts fetched from anywhere.
    for banned in ["<script", "<link", "<img", "src=", "url(", "@import"] {
        assert!(!html.contains(banned), "{banned} in the page");
    }
    // Each tile shows its change since --window (90) days before: 2,808 customers had bought by
    // 2024-10-03 (`rfm --as-of 2024-10-03` lists them), 3,175 by 2025-01-01; more churn is bad.
    assert_eq!(
        w.stdout(&["rfm", &files[0], "--as-of", "2024-10-03", "-q", "-f", "csv"])
            .lines()
            .count(),
        2809
    );
    assert!(
        html.contains("<div class=\"change good\">▲ 13.1 % since 2024-10-03 (2,808)</div>"),
        "customers tile"
    );
    assert!(html.contains("<div class=\"change bad\">▲ 4.0 pts since 2024-10-03 (24.7%)</div>"));
    assert!(html.matches("<div class=\"change").count() >= 9);
    let charts = [
        "rfm_heatmap",
        "segments",
        "abc_pareto",
        "clv_distribution",
        "clv_tracking",
        "clv_histogram",
        "clv_alive",
        "cohort_retention",
        "churn_distribution",
        "churn_calibration",
        "retention_survival",
        "conversion_by_owner",
        "funnel_stages",
        "win_rate_by_owner",
    ];
    assert_eq!(html.matches("<svg").count(), charts.len());
    for heading in [
        "RFM segments",
        "ABC tiers",
        "Customer lifetime value",
        "Lifecycle and cohorts",
        "Churn risk",
        "Conversion of allocated customers",
        "Recovery from the pool",
        "Pool rules",
        "Sales funnel",
        "NPS and CSAT",
        "Subscriber retention",
        "Who should get the pool",
    ] {
        assert!(html.contains(&format!("<h2>{heading}</h2>")), "{heading}");
    }
    // Every section is reachable from the contents, by a unique anchor.
    let nav = html
        .split("<nav class=\"contents\"")
        .nth(1)
        .and_then(|rest| rest.split("</nav>").next())
        .expect("a contents bar");
    let links: Vec<&str> = nav
        .split("href=\"#")
        .skip(1)
        .map(|l| l.split('"').next().unwrap())
        .collect();
    assert_eq!(links.len(), html.matches("<section id=").count());
    for anchor in &links {
        assert_eq!(
            html.matches(&format!("<section id=\"{anchor}\">")).count(),
            1,
            "{anchor}"
        );
    }
    // p-values are never "0.0000", counts never "2,228.00".
    assert!(!html.contains("p = 0.0000"));
    assert!(
        html.contains("p &lt; 0.0001") || html.contains("p = 0."),
        "a p-value"
    );
    // The headline cards carry the same figures as the commands.
    assert!(html.contains("<div class=\"label\">Lead conversion</div>"));
    let nps = crate::common::records(&w.stdout(&["nps", &files[4], "-q"]));
    let score: f64 = nps[0]["score"].parse().unwrap();
    assert!(
        html.contains(&format!("<div class=\"value\">{score:.1}</div>")),
        "NPS {score}"
    );
    // --charts: each chart as SVG (identical to the inline one) and PNG.
    for name in charts {
        let svg = std::fs::read_to_string(w.path(&format!("charts/{name}.svg"))).unwrap();
        assert!(
            html.contains(svg.trim()),
            "{name}.svg differs from the page"
        );
        let png = std::fs::read(w.path(&format!("charts/{name}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name}.png");
    }
    // Deterministic: the same page again, byte for byte.
    w.stdout(&full_report_args(&files, "again.html"));
    assert_eq!(html, std::fs::read_to_string(w.path("again.html")).unwrap());
}

#[test]
fn any_command_writes_an_html_table() {
    let w = Workdir::new();
    w.stdout(&[
        "rfm",
        &sample("orders.csv"),
        "--summary",
        "-q",
        "-o",
        "s.html",
    ]);
    let html = std::fs::read_to_string(w.path("s.html")).unwrap();
    assert!(html.contains("<th>segment</th>"));
    assert!(html.contains("<td>Champions</td>"));
    assert_eq!(html.matches("<tr>").count(), 12, "header and 11 segments");
}

#[test]
fn a_report_needs_a_format_that_holds_several_tables() {
    let w = Workdir::new();
    let err = w.fails(
        &[
            "report",
            "--orders",
            &sample("orders.csv"),
            "-o",
            "report.csv",
        ],
        2,
    );
    assert!(err.contains("report.xlsx"), "{err}");
    assert!(!w.path("report.csv").exists());
}

#[test]
fn charts_into_a_file_is_a_usage_error_before_any_work() {
    let w = Workdir::new();
    w.write("charts", "not a directory");
    let err = w.fails(
        &[
            "report",
            "--orders",
            &sample("orders.csv"),
            "--charts",
            "charts",
            "-o",
            "report.xlsx",
        ],
        2,
    );
    assert!(err.contains("--charts charts: is a file"), "{err}");
    assert!(!w.path("report.xlsx").exists());
}

/// The CLV section's fit checks are `clv --show` with the report's defaults: tracked over a
/// holdout of the last 26 weeks (sample-data reaches 78 weeks back: as_of 2025-01-01, so from
/// 2024-07-03), the holdout table, the histogram and the P(alive) matrix of the full fit.
#[test]
fn the_clv_fit_checks_match_clv_show() {
    let w = Workdir::new();
    let orders = sample("orders.csv");
    w.stdout(&["report", "--orders", &orders, "-q", "-o", "report.json"]);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("report.json")).unwrap()).unwrap();
    let clv = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["clv", orders.as_str(), "-q", "-f", "json"];
        args.extend_from_slice(extra);
        serde_json::from_str(&w.stdout(&args)).unwrap()
    };
    let holdout = ["--holdout", "2024-07-03"];
    assert_eq!(
        json["clv_tracking"],
        clv(&[&holdout[..], &["--show", "tracking"]].concat())
    );
    assert_eq!(json["clv_holdout"], clv(&holdout));
    assert_eq!(json["clv_histogram"], clv(&["--show", "histogram"]));
    assert_eq!(json["clv_alive"], clv(&["--show", "alive"]));
    let tracking = json["clv_tracking"].as_array().unwrap();
    let first_holdout = tracking.iter().find(|r| r["phase"] == "holdout").unwrap();
    assert_eq!(first_holdout["week_start"], "2024-07-03");
}

#[test]
fn the_funnel_section_matches_the_funnel_command() {
    let w = Workdir::new();
    let (opps, history, teams) = (
        sample("opportunities.csv"),
        sample("stage_history.csv"),
        sample("teams.csv"),
    );
    let orders = sample("orders.csv");
    let report = |out: &str| {
        w.stdout(&[
            "report",
            "--orders",
            &orders,
            "--opportunities",
            &opps,
            "--stage-history",
            &history,
            "--teams",
            &teams,
            "-q",
            "-o",
            out,
        ])
    };
    report("report.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("report.json")).unwrap()).unwrap();
    // The report's as_of comes from the orders (2025-01-01), the same as the pipeline's here.
    let funnel = |show: &str, by: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "funnel",
            opps.as_str(),
            "--history",
            history.as_str(),
            "--teams",
            teams.as_str(),
            "--as-of",
            "2025-01-01",
            "--show",
            show,
            "-q",
            "-f",
            "json",
        ];
        args.extend_from_slice(by);
        serde_json::from_str(&w.stdout(&args)).unwrap()
    };
    assert_eq!(json["funnel"], funnel("summary", &["--by", "owner"]));
    assert_eq!(json["funnel_stages"], funnel("stages", &[]));
    assert_eq!(json["funnel_open"], funnel("open", &[]));

    report("report.html");
    let html = std::fs::read_to_string(w.path("report.html")).unwrap();
    assert!(html.contains("<h2>Sales funnel</h2>"));
    assert!(html.contains("<div class=\"label\">Win rate</div>"));
    let overall = funnel("summary", &[]);
    let rate = overall[0]["win_rate"].as_f64().unwrap();
    assert!(
        html.contains(&format!("<div class=\"value\">{:.1}%</div>", rate * 100.0)),
        "win rate {rate}"
    );
    // Stage funnel and win rate by owner, beside the orders' ten charts.
    assert_eq!(html.matches("<svg").count(), 12);
    // Without the opportunities, the stage history alone is a usage error.
    w.fails(
        &[
            "report",
            "--orders",
            &orders,
            "--stage-history",
            &history,
            "-o",
            "x.html",
        ],
        2,
    );
}

/// `--lang zh` (issue 33): every label of the report — titles, notes, tiles, chart texts,
/// column headers, segment and stage names with their meanings — comes from the one table of
/// translations, none missing (`CRM_EVAL_I18N_MISSES` lists what a run showed in English for want
/// of one), on the page and in the workbook, for the report with every input and for CDNOW
/// alone; the config's `lang` does the same; machine outputs keep their snake_case columns.
#[test]
fn a_report_in_chinese_has_every_label_translated() {
    let w = Workdir::new();
    let files = sample_files();
    for out in ["report.html", "report.xlsx"] {
        let mut args = full_report_args(&files, out);
        args.extend(["--lang", "zh"]);
        let run = w
            .cmd(&args)
            .env("CRM_EVAL_I18N_MISSES", "1")
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let stderr = String::from_utf8_lossy(&run.stderr);
        let misses: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("i18n miss"))
            .collect();
        assert!(
            misses.is_empty(),
            "{out}: no translation for\n{}",
            misses.join("\n")
        );
    }
    let cdnow = crate::common::data("cdnow_sample.csv");
    let run = w
        .cmd(&[
            "report",
            "--orders",
            &cdnow,
            "--lang",
            "zh",
            "-q",
            "-o",
            "cdnow.html",
        ])
        .env("CRM_EVAL_I18N_MISSES", "1")
        .output()
        .unwrap();
    assert!(run.status.success());
    assert!(!String::from_utf8_lossy(&run.stderr).contains("i18n miss"));
    let html = std::fs::read_to_string(w.path("report.html")).unwrap();
    assert!(html.contains("<html lang=\"zh-CN\">"));
    for label in [
        "<h2>RFM 客户分群</h2>",
        "重要价值客户",
        "购买客户数",
        "<th>客户ID</th>",
        "终身价值",
    ] {
        assert!(html.contains(label), "{label} missing from the page");
    }
    assert!(std::fs::read_to_string(w.path("cdnow.html"))
        .unwrap()
        .contains("<h2>本报告未包含</h2>"));
    let mut book: Xlsx<_> = open_workbook(w.path("report.xlsx")).unwrap();
    let rfm = book.worksheet_range("rfm").unwrap();
    assert_eq!(header(&rfm)[0], "客户ID");
    // The config says it for every run; CSV keeps its columns and values.
    w.write("crm-eval.toml", "lang = \"zh\"\n");
    w.stdout(&["report", "--orders", &files[0], "-q", "-o", "config.html"]);
    assert!(std::fs::read_to_string(w.path("config.html"))
        .unwrap()
        .contains("购买客户数"));
    let csv = w.stdout(&["rfm", &files[0], "-q", "-f", "csv"]);
    assert!(csv.starts_with("customer_id,"), "{}", &csv[..80]);
    assert!(csv.contains(",Champions\n"));
}

/// A report of the CDNOW sample alone (orders only): the workbook still has an autofilter on
/// every sheet with rows and the native charts of the sections it has; the sections left out for
/// want of inputs are named in its notes.
#[test]
fn a_workbook_from_orders_alone_keeps_filters_and_charts() {
    let w = Workdir::new();
    let cdnow = crate::common::data("cdnow_sample.csv");
    w.stdout(&["report", "--orders", &cdnow, "-q", "-o", "cdnow.xlsx"]);
    crate::common::python(
        &w,
        r#"
import re, zipfile
z = zipfile.ZipFile('cdnow.xlsx')
names = re.findall(r'<sheet name="([^"]+)"', z.read('xl/workbook.xml').decode())
assert 'rfm' in names and 'clv_tracking' in names and 'conversion' not in names, names
for i, name in enumerate(names, 1):
    sheet = z.read('xl/worksheets/sheet%d.xml' % i).decode()
    rows = sheet.count('<row ')
    if rows > 1:
        assert '<autoFilter' in sheet, name
charts = sorted(n for n in z.namelist() if re.fullmatch(r'xl/charts/chart\d+\.xml', n))
text = ' '.join(z.read(n).decode() for n in charts)
for title in ['Customers by RFM segment', 'Share of value by ABC tier', 'Pareto curve',
              'Customers by lifecycle stage']:
    assert title in text, title
notes = z.read('xl/worksheets/sheet1.xml').decode() + z.read('xl/sharedStrings.xml').decode()
assert 'not included' in notes and '--events' in notes
"#,
    );
}
