//! JSON lines: one object per line; only the mapped keys are materialized.
//!
//! A hand-written scanner rather than serde: a line holds a flat object of
//! which the mapping reads most keys, and building serde's key strings and
//! visiting ignored values cost more than the rest of the row. Unmapped
//! values are validated (the grammar of RFC 8259, as strictly as serde_json
//! reads it) and skipped without being built; mapped strings are borrowed
//! from the line and unescaped only when they hold an escape.

use std::borrow::Cow;

use crate::error::Unreadable;

use super::{ParseError, Parsed, RecordParser};
use crate::mapping::Rejection;
use crate::text::same_name;

/// Nesting accepted inside a skipped value; serde_json's own limit, so that
/// a runaway `[[[[…` line is rejected instead of exhausting the stack.
const MAX_DEPTH: usize = 128;

pub struct JsonlParser {
    fields: Vec<String>,
    /// The slot of the mapped key last seen at each position of a line:
    /// writers put the keys of every line in one order, which is rarely the
    /// mapping's, so each key is first compared with the one name it had
    /// last time rather than searched for among all of them.
    order: Vec<usize>,
}

impl JsonlParser {
    pub fn new(fields: Vec<String>) -> Self {
        Self { fields, order: Vec::new() }
    }
}

impl RecordParser for JsonlParser {
    fn parse<'a>(&mut self, record: &'a str, values: &mut Vec<Option<Cow<'a, str>>>) -> Result<Parsed, ParseError> {
        if record.trim().is_empty() {
            return Ok(Parsed::Skip);
        }
        values.clear();
        values.resize(self.fields.len(), None);
        let mut scanner = Scanner { text: record, at: 0 };
        scanner
            .object(&self.fields, &mut self.order, values)
            .map_err(|what| Rejection::new("bad_json", format!("{what} at column {}", scanner.at + 1)))?;
        Ok(Parsed::Record)
    }

    fn observe(&mut self, _record: &str) -> Result<(), Unreadable> {
        Ok(())
    }
}

/// A position in one line; errors say what was expected there.
struct Scanner<'a> {
    text: &'a str,
    at: usize,
}

