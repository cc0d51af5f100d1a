//! The elements of a JSON array, one at a time, as its bytes arrive. A Distributed Map's result file holds one
//! element per child execution, and Step Functions writes files of up to 5 GB (Developer Guide, "ResultWriter
//! (Map)"), so a file is never held whole: [`Elements`] only finds where each element ends (it follows brackets,
//! strings and their escapes) and hands that element's bytes over for serde_json to parse on its own.
//!
//! The same reader takes JSON Lines, ResultWriter's other `OutputType`: values one after another, separated by
//! whitespace instead of commas inside brackets. It trusts the separators (a stray comma between elements is
//! skipped); each element is validated by the parser it is handed to, and a stream that stops inside an element or
//! before its closing bracket is an error, never a shorter array.

use std::collections::VecDeque;

/// Why a stream is not a sequence of JSON values this reader hands over.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StreamError {
    /// An element longer than the reader's limit: it is refused rather than buffered.
    #[error("an element is longer than {limit} bytes")]
    TooLong { limit: usize },
    #[error("it ends inside an element or before its closing bracket (truncated)")]
    Truncated,
    #[error("it goes on after its closing bracket")]
    Trailing,
}

/// What the stream has shown itself to be so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// Nothing but whitespace yet.
    Unknown,
    /// Inside `[` ... `]`.
    Array,
    /// Past the closing `]`: only whitespace may follow.
    Closed,
    /// JSON Lines (or any whitespace-separated values).
    Lines,
}

/// Splits a stream of bytes into its top-level elements, holding at most one unfinished element (up to `limit`
/// bytes) and the elements the last chunk completed.
#[derive(Debug)]
pub struct Elements {
    limit: usize,
    shape: Shape,
    /// The element being read; empty between elements.
    element: Vec<u8>,
    /// Brackets open inside the element.
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// The element is a number, `true`, `false` or `null`: it ends at the next separator.
    scalar: bool,
    done: VecDeque<Vec<u8>>,
}

impl Elements {
    /// A reader that refuses any element longer than `limit` bytes.
    pub fn new(limit: usize) -> Elements {
        Elements {
            limit,
            shape: Shape::Unknown,
            element: Vec::new(),
            depth: 0,
            in_string: false,
            escaped: false,
            scalar: false,
            done: VecDeque::new(),
        }
    }

