//! The one way text reaches the HTML report: a writer that takes markup only as text written into the program (a
//! `&'static str`), and every other text through [`Html::text`], which shows it safe and escapes it. A name read from
//! a control plane cannot become markup by mistake: there is no method that would write it unescaped.

use crate::domain::text;
use std::fmt::Write as _;

/// A page under construction.
#[derive(Debug, Default)]
pub struct Html {
    out: String,
}

/// Numbers the page shows: written by their `Display`, which holds only digits.
pub trait Number: std::fmt::Display {}
impl Number for usize {}
impl Number for u64 {}

impl Html {
    pub fn new() -> Html {
        Html::default()
    }

    /// Markup, or text of the program's own: only a `&'static str`, never a text from a report.
    pub fn markup(&mut self, markup: &'static str) -> &mut Html {
        self.out.push_str(markup);
        self
    }

    /// A text from a report (or an event, or a file): shown safe by [`text::display`] (control and bidi
    /// characters and the line separators as visible escapes such as `\u{202e}`, so nothing reorders or hides what
    /// a reader sees) and cut to `max_chars`, then each of `& < > " '` escaped, so it is text wherever it lands: in
    /// an element or in a quoted attribute value.
    pub fn text(&mut self, text: &str, max_chars: usize) -> &mut Html {
        for c in text::display(text, max_chars).chars() {
            match c {
                '&' => self.out.push_str("&amp;"),
                '<' => self.out.push_str("&lt;"),
                '>' => self.out.push_str("&gt;"),
                '"' => self.out.push_str("&quot;"),
                '\'' => self.out.push_str("&#39;"),
                other => self.out.push(other),
            }
        }
        self
    }

    pub fn number(&mut self, n: impl Number) -> &mut Html {
        // Writing to a String cannot fail.
        let _ = write!(self.out, "{n}");
        self
    }

    /// Another page part, written with this same writer.
    pub fn append(&mut self, part: Html) -> &mut Html {
        self.out.push_str(&part.out);
        self
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str, max: usize) -> String {
        let mut html = Html::new();
        html.text(text, max);
        html.finish()
    }

    #[test]
    fn the_five_characters_html_gives_a_meaning_are_escaped() {
        assert_eq!(shown("<b>\"x\" & 'y'</b>", 100), "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;");
        assert_eq!(
            shown("</style><script>alert(1)</script>", 100),
            "&lt;/style&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(shown("&amp;", 100), "&amp;amp;", "an entity in a name is shown as typed");
    }

    #[test]
    fn control_and_bidi_characters_are_shown_as_escapes_and_the_text_is_cut() {
        assert_eq!(shown("a\u{202E}b\r\n\x1b[31m\u{2028}", 100), "a\\u{202e}b\\u{d}\\u{a}\\u{1b}[31m\\u{2028}");
        assert_eq!(shown(&"<".repeat(100_000), 5), "&lt;&lt;&lt;&lt;…", "cut before escaping: 5 characters shown");
    }

    #[test]
    fn markup_and_numbers_are_written_as_they_are() {
        let mut html = Html::new();
        html.markup("<td>").number(12_usize).markup("</td>").number(u64::MAX);
        assert_eq!(html.finish(), "<td>12</td>18446744073709551615");
    }
}
