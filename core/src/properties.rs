//! Java `.properties` files as a Nacos server (a Spring Boot application) reads them: the
//! [`Properties`] reader (`java.util.Properties.load`), Spring's `${NAME:default}` placeholders
//! and Spring's conversions of a value to a number of seconds or a boolean. The token settings
//! ([`AuthSettings`](crate::token::AuthSettings)) and the key services' settings read their
//! files through it.

use crate::{Error, Result};
use alloc::string::String;
use alloc::vec::Vec;
use zeroize::{Zeroize, Zeroizing};

/// Largest properties text accepted (a denial-of-service bound).
pub const MAX_PROPERTIES_LEN: usize = 4 << 20;

/// Deepest `${…}` placeholder nesting resolved.
pub const MAX_PLACEHOLDER_DEPTH: usize = 8;

/// Most `${…}` placeholders resolved for one setting, counting every level of nesting (a
/// denial-of-service bound: without it a 2 KB file of placeholders that each name several
/// others expands exponentially).
pub const MAX_PLACEHOLDERS: usize = 256;

/// Most bytes of text that one setting's placeholders expand to, counting the names and the
/// values resolved at every level of nesting (the setting's own text, bounded by
/// [`MAX_PROPERTIES_LEN`], is not counted): the expanded value can never be larger, and the
/// work done is bounded by it.
pub const MAX_EXPANDED_LEN: usize = 64 << 10;

/// A Java `.properties` text, read as `java.util.Properties.load` reads it: `=`, `:` or
/// whitespace between key and value, `#` and `!` comment lines, backslash escapes (`\t`, `\n`,
/// `\r`, `\f`, `\uXXXX`, any other character as itself), and lines continued by an odd number
/// of trailing backslashes (the next line's leading whitespace is dropped). Later keys win.
/// Every key and value is wiped on drop.
///
/// ```
/// use nacoscrypt_core::properties::Properties;
///
/// let p = Properties::parse("# comment\n! also\na = 1\nb:2\nc 3\nlong = x\\\n    y\nu=\\u00e9\\n")?;
/// assert_eq!(p.get("a"), Some("1"));
/// assert_eq!(p.get("b"), Some("2"));
/// assert_eq!(p.get("c"), Some("3"));
/// assert_eq!(p.get("long"), Some("xy"));
/// assert_eq!(p.get("u"), Some("é\n"));
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Properties {
    entries: Vec<(String, String)>,
}

impl Drop for Properties {
    fn drop(&mut self) {
        for (k, v) in &mut self.entries {
            k.zeroize();
            v.zeroize();
        }
    }
}

impl core::fmt::Debug for Properties {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Values may be secrets: print the keys only.
        f.debug_set()
            .entries(self.entries.iter().map(|(k, _)| k))
            .finish()
    }
}

pub(crate) const PROPS: &str = "application.properties";

impl Properties {
    /// Parses a properties text.
    ///
    /// # Errors
    /// [`Error::InvalidSettings`] for a malformed `\uXXXX` escape, a lone surrogate, or a text
    /// over [`MAX_PROPERTIES_LEN`].
    pub fn parse(text: &str) -> Result<Self> {
        if text.len() > MAX_PROPERTIES_LEN {
            return Err(Error::InvalidSettings {
                name: PROPS,
                reason: "file too large",
            });
        }
        let mut entries = Vec::new();
        let mut logical: Zeroizing<String> = Zeroizing::new(String::new());
        let mut continuing = false;
        for line in natural_lines(text) {
            let stripped = line.trim_start_matches([' ', '\t', '\u{c}']);
            if !continuing {
                if stripped.is_empty() || stripped.starts_with(['#', '!']) {
                    continue;
                }
                logical.clear();
            }
            let trailing = stripped.len() - stripped.trim_end_matches('\\').len();
            if trailing % 2 == 1 {
                logical.push_str(&stripped[..stripped.len() - 1]);
                continuing = true;
            } else {
                logical.push_str(stripped);
                continuing = false;
                entries.push(split_entry(&logical)?);
            }
        }
        if continuing {
            entries.push(split_entry(&logical)?);
        }
        Ok(Self { entries })
    }

