//! Moving stored configs to another key, scheme or format (issue 16): `rewrap` keeps the data
//! key and re-wraps it under the target master key; `rekey` decrypts and encrypts afresh.
//!
//! Sources are whatever [`Keys`] hold: a KMS for the client-side schemes, and the server
//! plugin's keys (SPEC 6) for `cipher-aes-` / `cipher-doubleAes-` configs. A scheme change
//! renames the config (the data ID carries the scheme): the outcome says so.
//! Plaintext exists only in memory, in wiped buffers.
//!
//! ```
//! use nacoscrypt_core::config::{self, ConfigId, Format, migrate};
//! use nacoscrypt_core::config::migrate::{Mode, Outcome, Plan, StoredConfig, TargetScheme};
//! use nacoscrypt_core::kms::Keyring;
//!
//! # fn main() -> Result<(), nacoscrypt_core::Error> {
//! let mut old = Keyring::new();
//! old.add_new_key("old")?;
//! let mut new = Keyring::new();
//! new.add_new_key("new")?;
//! let id = ConfigId::new("cipher-kms-aes-256-db", "DEFAULT_GROUP", "");
//! let s = config::encrypt(&old, &id, "password=s3cret", "old", Format::Nacos)?;
//! let entry = StoredConfig::new(&id, &s.content, &s.encrypted_data_key);
//!
//! let plan = Plan::new(Some(&old), &new, "new", Mode::Rewrap);
//! let Outcome::Migrated { config: moved, renamed_from } = migrate::migrate_one(&plan, &entry) else {
//!     panic!("not migrated")
//! };
//! assert_eq!(moved.content, s.content); // rewrap keeps nacos-format content
//! assert_eq!(renamed_from, None);
//! assert_eq!(config::decrypt(&new, &moved.id(), &moved.content, &moved.encrypted_data_key)?.as_str(), "password=s3cret");
//!
//! // Fed back in, the entry is already in the target form and skipped.
//! assert!(matches!(migrate::migrate_one(&plan, &moved), Outcome::AlreadyMigrated));
//! # Ok(()) }
//! ```

use super::doctor::{self, Keys, Step, StoredFormat};
use super::plugin;
use super::{ConfigId, Format, Limits, Scheme};
use crate::kms::{Context, DataKey, KeySpec, Kms};
use crate::{Error, SecretString};
use alloc::string::String;
#[cfg(feature = "std")]
use alloc::vec::Vec;
use core::fmt;

/// One stored config with the open API's fields.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct StoredConfig {
    /// `dataId`.
    pub data_id: String,
    /// `group`.
    pub group: String,
    /// `tenant` (empty: public).
    pub tenant: String,
    /// `content` as stored.
    pub content: String,
    /// `encryptedDataKey` as stored (empty when none).
    pub encrypted_data_key: String,
}

impl StoredConfig {
    /// An owned copy of a stored pair.
    pub fn new(id: &ConfigId<'_>, content: &str, encrypted_data_key: &str) -> Self {
        Self {
            data_id: String::from(id.data_id),
            group: String::from(id.group),
            tenant: String::from(id.tenant),
            content: String::from(content),
            encrypted_data_key: String::from(encrypted_data_key),
        }
    }

    /// Its identity.
    pub fn id(&self) -> ConfigId<'_> {
        ConfigId::new(&self.data_id, &self.group, &self.tenant)
    }
}

impl fmt::Debug for StoredConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Ciphertext only, but long: lengths are enough in logs.
        f.debug_struct("StoredConfig")
            .field("data_id", &self.data_id)
            .field("group", &self.group)
            .field("tenant", &self.tenant)
            .field("content_len", &self.content.len())
            .field("encrypted_data_key_len", &self.encrypted_data_key.len())
            .finish()
    }
}

/// How the data key is treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Keep the data key; re-wrap it under the target master key. `nacos`-format content is kept
    /// as is; `v1` content (bound to the `encryptedDataKey`) is re-encrypted under the same key.
    /// Only for envelope configs whose scheme does not change.
    Rewrap,
    /// A fresh data key (or direct blob) from the target; the content is encrypted afresh.
    Rekey,
}

/// The scheme of the migrated configs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TargetScheme {
    /// The scheme the data ID already selects (not possible for server plugin configs).
    #[default]
    Keep,
    /// `cipher-kms-aes-256-` / `cipher-kms-aes-128-`: the data ID is renamed if needed.
    Envelope(KeySpec),
    /// `cipher-`: the data ID is renamed if needed.
    Direct,
}

