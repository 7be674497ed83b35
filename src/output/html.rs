//! Self-contained HTML: inline CSS and inline SVG, no scripts, no network. `-o FILE.html` on any
//! command writes its tables as one page; `report` adds a headline and charts.

use std::io::Write;

use anyhow::Result;
use polars::prelude::*;

pub use super::cells::grouped;
use super::cells::{whole_numbers, Cell};
use super::charts::Chart;
use super::render::columns_cells;
use super::share_columns;
use crate::i18n::{tr, tr_data};

/// A headline figure: label, value and a line of detail.
pub struct Card {
    pub label: String,
    pub value: String,
    pub detail: String,
    /// The change against an earlier date, e.g. `▲ 2.1 pts since 2024-10-03 (35.0%)`, with
    /// whether it went up (styled green or red by `good` below).
    pub change: Option<Change>,
}

/// A headline's change against an earlier date.
pub struct Change {
    pub text: String,
    /// True when the change is good news (more revenue, less churn), false when bad, None when
    /// flat or neither.
    pub good: Option<bool>,
}

/// A table on the page, with at most `max_rows` rows shown.
pub struct HtmlTable<'a> {
    pub title: String,
    pub df: &'a DataFrame,
    pub max_rows: usize,
}

#[derive(Default)]
pub struct Section<'a> {
    pub title: String,
    /// Short paragraphs under the title (definitions, caveats, why a part is missing).
    pub notes: Vec<String>,
    pub charts: Vec<&'a Chart>,
    pub tables: Vec<HtmlTable<'a>>,
}

pub struct Page<'a> {
    pub title: String,
    pub subtitle: String,
    pub cards: Vec<Card>,
    pub sections: Vec<Section<'a>>,
}

