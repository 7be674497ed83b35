//! Report charts drawn with plotters as SVG text: a heatmap, horizontal bars, a curve, estimates
//! with intervals and a histogram. Each returns a [`Chart`]: a file stem, a title and the SVG.
//! The SVG is plain text (no fonts embedded, no external references), so it can be inlined into a
//! self-contained HTML page or written to a file, and it is byte-for-byte deterministic.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use plotters::chart::MeshStyle;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One finished chart.
#[derive(Clone, Debug)]
pub struct Chart {
    /// File stem for `--charts DIR` (e.g. `rfm_heatmap`).
    pub name: String,
    pub title: String,
    pub svg: String,
}

const FONT: &str = "sans-serif";
// plotters writes a font of size n as n / 1.24 SVG units: 14 is the smallest size that renders
// at 11 px or more when a chart is shown at its drawn width (the page never shows it narrower).
const INK: RGBColor = RGBColor(51, 51, 51);
const ACCENT: RGBColor = RGBColor(33, 102, 172);
const MUTED: RGBColor = RGBColor(150, 150, 150);
const GUIDE: RGBColor = RGBColor(214, 96, 77);
const WIDTH: u32 = 720;

type Root<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("cannot draw the chart: {e}")
}

/// A sequential blue scale: 0 → near white, 1 → dark blue.
pub fn blue(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (a, b) = ((239.0, 246.0, 255.0), (8.0, 48.0, 107.0));
    let mix = |x: f64, y: f64| (x + (y - x) * t).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The hover text of a chart's marks: each a pixel box and what it says. Drawn as transparent
/// rectangles with an SVG `<title>` over the chart (plotters writes no titles), so a reader
/// pointing at a bar, cell or point sees its label and value, with no script.
#[derive(Default)]
struct Hovers(Vec<(i32, i32, i32, i32, String)>);

impl Hovers {
    /// The box between two corners (in any order), at least 8 px each way.
    fn area(&mut self, a: (i32, i32), b: (i32, i32), text: String) {
        let (mut x0, mut x1) = (a.0.min(b.0), a.0.max(b.0));
        let (mut y0, mut y1) = (a.1.min(b.1), a.1.max(b.1));
        if x1 - x0 < 8 {
            let c = (x0 + x1) / 2;
            (x0, x1) = (c - 4, c + 4);
        }
        if y1 - y0 < 8 {
            let c = (y0 + y1) / 2;
            (y0, y1) = (c - 4, c + 4);
        }
        self.0.push((x0, y0, x1, y1, text));
    }

    /// A 12-px box around a point.
    fn point(&mut self, p: (i32, i32), text: String) {
        self.area((p.0 - 6, p.1 - 6), (p.0 + 6, p.1 + 6), text);
    }

    /// The overlay, inserted before the SVG's end.
    fn inject(&self, svg: &mut String) {
        if self.0.is_empty() {
            return;
        }
        let mut overlay = String::from("<g class=\"hover\" fill=\"transparent\">\n");
        for (x0, y0, x1, y1, text) in &self.0 {
            overlay.push_str(&format!(
                "<rect x=\"{x0}\" y=\"{y0}\" width=\"{}\" height=\"{}\"><title>{}</title></rect>\n",
                x1 - x0,
                y1 - y0,
                super::html::escape(&crate::i18n::tr_data(text))
            ));
        }
        overlay.push_str("</g>\n");
        if let Some(end) = svg.rfind("</svg>") {
            svg.insert_str(end, &overlay);
        }
    }
}

/// A diverging scale for meaning: 0 → green (good), 0.5 → amber, 1 → red (bad).
pub fn good_to_bad(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let (good, mid, bad) = (
        (26.0, 152.0, 80.0),
        (230.0, 160.0, 40.0),
        (215.0, 48.0, 39.0),
    );
    let (a, b, u) = if t < 0.5 {
        (good, mid, t * 2.0)
    } else {
        (mid, bad, (t - 0.5) * 2.0)
    };
    let mix = |x: f64, y: f64| (x + (y - x) * u).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The SVG with the content of every `<text>` element in the reader's language.
fn translate_texts(svg: &str) -> String {
    let mut out = String::with_capacity(svg.len() + svg.len() / 8);
    let mut rest = svg;
    while let Some(open) = rest.find("<text") {
        let Some(body) = rest[open..].find('>').map(|k| open + k + 1) else {
            break;
        };
        let Some(close) = rest[body..].find("</text>").map(|k| body + k) else {
            break;
        };
        out.push_str(&rest[..body]);
        let content = &rest[body..close];
        let trimmed = content.trim();
        let at = content.find(trimmed).unwrap_or(0);
        out.push_str(&content[..at]);
        // plotters escapes the text: look it up as written, then escape it again.
        let plain = trimmed
            .replace("&apos;", "'")
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        out.push_str(&super::html::escape(&crate::i18n::tr_data(&plain)));
        out.push_str(&content[at + trimmed.len()..]);
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

/// Draws one chart, `height` pixels tall, into SVG text: `paint` draws on the whole area and
/// records the hover text of its marks.
fn draw(
    name: &str,
    title: &str,
    height: u32,
    paint: impl FnOnce(&Root, &mut Hovers) -> Result<()>,
) -> Result<Chart> {
    let mut svg = String::new();
    let mut hovers = Hovers::default();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        paint(&root, &mut hovers)?;
        root.present().map_err(err)?;
    }
    hovers.inject(&mut svg);
    if crate::i18n::lang() != crate::i18n::Lang::En {
        // The title is a label the table must have (a miss is recorded); the other texts
        // (axes, legends, category names) are translated where the table knows them.
        let _ = crate::i18n::tr(title);
        svg = translate_texts(&svg);
    }
    Ok(Chart {
        name: name.into(),
        title: title.into(),
        svg,
    })
}

/// Small text in `color`, anchored at (`h`, `v`) of its position.
fn text_style(color: &RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    (FONT, 14).into_font().color(color).pos(Pos::new(h, v))
}

/// A share with one decimal for hover text; `–` when not a number.
fn pct1(v: f64) -> String {
    if v.is_finite() {
        format!("{:.1}%", v * 100.0)
    } else {
        "–".into()
    }
}

/// Axis labels of a 0–1 scale as whole percentages.
fn percent(v: &f64) -> String {
    format!("{:.0}%", v * 100.0)
}

/// The chart frame every chart shares: white background, title, margins and label areas.
fn frame<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    title: &str,
    y_label_area: u32,
) -> Result<ChartBuilder<'a, 'b, SVGBackend<'b>>> {
    root.fill(&WHITE).map_err(err)?;
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(title, (FONT, 20).into_font().color(&INK))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(y_label_area);
    Ok(builder)
}

/// Light grid lines and the label fonts every chart shares.
fn styled<'m, 'a, 'b, 'c, X: Ranged, Y: Ranged>(
    mesh: &'m mut MeshStyle<'a, 'b, X, Y, SVGBackend<'c>>,
) -> &'m mut MeshStyle<'a, 'b, X, Y, SVGBackend<'c>> {
    mesh.light_line_style(WHITE)
        .bold_line_style(RGBColor(230, 230, 230))
        .label_style((FONT, 14).into_font().color(&INK))
        .axis_desc_style((FONT, 15).into_font().color(&INK))
}

/// Text width estimate in pixels, counting CJK characters as wide (label areas are sized by it).
fn text_width(s: &str, size: f64) -> u32 {
    let units: f64 = s
        .chars()
        .map(|c| if c.len_utf8() > 1 { 1.0 } else { 0.6 })
        .sum();
    (units * size).ceil() as u32
}

fn label_area(labels: &[String], size: f64) -> u32 {
    labels
        .iter()
        .map(|l| text_width(l, size))
        .max()
        .unwrap_or(0)
        .clamp(30, 220)
        + 12
}

/// The range end for `n` categories on a segmented axis: `0..k` makes k + 1 segments. An axis of
/// one segment (`0..0`) draws nothing in plotters, so one category gets a spare empty segment.
fn last_segment(n: i32) -> i32 {
    (n - 1).max(1)
}

fn segment_label(labels: &[String]) -> impl Fn(&SegmentValue<i32>) -> String + '_ {
    move |v| match v {
        SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
        _ => String::new(),
    }
}