/// What to migrate to, and with which source keys.
#[derive(Clone, Copy)]
pub struct Plan<'a> {
    /// The KMS the configs are encrypted with now (client-side schemes).
    pub source: Option<&'a (dyn Kms + Sync)>,
    /// The server's `nacos.encrypt` secret, for `cipher-doubleAes-` configs.
    pub plugin_server_secret: Option<&'a str>,
    /// The KMS to move to.
    pub target: &'a (dyn Kms + Sync),
    /// The target master key id.
    pub key_id: &'a str,
    /// The target scheme.
    pub scheme: TargetScheme,
    /// The target format; `None` keeps each config's format (`nacos` for plugin configs).
    pub format: Option<Format>,
    /// Re-wrap or re-key.
    pub mode: Mode,
    /// Turn `\u0026`, `\u003c`, `\u003e` back into `&`, `<`, `>` (the HTML-escaping quirk of
    /// SPEC 6; `rekey` only).
    pub unescape_html: bool,
}

impl fmt::Debug for Plan<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plan")
            .field("key_id", &self.key_id)
            .field("scheme", &self.scheme)
            .field("format", &self.format)
            .field("mode", &self.mode)
            .field("unescape_html", &self.unescape_html)
            .finish_non_exhaustive()
    }
}

impl<'a> Plan<'a> {
    /// A plan keeping scheme and format.
    pub fn new(
        source: Option<&'a (dyn Kms + Sync)>,
        target: &'a (dyn Kms + Sync),
        key_id: &'a str,
        mode: Mode,
    ) -> Self {
        Self {
            source,
            plugin_server_secret: None,
            target,
            key_id,
            scheme: TargetScheme::Keep,
            format: None,
            mode,
            unescape_html: false,
        }
    }

    fn source_keys(&self) -> Keys<'a> {
        Keys {
            kms: self.source.map(|k| k as &dyn Kms),
            plugin_server_secret: self.plugin_server_secret,
        }
    }
}

/// What became of one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Migrated: the config to publish. `renamed_from` is the old data ID when the scheme
    /// change renamed it (publish the new one, then delete the old one).
    Migrated {
        /// The migrated config.
        config: StoredConfig,
        /// The data ID before, when it changed.
        renamed_from: Option<String>,
    },
    /// Already in the target form: left as is. The entry keeps its data ID, is in the target
    /// format and opens with the target, and either the target says its blob is under the
    /// current version of the target key ([`Kms::is_current_version`]), or the target cannot
    /// tell and the source (another KMS) does not open it.
    AlreadyMigrated,
    /// Failed at `step`; the rest of the stream goes on.
    Failed {
        /// The step that failed.
        step: Step,
        /// Why (never key material or plaintext).
        error: Error,
    },
}

const PREFIXES: [&str; 7] = [
    "cipher-kms-aes-256-",
    "cipher-kms-aes-128-",
    plugin::DOUBLE_AES_PREFIX,
    plugin::AES_PREFIX,
    "cipher-kms-aes-256",
    "cipher-kms-aes-128",
    "cipher-",
];

/// The data ID of `data_id` under `scheme`: its scheme prefix replaced.
///
/// ```
/// use nacoscrypt_core::config::migrate::{renamed, TargetScheme};
/// use nacoscrypt_core::kms::KeySpec;
/// assert_eq!(renamed("cipher-aes-db.yaml", TargetScheme::Envelope(KeySpec::Aes256)), "cipher-kms-aes-256-db.yaml");
/// assert_eq!(renamed("cipher-kms-aes-128-x", TargetScheme::Direct), "cipher-x");
/// assert_eq!(renamed("cipher-x", TargetScheme::Keep), "cipher-x");
/// ```
pub fn renamed(data_id: &str, scheme: TargetScheme) -> String {
    let prefix = match scheme {
        TargetScheme::Keep => return String::from(data_id),
        TargetScheme::Envelope(KeySpec::Aes256) => "cipher-kms-aes-256-",
        TargetScheme::Envelope(KeySpec::Aes128) => "cipher-kms-aes-128-",
        TargetScheme::Direct => "cipher-",
    };
    let rest = PREFIXES
        .iter()
        .find_map(|p| data_id.strip_prefix(p))
        .unwrap_or(data_id);
    let mut out = String::with_capacity(prefix.len() + rest.len());
    out.push_str(prefix);
    out.push_str(rest);
    out
}

fn stored_format(id: &ConfigId<'_>, content: &str, edk: &str) -> StoredFormat {
    if plugin::plugin_of(id.data_id).is_some() {
        StoredFormat::ServerPlugin
    } else if content.starts_with("nc1:") {
        StoredFormat::V1
    } else if Scheme::is_encrypted_data_id(id.data_id) {
        StoredFormat::Nacos
    } else {
        let _ = edk;
        StoredFormat::PlainText
    }
}

/// The KMS blob of a stored client-side config: its `encryptedDataKey` (envelope), else the
/// content after any `v1` marker (direct).
fn key_blob<'a>(data_id: &str, content: &'a str, edk: &'a str) -> Option<&'a str> {
    match Scheme::for_decrypt(data_id, edk).ok()? {
        Scheme::Envelope(_) => Some(edk),
        Scheme::Direct => Some(content.strip_prefix("nc1:").unwrap_or(content)),
    }
}