const STYLE: &str = r#"
:root { --ink:#333; --muted:#777; --line:#e3e3e3; --accent:#2166ac; --bg:#fafafa; }
* { box-sizing: border-box; }
body { margin:0; font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK SC", "DejaVu Sans", sans-serif;
       color:var(--ink); background:var(--bg); line-height:1.45; }
header { background:#fff; border-bottom:1px solid var(--line); padding:20px 32px; }
header h1 { margin:0; font-size:24px; }
header p { margin:4px 0 0; color:var(--muted); }
main { max-width:1680px; margin:0 auto; padding:20px 32px 48px; }
nav.contents { position:sticky; top:0; z-index:2; background:#fff; border-bottom:1px solid var(--line);
       padding:8px 32px; font-size:14px; display:flex; flex-wrap:wrap; gap:4px 16px; }
nav.contents a { color:var(--accent); text-decoration:none; }
nav.contents a:hover { text-decoration:underline; }
section { scroll-margin-top:48px; }
.cards { display:grid; grid-template-columns:repeat(auto-fill,minmax(200px,1fr)); gap:12px; margin-bottom:12px; }
.card { background:#fff; border:1px solid var(--line); border-radius:6px; padding:12px 14px; }
.card .label { color:var(--muted); font-size:13px; }
.card .value { font-size:24px; font-weight:600; color:var(--accent); }
.card .detail { color:var(--muted); font-size:12px; }
.card .change { font-size:13px; }
.card .change.good { color:#1a7f37; } .card .change.bad { color:#c62828; } .card .change.flat { color:var(--muted); }
section { background:#fff; border:1px solid var(--line); border-radius:6px; padding:16px 20px; margin-top:16px; }
section h2 { margin:0 0 6px; font-size:19px; }
section h3 { margin:14px 0 6px; font-size:15px; }
section p.note { margin:2px 0; color:var(--muted); font-size:13px; }
.charts { display:flex; flex-wrap:wrap; gap:12px; margin:10px 0; }
/* Charts are drawn 720 wide with 11-16 px text: never shown narrower than that unless the page is. */
.charts figure { margin:0; flex:1 1 720px; min-width:min(720px,100%); max-width:1080px; }
.charts svg { width:100%; height:auto; }
.scroll { overflow-x:auto; }
table { border-collapse:collapse; font-size:13px; margin:4px 0; }
th, td { padding:3px 10px; border-bottom:1px solid var(--line); white-space:nowrap; }
th { text-align:left; background:#f3f6fa; position:sticky; top:0; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
p.more { color:var(--muted); font-size:12px; margin:2px 0 0; }
footer { color:var(--muted); font-size:12px; text-align:center; padding:16px; }
@media print {
  nav.contents { display:none; }
  body { background:#fff; }
  section { break-inside:avoid-page; border:none; }
  .scroll { overflow:visible; }
  th { position:static; }
}
"#;

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn write_table(t: &HtmlTable, w: &mut dyn Write) -> Result<()> {
    let df = t.df;
    let cells = columns_cells(df)?;
    if !t.title.is_empty() {
        writeln!(w, "<h3>{}</h3>", escape(&tr(&t.title)))?;
    }
    writeln!(w, "<div class=\"scroll\"><table>\n<thead><tr>")?;
    for name in df.get_column_names() {
        write!(w, "<th>{}</th>", escape(&tr(name)))?;
    }
    writeln!(w, "</tr></thead>\n<tbody>")?;
    let shares = share_columns(df);
    let whole: Vec<bool> = cells.iter().map(|c| whole_numbers(c)).collect();
    let shown = df.height().min(t.max_rows);
    for row in 0..shown {
        w.write_all(b"<tr>")?;
        for (c, column) in cells.iter().enumerate() {
            let cell = &column[row];
            match *cell {
                Cell::Float(_) => write!(
                    w,
                    "<td class=\"num\">{}</td>",
                    cell.human(shares[c], whole[c])
                )?,
                Cell::Int(i) => write!(w, "<td class=\"num\">{}</td>", grouped(i as f64, 0))?,
                // Words of the data a table knows (segments, stages, `all`) in the reader's
                // language; IDs and names as they are.
                _ => write!(w, "<td>{}</td>", escape(&tr_data(&cell.text())))?,
            }
        }
        w.write_all(b"</tr>\n")?;
    }
    writeln!(w, "</tbody></table></div>")?;
    if shown < df.height() {
        let more = format!("first {shown} of {} rows", grouped(df.height() as f64, 0));
        writeln!(w, "<p class=\"more\">{}</p>", escape(&tr(&more)))?;
    }
    Ok(())
}

/// Writes the whole page.
pub fn write_page(page: &Page, w: &mut dyn Write) -> Result<()> {
    writeln!(
        w,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        crate::i18n::lang().html(),
        escape(&tr(&page.title))
    )?;
    writeln!(
        w,
        "<header><h1>{}</h1><p>{}</p></header>",
        escape(&tr(&page.title)),
        escape(&tr(&page.subtitle))
    )?;
    // Contents: every titled section by its anchor.
    let anchors = section_anchors(&page.sections);
    let linked: Vec<(&str, &str)> = page
        .sections
        .iter()
        .zip(&anchors)
        .filter(|(s, _)| !s.title.is_empty())
        .map(|(s, a)| (s.title.as_str(), a.as_str()))
        .collect();
    if linked.len() > 1 {
        write!(w, "<nav class=\"contents\" aria-label=\"Contents\">")?;
        for (title, anchor) in &linked {
            write!(w, "<a href=\"#{anchor}\">{}</a>", escape(&tr(title)))?;
        }
        writeln!(w, "</nav>")?;
    }
    writeln!(w, "<main>")?;
    if !page.cards.is_empty() {
        writeln!(w, "<div class=\"cards\">")?;
        for c in &page.cards {
            writeln!(
                w,
                "<div class=\"card\"><div class=\"label\">{}</div><div class=\"value\">{}</div>{}<div class=\"detail\">{}</div></div>",
                escape(&tr(&c.label)),
                escape(&c.value),
                match &c.change {
                    Some(ch) => format!(
                        "<div class=\"change {}\">{}</div>",
                        match ch.good {
                            Some(true) => "good",
                            Some(false) => "bad",
                            None => "flat",
                        },
                        escape(&tr(&ch.text))
                    ),
                    None => String::new(),
                },
                escape(&tr(&c.detail))
            )?;
        }
        writeln!(w, "</div>")?;
    }
    for (s, anchor) in page.sections.iter().zip(&anchors) {
        writeln!(w, "<section id=\"{anchor}\">")?;
        if !s.title.is_empty() {
            writeln!(w, "<h2>{}</h2>", escape(&tr(&s.title)))?;
        }
        for n in &s.notes {
            writeln!(w, "<p class=\"note\">{}</p>", escape(&tr(n)))?;
        }
        if !s.charts.is_empty() {
            writeln!(w, "<div class=\"charts\">")?;
            for c in &s.charts {
                writeln!(
                    w,
                    "<figure aria-label=\"{}\">{}</figure>",
                    escape(&tr(&c.title)),
                    c.svg.trim()
                )?;
            }
            writeln!(w, "</div>")?;
        }
        for t in &s.tables {
            write_table(t, w)?;
        }
        writeln!(w, "</section>")?;
    }
    writeln!(
        w,
        "</main>\n<footer>crm-eval {}</footer>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION")
    )?;
    Ok(())
}

/// A unique anchor per section from its title (`Churn risk` → `churn-risk`; `section-N` for an
/// untitled one; `-2`, `-3` … for a repeated title).
fn section_anchors(sections: &[Section]) -> Vec<String> {
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    sections
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let slug: String = s
                .title
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() {
                        c.to_lowercase().next().unwrap_or(c)
                    } else {
                        '-'
                    }
                })
                .collect::<String>()
                .split('-')
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join("-");
            let base = if slug.is_empty() {
                format!("section-{}", i + 1)
            } else {
                slug
            };
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            if *n == 1 {
                base
            } else {
                format!("{base}-{n}")
            }
        })
        .collect()
}

/// The generic page for any command's tables (`-o out.html`): one section per table, every row.
pub fn write_sheets(sheets: &[(&str, &DataFrame)], w: &mut dyn Write) -> Result<()> {
    let page = Page {
        title: "crm-eval".into(),
        subtitle: String::new(),
        cards: vec![],
        sections: sheets
            .iter()
            .map(|(title, df)| Section {
                title: if sheets.len() > 1 {
                    (*title).to_string()
                } else {
                    String::new()
                },
                tables: vec![HtmlTable {
                    title: String::new(),
                    df,
                    max_rows: usize::MAX,
                }],
                ..Section::default()
            })
            .collect(),
    };
    write_page(&page, w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_and_escaping() {
        assert_eq!(grouped(1_234_567.891, 2), "1,234,567.89");
        assert_eq!(grouped(-1234.0, 0), "-1,234");
        assert_eq!(grouped(-0.001, 2), "0.00");
        assert_eq!(grouped(999.0, 0), "999");
        assert_eq!(escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }

    #[test]
    fn generic_page_has_every_row_and_no_external_reference() {
        let df = df!("name" => ["<x>", "b"], "revenue_share" => [0.5, 0.25]).unwrap();
        let mut out = Vec::new();
        write_sheets(&[("result", &df)], &mut out).unwrap();
        let html = String::from_utf8(out).unwrap();
        assert!(html.contains("<td>&lt;x&gt;</td>"));
        assert!(html.contains("<td class=\"num\">25.0%</td>"));
        assert!(!html.contains("http://") && !html.contains("https://"));
    }
}
