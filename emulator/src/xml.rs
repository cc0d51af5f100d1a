//! Just enough XML writing for awsQuery responses.

use std::fmt::Write;

/// Escapes text for element content or attribute values. Characters XML 1.0 cannot
/// carry at all (most C0 controls) become U+FFFD so a parser never chokes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Appends elements to a string; element names are trusted constants.
#[derive(Default)]
pub(crate) struct Xml(String);

impl Xml {
    /// `<name>escaped text</name>`.
    pub(crate) fn text(&mut self, name: &str, text: &str) -> &mut Self {
        // Writing to a String cannot fail.
        let _ = write!(self.0, "<{name}>{}</{name}>", escape(text));
        self
    }

    /// `<name>text</name>` only when there is a value.
    pub(crate) fn opt(&mut self, name: &str, text: Option<&str>) -> &mut Self {
        if let Some(text) = text {
            self.text(name, text);
        }
        self
    }

    /// `<name>…</name>` around whatever `inner` writes.
    pub(crate) fn wrap(&mut self, name: &str, inner: impl FnOnce(&mut Xml)) -> &mut Self {
        let _ = write!(self.0, "<{name}>");
        inner(self);
        let _ = write!(self.0, "</{name}>");
        self
    }

    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(escape(r#"a<b>&"c"'d'"#), "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;");
        assert_eq!(escape("line\r\nnext\ttab\u{0}"), "line&#13;\nnext\ttab\u{FFFD}");
        assert_eq!(escape("ünïcødé ✓"), "ünïcødé ✓");
    }

    #[test]
    fn builds_nested_elements() {
        let mut x = Xml::default();
        x.wrap("Tags", |x| {
            x.wrap("Tag", |x| {
                x.text("Key", "a&b").opt("Value", None);
            });
        })
        .opt("Marker", Some("<m>"));
        assert_eq!(x.into_string(), "<Tags><Tag><Key>a&amp;b</Key></Tag></Tags><Marker>&lt;m&gt;</Marker>");
    }
}
