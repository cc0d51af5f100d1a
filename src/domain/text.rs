//! Control-plane text made safe to show a person. Names, ids, statuses, reasons and error texts come from the
//! control planes (and events), so they can hold anything a resource's owner typed: terminal escapes, carriage
//! returns and newlines that forge rows, bidi overrides that reorder what is shown, or 100,000 characters.
//!
//! [`display`] is the one place that decides what is shown: every control character (C0, DEL, C1: what
//! [`char::is_control`] calls control), every bidi control (U+061C, U+200E, U+200F, U+202A..U+202E,
//! U+2066..U+2069) and the Unicode line and paragraph separators (U+2028, U+2029, which some viewers break lines at)
//! is shown as its escape, `\u{1b}` (Rust's [`char::escape_unicode`]): visible, so a reader sees that something was
//! there and what, and never interpreted by a terminal or a chat client. The result is then cut to a number of
//! characters, on character boundaries, ending in `…` when cut.
//!
//! This is for display only: the JSON report keeps every text whole (JSON escapes what it must).

/// Ends a text that was cut.
pub const ELLIPSIS: char = '…';

/// Whether `c` changes how the text around it is shown rather than being shown: control characters, bidi
/// controls, and the line and paragraph separators.
pub fn is_hazard(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// The characters that set or override the direction of the text after them (Unicode's bidi controls).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` safe to show: each hazard (see [`is_hazard`]) as its visible escape, then cut to at most `max_chars`
/// characters with an [`ELLIPSIS`] when cut. Never panics; reads at most about `max_chars` characters of `text`,
/// so a huge text costs no more than a short one.
pub fn display(text: &str, max_chars: usize) -> String {
    let mut shown = text.chars().flat_map(visible);
    // One character more than fits tells whether the text had to be cut.
    let mut kept: Vec<char> = shown.by_ref().take(max_chars.saturating_add(1)).collect();
    if kept.len() > max_chars {
        kept.truncate(max_chars.saturating_sub(1));
        if max_chars > 0 {
            kept.push(ELLIPSIS);
        }
    }
    kept.into_iter().collect()
}

/// How one character is shown: itself, or its escape when it is a hazard.
fn visible(c: char) -> Visible {
    if is_hazard(c) {
        Visible::Escaped(c.escape_unicode())
    } else {
        Visible::Plain(Some(c))
    }
}

/// The characters one character is shown as (an iterator, so [`display`] allocates only what it keeps).
enum Visible {
    Plain(Option<char>),
    Escaped(std::char::EscapeUnicode),
}

impl Iterator for Visible {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        match self {
            Visible::Plain(c) => c.take(),
            Visible::Escaped(escape) => escape.next(),
        }
    }
}

/// `text` padded with spaces to `width` characters (a text already as wide or wider is left as it is). For
/// columns: unlike `format!("{:<width$}")`, it takes any width (the standard formatter panics on a width above
/// 65,535).
pub fn pad(text: &str, width: usize) -> String {
    let count = text.chars().count();
    let mut padded = String::with_capacity(text.len() + width.saturating_sub(count));
    padded.push_str(text);
    padded.extend(std::iter::repeat_n(' ', width.saturating_sub(count)));
    padded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_shown_as_it_is() {
        assert_eq!(display("orders-to-redshift", 60), "orders-to-redshift");
        assert_eq!(display("数据同步任务-1", 60), "数据同步任务-1");
        assert_eq!(display("", 10), "");
    }

    #[test]
    fn control_characters_are_shown_as_their_escapes() {
        assert_eq!(display("a\x1b[31mred\x1b[0m", 60), "a\\u{1b}[31mred\\u{1b}[0m");
        assert_eq!(display("row\r\nforged", 60), "row\\u{d}\\u{a}forged");
        assert_eq!(display("del\u{7f}c1\u{85}\u{9b}", 60), "del\\u{7f}c1\\u{85}\\u{9b}");
        assert_eq!(display("tab\there\0", 60), "tab\\u{9}here\\u{0}");
    }

    #[test]
    fn bidi_controls_and_line_separators_are_shown_as_their_escapes() {
        let hostile: String = ['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}']
            .into_iter()
            .chain(['\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}', '\u{2028}', '\u{2029}'])
            .collect();
        let shown = display(&hostile, 1_000);
        assert!(!shown.chars().any(is_hazard), "{shown}");
        assert!(shown.starts_with("\\u{202a}\\u{202b}"), "{shown}");
        assert!(shown.ends_with("\\u{61c}\\u{2028}\\u{2029}"), "{shown}");
        assert_eq!(display("exe.\u{202E}fdp", 60), "exe.\\u{202e}fdp");
    }

    #[test]
    fn a_long_text_is_cut_on_character_boundaries_with_an_ellipsis() {
        assert_eq!(display("abcdef", 4), "abc…");
        assert_eq!(display("abcd", 4), "abcd");
        assert_eq!(display("abcd", 0), "");
        assert_eq!(display("abcd", 1), "…");
        // Multi-byte characters: a byte index would fall inside one.
        assert_eq!(display("ééééé", 3), "éé…");
        assert_eq!(display("🦀🦀🦀🦀", 2), "🦀…");
        let huge = "é".repeat(100_000);
        let shown = display(&huge, 60);
        assert_eq!(shown.chars().count(), 60);
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn the_cut_counts_escapes_as_shown() {
        let shown = display(&"\x1b".repeat(100_000), 20);
        assert_eq!(shown.chars().count(), 20);
        assert!(shown.starts_with("\\u{1b}\\u{1b}"), "{shown}");
        assert!(!shown.chars().any(is_hazard));
    }

    #[test]
    fn padding_takes_any_width() {
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(pad("abcdef", 4), "abcdef");
        assert_eq!(pad("é", 3), "é  ");
        assert_eq!(pad("", 70_000).len(), 70_000);
    }
}
