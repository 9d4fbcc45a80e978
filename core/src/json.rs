//! JSON (RFC 8259), as the token payloads and the login response need it.
//!
//! - Reading: a complete RFC 8259 parser over a byte slice that allocates nothing (strings are
//!   validated in place and decoded on demand, duplicate member names refused at every depth,
//!   nesting bounded by [`MAX_JSON_DEPTH`]), and exact integer conversion of its numbers.
//! - Writing: strings escaped as the Nacos server's JSON writer escapes them, and integers.

use alloc::string::String;
use core::fmt::{self, Write};

/// Deepest nesting of arrays and objects accepted in a JSON text (a token payload, a login
/// response).
pub const MAX_JSON_DEPTH: usize = 64;

/// Why a JSON text was refused (a short static reason).
pub(crate) type JsonError = &'static str;
type JResult<T> = Result<T, JsonError>;

/// A validated JSON string: the raw bytes between the quotes, and its decoded length.
#[derive(Clone, Copy, Debug)]
pub(crate) struct JsonStr<'a> {
    raw: &'a [u8],
    decoded_len: usize,
}

impl<'a> JsonStr<'a> {
    /// A string whose raw bytes hold no escape (the caller checked: no `\\`, no `"`, no control
    /// character), so they are its decoded text.
    pub(crate) const fn unescaped_raw(raw: &'a [u8]) -> Self {
        Self {
            raw,
            decoded_len: raw.len(),
        }
    }

    /// The decoded characters.
    pub(crate) fn chars(&self) -> StrChars<'a> {
        StrChars { raw: self.raw }
    }

    /// The string itself if it has no escapes (every escape is longer than what it decodes
    /// to, so the decoded length equals the raw length exactly when there are none).
    fn unescaped(&self) -> Option<&'a [u8]> {
        (self.decoded_len == self.raw.len()).then_some(self.raw)
    }

    /// `true` if the decoded string equals `s`.
    pub(crate) fn eq_str(&self, s: &str) -> bool {
        if let Some(raw) = self.unescaped() {
            return raw == s.as_bytes();
        }
        self.decoded_len == s.len() && self.chars().eq(s.chars())
    }

    /// `true` if both decode to the same string.
    fn same(&self, other: &JsonStr<'_>) -> bool {
        if let (Some(a), Some(b)) = (self.unescaped(), other.unescaped()) {
            return a == b;
        }
        self.decoded_len == other.decoded_len && self.chars().eq(other.chars())
    }

    /// `true` if the decoded string holds U+0000 (only a `\u0000` escape can put it there),
    /// found without allocating.
    pub(crate) fn has_nul(&self) -> bool {
        match self.unescaped() {
            Some(raw) => raw.contains(&0),
            None => self.chars().any(|c| c == '\0'),
        }
    }

    /// The decoded string, in one allocation of the exact size.
    pub(crate) fn decode(self) -> String {
        if let Some(Ok(text)) = self.unescaped().map(core::str::from_utf8) {
            return String::from(text);
        }
        let mut s = String::with_capacity(self.decoded_len);
        s.extend(self.chars());
        s
    }
}

/// Decodes the characters of an already validated JSON string body.
pub(crate) struct StrChars<'a> {
    raw: &'a [u8],
}

fn hex4(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b.get(..4)? {
        v = v << 4 | char::from(c).to_digit(16)?;
    }
    Some(v)
}

impl Iterator for StrChars<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        let (&first, rest) = self.raw.split_first()?;
        if first == b'\\' {
            let (&e, rest) = rest.split_first()?;
            let (c, rest) = match e {
                b'b' => ('\u{8}', rest),
                b'f' => ('\u{c}', rest),
                b'n' => ('\n', rest),
                b'r' => ('\r', rest),
                b't' => ('\t', rest),
                b'u' => {
                    let hi = hex4(rest)?;
                    if (0xD800..0xDC00).contains(&hi) {
                        let lo = hex4(rest.get(6..)?)?;
                        let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                        (char::from_u32(cp)?, rest.get(10..)?)
                    } else {
                        (char::from_u32(hi)?, rest.get(4..)?)
                    }
                }
                other => (char::from(other), rest),
            };
            self.raw = rest;
            Some(c)
        } else {
            // Raw bytes are valid UTF-8 (checked by the parser): decode one character.
            let width = match first {
                0x00..=0x7F => 1,
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                _ => 4,
            };
            let (head, rest) = self.raw.split_at(width.min(self.raw.len()));
            self.raw = rest;
            core::str::from_utf8(head).ok()?.chars().next()
        }
    }
}

