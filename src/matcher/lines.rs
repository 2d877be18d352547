//! Line bookkeeping: from byte offsets in a fragment to 1-based lines and their bounds, built
//! only for the fragments that produced a match.

use std::ops::Range;

/// Byte offsets of line starts.
pub(super) struct LineIndex<'a> {
    data: &'a [u8],
    newlines: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        LineIndex {
            data,
            newlines: memchr::memchr_iter(b'\n', data).collect(),
        }
    }

    /// 1-based line of byte `pos`.
    pub(super) fn line_of(&self, pos: usize) -> usize {
        self.newlines.partition_point(|&nl| nl < pos) + 1
    }

    pub(super) fn line_bounds(&self, pos: usize) -> Range<usize> {
        let line = self.line_of(pos);
        let start = if line == 1 {
            0
        } else {
            self.newlines[line - 2] + 1
        };
        let end = self
            .newlines
            .get(line - 1)
            .copied()
            .unwrap_or(self.data.len());
        start..end
    }
}
