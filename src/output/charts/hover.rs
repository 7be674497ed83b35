//! Hover text on a chart's marks (an SVG `<title>` overlay) and the chart's texts in the
//! reader's language.

/// The hover text of a chart's marks: each a pixel box and what it says. Drawn as transparent
/// rectangles with an SVG `<title>` over the chart (plotters writes no titles), so a reader
/// pointing at a bar, cell or point sees its label and value, with no script.
#[derive(Default)]
pub(super) struct Hovers(Vec<(i32, i32, i32, i32, String)>);

impl Hovers {
    /// The box between two corners (in any order), at least 8 px each way.
    pub(super) fn area(&mut self, a: (i32, i32), b: (i32, i32), text: String) {
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
    pub(super) fn point(&mut self, p: (i32, i32), text: String) {
        self.area((p.0 - 6, p.1 - 6), (p.0 + 6, p.1 + 6), text);
    }

    /// The overlay, inserted before the SVG's end.
    pub(super) fn inject(&self, svg: &mut String) {
        if self.0.is_empty() {
            return;
        }
        let mut overlay = String::from("<g class=\"hover\" fill=\"transparent\">\n");
        for (x0, y0, x1, y1, text) in &self.0 {
            overlay.push_str(&format!(
                "<rect x=\"{x0}\" y=\"{y0}\" width=\"{}\" height=\"{}\"><title>{}</title></rect>\n",
                x1 - x0,
                y1 - y0,
                crate::output::html::escape(&crate::i18n::tr_data(text))
            ));
        }
        overlay.push_str("</g>\n");
        if let Some(end) = svg.rfind("</svg>") {
            svg.insert_str(end, &overlay);
        }
    }
}

/// The SVG with the content of every `<text>` element in the reader's language.
pub(super) fn translate_texts(svg: &str) -> String {
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
        out.push_str(&crate::output::html::escape(&crate::i18n::tr_data(&plain)));
        out.push_str(&content[at + trimmed.len()..]);
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}