fn context<'a>(id: &ConfigId<'a>, format: Format) -> Context<'a> {
    match format {
        Format::Nacos => Context::new(),
        Format::V1 => id.v1_context(),
    }
}

/// Migrates one stored config according to `plan`.
pub fn migrate_one(plan: &Plan<'_>, entry: &StoredConfig) -> Outcome {
    match migrate_inner(plan, entry) {
        Ok(o) => o,
        Err((step, error)) => Outcome::Failed { step, error },
    }
}

fn migrate_inner(plan: &Plan<'_>, entry: &StoredConfig) -> Result<Outcome, (Step, Error)> {
    let id = entry.id();
    let source_format = stored_format(&id, &entry.content, &entry.encrypted_data_key);
    if source_format == StoredFormat::PlainText {
        return Err((Step::Scheme, Error::NotEncryptedDataId));
    }
    if source_format == StoredFormat::ServerPlugin && plan.scheme == TargetScheme::Keep {
        return Err((
            Step::Scheme,
            Error::InvalidArgument {
                reason: "a server plugin config needs a target scheme (kms-aes-256, kms-aes-128 or direct)",
            },
        ));
    }
    let new_data_id = renamed(&entry.data_id, plan.scheme);
    let new_id = ConfigId::new(&new_data_id, &entry.group, &entry.tenant);
    let target_scheme = Scheme::for_encrypt(&new_data_id).map_err(|e| (Step::Scheme, e))?;
    let target_format = plan.format.unwrap_or(match source_format {
        StoredFormat::V1 => Format::V1,
        _ => Format::Nacos,
    });

    // Resumable: an entry already in the target form is left as is. It must keep its data ID
    // (so its scheme), be in the target format (never a plugin config) and open with the
    // target. Then:
    // - if the target tells from the blob whether it is under the current version of the target
    //   key (`Kms::is_current_version`; the local keyring does), that decides. A rotation
    //   inside one key service and a run over a plugin->KMS run's own output skip exactly the
    //   entries already moved, whether or not the source is the target;
    // - if it cannot tell, the entry counts as migrated only when the source does not open it;
    //   when the source is the target (same object) that never holds and every entry is
    //   migrated again (correct, not skipped).
    let same_kms = plan
        .source
        .is_some_and(|s| core::ptr::addr_eq(s as *const dyn Kms, plan.target as *const dyn Kms));
    let in_target_form = new_data_id == entry.data_id
        && source_format != StoredFormat::ServerPlugin
        && Format::of_content(&entry.content) == target_format;
    let open_source = || {
        doctor::open(
            &plan.source_keys(),
            &id,
            &entry.content,
            &entry.encrypted_data_key,
            source_format,
        )
    };
    // The plaintext when the check already opened it (rekey reuses it).
    let mut opened = None;
    // The KMS that opens the entry: the source, or the target for an entry under an older
    // version of the target key that the source cannot open (a resumed run after a rotation).
    let mut source_kms = plan.source;
    if in_target_form {
        let current = key_blob(&entry.data_id, &entry.content, &entry.encrypted_data_key)
            .and_then(|blob| plan.target.is_current_version(plan.key_id, blob));
        let target_keys = Keys {
            kms: Some(plan.target),
            plugin_server_secret: None,
        };
        let by_target = || {
            doctor::open(
                &target_keys,
                &id,
                &entry.content,
                &entry.encrypted_data_key,
                source_format,
            )
        };
        match current {
            Some(true) if by_target().is_ok() => return Ok(Outcome::AlreadyMigrated),
            Some(true) => {}
            _ if same_kms => {}
            _ => {
                if let Ok(plain) = by_target() {
                    match open_source() {
                        Ok(from_source) => opened = Some(from_source),
                        Err(_) if current.is_none() => return Ok(Outcome::AlreadyMigrated),
                        Err(_) => {
                            opened = Some(plain);
                            source_kms = Some(plan.target);
                        }
                    }
                }
            }
        }
    }

    let migrated = match plan.mode {
        Mode::Rewrap => rewrap(
            plan,
            source_kms,
            entry,
            source_format,
            &new_id,
            target_scheme,
            target_format,
        )?,
        Mode::Rekey => {
            let plain = match opened {
                Some(plain) => plain,
                None => open_source()?,
            };
            let plain = if plan.unescape_html {
                unescape_html(&plain)
            } else {
                plain
            };
            encrypt(
                plan.target,
                &new_id,
                plain.as_str(),
                plan.key_id,
                target_format,
            )
            .map_err(|e| (Step::of_error(&e), e))?
        }
    };
    Ok(Outcome::Migrated {
        config: StoredConfig {
            data_id: new_data_id.clone(),
            group: entry.group.clone(),
            tenant: entry.tenant.clone(),
            content: migrated.content,
            encrypted_data_key: migrated.encrypted_data_key,
        },
        renamed_from: (new_data_id != entry.data_id).then(|| entry.data_id.clone()),
    })
}