type Scan<T> = Result<T, &'static str>;

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Scan<()> {
        if self.peek() != Some(byte) {
            return Err(what);
        }
        self.at += 1;
        Ok(())
    }

    /// The whole line as one object, each mapped key's value in its slot
    /// (the last one wins when a key repeats, as with serde).
    /// `order`: [`JsonlParser::order`], updated where a key differs.
    fn object(&mut self, fields: &[String], order: &mut Vec<usize>, values: &mut [Option<Cow<'a, str>>]) -> Scan<()> {
        self.whitespace();
        self.expect(b'{', "expected a JSON object")?;
        self.whitespace();
        if self.peek() == Some(b'}') {
            self.at += 1;
        } else {
            let mut position = 0;
            loop {
                let key = self.string()?;
                self.whitespace();
                self.expect(b':', "expected `:`")?;
                self.whitespace();
                let remembered = order.get(position).copied().filter(|&slot| same_name(&fields[slot], &key));
                match remembered.or_else(|| fields.iter().position(|field| same_name(field, &key))) {
                    Some(slot) => {
                        values[slot] = self.scalar()?;
                        match order.get_mut(position) {
                            Some(remembered) => *remembered = slot,
                            None => order.push(slot),
                        }
                        position += 1;
                    }
                    None => self.skip_value(0)?,
                }
                self.whitespace();
                match self.peek() {
                    Some(b',') => {
                        self.at += 1;
                        self.whitespace();
                    }
                    Some(b'}') => {
                        self.at += 1;
                        break;
                    }
                    _ => return Err("expected `,` or `}`"),
                }
            }
        }
        self.whitespace();
        if self.at != self.text.len() {
            return Err("trailing characters");
        }
        Ok(())
    }

    /// A mapped value: strings unquoted (unescaped only when they contain
    /// escapes), numbers and booleans verbatim so that money stays exact,
    /// `null` as absent.
    fn scalar(&mut self) -> Scan<Option<Cow<'a, str>>> {
        match self.peek() {
            Some(b'"') => self.string().map(Some),
            Some(b'n') => self.literal("null").map(|()| None),
            Some(b'{' | b'[') => Err("nested value where a scalar was expected"),
            _ => {
                let start = self.at;
                self.skip_value(0)?;
                Ok(Some(Cow::Borrowed(&self.text[start..self.at])))
            }
        }
    }

    /// The string starting at the opening quote. Inlined, as
    /// [`Scanner::skip_string_body`] is: two calls a member of a line.
    #[inline(always)]
    fn string(&mut self) -> Scan<Cow<'a, str>> {
        self.expect(b'"', "expected a string")?;
        let start = self.at;
        let escaped = self.skip_string_body()?;
        let body = &self.text[start..self.at - 1];
        if !escaped {
            return Ok(Cow::Borrowed(body));
        }
        // Rare: let serde_json apply the escapes (and check surrogate pairs).
        serde_json::from_str::<String>(&self.text[start - 1..self.at])
            .map(Cow::Owned)
            .map_err(|_| "invalid escape in a string")
    }

    /// Moves past a string's closing quote (the opening one is consumed);
    /// says whether it held an escape. Inlined: a line is some thirty short
    /// strings, and a call for each cost a fifth of the scan in saved and
    /// restored registers.
    #[inline(always)]
    fn skip_string_body(&mut self) -> Scan<bool> {
        let bytes = self.text.as_bytes();
        let mut escaped = false;
        loop {
            self.at += plain_run(&bytes[self.at..]);
            let Some(&byte) = bytes.get(self.at) else {
                return Err("unterminated string");
            };
            self.at += 1;
            match byte {
                b'"' => return Ok(escaped),
                b'\\' => {
                    escaped = true;
                    match bytes.get(self.at) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.at += 1,
                        Some(b'u') if bytes.get(self.at + 1..self.at + 5).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) => {
                            self.at += 5;
                        }
                        _ => return Err("invalid escape in a string"),
                    }
                }
                0..=0x1f => return Err("control character in a string"),
                _ => {}
            }
        }
    }

    fn literal(&mut self, word: &'static str) -> Scan<()> {
        if !self.text[self.at..].starts_with(word) {
            return Err("expected a value");
        }
        self.at += word.len();
        Ok(())
    }

    /// Moves past one value of any kind, checking its grammar.
    fn skip_value(&mut self, depth: usize) -> Scan<()> {
        match self.peek() {
            Some(b'"') => {
                self.at += 1;
                self.skip_string_body().map(drop)
            }
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(open @ (b'{' | b'[')) => {
                if depth == MAX_DEPTH {
                    return Err("nested too deeply");
                }
                self.at += 1;
                self.whitespace();
                let close = if open == b'{' { b'}' } else { b']' };
                if self.peek() == Some(close) {
                    self.at += 1;
                    return Ok(());
                }
                loop {
                    if open == b'{' {
                        self.string()?;
                        self.whitespace();
                        self.expect(b':', "expected `:`")?;
                        self.whitespace();
                    }
                    self.skip_value(depth + 1)?;
                    self.whitespace();
                    match self.peek() {
                        Some(b',') => {
                            self.at += 1;
                            self.whitespace();
                        }
                        Some(byte) if byte == close => {
                            self.at += 1;
                            return Ok(());
                        }
                        _ => return Err("expected `,` or the end of a nested value"),
                    }
                }
            }
            _ => Err("expected a value"),
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Scan<()> {
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.at += 1;
                if self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    return Err("invalid number");
                }
            }
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err("invalid number"),
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.required_digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            self.required_digits()?;
        }
        Ok(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
    }

    fn required_digits(&mut self) -> Scan<()> {
        let start = self.at;
        self.digits();
        if self.at == start {
            return Err("invalid number");
        }
        Ok(())
    }
}