/// A heatmap: `values[row][col]`, rows listed top to bottom. Empty cells (None) stay blank.
/// The colour runs from 0 to the largest value; `cell_text` labels each filled cell.
pub struct Heatmap<'a> {
    pub name: &'a str,
    pub title: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    pub columns: Vec<String>,
    pub rows: Vec<String>,
    pub values: Vec<Vec<Option<f64>>>,
    pub cell_text: &'a dyn Fn(f64) -> String,
    /// The value that gets the darkest colour (default: the largest); larger values get it too.
    pub scale_max: Option<f64>,
}

pub fn heatmap(h: &Heatmap) -> Result<Chart> {
    let (nx, ny) = (h.columns.len() as i32, h.rows.len() as i32);
    let max = h.scale_max.unwrap_or_else(|| {
        h.values
            .iter()
            .flatten()
            .flatten()
            .fold(0.0f64, |m, &v| m.max(v))
    });
    let cell_h = if ny > 8 { 28 } else { 44 };
    // The chart, then a strip for the colour legend.
    const LEGEND: u32 = 34;
    let height = (ny as u32) * cell_h + 110 + LEGEND;
    draw(h.name, h.title, height, |root, hover| {
        let (area, strip) = root.split_vertically(height - LEGEND);
        colour_legend(&strip, max, h.cell_text)?;
        let mut chart = frame(&area, h.title, label_area(&h.rows, 12.0) + 18)?
            .build_cartesian_2d(
                (0..last_segment(nx)).into_segmented(),
                (0..last_segment(ny)).into_segmented(),
            )
            .map_err(err)?;
        let xl = segment_label(&h.columns);
        let rows_bottom_up: Vec<String> = h.rows.iter().rev().cloned().collect();
        let yl = segment_label(&rows_bottom_up);
        styled(&mut chart.configure_mesh())
            .disable_mesh()
            .x_labels(h.columns.len() + 1)
            .y_labels(h.rows.len() + 1)
            .x_label_formatter(&xl)
            .y_label_formatter(&yl)
            .x_desc(h.x_desc)
            .y_desc(h.y_desc)
            .draw()
            .map_err(err)?;
        for (r, row) in h.values.iter().enumerate() {
            let y = ny - 1 - r as i32;
            for (c, v) in row.iter().enumerate() {
                let Some(v) = *v else { continue };
                let x = c as i32;
                let t = if max > 0.0 { (v / max).min(1.0) } else { 0.0 };
                let corners = [
                    (SegmentValue::Exact(x), SegmentValue::Exact(y + 1)),
                    (SegmentValue::Exact(x + 1), SegmentValue::Exact(y)),
                ];
                hover.area(
                    chart.backend_coord(&corners[0]),
                    chart.backend_coord(&corners[1]),
                    format!(
                        "{}: {} · {}: {} · {}",
                        h.y_desc,
                        h.rows.get(r).map_or("", String::as_str),
                        h.x_desc,
                        h.columns.get(c).map_or("", String::as_str),
                        (h.cell_text)(v)
                    ),
                );
                chart
                    .draw_series(std::iter::once(Rectangle::new(corners, blue(t).filled())))
                    .map_err(err)?;
                let ink = if t > 0.55 { WHITE } else { INK };
                let style = text_style(&ink, HPos::Center, VPos::Center);
                chart
                    .draw_series(std::iter::once(Text::new(
                        (h.cell_text)(v),
                        (SegmentValue::CenterOf(x), SegmentValue::CenterOf(y)),
                        style,
                    )))
                    .map_err(err)?;
            }
        }
        Ok(())
    })
}