#[cfg(feature = "getrandom")]
fn encrypt(
    kms: &dyn Kms,
    id: &ConfigId<'_>,
    plaintext: &str,
    key_id: &str,
    format: Format,
) -> crate::Result<super::EncryptedConfig> {
    super::encrypt(kms, id, plaintext, key_id, format)
}

#[cfg(not(feature = "getrandom"))]
fn encrypt(
    _kms: &dyn Kms,
    _id: &ConfigId<'_>,
    _plaintext: &str,
    _key_id: &str,
    _format: Format,
) -> crate::Result<super::EncryptedConfig> {
    Err(Error::Random)
}

fn rewrap(
    plan: &Plan<'_>,
    source: Option<&(dyn Kms + Sync)>,
    entry: &StoredConfig,
    source_format: StoredFormat,
    new_id: &ConfigId<'_>,
    target_scheme: Scheme,
    target_format: Format,
) -> Result<super::EncryptedConfig, (Step, Error)> {
    let fail = |e: Error| (Step::of_error(&e), e);
    let id = entry.id();
    let edk = entry.encrypted_data_key.as_str();
    let source_scheme = Scheme::for_decrypt(&entry.data_id, edk).map_err(fail)?;
    let (Scheme::Envelope(spec), StoredFormat::Nacos | StoredFormat::V1) =
        (source_scheme, source_format)
    else {
        return Err((
            Step::Scheme,
            Error::InvalidArgument {
                reason: "rewrap needs an envelope (cipher-kms-aes-) config; use rekey",
            },
        ));
    };
    if target_scheme != source_scheme {
        return Err((
            Step::Scheme,
            Error::InvalidArgument {
                reason: "rewrap keeps the data key, so not the key size: use rekey to change the scheme",
            },
        ));
    }
    let Some(source) = source else {
        return Err((
            Step::Kms,
            Error::InvalidArgument {
                reason: "no source KMS given",
            },
        ));
    };
    if edk.is_empty() {
        return Err((Step::Structure, Error::MissingEncryptedDataKey));
    }
    let from = Format::of_content(&entry.content);
    let raw = source
        .decrypt_data_key(edk, spec, &context(&id, from))
        .map_err(fail)?;
    let key = DataKey::new(spec, raw.as_bytes()).map_err(fail)?;
    drop(raw);
    // Check the content opens under the key before vouching for it under the new one.
    let plain = super::decrypt_with_data_key(&key, &id, &entry.content, edk, &Limits::NACOS)
        .map_err(fail)?;
    let new_edk = plan
        .target
        .encrypt_data_key(plan.key_id, &key, &context(new_id, target_format))
        .map_err(fail)?;
    let content = if from == Format::Nacos && target_format == Format::Nacos {
        entry.content.clone()
    } else {
        reencrypt(&key, new_id, plain.as_str(), &new_edk, target_format).map_err(fail)?
    };
    Ok(super::EncryptedConfig {
        content,
        encrypted_data_key: new_edk,
    })
}

#[cfg(feature = "getrandom")]
fn reencrypt(
    key: &DataKey,
    id: &ConfigId<'_>,
    plaintext: &str,
    edk: &str,
    format: Format,
) -> crate::Result<String> {
    super::encrypt_with_data_key(key, id, plaintext, edk, format)
}

#[cfg(not(feature = "getrandom"))]
fn reencrypt(
    _key: &DataKey,
    _id: &ConfigId<'_>,
    _plaintext: &str,
    _edk: &str,
    _format: Format,
) -> crate::Result<String> {
    Err(Error::Random)
}

/// `\u0026`, `\u003c`, `\u003e` (either case of hex) back to `&`, `<`, `>`.
fn unescape_html(text: &SecretString) -> SecretString {
    let s = text.as_str();
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("\\u00") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let sub = match tail.get(4..6).map(str::to_ascii_lowercase).as_deref() {
            Some("26") => Some('&'),
            Some("3c") => Some('<'),
            Some("3e") => Some('>'),
            _ => None,
        };
        if let Some(c) = sub {
            out.push(c);
            rest = &tail[6..];
        } else {
            out.push_str(&tail[..4]);
            rest = &tail[4..];
        }
    }
    out.push_str(rest);
    SecretString::from(out)
}

