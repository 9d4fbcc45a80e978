//! The auth settings of a Nacos cluster, read from the very `application.properties` it uses
//! (Java properties syntax) or from the Docker image's environment names.

use super::{SecretKey, ServerIdentity, TokenManager};
use crate::{Error, Result, SecretString};
use alloc::string::String;
use alloc::vec::Vec;
use zeroize::{Zeroize, Zeroizing};

/// `nacos.core.auth.plugin.nacos.token.secret.key`: the base64 token secret.
pub const SECRET_KEY: &str = "nacos.core.auth.plugin.nacos.token.secret.key";
/// `nacos.core.auth.plugin.nacos.token.expire.seconds`: token validity (default 18000).
pub const EXPIRE_SECONDS: &str = "nacos.core.auth.plugin.nacos.token.expire.seconds";
/// `nacos.core.auth.plugin.nacos.token.cache.enable`: the token cache (default false).
pub const CACHE_ENABLE: &str = "nacos.core.auth.plugin.nacos.token.cache.enable";
/// `nacos.core.auth.server.identity.key`: the peer-server header name.
pub const IDENTITY_KEY: &str = "nacos.core.auth.server.identity.key";
/// `nacos.core.auth.server.identity.value`: the peer-server header value.
pub const IDENTITY_VALUE: &str = "nacos.core.auth.server.identity.value";

/// The Docker image's environment names and the settings they feed, in the order above.
pub const ENV_NAMES: [(&str, &str); 5] = [
    ("NACOS_AUTH_TOKEN", SECRET_KEY),
    ("NACOS_AUTH_TOKEN_EXPIRE_SECONDS", EXPIRE_SECONDS),
    ("NACOS_AUTH_CACHE_ENABLE", CACHE_ENABLE),
    ("NACOS_AUTH_IDENTITY_KEY", IDENTITY_KEY),
    ("NACOS_AUTH_IDENTITY_VALUE", IDENTITY_VALUE),
];

/// Largest properties text accepted (a denial-of-service bound).
pub const MAX_PROPERTIES_LEN: usize = 4 << 20;

/// Deepest `${…}` placeholder nesting resolved.
pub const MAX_PLACEHOLDER_DEPTH: usize = 8;

/// Most `${…}` placeholders resolved for one setting, counting every level of nesting (a
/// denial-of-service bound: without it a 2 KB file of placeholders that each name several
/// others expands exponentially).
pub const MAX_PLACEHOLDERS: usize = 256;

/// Most bytes of text that one setting's placeholders expand to, counting the names and the
/// values resolved at every level of nesting (the setting's own text, bounded by [`MAX_PROPERTIES_LEN`], is not counted): the
/// expanded value can never be larger, and the work done is bounded by it.
pub const MAX_EXPANDED_LEN: usize = 64 << 10;

/// The token-related settings of a Nacos server, with the server's defaults.
///
/// Empty values count as unset, as the server's conversion does. `Debug` never prints the
/// secret key or the identity value.
///
/// # Example
/// ```
/// use nacoscrypt_core::token::AuthSettings;
///
/// let text = "\
/// # Nacos application.properties
/// nacos.core.auth.enabled=true
/// nacos.core.auth.plugin.nacos.token.secret.key=${NACOS_AUTH_TOKEN:}
/// nacos.core.auth.plugin.nacos.token.expire.seconds = 3600
/// nacos.core.auth.server.identity.key: X-Peer
/// nacos.core.auth.server.identity.value  d2f8c0e7a1b9
/// ";
/// let env = [("NACOS_AUTH_TOKEN", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")];
/// let settings = AuthSettings::from_properties_with_env(text, env)?;
/// assert_eq!(settings.expire_seconds, 3600);
/// assert!(!settings.cache_enabled);
///
/// let manager = settings.token_manager()?;
/// assert_eq!(manager.validity(), 3600);
/// let identity = settings.server_identity()?;
/// assert!(identity.matches([("x-peer", "d2f8c0e7a1b9")]));
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthSettings {
    /// [`SECRET_KEY`], as written (base64).
    pub secret_key: Option<SecretString>,
    /// [`EXPIRE_SECONDS`] (default 18,000).
    pub expire_seconds: u64,
    /// [`CACHE_ENABLE`] (default `false`).
    pub cache_enabled: bool,
    /// [`IDENTITY_KEY`].
    pub identity_key: Option<String>,
    /// [`IDENTITY_VALUE`].
    pub identity_value: Option<SecretString>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            secret_key: None,
            expire_seconds: super::DEFAULT_VALIDITY_SECS,
            cache_enabled: false,
            identity_key: None,
            identity_value: None,
        }
    }
}