/// The heatmap's colour scale under it, right-aligned: "0 ▮▮▮▮▮▮▮▮▮▮ max" from light to dark.
fn colour_legend(
    strip: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    max: f64,
    cell_text: &dyn Fn(f64) -> String,
) -> Result<()> {
    strip.fill(&WHITE).map_err(err)?;
    const STEPS: i32 = 10;
    const STEP_W: i32 = 18;
    let right = WIDTH as i32 - 16 - text_width(&cell_text(max), 14.0) as i32;
    let left = right - STEPS * STEP_W;
    let (y0, y1) = (6, 20);
    for k in 0..STEPS {
        let t = (f64::from(k) + 0.5) / f64::from(STEPS);
        let x = left + k * STEP_W;
        strip
            .draw(&Rectangle::new(
                [(x, y0), (x + STEP_W, y1)],
                blue(t).filled(),
            ))
            .map_err(err)?;
    }
    let style = |h| text_style(&INK, h, VPos::Center);
    strip
        .draw(&Text::new(
            cell_text(0.0),
            (left - 6, (y0 + y1) / 2),
            style(HPos::Right),
        ))
        .map_err(err)?;
    strip
        .draw(&Text::new(
            cell_text(max),
            (right + 6, (y0 + y1) / 2),
            style(HPos::Left),
        ))
        .map_err(err)?;
    Ok(())
}

/// Horizontal bars, one per label, listed top to bottom, each followed by its `value_labels` entry.
/// `tones` colours each bar by what it means, 0 (good, green) to 1 (bad, red); `None` for a bar,
/// or for all, keeps the accent blue.
pub fn bars(
    name: &str,
    title: &str,
    x_desc: &str,
    labels: &[String],
    values: &[f64],
    value_labels: &[String],
    tones: Option<&[Option<f64>]>,
) -> Result<Chart> {
    let n = labels.len() as i32;
    let max = values.iter().fold(0.0f64, |m, &v| m.max(v));
    // Room on the right for the value labels.
    let top = if max > 0.0 { max * 1.45 } else { 1.0 };
    let height = (n.max(1) as u32) * 30 + 100;
    draw(name, title, height, |root, hover| {
        let mut chart = frame(root, title, label_area(labels, 12.0))?
            .build_cartesian_2d(0f64..top, (0..last_segment(n)).into_segmented())
            .map_err(err)?;
        let bottom_up: Vec<String> = labels.iter().rev().cloned().collect();
        let yl = segment_label(&bottom_up);
        styled(&mut chart.configure_mesh())
            .disable_y_mesh()
            .y_labels(labels.len() + 1)
            .y_label_formatter(&yl)
            .x_label_formatter(&|v| compact(*v))
            .x_desc(x_desc)
            .draw()
            .map_err(err)?;
        for (i, &v) in values.iter().enumerate() {
            let y = n - 1 - i as i32;
            let color = tones
                .and_then(|t| t.get(i).copied().flatten())
                .map_or(ACCENT, good_to_bad);
            let mut bar = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(y + 1)),
                    (v.max(0.0), SegmentValue::Exact(y)),
                ],
                color.filled(),
            );
            bar.set_margin(4, 4, 0, 0);
            hover.area(
                chart.backend_coord(&(0.0, SegmentValue::Exact(y + 1))),
                chart.backend_coord(&(v.max(0.0), SegmentValue::Exact(y))),
                format!(
                    "{}: {}",
                    labels.get(i).map_or("", String::as_str),
                    value_labels.get(i).map_or("", String::as_str)
                ),
            );
            chart.draw_series(std::iter::once(bar)).map_err(err)?;
            let style = text_style(&INK, HPos::Left, VPos::Center);
            chart
                .draw_series(std::iter::once(Text::new(
                    format!(" {}", value_labels.get(i).map_or("", String::as_str)),
                    (v.max(0.0), SegmentValue::CenterOf(y)),
                    style,
                )))
                .map_err(err)?;
        }
        Ok(())
    })
}