/// Migrates `entries` on `threads` worker threads (at least one), calling `progress` with the
/// number done so far from the workers (keep it cheap). Outcomes come back in input order.
///
/// ```
/// use nacoscrypt_core::config::{self, ConfigId, Format, migrate};
/// use nacoscrypt_core::config::migrate::{Mode, Outcome, Plan, StoredConfig};
/// use nacoscrypt_core::kms::Keyring;
///
/// # fn main() -> Result<(), nacoscrypt_core::Error> {
/// let mut k = Keyring::new();
/// k.add_new_key("a")?;
/// k.add_new_key("b")?;
/// let entries: Vec<StoredConfig> = (0..100).map(|i| {
///     let data_id = format!("cipher-kms-aes-128-{i}");
///     let id = ConfigId::new(&data_id, "g", "");
///     let s = config::encrypt(&k, &id, "v=1", "a", Format::Nacos).unwrap();
///     StoredConfig::new(&id, &s.content, &s.encrypted_data_key)
/// }).collect();
/// let plan = Plan::new(Some(&k), &k, "b", Mode::Rekey);
/// let out = migrate::migrate_all(&plan, &entries, 4, &|_| {});
/// assert!(out.iter().all(|o| matches!(o, Outcome::Migrated { .. })));
/// # Ok(()) }
/// ```
#[cfg(feature = "std")]
pub fn migrate_all(
    plan: &Plan<'_>,
    entries: &[StoredConfig],
    threads: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Vec<Outcome> {
    use core::sync::atomic::{AtomicUsize, Ordering};
    const CHUNK: usize = 16;
    let threads = threads.clamp(1, entries.len().div_ceil(CHUNK).max(1));
    if threads == 1 {
        return entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let o = migrate_one(plan, e);
                progress(i + 1);
                o
            })
            .collect();
    }
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let mut parts: Vec<Vec<(usize, Outcome)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut local = Vec::new();
                    loop {
                        let start = next.fetch_add(CHUNK, Ordering::Relaxed);
                        if start >= entries.len() {
                            break;
                        }
                        let end = (start + CHUNK).min(entries.len());
                        for (i, e) in entries[start..end].iter().enumerate() {
                            local.push((start + i, migrate_one(plan, e)));
                        }
                        progress(done.fetch_add(end - start, Ordering::Relaxed) + end - start);
                    }
                    local
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_default())
            .collect()
    });
    let mut all: Vec<(usize, Outcome)> = parts.iter_mut().flat_map(core::mem::take).collect();
    all.sort_unstable_by_key(|(i, _)| *i);
    // A worker that panicked (a Kms implementation's bug) lost its entries: report them.
    let mut out = Vec::with_capacity(entries.len());
    let mut it = all.into_iter().peekable();
    for i in 0..entries.len() {
        match it.peek() {
            Some((j, _)) if *j == i => out.extend(it.next().map(|(_, o)| o)),
            _ => out.push(Outcome::Failed {
                step: Step::Kms,
                error: Error::kms("a worker thread panicked"),
            }),
        }
    }
    out
}

#[cfg(test)]
#[cfg(feature = "getrandom")]
mod tests {
    use super::*;
    use crate::config;
    use crate::kms::Keyring;
    use alloc::string::ToString;

    fn ring(ids: &[&str]) -> Keyring {
        let mut k = Keyring::new();
        for id in ids {
            k.add_new_key(id).unwrap();
        }
        k
    }

    #[test]
    #[cfg_attr(miri, ignore = "many entries and threads: minutes interpreted")]
    fn rewrap_and_rekey_every_scheme_and_format() {
        let old = ring(&["old"]);
        let new = ring(&["new"]);
        for data_id in ["cipher-kms-aes-256-a", "cipher-kms-aes-128-a", "cipher-a"] {
            for from in [Format::Nacos, Format::V1] {
                for to in [Format::Nacos, Format::V1] {
                    let id = ConfigId::new(data_id, "g", "t");
                    let s = config::encrypt(&old, &id, "x=1&y", "old", from).unwrap();
                    let e = StoredConfig::new(&id, &s.content, &s.encrypted_data_key);
                    for mode in [Mode::Rewrap, Mode::Rekey] {
                        let mut plan = Plan::new(Some(&old), &new, "new", mode);
                        plan.format = Some(to);
                        let o = migrate_one(&plan, &e);
                        if mode == Mode::Rewrap && data_id == "cipher-a" {
                            assert!(matches!(
                                o,
                                Outcome::Failed {
                                    step: Step::Scheme,
                                    ..
                                }
                            ));
                            continue;
                        }
                        let Outcome::Migrated { config: m, .. } = o else {
                            panic!("{data_id} {from} {to} {mode:?}: {o:?}")
                        };
                        let p = config::decrypt(&new, &m.id(), &m.content, &m.encrypted_data_key);
                        assert_eq!(p.unwrap().as_str(), "x=1&y");
                        assert_eq!(Format::of_content(&m.content), to);
                        assert_eq!(migrate_one(&plan, &m), Outcome::AlreadyMigrated);
                    }
                }
            }
        }
    }

