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

mod bars;
mod curves;
mod grid;
mod hover;

pub use bars::{bars, histogram, intervals, paired_columns, Intervals};
pub use curves::{calibration, share_curve, survival, tracking, trend};
pub use grid::{heatmap, Heatmap};
use hover::{translate_texts, Hovers};

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

/// A value for hover text: whole numbers grouped, others to two decimals (four below 1).
fn exact(v: f64) -> String {
    let sign = if v < 0.0 { "-" } else { "" };
    if v.fract() == 0.0 {
        format!("{sign}{}", super::cells::grouped(v, 0))
    } else if v.abs() >= 1.0 {
        format!("{sign}{}", super::cells::grouped(v, 2))
    } else {
        format!("{}", crate::metrics::stats::round_to(v, 4))
    }
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