/// A curve over [0, 1] × [0, 1] (the Pareto curve), with the diagonal for reference and
/// horizontal guides at `guides` (e.g. the A and B cut-offs) labelled with where the curve meets them.
pub fn share_curve(
    name: &str,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    points: &[(f64, f64)],
    guides: &[(f64, String)],
) -> Result<Chart> {
    draw(name, title, 420, |root, hover| {
        let mut chart = frame(root, title, 56)?
            .build_cartesian_2d(0f64..1f64, 0f64..1.02f64)
            .map_err(err)?;
        styled(&mut chart.configure_mesh())
            .x_label_formatter(&percent)
            .y_label_formatter(&percent)
            .x_desc(x_desc)
            .y_desc(y_desc)
            .draw()
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                MUTED.stroke_width(1),
            ))
            .map_err(err)?;
        for (level, label) in guides {
            chart
                .draw_series(LineSeries::new(
                    [(0.0, *level), (1.0, *level)],
                    GUIDE.stroke_width(1),
                ))
                .map_err(err)?;
            let style = text_style(&INK, HPos::Right, VPos::Bottom);
            chart
                .draw_series(std::iter::once(Text::new(
                    label.clone(),
                    (0.99, *level - 0.01),
                    style,
                )))
                .map_err(err)?;
        }
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                ACCENT.stroke_width(2),
            ))
            .map_err(err)?;
        for &(x, y) in thin(points, 60) {
            hover.point(
                chart.backend_coord(&(x, y)),
                format!("{x_desc}: {} · {y_desc}: {}", pct1(x), pct1(y)),
            );
        }
        Ok(())
    })
}

/// At most about `n` of `points`, evenly spaced, the last always among them (hover marks on a
/// long curve).
fn thin<T>(points: &[T], n: usize) -> impl Iterator<Item = &T> {
    let step = points.len().div_ceil(n.max(1)).max(1);
    let last = points.len().saturating_sub(1);
    points
        .iter()
        .enumerate()
        .filter(move |(i, _)| i % step == 0 || *i == last)
        .map(|(_, p)| p)
}

/// Survival over periods: the observed curve (solid, with its band when given) and a model's
/// (grey, projected past the data), both from 1 at period 0, with a legend of the two.
pub fn survival(
    name: &str,
    title: &str,
    x_desc: &str,
    observed: &[(f64, f64)],
    band: &[(f64, f64, f64)],
    model: &[(f64, f64)],
    model_name: &str,
) -> Result<Chart> {
    let last = observed
        .iter()
        .chain(model)
        .map(|p| p.0)
        .fold(1.0, f64::max);
    draw(name, title, 420, |root, hover| {
        let mut chart = frame(root, title, 56)?
            .build_cartesian_2d(0f64..last, 0f64..1.02f64)
            .map_err(err)?;
        styled(&mut chart.configure_mesh())
            .x_label_formatter(&|v: &f64| format!("{v:.0}"))
            .y_label_formatter(&percent)
            .x_desc(x_desc)
            .y_desc("still subscribed")
            .draw()
            .map_err(err)?;
        for &(t, lo, hi) in band {
            chart
                .draw_series(LineSeries::new(
                    [(t, lo), (t, hi)],
                    RGBColor(198, 219, 239).stroke_width(3),
                ))
                .map_err(err)?;
        }
        chart
            .draw_series(LineSeries::new(
                model.iter().copied(),
                MUTED.stroke_width(2),
            ))
            .map_err(err)?
            .label(model_name.to_string())
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], MUTED.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(
                observed.iter().copied(),
                ACCENT.stroke_width(2),
            ))
            .map_err(err)?
            .label("observed (Kaplan–Meier)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], ACCENT.stroke_width(2)));
        for &(t, v) in thin(observed, 60) {
            hover.point(
                chart.backend_coord(&(t, v)),
                format!("{x_desc}: {t:.0} · {} still subscribed (observed)", pct1(v)),
            );
        }
        for &(t, v) in thin(model, 60) {
            hover.point(
                chart.backend_coord(&(t, v)),
                format!(
                    "{x_desc}: {t:.0} · {} still subscribed ({model_name})",
                    pct1(v)
                ),
            );
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

/// A KPI over successive runs: the values at their dates (equally spaced, in order), with the
/// target as a horizontal guide when there is one.
pub fn trend(
    name: &str,
    title: &str,
    dates: &[String],
    values: &[f64],
    target: Option<f64>,
) -> Result<Chart> {
    let (mut lo, mut hi) = values
        .iter()
        .chain(target.iter())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(*v), h.max(*v))
        });
    if !(lo.is_finite() && hi.is_finite()) {
        (lo, hi) = (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.1).max(hi.abs() * 0.01).max(1e-9);
    let n = dates.len().max(1);
    draw(name, title, 300, |root, hover| {
        let mut chart = frame(root, title, 64)?
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), (lo - pad)..(hi + pad))
            .map_err(err)?;
        let label = |x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-9 && i >= 0.0 && (i as usize) < dates.len() {
                dates[i as usize].clone()
            } else {
                String::new()
            }
        };
        // Enough decimals to tell the axis labels apart (a rate moving by 0.005 included).
        let step = (hi - lo + 2.0 * pad) / 10.0;
        let decimals = (-step.log10()).ceil().clamp(0.0, 6.0) as usize;
        styled(&mut chart.configure_mesh())
            .x_labels(n.min(8))
            .x_label_formatter(&label)
            .y_label_formatter(&|v| {
                if v.abs() >= 1e4 {
                    compact(*v)
                } else {
                    format!("{v:.decimals$}")
                }
            })
            .draw()
            .map_err(err)?;
        if let Some(t) = target {
            chart
                .draw_series(LineSeries::new(
                    [(-0.5, t), (n as f64 - 0.5, t)],
                    GUIDE.stroke_width(1),
                ))
                .map_err(err)?;
        }
        let points: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (i as f64, *v))
            .collect();
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                ACCENT.stroke_width(2),
            ))
            .map_err(err)?;
        chart
            .draw_series(points.iter().map(|p| Circle::new(*p, 3, ACCENT.filled())))
            .map_err(err)?;
        for (i, p) in points.iter().enumerate() {
            hover.point(
                chart.backend_coord(p),
                format!(
                    "{}: {}",
                    dates.get(i).map_or("", String::as_str),
                    exact(p.1)
                ),
            );
        }
        Ok(())
    })
}