/// A top-level member value handed to the caller of [`parse_object`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum Value<'a> {
    /// A string.
    Str(JsonStr<'a>),
    /// A number, its raw text (valid per the RFC 8259 grammar).
    Num(&'a [u8]),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// An array (validated and skipped).
    Array,
    /// An object (validated and skipped).
    Object,
}

/// Validates `input` as one JSON object (RFC 8259: UTF-8, any whitespace around it) and calls
/// `member` for each of its top-level members in order. Duplicate names in any object, at any
/// depth, are refused, and so is nesting deeper than [`MAX_JSON_DEPTH`].
pub(crate) fn parse_object<'a>(
    input: &'a [u8],
    mut member: impl FnMut(JsonStr<'a>, Value<'a>) -> JResult<()>,
) -> JResult<()> {
    core::str::from_utf8(input).map_err(|_| "not UTF-8")?;
    let mut p = Parser { s: input, pos: 0 };
    p.ws();
    if p.peek() != Some(b'{') {
        return Err("not a JSON object");
    }
    p.object(1, true, Some(&mut member))?;
    p.ws();
    if p.pos != input.len() {
        return Err("trailing characters after the JSON object");
    }
    Ok(())
}

type MemberFn<'m, 'a> = &'m mut dyn FnMut(JsonStr<'a>, Value<'a>) -> JResult<()>;

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: u8, what: JsonError) -> JResult<()> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(what)
        }
    }

    fn literal(&mut self, lit: &[u8]) -> JResult<()> {
        if self.s.get(self.pos..self.pos + lit.len()) == Some(lit) {
            self.pos += lit.len();
            Ok(())
        } else {
            Err("invalid JSON literal")
        }
    }

    /// Parses any value at the cursor. `depth` counts the containers around it.
    fn value(&mut self, depth: usize, check_dups: bool) -> JResult<Value<'a>> {
        match self.peek() {
            Some(b'"') => self.string().map(Value::Str),
            Some(b'{') => self
                .object(depth + 1, check_dups, None)
                .map(|()| Value::Object),
            Some(b'[') => self.array(depth + 1, check_dups).map(|()| Value::Array),
            Some(b't') => self.literal(b"true").map(|()| Value::Bool(true)),
            Some(b'f') => self.literal(b"false").map(|()| Value::Bool(false)),
            Some(b'n') => self.literal(b"null").map(|()| Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number().map(Value::Num),
            Some(_) => Err("unexpected character in JSON"),
            None => Err("truncated JSON"),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> JResult<&'a [u8]> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err("invalid JSON number"),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err("invalid JSON number");
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err("invalid JSON number");
            }
        }
        Ok(&self.s[start..self.pos])
    }

    fn hex_escape(&mut self) -> JResult<u32> {
        let v = self
            .s
            .get(self.pos..)
            .and_then(hex4)
            .ok_or("invalid \\u escape in JSON string")?;
        self.pos += 4;
        Ok(v)
    }

    /// A string at the cursor (on its opening quote): every escape, surrogate pairs, no raw
    /// control characters, no lone surrogates.
    fn string(&mut self) -> JResult<JsonStr<'a>> {
        self.expect(b'"', "expected a JSON string")?;
        let start = self.pos;
        let mut decoded_len = 0usize;
        loop {
            let Some(c) = self.peek() else {
                return Err("unterminated JSON string");
            };
            self.pos += 1;
            match c {
                b'"' => {
                    return Ok(JsonStr {
                        raw: &self.s[start..self.pos - 1],
                        decoded_len,
                    });
                }
                b'\\' => {
                    let e = self.peek().ok_or("unterminated JSON string")?;
                    self.pos += 1;
                    match e {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => decoded_len += 1,
                        b'u' => {
                            let hi = self.hex_escape()?;
                            let cp = match hi {
                                0xD800..=0xDBFF => {
                                    if self.s.get(self.pos..self.pos + 2) != Some(b"\\u") {
                                        return Err("lone surrogate in JSON string");
                                    }
                                    self.pos += 2;
                                    let lo = self.hex_escape()?;
                                    if !(0xDC00..=0xDFFF).contains(&lo) {
                                        return Err("lone surrogate in JSON string");
                                    }
                                    0x10000
                                }
                                0xDC00..=0xDFFF => return Err("lone surrogate in JSON string"),
                                cp => cp,
                            };
                            decoded_len += char::from_u32(cp).map_or(4, char::len_utf8);
                        }
                        _ => return Err("invalid escape in JSON string"),
                    }
                }
                0x00..=0x1F => return Err("control character in JSON string"),
                _ => decoded_len += 1,
            }
        }
    }

    fn array(&mut self, depth: usize, check_dups: bool) -> JResult<()> {
        if depth > MAX_JSON_DEPTH {
            return Err("JSON nested too deeply");
        }
        self.expect(b'[', "expected a JSON array")?;
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.ws();
            self.value(depth, check_dups)?;
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err("expected , or ] in JSON array"),
            }
        }
    }

    fn object(
        &mut self,
        depth: usize,
        check_dups: bool,
        mut member: Option<MemberFn<'_, 'a>>,
    ) -> JResult<()> {
        if depth > MAX_JSON_DEPTH {
            return Err("JSON nested too deeply");
        }
        self.expect(b'{', "expected a JSON object")?;
        let body = self.pos;
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.ws();
            let key_pos = self.pos;
            let key = self.string()?;
            if check_dups && key_seen(self.s, body, key_pos, &key, depth)? {
                return Err("duplicate member in JSON object");
            }
            self.ws();
            self.expect(b':', "expected : in JSON object")?;
            self.ws();
            let value = self.value(depth, check_dups)?;
            if let Some(f) = member.as_mut() {
                f(key, value)?;
            }
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err("expected , or } in JSON object"),
            }
        }
    }
}