impl AuthSettings {
    /// Reads the settings from an `application.properties` text; `${NAME:default}`
    /// placeholders resolve against the file's own properties, then their defaults.
    ///
    /// # Errors
    /// [`Error::InvalidSettings`] for a malformed file, an invalid number or boolean, or an
    /// unresolvable placeholder.
    pub fn from_properties(text: &str) -> Result<Self> {
        Self::from_properties_with_env(text, core::iter::empty())
    }

    /// Like [`from_properties`](Self::from_properties), with `${NAME:default}` placeholders
    /// resolved against `env` first (as the Docker image's file, which reads
    /// `${NACOS_AUTH_TOKEN:}` and the like, needs).
    ///
    /// # Errors
    /// As [`from_properties`](Self::from_properties).
    pub fn from_properties_with_env<'e>(
        text: &str,
        env: impl IntoIterator<Item = (&'e str, &'e str)>,
    ) -> Result<Self> {
        let props = Properties::parse(text)?;
        let env: Vec<(&str, &str)> = env.into_iter().collect();
        let lookup = |name: &'static str| -> Result<Option<Zeroizing<String>>> {
            match props.get(name) {
                None => Ok(None),
                Some(v) => {
                    let mut budget = Budget::new();
                    resolve(v, name, &props, &env, 0, &mut budget).map(Some)
                }
            }
        };
        let mut s = Self::default();
        s.apply(SECRET_KEY, lookup(SECRET_KEY)?)?;
        s.apply(EXPIRE_SECONDS, lookup(EXPIRE_SECONDS)?)?;
        s.apply(CACHE_ENABLE, lookup(CACHE_ENABLE)?)?;
        s.apply(IDENTITY_KEY, lookup(IDENTITY_KEY)?)?;
        s.apply(IDENTITY_VALUE, lookup(IDENTITY_VALUE)?)?;
        Ok(s)
    }

    /// Reads the settings from the Docker image's environment names ([`ENV_NAMES`]);
    /// other names are ignored.
    ///
    /// ```
    /// use nacoscrypt_core::token::AuthSettings;
    ///
    /// let s = AuthSettings::from_env([
    ///     ("NACOS_AUTH_TOKEN_EXPIRE_SECONDS", "600"),
    ///     ("NACOS_AUTH_CACHE_ENABLE", "true"),
    ///     ("PATH", "/usr/bin"),
    /// ])?;
    /// assert_eq!((s.expire_seconds, s.cache_enabled), (600, true));
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidSettings`] for an invalid number or boolean.
    pub fn from_env<'e>(env: impl IntoIterator<Item = (&'e str, &'e str)>) -> Result<Self> {
        let mut s = Self::default();
        for (name, value) in env {
            if let Some((_, setting)) = ENV_NAMES.iter().find(|(n, _)| *n == name) {
                s.apply(setting, Some(Zeroizing::new(String::from(value))))?;
            }
        }
        Ok(s)
    }

    /// [`from_env`](Self::from_env) over this process's environment (names or values that are
    /// not Unicode are skipped).
    ///
    /// # Errors
    /// As [`from_env`](Self::from_env).
    #[cfg(feature = "std")]
    pub fn from_process_env() -> Result<Self> {
        let vars: Vec<(String, Zeroizing<String>)> = std::env::vars_os()
            .filter_map(|(k, v)| {
                Some((k.into_string().ok()?, Zeroizing::new(v.into_string().ok()?)))
            })
            .collect();
        Self::from_env(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// Reads an `application.properties` file, resolving placeholders against this process's
    /// environment.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read, is not a regular file (a FIFO or device is
    /// refused, never waited on) or is not UTF-8; [`Error::InvalidSettings`] for a file over
    /// [`MAX_PROPERTIES_LEN`], found while reading; else as
    /// [`from_properties`](Self::from_properties).
    #[cfg(feature = "std")]
    pub fn from_properties_file(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let text = crate::fs::read_regular_text(
            path.as_ref(),
            MAX_PROPERTIES_LEN,
            "reading application.properties",
            || Error::InvalidSettings {
                name: PROPS,
                reason: "file too large",
            },
        )?;
        let vars: Vec<(String, Zeroizing<String>)> = std::env::vars_os()
            .filter_map(|(k, v)| {
                Some((k.into_string().ok()?, Zeroizing::new(v.into_string().ok()?)))
            })
            .collect();
        Self::from_properties_with_env(&text, vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// Sets one setting from its text (empty = unset, the default stays).
    fn apply(&mut self, name: &'static str, value: Option<Zeroizing<String>>) -> Result<()> {
        let Some(value) = value else { return Ok(()) };
        if value.trim().is_empty() {
            return Ok(());
        }
        match name {
            SECRET_KEY => self.secret_key = Some(SecretString::from(String::from(value.as_str()))),
            EXPIRE_SECONDS => self.expire_seconds = parse_seconds(&value, name)?,
            CACHE_ENABLE => self.cache_enabled = parse_bool(&value, name)?,
            IDENTITY_KEY => self.identity_key = Some(String::from(value.as_str())),
            _ => self.identity_value = Some(SecretString::from(String::from(value.as_str()))),
        }
        Ok(())
    }

    /// A [`TokenManager`] with the secret key and validity of these settings.
    ///
    /// # Errors
    /// [`Error::InvalidSettings`] if the secret key is not set; the errors of
    /// [`SecretKey::from_base64`] (which refuses publicly known keys).
    pub fn token_manager(&self) -> Result<TokenManager> {
        self.manager(false)
    }

    /// Like [`token_manager`](Self::token_manager) but accepting the publicly known keys
    /// (tests and migrations only).
    ///
    /// # Errors
    /// As [`token_manager`](Self::token_manager), less [`Error::PubliclyKnownKey`].
    pub fn token_manager_allowing_publicly_known(&self) -> Result<TokenManager> {
        self.manager(true)
    }

    fn manager(&self, allow_publicly_known: bool) -> Result<TokenManager> {
        let text = self.secret_key.as_ref().ok_or(Error::InvalidSettings {
            name: SECRET_KEY,
            reason: "not set",
        })?;
        let key = if allow_publicly_known {
            SecretKey::from_base64_allowing_publicly_known(text)?
        } else {
            SecretKey::from_base64(text)?
        };
        TokenManager::new(key).with_validity(self.expire_seconds)
    }

    /// The [`ServerIdentity`] of these settings.
    ///
    /// # Errors
    /// [`Error::EmptyIdentity`] if the key or value is not set; [`Error::PubliclyKnownKey`] for
    /// the old public default value.
    pub fn server_identity(&self) -> Result<ServerIdentity> {
        let (key, value) = self.identity_parts()?;
        ServerIdentity::new(key, value)
    }

    /// Like [`server_identity`](Self::server_identity) but accepting the old public defaults.
    ///
    /// # Errors
    /// [`Error::EmptyIdentity`] if the key or value is not set.
    pub fn server_identity_allowing_publicly_known(&self) -> Result<ServerIdentity> {
        let (key, value) = self.identity_parts()?;
        ServerIdentity::new_allowing_publicly_known(key, value)
    }

    fn identity_parts(&self) -> Result<(&str, &str)> {
        match (&self.identity_key, &self.identity_value) {
            (Some(k), Some(v)) => Ok((k.as_str(), v.as_str())),
            _ => Err(Error::EmptyIdentity),
        }
    }
}

/// A positive number of seconds, as Spring converts a `Long` (whitespace trimmed, an optional
/// sign, decimal or `0x`/`#` hexadecimal).
fn parse_seconds(text: &str, name: &'static str) -> Result<u64> {
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
fn parse_bool(text: &str, name: &'static str) -> Result<bool> {
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

/// Resolves `${NAME}` and `${NAME:default}` placeholders in `value`: from `env`, then from the
/// properties, then the default; nested placeholders are resolved up to
/// [`MAX_PLACEHOLDER_DEPTH`], and the whole resolution of one setting stays within `budget`.
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

/// A Java `.properties` text, read as `java.util.Properties.load` reads it: `=`, `:` or
/// whitespace between key and value, `#` and `!` comment lines, backslash escapes (`\t`, `\n`,
/// `\r`, `\f`, `\uXXXX`, any other character as itself), and lines continued by an odd number
/// of trailing backslashes (the next line's leading whitespace is dropped). Later keys win.
/// Every key and value is wiped on drop.
///
/// ```
/// use nacoscrypt_core::token::Properties;
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

const PROPS: &str = "application.properties";

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