/// A value for hover text: whole numbers grouped, others to two decimals (four below 1).
fn exact(v: f64) -> String {
    let sign = if v < 0.0 { "-" } else { "" };
    if v.fract() == 0.0 {
        format!("{sign}{}", super::cells::grouped(v, 0))
    } else if v.abs() >= 1.0 {
        format!("{sign}{}", super::cells::grouped(v, 2))
    } else {
        format!("{}", crate::metrics::rfm::round_to(v, 4))
    }
}

/// Estimates with intervals on a 0–1 scale, one row per label (top to bottom), with a dashed
/// vertical line at `reference` (e.g. the overall rate).
pub struct Intervals<'a> {
    pub name: &'a str,
    pub title: &'a str,
    pub x_desc: &'a str,
    pub labels: Vec<String>,
    /// (estimate, low, high) per label.
    pub values: Vec<(f64, f64, f64)>,
    pub reference: Option<(f64, String)>,
}

pub fn intervals(iv: &Intervals) -> Result<Chart> {
    let n = iv.labels.len() as i32;
    let hi = iv
        .values
        .iter()
        .map(|v| v.2)
        .chain(iv.reference.iter().map(|r| r.0))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let top = (hi * 1.1).clamp(0.05, 1.0);
    let height = (n.max(1) as u32) * 30 + 110;
    draw(iv.name, iv.title, height, |root, hover| {
        let mut chart = frame(root, iv.title, label_area(&iv.labels, 12.0))?
            .build_cartesian_2d(0f64..top, (0..last_segment(n)).into_segmented())
            .map_err(err)?;
        let bottom_up: Vec<String> = iv.labels.iter().rev().cloned().collect();
        let yl = segment_label(&bottom_up);
        styled(&mut chart.configure_mesh())
            .disable_y_mesh()
            .y_labels(iv.labels.len() + 1)
            .y_label_formatter(&yl)
            .x_label_formatter(&percent)
            .x_desc(iv.x_desc)
            .draw()
            .map_err(err)?;
        if let Some((r, label)) = &iv.reference {
            chart
                .draw_series(DashedLineSeries::new(
                    [(*r, SegmentValue::Exact(0)), (*r, SegmentValue::Exact(n))],
                    4,
                    3,
                    GUIDE.stroke_width(1),
                ))
                .map_err(err)?
                .label(label.clone())
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], GUIDE.stroke_width(1))
                });
        }
        for (i, &(est, lo, hi)) in iv.values.iter().enumerate() {
            let y = SegmentValue::CenterOf(n - 1 - i as i32);
            let row = n - 1 - i as i32;
            hover.area(
                chart.backend_coord(&(0.0, SegmentValue::Exact(row + 1))),
                chart.backend_coord(&(top, SegmentValue::Exact(row))),
                format!(
                    "{}: {} ({} to {})",
                    iv.labels.get(i).map_or("", String::as_str),
                    pct1(est),
                    pct1(lo),
                    pct1(hi)
                ),
            );
            if lo.is_finite() && hi.is_finite() {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(lo, y.clone()), (hi, y.clone())],
                        ACCENT.stroke_width(2),
                    )))
                    .map_err(err)?;
            }
            if est.is_finite() {
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (est, y.clone()),
                        4,
                        ACCENT.filled(),
                    )))
                    .map_err(err)?;
            }
        }
        if iv.reference.is_some() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.9))
                .border_style(MUTED)
                .label_font((FONT, 14).into_font().color(&INK))
                .draw()
                .map_err(err)?;
        }
        Ok(())
    })
}