    /// Reads the next bytes; the elements they complete are then taken with [`Elements::pop`].
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), StreamError> {
        for &byte in chunk {
            self.byte(byte)?;
        }
        Ok(())
    }

    /// The next complete element, in stream order.
    pub fn pop(&mut self) -> Option<Vec<u8>> {
        self.done.pop_front()
    }

    /// The stream has ended: a last scalar of JSON Lines completes; an empty stream has no elements; anything
    /// left open is [`StreamError::Truncated`].
    pub fn finish(&mut self) -> Result<(), StreamError> {
        if self.scalar && self.shape == Shape::Lines {
            self.complete();
        }
        match self.shape {
            Shape::Unknown | Shape::Closed => Ok(()),
            Shape::Lines if self.element.is_empty() => Ok(()),
            Shape::Array | Shape::Lines => Err(StreamError::Truncated),
        }
    }

    fn byte(&mut self, byte: u8) -> Result<(), StreamError> {
        let blank = byte.is_ascii_whitespace();
        if self.scalar && (blank || byte == b',' || byte == b']') {
            self.complete();
        }
        if self.element.is_empty() {
            match (self.shape, byte) {
                (_, _) if blank => return Ok(()),
                (Shape::Unknown, b'[') => {
                    self.shape = Shape::Array;
                    return Ok(());
                }
                (Shape::Unknown, _) => self.shape = Shape::Lines,
                (Shape::Array, b',') => return Ok(()),
                (Shape::Array, b']') => {
                    self.shape = Shape::Closed;
                    return Ok(());
                }
                (Shape::Closed, _) => return Err(StreamError::Trailing),
                _ => {}
            }
            self.scalar = !matches!(byte, b'{' | b'[' | b'"');
        }
        if self.element.len() >= self.limit {
            return Err(StreamError::TooLong { limit: self.limit });
        }
        self.element.push(byte);
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if byte == b'\\' {
                self.escaped = true;
            } else if byte == b'"' {
                self.in_string = false;
                if self.depth == 0 {
                    self.complete();
                }
            }
            return Ok(());
        }
        match byte {
            b'"' => self.in_string = true,
            b'{' | b'[' => self.depth = self.depth.saturating_add(1),
            b'}' | b']' if !self.scalar => {
                self.depth = self.depth.saturating_sub(1);
                if self.depth == 0 {
                    self.complete();
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn complete(&mut self) {
        self.done.push_back(std::mem::take(&mut self.element));
        self.depth = 0;
        self.in_string = false;
        self.escaped = false;
        self.scalar = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every element of `text` fed in chunks of `size` bytes, as text, and how the stream ended.
    fn split(text: &str, size: usize, limit: usize) -> (Vec<String>, Result<(), StreamError>) {
        let mut elements = Elements::new(limit);
        let mut found = Vec::new();
        for chunk in text.as_bytes().chunks(size.max(1)) {
            let outcome = elements.push(chunk);
            while let Some(e) = elements.pop() {
                found.push(String::from_utf8_lossy(&e).into_owned());
            }
            if outcome.is_err() {
                return (found, outcome);
            }
        }
        let end = elements.finish();
        while let Some(e) = elements.pop() {
            found.push(String::from_utf8_lossy(&e).into_owned());
        }
        (found, end)
    }

    const TRICKY: &str = r#" [ {"Output": "{\"accounts\":[{\"account\":\"1\"}]} ] } [ \\"}, {"a": [1, [2], {"b": "]"}]},
        "a string, with ] and \" inside", 12, -3.5e2, true, null, [] ]  "#;

    #[test]
    fn an_array_is_handed_over_element_by_element_whatever_the_chunks() {
        let expected = vec![
            r#"{"Output": "{\"accounts\":[{\"account\":\"1\"}]} ] } [ \\"}"#.to_owned(),
            r#"{"a": [1, [2], {"b": "]"}]}"#.to_owned(),
            r#""a string, with ] and \" inside""#.to_owned(),
            "12".to_owned(),
            "-3.5e2".to_owned(),
            "true".to_owned(),
            "null".to_owned(),
            "[]".to_owned(),
        ];
        for size in [1, 2, 3, 7, 64, 4096] {
            let (found, end) = split(TRICKY, size, 1024);
            assert_eq!(found, expected, "chunks of {size}");
            assert_eq!(end, Ok(()), "chunks of {size}");
        }
        for element in &expected {
            assert!(serde_json::from_str::<serde_json::Value>(element).is_ok(), "{element} parses on its own");
        }
    }

    #[test]
    fn json_lines_and_empty_streams_are_read_too() {
        let lines = "{\"Status\":\"SUCCEEDED\"}\n{\"Status\":\"FAILED\",\"Cause\":\"a\\nb\"}\n7";
        let (found, end) = split(lines, 5, 1024);
        assert_eq!(found, [r#"{"Status":"SUCCEEDED"}"#, r#"{"Status":"FAILED","Cause":"a\nb"}"#, "7"]);
        assert_eq!(end, Ok(()));
        for empty in ["", "  \n", "[]", " [ ] \n"] {
            assert_eq!(split(empty, 1, 16), (Vec::new(), Ok(())), "{empty:?}");
        }
    }

    #[test]
    fn a_truncated_stream_is_an_error_not_a_shorter_array() {
        for cut in [r#"[{"a": 1}, {"b": "#, r#"[{"a": 1}, {"b": 2}"#, r#"[{"a": "]"#, "{\"a\": 1}\n{\"b\""] {
            let (_, end) = split(cut, 3, 1024);
            assert_eq!(end, Err(StreamError::Truncated), "{cut}");
        }
        let (found, end) = split(r#"[{"a": 1}] {"b": 2}"#, 4, 1024);
        assert_eq!((found.len(), end), (1, Err(StreamError::Trailing)));
    }

    #[test]
    fn an_element_over_the_limit_is_refused_before_it_is_buffered() {
        let long = format!(r#"[{{"a": "{}"}}, {{}}]"#, "x".repeat(100));
        let (found, end) = split(&long, 8, 64);
        assert_eq!((found, end), (Vec::<String>::new(), Err(StreamError::TooLong { limit: 64 })));
        let (found, end) = split(&long, 8, 112);
        assert_eq!((found.len(), end), (2, Ok(())), "a limit the element fits in");
    }

    #[test]
    fn what_is_not_json_is_handed_over_for_the_parser_to_refuse() {
        let (found, end) = split("[}, {\"a\" 1}]", 2, 64);
        assert_eq!(found, ["}", "{\"a\" 1}"]);
        assert_eq!(end, Ok(()));
        assert!(found.iter().all(|e| serde_json::from_str::<serde_json::Value>(e).is_err()));
    }
}