    /// The value of `key` (the last one if it appears more than once).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every entry in file order (including keys that appear more than once).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` if there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Lines split at `\r\n`, `\r` or `\n`.
fn natural_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    core::iter::from_fn(move || {
        let r = rest?;
        match r.find(['\r', '\n']) {
            Some(i) => {
                let skip = if r[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&r[i + skip..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                if r.is_empty() { None } else { Some(r) }
            }
        }
    })
}

/// Splits a logical line into its key and value and unescapes both.
fn split_entry(line: &str) -> Result<(String, String)> {
    let b = line.as_bytes();
    let mut key_len = 0;
    let mut value_start = b.len();
    let mut has_sep = false;
    let mut preceding_backslash = false;
    while key_len < b.len() {
        let c = b[key_len];
        if (c == b'=' || c == b':') && !preceding_backslash {
            value_start = key_len + 1;
            has_sep = true;
            break;
        } else if matches!(c, b' ' | b'\t' | 0x0C) && !preceding_backslash {
            value_start = key_len + 1;
            break;
        }
        preceding_backslash = c == b'\\' && !preceding_backslash;
        key_len += 1;
    }
    while value_start < b.len() {
        let c = b[value_start];
        if !matches!(c, b' ' | b'\t' | 0x0C) {
            if !has_sep && (c == b'=' || c == b':') {
                has_sep = true;
            } else {
                break;
            }
        }
        value_start += 1;
    }
    Ok((unescape(&line[..key_len])?, unescape(&line[value_start..])?))
}

/// Java's `loadConvert`.
fn unescape(s: &str) -> Result<String> {
    let invalid = |reason| Error::InvalidSettings {
        name: PROPS,
        reason,
    };
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    let mut pending_high: Option<u32> = None;
    while let Some(c) = chars.next() {
        let unit = if c == '\\' {
            match chars.next() {
                Some('u') => {
                    let mut v = 0u32;
                    for _ in 0..4 {
                        let d = chars
                            .next()
                            .and_then(|h| h.to_digit(16))
                            .ok_or_else(|| invalid("malformed \\uxxxx encoding"))?;
                        v = v << 4 | d;
                    }
                    Some(v)
                }
                Some('t') => {
                    out.push('\t');
                    None
                }
                Some('n') => {
                    out.push('\n');
                    None
                }
                Some('r') => {
                    out.push('\r');
                    None
                }
                Some('f') => {
                    out.push('\u{c}');
                    None
                }
                Some(other) => {
                    out.push(other);
                    None
                }
                None => None,
            }
        } else {
            out.push(c);
            None
        };
        // Pair UTF-16 surrogates written as two \u escapes.
        match (pending_high.take(), unit) {
            (Some(hi), Some(lo @ 0xDC00..=0xDFFF)) => {
                let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                out.push(
                    char::from_u32(cp).ok_or_else(|| invalid("lone surrogate in \\u escape"))?,
                );
            }
            (Some(_), _) => return Err(invalid("lone surrogate in \\u escape")),
            (None, Some(hi @ 0xD800..=0xDBFF)) => pending_high = Some(hi),
            (None, Some(u)) => {
                out.push(char::from_u32(u).ok_or_else(|| invalid("lone surrogate in \\u escape"))?);
            }
            (None, None) => {}
        }
    }
    if pending_high.is_some() {
        return Err(invalid("lone surrogate in \\u escape"));
    }
    Ok(out)
}

// ---- Spring: placeholders and conversions ----

/// What is left of the work one setting's placeholders may cost ([`MAX_PLACEHOLDERS`],
/// [`MAX_EXPANDED_LEN`]), shared by every level of nesting.
struct Budget {
    placeholders: usize,
    bytes: usize,
}

impl Budget {
    const fn new() -> Self {
        Self {
            placeholders: MAX_PLACEHOLDERS,
            bytes: MAX_EXPANDED_LEN,
        }
    }

    /// Appends `text` to `out` if the byte budget allows it (checked before any copy). Text of
    /// the setting's own value (`depth` 0) is bounded by the file and not counted.
    fn push(
        &mut self,
        out: &mut String,
        text: &str,
        name: &'static str,
        depth: usize,
    ) -> Result<()> {
        if depth == 0 {
            out.push_str(text);
            return Ok(());
        }
        self.bytes = self
            .bytes
            .checked_sub(text.len())
            .ok_or(Error::InvalidSettings {
                name,
                reason: "placeholders expand to more than 64 KiB",
            })?;
        out.push_str(text);
        Ok(())
    }

    /// Counts one placeholder.
    fn placeholder(&mut self, name: &'static str) -> Result<()> {
        self.placeholders = self
            .placeholders
            .checked_sub(1)
            .ok_or(Error::InvalidSettings {
                name,
                reason: "more than 256 placeholders to resolve",
            })?;
        Ok(())
    }
}

/// Resolves the `${NAME}` and `${NAME:default}` placeholders in `value`, the text of the
/// setting `name` (named in errors): from `env` (the last pair of a name wins), then from
/// `props`, then the default. Nested placeholders are resolved up to [`MAX_PLACEHOLDER_DEPTH`];
/// the whole resolution stays within [`MAX_PLACEHOLDERS`] and [`MAX_EXPANDED_LEN`].
pub(crate) fn resolve_placeholders(
    value: &str,
    name: &'static str,
    props: &Properties,
    env: &[(&str, &str)],
) -> Result<Zeroizing<String>> {
    resolve(value, name, props, env, 0, &mut Budget::new())
}

/// [`resolve_placeholders`] at nesting level `depth`, the whole resolution of one setting
/// within `budget`.
fn resolve(
    value: &str,
    name: &'static str,
    props: &Properties,
    env: &[(&str, &str)],
    depth: usize,
    budget: &mut Budget,
) -> Result<Zeroizing<String>> {
    let invalid = |reason| Error::InvalidSettings { name, reason };
    if depth > MAX_PLACEHOLDER_DEPTH {
        return Err(invalid("placeholders nested too deeply"));
    }
    if !value.contains("${") {
        // No placeholder: the text itself, within the byte budget.
        let mut out = Zeroizing::new(String::new());
        budget.push(&mut out, value, name, depth)?;
        return Ok(out);
    }
    let mut out = Zeroizing::new(String::new());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        budget.push(&mut out, &rest[..start], name, depth)?;
        budget.placeholder(name)?;
        let inner_start = start + 2;
        // Find the matching `}`, counting nested `${`.
        let bytes = rest.as_bytes();
        let mut level = 1;
        let mut i = inner_start;
        while i < bytes.len() {
            if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'{') {
                level += 1;
                i += 1;
            } else if bytes[i] == b'}' {
                level -= 1;
                if level == 0 {
                    break;
                }
            }
            i += 1;
        }
        if level != 0 {
            return Err(invalid("unterminated ${ placeholder"));
        }
        let inner = &rest[inner_start..i];
        let (key, default) = match inner.find(':') {
            Some(c) => (&inner[..c], Some(&inner[c + 1..])),
            None => (inner, None),
        };
        let key = resolve(key, name, props, env, depth + 1, budget)?;
        let found = env
            .iter()
            .rev()
            .find(|(k, _)| *k == key.as_str())
            .map(|(_, v)| *v)
            .or_else(|| props.get(&key));
        let resolved = match (found, default) {
            (Some(v), _) => resolve(v, name, props, env, depth + 1, budget)?,
            (None, Some(d)) => resolve(d, name, props, env, depth + 1, budget)?,
            (None, None) => return Err(invalid("unresolvable ${} placeholder")),
        };
        // The resolved text was counted as it was made; this copy is bounded by it.
        out.push_str(&resolved);
        rest = &rest[i + 1..];
    }
    budget.push(&mut out, rest, name, depth)?;
    Ok(out)
}

