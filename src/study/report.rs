//! A run's report as one self-contained HTML page: headings, paragraphs, tables,
//! preformatted logs and SVG figures inlined (no scripts, styles or images fetched from
//! anywhere), so a run's output folder can be shared as it is. Figures added together
//! sit side by side in a grid that wraps to the width of the window.
//!
//! ```
//! use tapegrad::study::report::Report;
//! let mut page = Report::new("Depth sweep");
//! page.paragraph("he keeps the signal alive & well");
//! page.table(&["init", "ratio"], &[vec!["he".into(), "1.2".into()]]);
//! page.figure("signal", "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>");
//! let html = page.to_html();
//! assert!(html.contains("alive &amp; well"));
//! assert_eq!(html.matches("<svg").count(), 1);
//! ```

use std::fmt::Write;

/// One piece of a page, in order.
#[derive(Clone, Debug, PartialEq)]
enum Block {
    Heading(String),
    Paragraph(String),
    Code(String),
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// Figures shown side by side, each a caption and an inline SVG.
    Figures(Vec<(String, String)>),
}

/// A page under construction; [`Report::to_html`] renders it.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    title: String,
    blocks: Vec<Block>,
    figure_count: usize,
}

impl Report {
    /// An empty page with a title.
    pub fn new(title: impl Into<String>) -> Report {
        Report { title: title.into(), blocks: Vec::new(), figure_count: 0 }
    }

    /// Adds a section heading.
    pub fn heading(&mut self, text: impl Into<String>) -> &mut Report {
        self.blocks.push(Block::Heading(text.into()));
        self
    }

    /// Adds a paragraph of plain text (escaped).
    pub fn paragraph(&mut self, text: impl Into<String>) -> &mut Report {
        self.blocks.push(Block::Paragraph(text.into()));
        self
    }

    /// Adds preformatted text: a command line, a log.
    pub fn code(&mut self, text: impl Into<String>) -> &mut Report {
        self.blocks.push(Block::Code(text.into()));
        self
    }

    /// Adds a table; every cell is plain text.
    pub fn table<S: AsRef<str>>(&mut self, header: &[S], rows: &[Vec<String>]) -> &mut Report {
        let header = header.iter().map(|h| h.as_ref().to_string()).collect();
        self.blocks.push(Block::Table { header, rows: rows.to_vec() });
        self
    }

    /// Adds an SVG figure, inlined (an XML declaration or doctype before `<svg` is
    /// dropped), on a row of its own.
    pub fn figure(&mut self, caption: impl Into<String>, svg: &str) -> &mut Report {
        self.figures([(caption, svg)])
    }

    /// Adds figures side by side, in a grid that wraps onto more rows when the window is
    /// too narrow for them (such as one figure per initializer); each is inlined as
    /// [`Report::figure`] inlines one.
    pub fn figures<'s, C: Into<String>>(&mut self, figures: impl IntoIterator<Item = (C, &'s str)>) -> &mut Report {
        let figures: Vec<(String, String)> = figures
            .into_iter()
            .map(|(caption, svg)| (caption.into(), svg.find("<svg").map_or(svg, |i| &svg[i..]).trim_end().to_string()))
            .collect();
        self.figure_count += figures.len();
        self.blocks.push(Block::Figures(figures));
        self
    }

    /// Number of figures added.
    pub fn figure_count(&self) -> usize {
        self.figure_count
    }

    /// The page as an HTML5 document.
    pub fn to_html(&self) -> String {
        let mut out = String::new();
        let title = escape(&self.title);
        write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n\
             <style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
        )
        .unwrap();
        for block in &self.blocks {
            match block {
                Block::Heading(t) => writeln!(out, "<h2>{}</h2>", escape(t)).unwrap(),
                Block::Paragraph(t) => writeln!(out, "<p>{}</p>", escape(t)).unwrap(),
                Block::Code(t) => writeln!(out, "<pre>{}</pre>", escape(t)).unwrap(),
                Block::Table { header, rows } => {
                    out.push_str("<table>\n<thead><tr>");
                    for h in header {
                        write!(out, "<th>{}</th>", escape(h)).unwrap();
                    }
                    out.push_str("</tr></thead>\n<tbody>\n");
                    for row in rows {
                        out.push_str("<tr>");
                        for cell in row {
                            write!(out, "<td>{}</td>", escape(cell)).unwrap();
                        }
                        out.push_str("</tr>\n");
                    }
                    out.push_str("</tbody>\n</table>\n");
                }
                Block::Figures(figures) => {
                    out.push_str("<div class=\"figures\">\n");
                    for (caption, svg) in figures {
                        writeln!(out, "<figure>\n{svg}\n<figcaption>{}</figcaption>\n</figure>", escape(caption))
                            .unwrap();
                    }
                    out.push_str("</div>\n");
                }
            }
        }
        out.push_str("</body>\n</html>\n");
        out
    }
}

/// Figures of a row share it in columns at least 360 px wide (fewer columns, more rows,
/// in a narrower window); an SVG shrinks to its column but never grows past its own size.
const STYLE: &str = "body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}\
table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.2em .6em;text-align:right}\
pre{background:#f4f4f4;padding:.6em;overflow-x:auto}\
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,360px),1fr));gap:1em;margin:1em 0}\
figure{margin:0}svg{max-width:100%;height:auto}";

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// The command line of this process, quoted so that it can be pasted into a shell.
pub fn command_line() -> String {
    std::env::args().map(|a| shell_quote(&a)).collect::<Vec<_>>().join(" ")
}

/// `text` quoted for a POSIX shell when it holds anything but safe characters.
pub fn shell_quote(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:,=+@%".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_escaping() {
        assert_eq!(shell_quote("--init=he,normal:10"), "--init=he,normal:10");
        assert_eq!(shell_quote("my out"), "'my out'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }

    #[test]
    fn figures_drop_the_xml_declaration() {
        let mut page = Report::new("t");
        page.figure("f", "<?xml version=\"1.0\"?>\n<svg width=\"1\"></svg>\n");
        let html = page.to_html();
        assert!(!html.contains("<?xml"));
        assert!(html.contains("<figure>\n<svg width=\"1\"></svg>\n<figcaption>f</figcaption>"));
        assert_eq!(page.figure_count(), 1);
    }

    #[test]
    fn figures_added_together_share_one_grid() {
        let mut page = Report::new("t");
        page.figure("wide", "<svg id=\"w\"></svg>");
        page.figures([("a", "<svg id=\"a\"></svg>"), ("b", "<svg id=\"b\"></svg>")]);
        let html = page.to_html();
        assert_eq!(page.figure_count(), 3);
        assert_eq!(html.matches("<div class=\"figures\">").count(), 2, "one grid per call");
        let second = &html[html.rfind("<div class=\"figures\">").unwrap()..];
        let grid = &second[..second.find("</div>").unwrap()];
        assert_eq!(grid.matches("<figure>").count(), 2, "a and b side by side: {grid}");
        assert!(grid.contains("<figcaption>a</figcaption>") && grid.contains("<figcaption>b</figcaption>"));
        assert!(html.contains(".figures{display:grid;"), "the grid is styled in the page itself");
    }
}