/// `true` if a member named `key` appears in the object body starting at `body` before
/// `key_pos`. The members before `key_pos` were validated already; they are re-read without
/// duplicate checks, so the whole check is quadratic in the payload size at worst (bounded).
fn key_seen(
    s: &[u8],
    body: usize,
    key_pos: usize,
    key: &JsonStr<'_>,
    depth: usize,
) -> JResult<bool> {
    let mut p = Parser { s, pos: body };
    loop {
        p.ws();
        if p.pos >= key_pos {
            return Ok(false);
        }
        if p.string()?.same(key) {
            return Ok(true);
        }
        p.ws();
        p.expect(b':', "expected : in JSON object")?;
        p.ws();
        p.value(depth, false)?;
        p.ws();
        p.expect(b',', "expected , in JSON object")?;
    }
}

/// 10^0 ..= 10^9 (the low half of an 18-digit number has at most 9 digits).
const POW10: [i64; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

/// The value of a JSON number (valid per the grammar) truncated toward zero, computed exactly
/// from its decimal digits; `None` outside the signed 64-bit range.
pub(crate) fn number_to_i64(raw: &[u8]) -> Option<i64> {
    // Fast path: a plain integer of up to 18 digits (every `exp` a server writes) cannot
    // overflow; anything else (fraction, exponent, longer) takes the exact general path.
    let digits = raw.strip_prefix(b"-").unwrap_or(raw);
    if !digits.is_empty() && digits.len() <= 18 && digits.iter().all(u8::is_ascii_digit) {
        // Two halves in two independent multiply-add chains (they overlap in the CPU).
        let (high, low) = digits.split_at(digits.len() / 2);
        let fold = |d: &[u8]| {
            d.iter()
                .fold(0i64, |acc, &c| acc * 10 + i64::from(c - b'0'))
        };
        let value = fold(high) * POW10[low.len()] + fold(low);
        return Some(if digits.len() == raw.len() {
            value
        } else {
            -value
        });
    }
    let (negative, rest) = match raw.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, raw),
    };
    let mantissa_end = rest
        .iter()
        .position(|c| matches!(c, b'e' | b'E'))
        .unwrap_or(rest.len());
    let (mantissa, exponent) = rest.split_at(mantissa_end);
    // Decimal exponent, saturating far beyond anything that matters.
    let mut exp10: i64 = 0;
    if let Some((_, e)) = exponent.split_first() {
        let (sign, digits) = match e.split_first() {
            Some((b'-', d)) => (-1, d),
            Some((b'+', d)) => (1, d),
            _ => (1, e),
        };
        for &d in digits {
            exp10 = (exp10 * 10 + i64::from(d - b'0')).min(1_000_000);
        }
        exp10 *= sign;
    }
    let (int_part, frac_part) = match mantissa.iter().position(|&c| c == b'.') {
        Some(dot) => (&mantissa[..dot], &mantissa[dot + 1..]),
        None => (mantissa, &mantissa[mantissa.len()..]),
    };
    // All significant digits, and the power of ten of the last one.
    let digits = int_part.iter().chain(frac_part.iter());
    let frac_len = i64::try_from(frac_part.len()).ok()?;
    let scale = exp10 - frac_len; // value = digits * 10^scale
    let total = i64::try_from(int_part.len() + frac_part.len()).ok()?;
    // Keep the leading `total + scale` digits (the integer part), pad with zeros if positive.
    let keep = total + scale;
    let mut acc: i128 = 0;
    let mut taken = 0i64;
    for &d in digits {
        if taken >= keep {
            break;
        }
        acc = acc * 10 + i128::from(d - b'0');
        if acc > i128::from(i64::MAX) + 1 {
            return None;
        }
        taken += 1;
    }
    if acc != 0 {
        let mut zeros = keep - taken;
        while zeros > 0 {
            acc *= 10;
            if acc > i128::from(i64::MAX) + 1 {
                return None;
            }
            zeros -= 1;
        }
    }
    if negative {
        acc = -acc;
    }
    i64::try_from(acc).ok()
}