    #[test]
    fn plugin_configs_move_to_kms_renamed_and_unescaped_on_request() {
        let new = ring(&["new"]);
        let key = "MDAwMTAyMDMwNDA1MDYwNzA4MDkwYTBiMGMwZDBlMGY=";
        let id = ConfigId::new("cipher-aes-db", "g", "");
        let content = plugin::encrypt(key, "a=\\u0026b").unwrap();
        let e = StoredConfig::new(&id, &content, key);
        let mut plan = Plan::new(None, &new, "new", Mode::Rekey);
        assert!(matches!(
            migrate_one(&plan, &e),
            Outcome::Failed {
                step: Step::Scheme,
                ..
            }
        ));
        plan.scheme = TargetScheme::Envelope(KeySpec::Aes256);
        plan.unescape_html = true;
        let Outcome::Migrated {
            config: m,
            renamed_from,
        } = migrate_one(&plan, &e)
        else {
            panic!()
        };
        assert_eq!(renamed_from.as_deref(), Some("cipher-aes-db"));
        assert_eq!(m.data_id, "cipher-kms-aes-256-db");
        let p = config::decrypt(&new, &m.id(), &m.content, &m.encrypted_data_key).unwrap();
        assert_eq!(p.as_str(), "a=&b");
    }

    #[test]
    fn failures_are_reported_per_entry() {
        let old = ring(&["old"]);
        let new = ring(&["new"]);
        let id = ConfigId::new("cipher-kms-aes-256-a", "g", "");
        let s = config::encrypt(&old, &id, "x", "old", Format::Nacos).unwrap();
        let good = StoredConfig::new(&id, &s.content, &s.encrypted_data_key);
        let missing = StoredConfig::new(&id, &s.content, "");
        let plan = Plan::new(Some(&new), &new, "new", Mode::Rekey);
        let out = migrate_all(&plan, &[good.clone(), missing], 2, &|_| {});
        assert!(matches!(
            out[0],
            Outcome::Failed {
                step: Step::KeyNotFound,
                ..
            }
        ));
        assert!(matches!(
            out[1],
            Outcome::Failed {
                step: Step::Structure,
                ..
            }
        ));
        let plan = Plan::new(Some(&old), &new, "nope", Mode::Rekey);
        assert!(matches!(
            migrate_one(&plan, &good),
            Outcome::Failed {
                step: Step::KeyNotFound,
                ..
            }
        ));
    }

    /// The `aes` plugin's key for bytes 00..0f, the server's `nacos.encrypt` secret for bytes
    /// 10..1f, that key wrapped with it (`doubleAes`) and `password=s3cret` under the key: made
    /// with Python `cryptography` following ServerAesEncryptionPluginService (AES-CBC, IV = the
    /// first 16 hex characters of the key text, PKCS#7, hex output).
    const PLUGIN_KEY: &str = "MDAwMTAyMDMwNDA1MDYwNzA4MDkwYTBiMGMwZDBlMGY=";
    const SERVER_SECRET: &str = "MTAxMTEyMTMxNDE1MTYxNzE4MTkxYTFiMWMxZDFlMWY=";
    const WRAPPED_KEY: &str = "fd0c164bfe7fb50e9e7ff12e2f2fdd19955892c6091543f68a77dcb77d86977bd974fe0db29c41e7520e48eba93a8f60";
    const PLUGIN_CONTENT: &str = "8e27654221ff9ad8f82f4a6dfcf9ed34";

    fn opens(k: &Keyring, m: &StoredConfig) -> String {
        String::from(
            config::decrypt(k, &m.id(), &m.content, &m.encrypted_data_key)
                .unwrap()
                .as_str(),
        )
    }

