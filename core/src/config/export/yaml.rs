//! The YAML of a v2 export's `.metadata.yml`, and only that: a top-level `metadata:` holding a
//! block list of maps of scalars, as SnakeYAML's `dumpAsMap` writes it (keys in alphabetical
//! order, nulls omitted, long scalars folded over lines, multi-line text as block scalars).
//!
//! The reader takes plain, single-quoted and double-quoted scalars (on one line or folded over
//! several), literal and folded block scalars (`|`, `>`, with chomping and indentation
//! indicators), comments, `---` / `...`, and `metadata: []`. Flow collections, anchors, aliases
//! and tags are refused with the line they are on. The writer quotes as SnakeYAML does: plain
//! when the text reads back as the same string, single quotes when it is printable on one line,
//! double quotes with escapes otherwise.

use crate::Error;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

const FILE: &str = ".metadata.yml";

fn bad(line: usize, reason: &'static str) -> Error {
    Error::InvalidExportMetadata {
        file: FILE,
        line,
        reason,
    }
}

/// One list item: its keys and scalar values in order, and the line it starts on.
pub(crate) type Item = (usize, Vec<(String, String)>);

struct Line<'a> {
    no: usize,
    indent: usize,
    text: &'a str,
}

fn is_blank_or_comment(s: &str) -> bool {
    let t = s.trim_start_matches(' ');
    t.is_empty() || t.starts_with('#')
}

/// Strips a trailing comment (` #…`) from a plain scalar's line.
fn strip_comment(s: &str) -> &str {
    let b = s.as_bytes();
    for i in 0..b.len() {
        if b[i] == b'#' && (i == 0 || b[i - 1] == b' ' || b[i - 1] == b'\t') {
            return &s[..i];
        }
    }
    s
}

/// Parses the `.metadata.yml` text into its items.
pub(crate) fn parse(text: &str) -> Result<Vec<Item>, Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.contains('\t') && raw.trim_start_matches(' ').starts_with('\t') {
            return Err(bad(i + 1, "a tab in the indentation"));
        }
        let indent = raw.len() - raw.trim_start_matches(' ').len();
        lines.push(Line {
            no: i + 1,
            indent,
            text: raw,
        });
    }
    let mut at = 0;
    // Up to `metadata:`.
    let mut header = None;
    while at < lines.len() {
        let l = &lines[at];
        at += 1;
        if is_blank_or_comment(l.text) || l.text == "---" || l.text.starts_with("--- ") {
            continue;
        }
        header = Some(l);
        break;
    }
    let Some(header) = header else {
        return Ok(Vec::new()); // an empty document: no metadata
    };
    let rest = header
        .text
        .strip_prefix("metadata:")
        .filter(|_| header.indent == 0)
        .ok_or_else(|| bad(header.no, "expected `metadata:`"))?;
    let rest = strip_comment(rest).trim();
    let mut items = Vec::new();
    let end_ok = |lines: &[Line<'_>], from: usize| -> Result<(), Error> {
        for l in &lines[from..] {
            if !(is_blank_or_comment(l.text) || l.text == "..." || l.text == "---") {
                return Err(bad(l.no, "unexpected text after the metadata list"));
            }
        }
        Ok(())
    };
    match rest {
        "[]" | "~" | "null" | "Null" | "NULL" => {
            end_ok(&lines, at)?;
            return Ok(items);
        }
        "" => {}
        _ => return Err(bad(header.no, "`metadata` must be a block list")),
    }
    let mut seq_indent = None;
    while at < lines.len() {
        let l = &lines[at];
        if is_blank_or_comment(l.text) {
            at += 1;
            continue;
        }
        if l.text == "..." || l.text == "---" {
            break;
        }
        let si = *seq_indent.get_or_insert(l.indent);
        let body = &l.text[l.indent..];
        if l.indent != si || !(body == "-" || body.starts_with("- ")) {
            if l.indent == 0 {
                return Err(bad(l.no, "only `metadata` is read at the top level"));
            }
            return Err(bad(l.no, "expected a list item `- key: value`"));
        }
        let item_no = l.no;
        // The map's keys sit at the column after `- ` (SnakeYAML: two more).
        let after = body[1..].trim_start_matches(' ');
        let key_col = l.indent + (body.len() - after.len());
        if after.starts_with('{') || after.starts_with('[') {
            return Err(bad(l.no, "flow collections are not supported"));
        }
        let mut map = Vec::new();
        at += 1;
        if after == "{}" {
            items.push((item_no, map));
            continue;
        }
        let col = if after.is_empty() || after.starts_with('#') {
            // `-` alone: the map starts on the next line, indented past the dash.
            while at < lines.len() && is_blank_or_comment(lines[at].text) {
                at += 1;
            }
            let n = lines
                .get(at)
                .filter(|n| n.indent > si)
                .ok_or_else(|| bad(item_no, "an empty list item"))?;
            at += 1;
            key_value(
                &mut map,
                &lines,
                &mut at,
                n.no,
                &n.text[n.indent..],
                n.indent,
            )?;
            n.indent
        } else {
            key_value(&mut map, &lines, &mut at, l.no, after, key_col)?;
            key_col
        };
        continue_map(&mut map, &lines, &mut at, col)?;
        items.push((item_no, map));
    }
    end_ok(&lines, at)?;
    Ok(items)
}