// ---- writing ----

/// Appends `s` as a JSON string (with quotes), escaped as the Nacos server's JSON writer does:
/// `\"` `\\` `\b` `\f` `\n` `\r` `\t`, other characters below U+0020 as `\u00XX` (upper-case hex),
/// everything else (U+007F, non-ASCII, U+2028, `/`) as it is.
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    // Writing to a String cannot fail.
    let _ = write_json_string(out, s);
}

/// [`push_json_string`] into any writer; fails only if the writer does.
pub(crate) fn write_json_string<W: Write>(out: &mut W, s: &str) -> fmt::Result {
    out.write_char('"')?;
    let mut rest = s;
    while let Some(i) = rest.find(|c: char| c < ' ' || c == '"' || c == '\\') {
        out.write_str(&rest[..i])?;
        let c = rest.as_bytes()[i];
        match c {
            b'"' => out.write_str("\\\"")?,
            b'\\' => out.write_str("\\\\")?,
            0x08 => out.write_str("\\b")?,
            0x0C => out.write_str("\\f")?,
            b'\n' => out.write_str("\\n")?,
            b'\r' => out.write_str("\\r")?,
            b'\t' => out.write_str("\\t")?,
            _ => write!(out, "\\u{:04X}", c)?,
        }
        rest = &rest[i + 1..];
    }
    out.write_str(rest)?;
    out.write_char('"')
}

