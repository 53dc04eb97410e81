//! Text primitives of the hot path, each measured against what it replaces
//! (ingester/DESIGN.md, "Where the time goes"): splitting a record at an
//! ASCII byte (tabs of TSV and W3C, `&` and `=` of query strings) with the
//! `memchr` crate's vectorized search rather than core's word-at-a-time one
//! behind `str::split(char)`, and comparing the short names a record is
//! searched for (JSON keys, query parameters).

/// The pieces of `text` between occurrences of `delimiter`, as `str::split`
/// yields them (an empty text is one empty piece).
pub fn split_at(text: &str, delimiter: u8) -> impl Iterator<Item = &str> {
    debug_assert!(delimiter.is_ascii(), "a non-ASCII byte would cut a character");
    let mut start = 0;
    memchr::memchr_iter(delimiter, text.as_bytes()).map(Some).chain([None]).map(move |end| {
        let end = end.unwrap_or(text.len());
        let piece = &text[start..end];
        start = end + 1;
        piece
    })
}

/// `text` before and after the first `delimiter`, as `str::split_once`.
pub fn split_once_at(text: &str, delimiter: u8) -> Option<(&str, &str)> {
    debug_assert!(delimiter.is_ascii(), "a non-ASCII byte would cut a character");
    memchr::memchr(delimiter, text.as_bytes()).map(|at| (&text[..at], &text[at + 1..]))
}

/// `a == b` for short names looked up per value: the length and the first
/// byte rule out nearly every candidate before the call to `memcmp` that
/// `==` makes, which the profile showed once per candidate of every key.
#[inline]
pub fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes().first() == b.as_bytes().first() && a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_exactly_as_str_split() {
        for text in ["", "a", "\t", "a\tb", "\ta\t\tb\t", "é\tü", "-\t-\t"] {
            assert_eq!(split_at(text, b'\t').collect::<Vec<_>>(), text.split('\t').collect::<Vec<_>>(), "{text:?}");
            assert_eq!(split_once_at(text, b'\t'), text.split_once('\t'), "{text:?}");
        }
    }

    #[test]
    fn same_name_is_equality() {
        let names = ["", "p", "pub", "plc", "pubs", "ev", "é", "e"];
        for a in names {
            for b in names {
                assert_eq!(same_name(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }
}
