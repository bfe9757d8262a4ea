//! Source positions carried by every model element.
//!
//! A [`Span`] says where an element came from in the imported text. Spans are
//! diagnostics metadata, not part of what a model *means*: two models that
//! differ only in where their elements were written compare equal. That is what
//! makes `parse(write(parse(x))) == parse(x)` a meaningful round-trip check.

use std::fmt;

/// Where an element starts and ends in the source text.
///
/// `start`/`end` are byte offsets; `line`/`column` are 1-based, and the column
/// counts characters (not bytes) from the start of the line. A model built in
/// code has the default span (all zeros), which [`Span::is_known`] reports.
#[derive(Clone, Copy, Default, Eq)]
pub struct Span {
    pub start: u32,
    pub end: u32,
    pub line: u32,
    pub column: u32,
}

impl Span {
    /// False for spans of elements that were built in code rather than parsed.
    pub fn is_known(&self) -> bool {
        self.line != 0
    }

    /// The byte range, for renderers that highlight the source.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

impl PartialEq for Span {
    /// Always true: positions are not part of a model's identity (see module doc).
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Maps byte offsets to 1-based line/column pairs in O(log lines).
#[derive(Debug)]
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, line_starts }
    }

    /// Line and character column (both 1-based) of a byte offset.
    pub(crate) fn position(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line as u32 + 1, column as u32 + 1)
    }

    /// Byte offset of a 1-based line and character column (clamped to the text).
    pub(crate) fn offset_of(&self, line: u32, column: u32) -> usize {
        let Some(&start) = self.line_starts.get((line as usize).saturating_sub(1)) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        rest.char_indices()
            .nth((column as usize).saturating_sub(1))
            .map_or(self.text.len(), |(i, _)| start + i)
    }

    pub(crate) fn span(&self, range: std::ops::Range<usize>) -> Span {
        let (line, column) = self.position(range.start);
        Span {
            start: range.start as u32,
            end: range.end as u32,
            line,
            column,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let idx = LineIndex::new("ab\nçd\n\nx");
        assert_eq!(idx.position(0), (1, 1));
        assert_eq!(idx.position(1), (1, 2));
        assert_eq!(idx.position(3), (2, 1));
        // 'ç' is two bytes: 'd' sits at byte 5 but is the 2nd character.
        assert_eq!(idx.position(5), (2, 2));
        assert_eq!(idx.position(7), (3, 1));
        assert_eq!(idx.position(8), (4, 1));
        assert_eq!(idx.position(100), (4, 2));
    }
}