/// Writes the decimal form of `n` (what `{n}` formats) without the formatting machinery.
pub(crate) fn write_i64<W: Write>(out: &mut W, n: i64) -> fmt::Result {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut v = n.unsigned_abs();
    loop {
        at -= 1;
        // `v % 10` is below 10: it always fits a byte.
        digits[at] = b'0' + u8::try_from(v % 10).unwrap_or(0);
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        out.write_char('-')?;
    }
    // ASCII digits only: always UTF-8.
    out.write_str(core::str::from_utf8(&digits[at..]).map_err(|_| fmt::Error)?)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Every top-level member of `json` as decoded text (numbers raw, containers as `[]`/`{}`).
    pub(crate) fn members(json: &str) -> JResult<Vec<(String, String)>> {
        let mut out = Vec::new();
        parse_object(json.as_bytes(), |k, v| {
            let v = match v {
                Value::Str(s) => s.decode(),
                Value::Num(n) => String::from(core::str::from_utf8(n).unwrap()),
                Value::Bool(b) => alloc::format!("{b}"),
                Value::Null => "null".into(),
                Value::Array => "[]".into(),
                Value::Object => "{}".into(),
            };
            out.push((k.decode(), v));
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn strings_decode_every_escape() {
        let m = members(r#"{"a":"\"\\\/\b\f\n\r\t\u0041\u00e9\ud83d\ude00é😀"}"#).unwrap();
        assert_eq!(m[0].1, "\"\\/\u{8}\u{c}\n\r\tAé😀é😀");
        for bad in [
            r#"{"a":"\ud800"}"#,
            r#"{"a":"\ud800\u0041"}"#,
            r#"{"a":"\udc00"}"#,
            "{\"a\":\"\u{1}\"}",
            r#"{"a":"\x"}"#,
            r#"{"a":"\u12"}"#,
            r#"{"a":"abc}"#,
        ] {
            assert!(members(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn structure_and_duplicates() {
        assert!(members(r#" {"a":[1,{"b":[]},"x"],"c":{"d":{"e":null}}} "#).is_ok());
        assert!(members(r#"{"a":1,"a":2}"#).is_err());
        assert!(members(r#"{"a":1,"\u0061":2}"#).is_err());
        assert!(members(r#"{"x":{"a":1,"a":2}}"#).is_err());
        assert!(members(r#"{"x":{"a":1},"y":{"a":2}}"#).is_ok());
        for bad in [
            "",
            "[]",
            "{",
            "{}x",
            "{,}",
            r#"{"a"}"#,
            r#"{"a":1,}"#,
            "{\"a\":[1,]}",
            "{\"a\":tru}",
        ] {
            assert!(members(bad).is_err(), "{bad}");
        }
        let deep = alloc::format!("{{\"a\":{}{}}}", "[".repeat(63), "]".repeat(63));
        assert!(members(&deep).is_ok());
        let deeper = alloc::format!("{{\"a\":{}{}}}", "[".repeat(64), "]".repeat(64));
        assert!(members(&deeper).is_err());
    }

    #[test]
    fn numbers() {
        for bad in ["01", "-", "1.", ".5", "1e", "+1", "1e+", "--1", "0x1"] {
            assert!(
                members(&alloc::format!("{{\"a\":{bad}}}")).is_err(),
                "{bad}"
            );
        }
        let n = |s: &str| number_to_i64(s.as_bytes());
        assert_eq!(n("0"), Some(0));
        assert_eq!(n("-0"), Some(0));
        assert_eq!(n("4102444800"), Some(4_102_444_800));
        assert_eq!(n("4.1e9"), Some(4_100_000_000));
        assert_eq!(n("4102444800.999"), Some(4_102_444_800));
        assert_eq!(n("-1.9"), Some(-1));
        assert_eq!(n("1e-5"), Some(0));
        assert_eq!(n("0e999999999999"), Some(0));
        assert_eq!(n("12345e-2"), Some(123));
        assert_eq!(n("9223372036854775807"), Some(i64::MAX));
        assert_eq!(n("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(n("9223372036854775808"), None);
        assert_eq!(n("-9223372036854775809"), None);
        assert_eq!(n("9223372036854775807.9"), Some(i64::MAX));
        assert_eq!(n("1e19"), None);
        assert_eq!(n("1e999999999999"), None);
        assert_eq!(n("0.00000000000000000000000000001e30"), Some(10));
    }

    #[test]
    fn integers_format_as_display() {
        for n in [
            0,
            1,
            -1,
            9,
            10,
            4_102_444_800,
            i64::MAX,
            i64::MIN,
            -1_000_000,
        ] {
            let mut s = String::new();
            write_i64(&mut s, n).unwrap();
            assert_eq!(s, alloc::format!("{n}"));
        }
    }

    #[test]
    fn strings_are_escaped_as_the_server_does() {
        let mut s = String::new();
        push_json_string(&mut s, "a\"b\\c\u{8}\u{c}\n\r\t\u{1}\u{7f}é/\u{2028}");
        assert_eq!(s, "\"a\\\"b\\\\c\\b\\f\\n\\r\\t\\u0001\u{7f}é/\u{2028}\"");
    }
}