    #[test]
    fn double_aes_plugin_configs_move_to_kms_with_the_server_secret() {
        let new = ring(&["new"]);
        let id = ConfigId::new("cipher-doubleAes-db.properties", "g", "prod");
        let e = StoredConfig::new(&id, PLUGIN_CONTENT, WRAPPED_KEY);
        for (scheme, data_id) in [
            (
                TargetScheme::Envelope(KeySpec::Aes256),
                "cipher-kms-aes-256-db.properties",
            ),
            (
                TargetScheme::Envelope(KeySpec::Aes128),
                "cipher-kms-aes-128-db.properties",
            ),
            (TargetScheme::Direct, "cipher-db.properties"),
        ] {
            for format in [Format::Nacos, Format::V1] {
                let mut plan = Plan::new(None, &new, "new", Mode::Rekey);
                plan.scheme = scheme;
                plan.format = Some(format);
                // Without the server secret the wrapped key cannot be opened.
                let Outcome::Failed { step, .. } = migrate_one(&plan, &e) else {
                    panic!("migrated without the server secret")
                };
                assert_eq!(step, Step::KeyNotFound);
                // The wrong server secret: the unwrapped key is garbage (padding).
                plan.plugin_server_secret = Some(PLUGIN_KEY);
                assert!(matches!(
                    migrate_one(&plan, &e),
                    Outcome::Failed {
                        step: Step::WrongKey | Step::Utf8 | Step::Structure,
                        ..
                    }
                ));
                plan.plugin_server_secret = Some(SERVER_SECRET);
                let Outcome::Migrated {
                    config: m,
                    renamed_from,
                } = migrate_one(&plan, &e)
                else {
                    panic!("{data_id}")
                };
                assert_eq!(m.data_id, data_id);
                assert_eq!(
                    renamed_from.as_deref(),
                    Some("cipher-doubleAes-db.properties")
                );
                assert_eq!((m.group.as_str(), m.tenant.as_str()), ("g", "prod"));
                assert_eq!(Format::of_content(&m.content), format);
                assert_eq!(opens(&new, &m), "password=s3cret");
                // The output fed back in is skipped.
                assert_eq!(migrate_one(&plan, &m), Outcome::AlreadyMigrated);
            }
        }
        // rewrap keeps a data key, and a plugin config has none for a KMS.
        let mut plan = Plan::new(None, &new, "new", Mode::Rewrap);
        plan.scheme = TargetScheme::Envelope(KeySpec::Aes256);
        plan.plugin_server_secret = Some(SERVER_SECRET);
        assert!(matches!(
            migrate_one(&plan, &e),
            Outcome::Failed {
                step: Step::Scheme,
                ..
            }
        ));
    }

    #[test]
    fn plugin_to_kms_resumes_when_source_and_target_are_one_kms() {
        // As the CLI runs it without --from-*: the source is the target.
        let k = ring(&["alias/k"]);
        let plugin = StoredConfig::new(
            &ConfigId::new("cipher-aes-db", "g", ""),
            PLUGIN_CONTENT,
            PLUGIN_KEY,
        );
        let id = ConfigId::new("cipher-kms-aes-256-done", "g", "");
        let s = config::encrypt(&k, &id, "moved=earlier", "alias/k", Format::Nacos).unwrap();
        let done = StoredConfig::new(&id, &s.content, &s.encrypted_data_key);
        let mut plan = Plan::new(Some(&k), &k, "alias/k", Mode::Rekey);
        plan.scheme = TargetScheme::Envelope(KeySpec::Aes256);
        let first = migrate_all(&plan, &[plugin, done.clone()], 1, &|_| {});
        let Outcome::Migrated { config: moved, .. } = &first[0] else {
            panic!("{:?}", first[0])
        };
        assert_eq!(opens(&k, moved), "password=s3cret");
        assert_eq!(first[1], Outcome::AlreadyMigrated);
        // A second run over the output skips everything.
        let second = migrate_all(&plan, &[moved.clone(), done], 2, &|_| {});
        assert!(
            second.iter().all(|o| *o == Outcome::AlreadyMigrated),
            "{second:?}"
        );
        // Another target format or key id is not the target form.
        plan.format = Some(Format::V1);
        assert!(matches!(
            migrate_one(&plan, moved),
            Outcome::Migrated { .. }
        ));
    }