/// How many bytes at the start of `bytes` a string holds as they are: up
/// to the first quote, backslash or control character. Eight bytes at a
/// time, since strings are most of a line and a match per byte cost more
/// than the rest of the scan.
fn plain_run(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A high bit for each byte below `n` (≤ 0x80). Only the lowest one is
    // exact, as a borrow may flag the byte above a flagged one; the lowest
    // is the one wanted.
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGH;
    let mut at = 0;
    while let Some(word) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let stops = below(word ^ (ONES * u64::from(b'"')), 1) | below(word ^ (ONES * u64::from(b'\\')), 1) | below(word, 0x20);
        if stops != 0 {
            return at + (stops.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + bytes[at..].iter().take_while(|&&byte| byte != b'"' && byte != b'\\' && byte >= 0x20).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Vec<Option<String>>, String> {
        let mut parser = JsonlParser::new(vec!["a".into(), "b".into()]);
        let mut values = Vec::new();
        match parser.parse(line, &mut values) {
            Ok(_) => Ok(values.into_iter().map(|v| v.map(Cow::into_owned)).collect()),
            Err(ParseError::Line(rejection)) => Err(rejection.detail),
            Err(ParseError::File(err)) => Err(err.0),
        }
    }

    /// The keys' remembered positions only spare comparisons: a parser that
    /// has read lines of other orders, repeats and unmapped keys reads each
    /// line as a fresh one does.
    #[test]
    fn remembered_key_positions_read_every_order_as_a_fresh_parser() {
        let fields: Vec<String> = ["a", "b", "c"].map(String::from).into();
        let lines = [
            r#"{"a":"1","b":"2","c":"3"}"#,
            r#"{"c":"3","b":"2","a":"1"}"#,
            r#"{"z":0,"a":"1","y":{},"c":"3"}"#,
            r#"{"b":"2"}"#,
            r#"{"a":"1","a":"again","b":"2","c":"3","c":null}"#,
            r#"{"b":"2","c":"3","a":"1","x":[1]}"#,
            "{}",
            r#"{"a":"1","b":"2","c":"3"}"#,
            r#"{"c":"3","b":"#,
            r#"{"a":"1","b":"2","c":"3"}"#,
        ];
        let mut seasoned = JsonlParser::new(fields.clone());
        for _ in 0..2 {
            for line in lines {
                let (mut ours, mut fresh) = (Vec::new(), Vec::new());
                let ours = seasoned.parse(line, &mut ours).map(|_| ours).map_err(|_| ());
                let fresh = JsonlParser::new(fields.clone()).parse(line, &mut fresh).map(|_| fresh).map_err(|_| ());
                assert_eq!(ours, fresh, "{line}");
            }
        }
    }

    #[test]
    fn plain_run_stops_at_the_first_quote_backslash_or_control_character() {
        let alphabet = [b'a', b'"', b'\\', 0x00, 0x1f, 0x20, 0x21, 0x7f, 0x80, 0xc3, 0xff, b'b', b'c', b'd'];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..40 {
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                        // Mostly plain bytes, so that runs are long.
                        let pick = (state >> 33) as usize % (alphabet.len() * 4);
                        alphabet.get(pick).copied().unwrap_or(b'x')
                    })
                    .collect();
                let expected = bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).unwrap_or(len);
                assert_eq!(plain_run(&bytes), expected, "{bytes:?}");
            }
        }
    }

    #[test]
    fn scanner_accepts_and_rejects_what_serde_json_does() {
        let lines = [
            r#"{"a":"x","b":1.5e-3}"#,
            r#" { "b" : -0 , "z" : {"k":[1,true,false,null,"s\"\u00e9",{}]}, "a":"p\u00e9\n" } "#,
            r#"{"a":null,"a":"last"}"#,
            "{}",
            r#"{"a":01}"#,
            r#"{"z":01}"#,
            r#"{"z":1.}"#,
            r#"{"z":-}"#,
            r#"{"z":1e}"#,
            r#"{"z":"\x"}"#,
            r#"{"z":"\u12"}"#,
            r#"{"a":"\ud800"}"#,
            "{\"z\":\"tab\there\"}",
            r#"{"z":[1,]}"#,
            r#"{"z":1,}"#,
            r#"{"z":1} x"#,
            r#"{"z":tru}"#,
            r#"{"z" 1}"#,
            r#"[1]"#,
            r#"{"a":{"n":1}}"#,
            r#"{"z":"#,
        ];
        for line in lines {
            let ours = parse(line);
            let theirs = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(line);
            let nested_mapped = line.contains(r#""a":{"#);
            assert_eq!(ours.is_ok(), theirs.is_ok() && !nested_mapped, "{line}: {ours:?} vs {theirs:?}");
        }
        assert_eq!(parse(r#"{"a":"x","b":1.5e-3}"#).unwrap(), [Some("x".into()), Some("1.5e-3".into())]);
        assert_eq!(parse(lines[1]).unwrap(), [Some("pé\n".into()), Some("-0".into())]);
        assert_eq!(parse(lines[2]).unwrap(), [Some("last".into()), None]);
        assert_eq!(parse("[[[").unwrap_err(), "expected a JSON object at column 1");
        let deep = format!("{{\"z\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(parse(&deep).is_err());
    }
}