/// Reads the remaining `key: value` lines of a map whose keys are at column `col`.
fn continue_map(
    map: &mut Vec<(String, String)>,
    lines: &[Line<'_>],
    at: &mut usize,
    col: usize,
) -> Result<(), Error> {
    loop {
        while *at < lines.len() && is_blank_or_comment(lines[*at].text) {
            *at += 1;
        }
        let Some(l) = lines.get(*at) else {
            return Ok(());
        };
        if l.indent < col {
            return Ok(());
        }
        if l.indent > col {
            return Err(bad(l.no, "unexpected indentation"));
        }
        *at += 1;
        key_value(map, lines, at, l.no, &l.text[l.indent..], col)?;
    }
}

/// Parses one `key: value` (the value possibly continued on more-indented lines).
fn key_value(
    map: &mut Vec<(String, String)>,
    lines: &[Line<'_>],
    at: &mut usize,
    no: usize,
    kv: &str,
    col: usize,
) -> Result<(), Error> {
    if kv.starts_with(['\'', '"', '?', '{', '[', '&', '*', '!']) {
        return Err(bad(no, "only plain keys are supported"));
    }
    let (key, value) = match kv.find(": ") {
        Some(i) => (&kv[..i], &kv[i + 2..]),
        None => match kv.strip_suffix(':') {
            Some(k) => (k, ""),
            None => return Err(bad(no, "expected `key: value`")),
        },
    };
    if key.is_empty() || key.contains(": ") || key.ends_with(' ') {
        return Err(bad(no, "expected `key: value`"));
    }
    // The continuation: every following line indented past the key, and blank lines between.
    let start = *at;
    let mut end = *at;
    while end < lines.len() {
        let l = &lines[end];
        if l.text.trim_start_matches(' ').is_empty() || l.indent > col {
            end += 1;
        } else {
            break;
        }
    }
    // Trailing blank lines belong to what follows (except for a kept block scalar; clipped
    // or stripped ones do not need them).
    let mut last = end;
    while last > start && lines[last - 1].text.trim_start_matches(' ').is_empty() {
        last -= 1;
    }
    let cont = &lines[start..last];
    let block_tail = &lines[last..end];
    *at = end;
    let value = scalar(no, value.trim_start_matches(' '), cont, block_tail, col)?;
    if map.iter().any(|(k, _)| k == key) {
        return Err(bad(no, "a key appears twice in one item"));
    }
    map.push((String::from(key), value));
    Ok(())
}

fn scalar(
    no: usize,
    first: &str,
    cont: &[Line<'_>],
    block_tail: &[Line<'_>],
    col: usize,
) -> Result<String, Error> {
    match first.as_bytes().first() {
        Some(b'\'') => quoted(no, first, cont, false),
        Some(b'"') => quoted(no, first, cont, true),
        Some(b'|' | b'>') => block(no, first, cont, block_tail, col),
        Some(b'[' | b'{') => Err(bad(no, "flow collections are not supported")),
        Some(b'&' | b'*' | b'!') => Err(bad(no, "anchors, aliases and tags are not supported")),
        Some(b'#') | None if cont.is_empty() => Ok(String::new()),
        _ => plain(no, first, cont),
    }
}

/// Folds lines as YAML does: one line break becomes a space, each blank line a newline.
fn fold<'a>(parts: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    let mut blanks = 0usize;
    let mut started = false;
    for p in parts {
        if p.is_empty() {
            blanks += 1;
            continue;
        }
        if started {
            if blanks == 0 {
                out.push(' ');
            }
            for _ in 0..blanks {
                out.push('\n');
            }
        } else {
            for _ in 0..blanks {
                out.push('\n');
            }
        }
        blanks = 0;
        started = true;
        out.push_str(p);
    }
    out
}

fn plain(no: usize, first: &str, cont: &[Line<'_>]) -> Result<String, Error> {
    let mut parts = Vec::with_capacity(1 + cont.len());
    let mut ended = false;
    for (i, text) in core::iter::once(first)
        .chain(cont.iter().map(|l| l.text))
        .enumerate()
    {
        let t = text.trim_matches(' ');
        let line_no = no + i;
        if ended && !t.is_empty() && !t.starts_with('#') {
            return Err(bad(line_no, "text after a comment in a plain scalar"));
        }
        if i > 0 && t.starts_with('#') {
            ended = true;
            continue;
        }
        if t.contains(": ") || t.ends_with(':') {
            return Err(bad(line_no, "`: ` inside a plain value (quote it)"));
        }
        let stripped = strip_comment(t);
        if stripped.len() != t.len() {
            ended = true;
        }
        parts.push(stripped.trim_end_matches(' '));
    }
    let s = fold(parts.into_iter());
    Ok(match s.as_str() {
        "~" | "null" | "Null" | "NULL" => String::new(),
        _ => s,
    })
}

fn quoted(no: usize, first: &str, cont: &[Line<'_>], double: bool) -> Result<String, Error> {
    // Gather the raw text from after the opening quote, line by line.
    let mut out = String::new();
    let mut pending_break: Option<usize> = None; // blank lines seen since the last text
    let q = if double { '"' } else { '\'' };
    let texts = core::iter::once(&first[1..]).chain(cont.iter().map(|l| l.text));
    for (i, text) in texts.enumerate() {
        let line_no = no + i;
        let text = if i == 0 {
            text
        } else {
            text.trim_start_matches([' ', '\t'])
        };
        if i > 0 && text.is_empty() {
            pending_break = Some(pending_break.map_or(1, |n| n + 1));
            continue;
        }
        if let Some(n) = pending_break.take() {
            if n == 0 {
                out.push(' ');
            } else {
                for _ in 0..n {
                    out.push('\n');
                }
            }
        }
        let mut chars = text.char_indices().peekable();
        let mut escaped_break = false;
        while let Some((at, c)) = chars.next() {
            if c == q {
                if !double && chars.peek().map(|p| p.1) == Some('\'') {
                    chars.next();
                    out.push('\'');
                    continue;
                }
                // The end: only a comment may follow, and no more lines.
                let rest = text[at + 1..].trim_matches(' ');
                if !(rest.is_empty() || rest.starts_with('#')) {
                    return Err(bad(line_no, "text after a closing quote"));
                }
                let more = cont
                    .get(i..)
                    .is_some_and(|rest| rest.iter().any(|l| !is_blank_or_comment(l.text)));
                if more {
                    return Err(bad(line_no, "text after a closing quote"));
                }
                return Ok(out);
            }
            if double && c == '\\' {
                let Some((_, e)) = chars.next() else {
                    escaped_break = true;
                    break;
                };
                let simple = match e {
                    '0' => Some('\0'),
                    'a' => Some('\u{7}'),
                    'b' => Some('\u{8}'),
                    't' | '\t' => Some('\t'),
                    'n' => Some('\n'),
                    'v' => Some('\u{b}'),
                    'f' => Some('\u{c}'),
                    'r' => Some('\r'),
                    'e' => Some('\u{1b}'),
                    ' ' => Some(' '),
                    '"' => Some('"'),
                    '/' => Some('/'),
                    '\\' => Some('\\'),
                    'N' => Some('\u{85}'),
                    '_' => Some('\u{a0}'),
                    'L' => Some('\u{2028}'),
                    'P' => Some('\u{2029}'),
                    _ => None,
                };
                if let Some(s) = simple {
                    out.push(s);
                    continue;
                }
                let width = match e {
                    'x' => 2,
                    'u' => 4,
                    'U' => 8,
                    _ => return Err(bad(line_no, "an unknown escape in a double-quoted value")),
                };
                let mut v = 0u32;
                for _ in 0..width {
                    let d = chars
                        .next()
                        .and_then(|(_, h)| h.to_digit(16))
                        .ok_or_else(|| bad(line_no, "a bad hex escape"))?;
                    v = v * 16 + d;
                }
                out.push(
                    char::from_u32(v)
                        .ok_or_else(|| bad(line_no, "an escape that is no character"))?,
                );
                continue;
            }
            out.push(c);
        }
        // A line break inside the quotes: trailing white space goes, the break folds.
        if escaped_break {
            pending_break = None;
        } else {
            let trimmed = out.trim_end_matches([' ', '\t']).len();
            out.truncate(trimmed);
            pending_break = Some(0);
        }
    }
    Err(bad(no, "a quoted value without its closing quote"))
}

fn block(
    no: usize,
    first: &str,
    cont: &[Line<'_>],
    block_tail: &[Line<'_>],
    col: usize,
) -> Result<String, Error> {
    let header = strip_comment(first).trim_end_matches(' ');
    let literal = header.starts_with('|');
    let mut chomp = 0i8; // -1 strip, 0 clip, 1 keep
    let mut explicit = None;
    for c in header[1..].chars() {
        match c {
            '-' if chomp == 0 => chomp = -1,
            '+' if chomp == 0 => chomp = 1,
            '1'..='9' if explicit.is_none() => explicit = c.to_digit(10),
            _ => return Err(bad(no, "a bad block scalar header")),
        }
    }
    let indent = match explicit {
        Some(n) => col + usize::try_from(n).unwrap_or(0),
        None => cont
            .iter()
            .find(|l| !l.text.trim_start_matches(' ').is_empty())
            .map_or(col + 1, |l| l.indent),
    };
    let mut lines: Vec<&str> = Vec::with_capacity(cont.len());
    for l in cont {
        if l.text.trim_start_matches(' ').is_empty() {
            lines.push("");
        } else if l.indent < indent {
            return Err(bad(
                l.no,
                "a block scalar line is less indented than its first",
            ));
        } else {
            lines.push(&l.text[indent..]);
        }
    }
    let mut body = if literal {
        lines.join("\n")
    } else {
        // Folded: lines at the base indentation fold; more-indented ones keep their breaks.
        let mut s = String::new();
        let mut prev_more = false;
        let mut blanks = 0;
        let mut started = false;
        for l in &lines {
            if l.is_empty() {
                blanks += 1;
                continue;
            }
            let more = l.starts_with([' ', '\t']);
            if started {
                if blanks == 0 && !more && !prev_more {
                    s.push(' ');
                } else {
                    let n = if more || prev_more {
                        blanks + 1
                    } else {
                        blanks
                    };
                    for _ in 0..n {
                        s.push('\n');
                    }
                }
            } else {
                for _ in 0..blanks {
                    s.push('\n');
                }
            }
            blanks = 0;
            started = true;
            prev_more = more;
            s.push_str(l);
        }
        for _ in 0..blanks {
            s.push('\n');
        }
        s
    };
    let trailing_blank = block_tail.len();
    match chomp {
        -1 => {
            let t = body.trim_end_matches('\n').len();
            body.truncate(t);
        }
        0 => {
            let t = body.trim_end_matches('\n').len();
            body.truncate(t);
            if !body.is_empty() {
                body.push('\n');
            }
        }
        _ => {
            if !lines.is_empty() {
                body.push('\n');
            }
            for _ in 0..trailing_blank {
                body.push('\n');
            }
        }
    }
    Ok(body)
}

/// `true` if YAML 1.1 (SnakeYAML) would read the plain scalar `s` as something other than that
/// string: null, a boolean, a number, a date, or a merge key.
fn resolves_to_non_string(s: &str) -> bool {
    const WORDS: [&str; 22] = [
        "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
        "true", "True", "TRUE", "false", "False", "FALSE", "on", "On",
    ];
    const MORE: [&str; 6] = ["ON", "off", "Off", "OFF", "<<", "="];
    if WORDS.contains(&s) || MORE.contains(&s) {
        return true;
    }
    // Numbers, dates, .inf/.nan: anything starting with a digit, a sign or a dot followed by a
    // digit or a dot is quoted (more than SnakeYAML quotes, never less).
    let b = s.as_bytes();
    match b.first() {
        Some(b'0'..=b'9') => true,
        Some(b'+' | b'-' | b'.') => matches!(
            b.get(1),
            Some(b'0'..=b'9' | b'.' | b'i' | b'I' | b'n' | b'N')
        ),
        _ => false,
    }
}

/// Characters SnakeYAML prints as they are (YAML's printable set, less the line breaks NEL,
/// LS and PS and the BOM).
fn printable(c: char) -> bool {
    matches!(c, ' '..='~')
        || (c >= '\u{a0}'
            && !matches!(
                c,
                '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
            ))
}

fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if !s.chars().all(printable) || s.starts_with(' ') || s.ends_with(' ') {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.contains(['\'', '"']) {
        return false;
    }
    if s.contains([',', '[', ']', '{', '}']) {
        // Legal in block context, but a reader that meets them in flow context differs.
        return false;
    }
    !resolves_to_non_string(s)
}

/// Writes `s` as a YAML scalar the way SnakeYAML chooses its style (without line folding).
pub(crate) fn push_scalar(out: &mut String, s: &str) {
    if plain_ok(s) {
        out.push_str(s);
    } else if s.chars().all(printable) {
        out.push('\'');
        for c in s.chars() {
            if c == '\'' {
                out.push('\'');
            }
            out.push(c);
        }
        out.push('\'');
    } else {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '\0' => out.push_str("\\0"),
                c if printable(c) => out.push(c),
                c if u32::from(c) <= 0xFF => {
                    let _ = write!(out, "\\x{:02X}", u32::from(c));
                }
                c if u32::from(c) <= 0xFFFF => {
                    let _ = write!(out, "\\u{:04X}", u32::from(c));
                }
                c => {
                    let _ = write!(out, "\\U{:08X}", u32::from(c));
                }
            }
        }
        out.push('"');
    }
}

/// Writes the document: `metadata:` and one block map per item (`items` keys already sorted;
/// empty values omitted, as SnakeYAML omits nulls).
pub(crate) fn write(items: &[Vec<(&str, &str)>]) -> String {
    let mut out = String::new();
    if items.is_empty() {
        out.push_str("metadata: []\n");
        return out;
    }
    out.push_str("metadata:\n");
    for item in items {
        let mut first = true;
        for (k, v) in item {
            if v.is_empty() {
                continue;
            }
            out.push_str(if first { "- " } else { "  " });
            first = false;
            out.push_str(k);
            out.push_str(": ");
            push_scalar(&mut out, v);
            out.push('\n');
        }
        if first {
            out.push_str("- {}\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn one(yaml: &str) -> Vec<(String, String)> {
        let mut items = parse(yaml).unwrap();
        assert_eq!(items.len(), 1, "{yaml}");
        items.remove(0).1
    }

    fn get<'a>(m: &'a [(String, String)], k: &str) -> &'a str {
        m.iter()
            .find(|(key, _)| key == k)
            .map_or("<none>", |(_, v)| v.as_str())
    }

    #[test]
    fn snakeyaml_block_output() {
        let y = "metadata:\n- appName: app\n  dataId: cipher-kms-aes-256-db.yaml\n  desc: 'a: b'\n  group: DEFAULT_GROUP\n  type: yaml\n- dataId: '123'\n  group: G\n  type: text\n";
        let items = parse(y).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(get(&items[0].1, "desc"), "a: b");
        assert_eq!(get(&items[0].1, "appName"), "app");
        assert_eq!(get(&items[1].1, "dataId"), "123");
        assert_eq!(items[1].0, 7);
    }

    #[test]
    fn folded_and_block_scalars() {
        let m = one(
            "metadata:\n- desc: a long plain\n    value over lines\n\n    and a paragraph\n  type: text\n",
        );
        assert_eq!(
            get(&m, "desc"),
            "a long plain value over lines\nand a paragraph"
        );
        let m = one("metadata:\n- desc: 'it''s\n    folded'\n");
        assert_eq!(get(&m, "desc"), "it's folded");
        let m = one("metadata:\n- desc: \"tab\\there \\u00e9\\\n    \\ x\"\n");
        assert_eq!(get(&m, "desc"), "tab\there \u{e9} x");
        let m = one("metadata:\n- desc: |-\n    line 1\n      indented\n    line 3\n  group: g\n");
        assert_eq!(get(&m, "desc"), "line 1\n  indented\nline 3");
        assert_eq!(get(&m, "group"), "g");
        let m = one("metadata:\n- desc: |\n    a\n\n  group: g\n");
        assert_eq!(get(&m, "desc"), "a\n");
        let m = one("metadata:\n- desc: >-\n    a\n    b\n\n    c\n");
        assert_eq!(get(&m, "desc"), "a b\nc");
        let m = one("metadata:\n-\n  dataId: x # comment\n  desc: ~\n");
        assert_eq!(get(&m, "dataId"), "x");
        assert_eq!(get(&m, "desc"), "");
    }

    #[test]
    fn empty_and_refused() {
        assert!(parse("metadata: []\n").unwrap().is_empty());
        assert!(parse("").unwrap().is_empty());
        for (y, line) in [
            ("metadata:\n- {dataId: a}\n", 2),
            ("metadata:\n- dataId: &a x\n", 2),
            ("other: 1\n", 1),
            ("metadata:\n- dataId: a\n   group: b\n", 3),
            ("metadata:\n- dataId: 'a\n", 2),
            ("metadata:\n- dataId: a\n  dataId: b\n", 3),
            ("metadata:\n- dataId: \"\\q\"\n", 2),
            ("metadata:\n- dataId: a\nx: 1\n", 3),
        ] {
            match parse(y) {
                Err(Error::InvalidExportMetadata { line: l, .. }) => assert_eq!(l, line, "{y}"),
                other => panic!("{y}: {other:?}"),
            }
        }
    }

    #[test]
    fn written_scalars_read_back() {
        let odd = [
            "plain",
            "a:b",
            "a: b",
            "#x",
            "a #x",
            "a#x",
            "'q'",
            "\"dq\"",
            "it's",
            " lead",
            "trail ",
            "中文 dataId",
            "123",
            "1.5",
            "-1",
            ".5",
            "true",
            "no",
            "~",
            "null",
            "",
            "- item",
            "?x",
            "a\nb",
            "tab\tx",
            "\u{85}nel",
            "\u{feff}bom",
            "x\u{1}y",
            "😀",
            "a,b",
            "[x]",
            "{y}",
            "%p",
            "@a",
            "`b",
            "!t",
            "&a",
            "*b",
            "|",
            ">",
            "=",
            "<<",
            "a\\b",
            "\r\n",
            "trailing\n",
        ];
        let mut items = Vec::new();
        for s in odd.iter().filter(|s| !s.is_empty()) {
            items.push(vec![("dataId", *s), ("group", "g")]);
        }
        let text = write(&items);
        let back = parse(&text).unwrap();
        assert_eq!(back.len(), items.len());
        for (want, (_, got)) in items.iter().zip(&back) {
            assert_eq!(get(got, "dataId"), want[0].1, "{text}");
        }
    }
}