    #[test]
    #[cfg_attr(miri, ignore = "many entries and threads: minutes interpreted")]
    fn rotation_inside_one_keyring_migrates_old_versions_and_skips_current_ones() {
        let mut k = ring(&["alias/k", "alias/other"]);
        let mut entries = Vec::new();
        for data_id in ["cipher-kms-aes-256-a", "cipher-kms-aes-128-b", "cipher-c"] {
            for format in [Format::Nacos, Format::V1] {
                let id = ConfigId::new(data_id, "g", "t");
                let s = config::encrypt(&k, &id, data_id, "alias/k", format).unwrap();
                entries.push(StoredConfig::new(&id, &s.content, &s.encrypted_data_key));
            }
        }
        let old_version = String::from(k.primary_version("alias/k").unwrap());
        k.rotate("alias/k").unwrap();
        let new_version = String::from(k.primary_version("alias/k").unwrap());
        // One entry already under the new version (a run that stopped half way).
        let id = ConfigId::new("cipher-kms-aes-256-new", "g", "t");
        let s = config::encrypt(&k, &id, "fresh", "alias/k", Format::Nacos).unwrap();
        entries.push(StoredConfig::new(&id, &s.content, &s.encrypted_data_key));
        // One under another key of the same keyring: moved onto alias/k.
        let id = ConfigId::new("cipher-kms-aes-128-o", "g", "t");
        let s = config::encrypt(&k, &id, "other", "alias/other", Format::Nacos).unwrap();
        entries.push(StoredConfig::new(&id, &s.content, &s.encrypted_data_key));

        for mode in [Mode::Rekey, Mode::Rewrap] {
            let plan = Plan::new(Some(&k), &k, "alias/k", mode);
            let out = migrate_all(&plan, &entries, 3, &|_| {});
            let mut output = Vec::new();
            for (i, (o, e)) in out.iter().zip(&entries).enumerate() {
                match o {
                    Outcome::AlreadyMigrated => {
                        assert_eq!(i, 6, "{mode:?}: only the entry under the new version");
                        output.push(e.clone());
                    }
                    Outcome::Migrated { config: m, .. } => {
                        assert_eq!(opens(&k, m), opens(&k, e));
                        let blob = key_blob(&m.data_id, &m.content, &m.encrypted_data_key).unwrap();
                        let raw = crate::b64::decode_std(blob, "blob").unwrap();
                        assert_eq!(&raw[..36], new_version.as_bytes());
                        assert_ne!(&raw[..36], old_version.as_bytes());
                        output.push(m.clone());
                    }
                    Outcome::Failed { step, error } => {
                        // rewrap: the direct scheme has no data key to keep.
                        assert!(
                            mode == Mode::Rewrap && e.data_id == "cipher-c",
                            "{step:?} {error}"
                        );
                        output.push(e.clone());
                    }
                }
            }
            // A second run over the output: everything in the target form is skipped.
            let again = migrate_all(&plan, &output, 2, &|_| {});
            for (o, e) in again.iter().zip(&output) {
                if mode == Mode::Rewrap && e.data_id == "cipher-c" {
                    continue;
                }
                assert_eq!(*o, Outcome::AlreadyMigrated, "{mode:?} {}", e.data_id);
            }
        }
    }

    #[test]
    fn a_resumed_run_after_the_target_rotated_reopens_with_the_target() {
        let old = ring(&["old"]);
        let mut new = ring(&["new"]);
        let id = ConfigId::new("cipher-kms-aes-256-a", "g", "");
        let s = config::encrypt(&old, &id, "x=1", "old", Format::V1).unwrap();
        let e = StoredConfig::new(&id, &s.content, &s.encrypted_data_key);
        let plan = Plan::new(Some(&old), &new, "new", Mode::Rekey);
        let Outcome::Migrated { config: m, .. } = migrate_one(&plan, &e) else {
            panic!()
        };
        new.rotate("new").unwrap();
        for mode in [Mode::Rekey, Mode::Rewrap] {
            let plan = Plan::new(Some(&old), &new, "new", mode);
            let Outcome::Migrated { config: again, .. } = migrate_one(&plan, &m) else {
                panic!("{mode:?}")
            };
            assert_eq!(opens(&new, &again), "x=1");
            assert_eq!(migrate_one(&plan, &again), Outcome::AlreadyMigrated);
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "many entries and threads: minutes interpreted")]
    fn an_injected_kms_fault_fails_its_entry_and_the_rest_go_on() {
        use crate::config::doctor::tests::FaultyKms;
        let old = ring(&["old"]);
        let new = ring(&["new"]);
        let entries: Vec<StoredConfig> = (0..40)
            .map(|i| {
                let data_id = alloc::format!("cipher-kms-aes-256-{i}");
                let id = ConfigId::new(&data_id, "g", "");
                let s = config::encrypt(&old, &id, "v", "old", Format::Nacos).unwrap();
                StoredConfig::new(&id, &s.content, &s.encrypted_data_key)
            })
            .collect();
        // The source fails on entry 17 only (a throttled call); every other entry moves.
        let source = FaultyKms {
            inner: &old,
            only: Some(entries[17].encrypted_data_key.clone()),
        };
        for mode in [Mode::Rekey, Mode::Rewrap] {
            let plan = Plan::new(Some(&source), &new, "new", mode);
            let out = migrate_all(&plan, &entries, 4, &|_| {});
            for (i, o) in out.iter().enumerate() {
                if i == 17 {
                    let Outcome::Failed { step, error } = o else {
                        panic!("{o:?}")
                    };
                    assert_eq!(*step, Step::Kms);
                    assert_eq!(error.kind(), crate::ErrorKind::Kms);
                    assert!(error.to_string().contains("connection refused"));
                } else {
                    assert!(matches!(o, Outcome::Migrated { .. }), "{i}: {o:?}");
                }
            }
        }
        // A target that fails on every call: each entry fails at step kms, none is lost.
        let target = FaultyKms {
            inner: &new,
            only: None,
        };
        let plan = Plan::new(Some(&old), &target, "new", Mode::Rekey);
        let out = migrate_all(&plan, &entries, 4, &|_| {});
        assert_eq!(out.len(), 40);
        assert!(out.iter().all(|o| matches!(
            o,
            Outcome::Failed {
                step: Step::Kms,
                ..
            }
        )));
    }
}