/// A histogram of `values` in `bins` equal bins from 0 (or the minimum, if negative) to `upper`;
/// values above `upper` are counted in the last bin.
pub fn histogram(
    name: &str,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    values: &[f64],
    upper: f64,
    bins: usize,
) -> Result<Chart> {
    let lower = values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::min);
    let upper = if upper > lower { upper } else { lower + 1.0 };
    let bins = bins.max(1);
    let width = (upper - lower) / bins as f64;
    let mut counts = vec![0u64; bins];
    for &v in values.iter().filter(|v| v.is_finite()) {
        let b = (((v - lower) / width).floor() as usize).min(bins - 1);
        counts[b] += 1;
    }
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    draw(name, title, 400, |root, hover| {
        let mut chart = frame(root, title, 60)?
            .build_cartesian_2d(lower..upper, 0f64..max * 1.08)
            .map_err(err)?;
        styled(&mut chart.configure_mesh())
            .disable_x_mesh()
            .x_label_formatter(&|v| compact(*v))
            .y_label_formatter(&|v| compact(*v))
            .x_desc(x_desc)
            .y_desc(y_desc)
            .draw()
            .map_err(err)?;
        for (i, &c) in counts.iter().enumerate() {
            let x0 = lower + i as f64 * width;
            let last = if i + 1 == bins { " and above" } else { "" };
            hover.area(
                chart.backend_coord(&(x0, max * 1.08)),
                chart.backend_coord(&(x0 + width, 0.0)),
                format!(
                    "{x_desc}: {} to {}{last} · {y_desc}: {c}",
                    compact(x0),
                    compact(x0 + width)
                ),
            );
        }
        chart
            .draw_series(counts.iter().enumerate().map(|(i, &c)| {
                let x0 = lower + i as f64 * width;
                let mut r = Rectangle::new([(x0, c as f64), (x0 + width, 0.0)], ACCENT.filled());
                r.set_margin(0, 0, 1, 1);
                r
            }))
            .map_err(err)?;
        Ok(())
    })
}

/// Short axis numbers: 1234567 → "1.2M", 25000 → "25k", 0.5 → "0.5".
pub fn compact(v: f64) -> String {
    let a = v.abs();
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if a >= 1e9 {
        format!("{}B", trim(format!("{:.1}", v / 1e9)))
    } else if a >= 1e6 {
        format!("{}M", trim(format!("{:.1}", v / 1e6)))
    } else if a >= 1e4 {
        format!("{}k", trim(format!("{:.1}", v / 1e3)))
    } else if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else {
        trim(format!("{v:.2}"))
    }
}

/// Writes each chart as `DIR/<name>.svg` and `DIR/<name>.png` (atomically, like every output).
/// The PNG is rasterised at twice the SVG size with the system fonts.
pub fn write_charts<'a>(dir: &Path, charts: impl IntoIterator<Item = &'a Chart>) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("--charts {}: cannot create the directory", dir.display()))?;
    let options = raster_options();
    for chart in charts {
        let svg_path = dir.join(format!("{}.svg", chart.name));
        super::write_atomically(&svg_path, |w| Ok(w.write_all(chart.svg.as_bytes())?))?;
        let png = rasterise(&chart.svg, &options)
            .with_context(|| format!("{}: cannot render the PNG", chart.name))?;
        let png_path = dir.join(format!("{}.png", chart.name));
        super::write_atomically(&png_path, |w| Ok(w.write_all(&png)?))?;
    }
    Ok(())
}

/// Rendering options with the system fonts, `sans-serif` mapped to an installed family that covers
/// Chinese when one is there (owner and segment names are often Chinese).
fn raster_options() -> resvg::usvg::Options<'static> {
    let mut options = resvg::usvg::Options::default();
    let db = options.fontdb_mut();
    db.load_system_fonts();
    let installed: std::collections::BTreeSet<String> = db
        .faces()
        .flat_map(|f| f.families.iter().map(|(name, _)| name.clone()))
        .collect();
    let preferred = [
        "Noto Sans CJK SC",
        "Source Han Sans SC",
        "WenQuanYi Micro Hei",
        "DejaVu Sans",
        "Liberation Sans",
    ];
    if let Some(family) = preferred.iter().find(|f| installed.contains(**f)) {
        db.set_sans_serif_family(*family);
        options.font_family = (*family).to_string();
    }
    options
}

fn rasterise(svg: &str, options: &resvg::usvg::Options) -> Result<Vec<u8>> {
    let tree = resvg::usvg::Tree::from_str(svg, options).map_err(err)?;
    let size = tree.size().to_int_size();
    let scale = 2.0;
    let mut pixmap = resvg::tiny_skia::Pixmap::new(
        (size.width() as f32 * scale).ceil() as u32,
        (size.height() as f32 * scale).ceil() as u32,
    )
    .ok_or_else(|| anyhow!("empty image"))?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(err)
}