/// A positive number of seconds, as Spring converts a `Long` (whitespace trimmed, an optional
/// sign, decimal or `0x`/`#` hexadecimal).
pub(crate) fn parse_seconds(text: &str, name: &'static str) -> Result<u64> {
    let invalid = |reason| Error::InvalidSettings { name, reason };
    let t = text.trim();
    let (negative, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (digits, radix) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (h, 16)
    } else if let Some(h) = t.strip_prefix('#') {
        (h, 16)
    } else {
        (t, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(invalid("not a number"));
    }
    let v = u64::from_str_radix(digits, radix).map_err(|_| invalid("number too large"))?;
    if negative || v == 0 {
        return Err(invalid("must be a positive number of seconds"));
    }
    if i64::try_from(v).is_err() {
        return Err(invalid("number too large"));
    }
    Ok(v)
}

/// A boolean, as Spring converts one: `true`/`on`/`yes`/`1` or `false`/`off`/`no`/`0`, any case.
pub(crate) fn parse_bool(text: &str, name: &'static str) -> Result<bool> {
    let t = text.trim();
    if ["true", "on", "yes", "1"]
        .iter()
        .any(|w| t.eq_ignore_ascii_case(w))
    {
        Ok(true)
    } else if ["false", "off", "no", "0"]
        .iter()
        .any(|w| t.eq_ignore_ascii_case(w))
    {
        Ok(false)
    } else {
        Err(Error::InvalidSettings {
            name,
            reason: "not a boolean (true/false, on/off, yes/no, 1/0)",
        })
    }
}
