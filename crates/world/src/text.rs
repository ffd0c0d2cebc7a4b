//! Positions in text: byte offsets to 1-based line:column (columns in characters) and back.

/// The largest char boundary of `text` that is `<= offset` (clamped to the text's length).
pub(crate) fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut o = offset.min(text.len());
    while !text.is_char_boundary(o) {
        o -= 1;
    }
    o
}

/// 1-based line and column of byte `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let offset = floor_char_boundary(text, offset);
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (saturate(line), saturate(col))
}

/// Byte offset of a 1-based line and column (column in characters); clamped to the end of
/// that line, or to the end of the text when the line does not exist.
pub(crate) fn offset_of(text: &str, line: u32, col: u32) -> usize {
    let mut start = 0usize;
    for _ in 1..line.max(1) {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let line_text = text[start..].split('\n').next().unwrap_or("");
    let col_bytes: usize = line_text
        .chars()
        .take(col.max(1) as usize - 1)
        .map(char::len_utf8)
        .sum();
    start + col_bytes
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Lines of `text` with the byte offset where each starts (no line terminators; a trailing
/// `\r` is stripped too).
pub(crate) fn lines_with_offsets(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut offset = 0usize;
    text.split_inclusive('\n').map(move |raw| {
        let start = offset;
        offset += raw.len();
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        let line = line.strip_suffix('\r').unwrap_or(line);
        (start, line)
    })
}

/// Whitespace-separated tokens of `line` with their byte offsets in the line.
pub(crate) fn tokens(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                out.push((s, &line[s..i]));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push((s, &line[s..]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip() {
        let t = "ab\ncé\n\nx";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 3), (2, 1));
        assert_eq!(line_col(t, 6), (2, 3)); // after 'é' (2 bytes)
        assert_eq!(line_col(t, 5), (2, 2)); // inside 'é' floors to its start
        assert_eq!(line_col(t, 100), (4, 2));
        assert_eq!(offset_of(t, 2, 3), 6);
        assert_eq!(offset_of(t, 9, 1), t.len());
        assert_eq!(offset_of(t, 1, 99), 2);
    }

    #[test]
    fn tokens_and_lines() {
        assert_eq!(tokens("  a bc\td "), vec![(2, "a"), (4, "bc"), (7, "d")]);
        let l: Vec<_> = lines_with_offsets("a\r\nbb\nc").collect();
        assert_eq!(l, vec![(0, "a"), (3, "bb"), (6, "c")]);
    }
}