/// Cumulative counts over dated steps: what happened (solid) beside what a model expects (grey),
/// with a dashed guide where the holdout starts (`split`, a step index) when there is one.
pub fn tracking(
    name: &str,
    title: &str,
    dates: &[String],
    actual: &[f64],
    model: &[f64],
    split: Option<usize>,
) -> Result<Chart> {
    let n = dates.len().max(1);
    let top = actual.iter().chain(model).fold(1.0f64, |m, &v| m.max(v)) * 1.05;
    draw(name, title, 400, |root, hover| {
        let mut chart = frame(root, title, 64)?
            .build_cartesian_2d(0f64..(n as f64 - 1.0).max(1.0), 0f64..top)
            .map_err(err)?;
        let label = |x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-9 && i >= 0.0 && (i as usize) < dates.len() {
                dates[i as usize].clone()
            } else {
                String::new()
            }
        };
        styled(&mut chart.configure_mesh())
            .x_labels(6)
            .x_label_formatter(&label)
            .y_label_formatter(&|v| compact(*v))
            .x_desc("week")
            .y_desc("repeat purchases, cumulative")
            .draw()
            .map_err(err)?;
        if let Some(k) = split {
            let x = k as f64;
            chart
                .draw_series(DashedLineSeries::new(
                    [(x, 0.0), (x, top)],
                    6,
                    4,
                    GUIDE.stroke_width(1),
                ))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    " holdout →".to_string(),
                    (x, top * 0.97),
                    text_style(&GUIDE, HPos::Left, VPos::Top),
                )))
                .map_err(err)?;
        }
        let series = |values: &[f64]| -> Vec<(f64, f64)> {
            values
                .iter()
                .enumerate()
                .map(|(i, v)| (i as f64, *v))
                .collect()
        };
        let last = (n as f64 - 1.0).max(1.0);
        for (i, date) in dates.iter().enumerate() {
            let x = i as f64;
            let (a, m) = (actual.get(i).copied(), model.get(i).copied());
            hover.area(
                chart.backend_coord(&((x - 0.5).max(0.0), top)),
                chart.backend_coord(&((x + 0.5).min(last), 0.0)),
                format!(
                    "week of {date}: {} actual, {} model (cumulative)",
                    a.map_or("–".into(), exact),
                    m.map_or("–".into(), exact)
                ),
            );
        }
        chart
            .draw_series(LineSeries::new(series(model), MUTED.stroke_width(2)))
            .map_err(err)?
            .label("model")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], MUTED.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(series(actual), ACCENT.stroke_width(2)))
            .map_err(err)?
            .label("actual")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], ACCENT.stroke_width(2)));
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    })
}

/// Columns in pairs, one pair per label left to right: what happened (blue) beside what a model
/// expects (grey), with a legend.
pub fn paired_columns(
    name: &str,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    labels: &[String],
    actual: &[f64],
    model: &[f64],
) -> Result<Chart> {
    let n = labels.len() as i32;
    let top = actual.iter().chain(model).fold(1.0f64, |m, &v| m.max(v)) * 1.12;
    // Pixels per category, for the half-width margins of each pair.
    let segment = (WIDTH as i32 - 64 - 24) / n.max(1);
    let half = (segment / 2).max(2) as u32;
    draw(name, title, 400, |root, hover| {
        let mut chart = frame(root, title, 64)?
            .build_cartesian_2d((0..last_segment(n)).into_segmented(), 0f64..top)
            .map_err(err)?;
        let xl = segment_label(labels);
        styled(&mut chart.configure_mesh())
            .disable_x_mesh()
            .x_labels(labels.len() + 1)
            .x_label_formatter(&xl)
            .y_label_formatter(&|v| compact(*v))
            .x_desc(x_desc)
            .y_desc(y_desc)
            .draw()
            .map_err(err)?;
        for (i, label) in labels.iter().enumerate() {
            let k = i as i32;
            hover.area(
                chart.backend_coord(&(SegmentValue::Exact(k), top)),
                chart.backend_coord(&(SegmentValue::Exact(k + 1), 0.0)),
                format!(
                    "{x_desc}: {label} · {} actual, {} model",
                    actual.get(i).map_or("–".into(), |v| exact(*v)),
                    model.get(i).map_or("–".into(), |v| exact(*v))
                ),
            );
        }
        let bars = |values: &[f64], color: RGBColor, left: bool| {
            values
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let i = i as i32;
                    let mut r = Rectangle::new(
                        [
                            (SegmentValue::Exact(i), v.max(0.0)),
                            (SegmentValue::Exact(i + 1), 0.0),
                        ],
                        color.filled(),
                    );
                    if left {
                        r.set_margin(0, 0, 6, half);
                    } else {
                        r.set_margin(0, 0, half, 6);
                    }
                    r
                })
                .collect::<Vec<_>>()
        };
        chart
            .draw_series(bars(actual, ACCENT, true))
            .map_err(err)?
            .label("actual")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], ACCENT.filled()));
        chart
            .draw_series(bars(model, MUTED, false))
            .map_err(err)?
            .label("model")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], MUTED.filled()));
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

/// The series legend every chart with two or more series shares.
fn legend<'a, 'b: 'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, Cartesian2d<X, Y>>,
    position: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(214, 214, 214))
        .label_font((FONT, 14).into_font().color(&INK))
        .draw()
        .map_err(err)
}

/// A calibration plot: observed rate against mean predicted probability per group (deciles),
/// both 0–1, with the diagonal a perfectly calibrated model would lie on.
pub fn calibration(name: &str, title: &str, points: &[(f64, f64)]) -> Result<Chart> {
    draw(name, title, 400, |root, hover| {
        let mut chart = frame(root, title, 60)?
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)
            .map_err(err)?;
        styled(&mut chart.configure_mesh())
            .x_desc("mean predicted probability")
            .y_desc("observed rate")
            .x_label_formatter(&|v| format!("{:.0}%", v * 100.0))
            .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                GUIDE.stroke_width(1),
            ))
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                ACCENT.stroke_width(2),
            ))
            .map_err(err)?;
        chart
            .draw_series(points.iter().map(|p| Circle::new(*p, 4, ACCENT.filled())))
            .map_err(err)?;
        for p in points {
            hover.point(
                chart.backend_coord(p),
                format!("predicted {}, observed {}", pct1(p.0), pct1(p.1)),
            );
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_numbers() {
        assert_eq!(compact(1_234_567.0), "1.2M");
        assert_eq!(compact(25_000.0), "25k");
        assert_eq!(compact(250.0), "250");
        assert_eq!(compact(0.5), "0.5");
        assert_eq!(compact(0.0), "0");
    }

    #[test]
    fn blue_scale_ends() {
        assert_eq!(blue(0.0), RGBColor(239, 246, 255));
        assert_eq!(blue(1.0), RGBColor(8, 48, 107));
        assert_eq!(blue(f64::NAN), blue(0.0));
    }

    #[test]
    fn heatmap_draws_a_labelled_cell_per_value() {
        let h = Heatmap {
            name: "h",
            title: "T",
            x_desc: "x",
            y_desc: "y",
            columns: vec!["a".into(), "b".into()],
            rows: vec!["r1".into(), "r2".into()],
            values: vec![vec![Some(1.0), None], vec![Some(3.0), Some(2.0)]],
            cell_text: &|v| format!("<{v}>"),
            scale_max: None,
        };
        let c = heatmap(&h).unwrap();
        assert!(c.svg.starts_with("<svg"));
        // plotters writes each text on a line of its own.
        for label in ["&lt;1&gt;", "&lt;3&gt;", "&lt;2&gt;", "r1", "r2", "a", "b"] {
            assert!(c.svg.lines().any(|l| l.trim() == label), "{label} missing");
        }
        // The empty cell stays blank: the one 0 is the colour legend's lower end.
        assert_eq!(
            c.svg.matches("&lt;0&gt;").count(),
            1,
            "the empty cell stays blank"
        );
        // The largest value gets the darkest colour.
        assert!(
            c.svg.contains("#08306B"),
            "{}",
            &c.svg[..400.min(c.svg.len())]
        );
    }

    /// Width and height of the first `<rect>` filled with `fill`.
    fn rect_size(svg: &str, fill: &str) -> (f64, f64) {
        let line = svg
            .lines()
            .find(|l| l.starts_with("<rect") && l.contains(&format!("fill=\"{fill}\"")))
            .unwrap_or_else(|| panic!("no {fill} rect"));
        let attr = |name: &str| -> f64 {
            let start = line.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
            line[start..].split('"').next().unwrap().parse().unwrap()
        };
        (attr("width"), attr("height"))
    }

    #[test]
    fn a_single_cell_is_still_drawn() {
        let h = Heatmap {
            name: "h",
            title: "T",
            x_desc: "x",
            y_desc: "y",
            columns: vec!["only".into()],
            rows: vec!["row".into()],
            values: vec![vec![Some(7.0)]],
            cell_text: &|v| format!("{v}"),
            scale_max: None,
        };
        let c = heatmap(&h).unwrap();
        assert!(c.svg.lines().any(|l| l.trim() == "7"));
        let (w, h) = rect_size(&c.svg, "#08306B");
        assert!(w > 100.0 && h > 20.0, "cell {w} x {h}");
        let b = bars("b", "T", "x", &["one".into()], &[3.0], &["3".into()], None).unwrap();
        let (w, h) = rect_size(&b.svg, "#2166AC");
        assert!(w > 100.0 && h > 5.0, "bar {w} x {h}");
    }

    /// Every mark carries its hover text: one `<title>` per heatmap cell and bar, escaped, in a
    /// transparent overlay before the SVG's end; the meaning scale runs green to red.
    #[test]
    fn marks_have_hover_titles() {
        let h = Heatmap {
            name: "h",
            title: "T",
            x_desc: "month",
            y_desc: "cohort",
            columns: vec!["0".into(), "1".into()],
            rows: vec!["2024-01".into()],
            values: vec![vec![Some(1.0), None]],
            cell_text: &|v| format!("{v} <all>"),
            scale_max: None,
        };
        let svg = heatmap(&h).unwrap().svg;
        assert_eq!(svg.matches("<title>").count(), 1, "{svg}");
        assert!(svg.contains("<title>cohort: 2024-01 · month: 0 · 1 &lt;all&gt;</title>"));
        assert!(svg.trim_end().ends_with("</g>\n</svg>") || svg.trim_end().ends_with("</svg>"));
        let tones = [Some(0.0), Some(1.0), None];
        let b = bars(
            "b",
            "T",
            "x",
            &["a".into(), "b".into(), "c".into()],
            &[1.0, 2.0, 3.0],
            &["1".into(), "2".into(), "3".into()],
            Some(&tones),
        )
        .unwrap();
        assert_eq!(b.svg.matches("<title>").count(), 3);
        assert!(b.svg.contains("<title>b: 2</title>"));
        assert_eq!(good_to_bad(0.0), RGBColor(26, 152, 80));
        assert_eq!(good_to_bad(1.0), RGBColor(215, 48, 39));
        assert!(
            b.svg.contains("#1A9850") && b.svg.contains("#D73027") && b.svg.contains("#2166AC")
        );
    }

    #[test]
    fn histogram_counts_overflow_in_last_bin_and_png_renders() {
        let c = histogram("h", "T", ("x", "y"), &[0.5, 1.5, 9.0, 100.0], 10.0, 10).unwrap();
        let opts = resvg::usvg::Options::default();
        let png = rasterise(&c.svg, &opts).unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }
}
