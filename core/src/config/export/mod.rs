//! Console export ZIPs (SPEC 6, issue 16): read what the Nacos console exports (v1 `.meta.yml`
//! or v2 `.metadata.yml`), add the `encryptedDataKey`s the export leaves out from a sidecar file,
//! and write an export whose `.metadata.yml` carries each entry's `encryptedDataKey`, so that a
//! backup of KMS-encrypted configs keeps its keys.
//!
//! The archive holds one file per config, named `<group>/<dataId>`, and one metadata file:
//! - v1 (`/v1/cs/configs?export=true`): `.meta.yml`, lines `<group>.<dataId>.app=<appName>`
//!   where the last `.` of the data ID is written `~`, only for configs with an app name;
//! - v2 (`exportV2=true`): `.metadata.yml`, a YAML list `metadata:` of maps with `appName`,
//!   `configTags`, `dataId`, `desc`, `group`, `type`. The server's importer requires `dataId`,
//!   `group` and `type`, and ignores unknown keys, so [`write_export`] adds `encryptedDataKey`.
//!
//! An export carries no namespace: [`read_export`] takes the tenant the configs belong to.
//!
//! The sidecar ([`parse_sidecar`]) is JSON lines with the open API's field names, `dataId`,
//! `group`, `tenant` (optional) and `encryptedDataKey`, one config a line; other members (such
//! as `content`) are ignored, so what `nacoscrypt config encrypt` prints, or a `migrate`
//! output, is a sidecar as it is.
//!
//! ```
//! use nacoscrypt_core::config::export::{self, ExportEntry, MetadataVersion};
//! use nacoscrypt_core::config::migrate::StoredConfig;
//! use nacoscrypt_core::config::ConfigId;
//!
//! # fn main() -> Result<(), nacoscrypt_core::Error> {
//! let id = ConfigId::new("cipher-kms-aes-256-db.yaml", "DEFAULT_GROUP", "");
//! let mut entry = ExportEntry::new(StoredConfig::new(&id, "q1w2e3...", ""));
//! entry.config_type = "yaml".into();
//! let zip = export::write_export(&[entry], 1_700_000_000)?;
//!
//! // The export as the console makes it has no keys: the sidecar brings them.
//! let mut read = export::read_export(&zip, "")?;
//! assert_eq!(read.metadata, MetadataVersion::V2);
//! let keys = export::parse_sidecar(r#"{"dataId":"cipher-kms-aes-256-db.yaml","group":"DEFAULT_GROUP","encryptedDataKey":"AAEC"}"#)?;
//! let applied = export::apply_sidecar(&mut read, &keys);
//! assert_eq!(applied.filled, 1);
//!
//! // Written again, the key travels in `.metadata.yml` and comes back without a sidecar.
//! let again = export::read_export(&export::write_export(&read.entries, 1_700_000_000)?, "")?;
//! assert_eq!(again.entries[0].config.encrypted_data_key, "AAEC");
//! assert_eq!(again.entries[0].config_type, "yaml");
//! # Ok(()) }
//! ```

mod yaml;

use super::DEFAULT_TENANT;
use super::migrate::StoredConfig;
use crate::Error;
use crate::json::{self, Value, push_json_string};
use crate::zip::{self, ZipFile};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

pub use crate::zip::{MAX_ZIP_ENTRIES, MAX_ZIP_ENTRY_LEN, MAX_ZIP_LEN, MAX_ZIP_TOTAL_LEN};

/// The v1 export's metadata file.
pub const META_V1: &str = ".meta.yml";
/// The v2 export's metadata file.
pub const META_V2: &str = ".metadata.yml";
/// The type [`write_export`] writes for an entry whose type is unknown (the server's default,
/// `ConfigType.TEXT`): the v2 importer refuses an item without one.
pub const DEFAULT_TYPE: &str = "text";
/// The largest sidecar text read (256 MiB).
pub const MAX_SIDECAR_LEN: usize = 256 << 20;

const SIDECAR: &str = "the encryptedDataKey sidecar";
const ENTRIES: &str = "the export entries";

/// Which metadata file an export had.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum MetadataVersion {
    /// None: only configs (their type, app name and description are unknown).
    #[default]
    None,
    /// `.meta.yml`: app names only.
    V1,
    /// `.metadata.yml`.
    V2,
}

impl MetadataVersion {
    /// `none`, `v1`, `v2`.
    ///
    /// ```
    /// assert_eq!(nacoscrypt_core::config::export::MetadataVersion::V2.as_str(), "v2");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::V1 => "v1",
            Self::V2 => "v2",
        }
    }
}

/// One config of an export: the stored config and its metadata (empty strings when unknown).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ExportEntry {
    /// The stored config (`encrypted_data_key` from `.metadata.yml` or a sidecar, else empty).
    pub config: StoredConfig,
    /// `type` (`yaml`, `properties`, `text`, ...).
    pub config_type: String,
    /// `appName`.
    pub app_name: String,
    /// `desc`.
    pub desc: String,
    /// `configTags` (comma-separated, as the server keeps them).
    pub config_tags: String,
}

impl ExportEntry {
    /// An entry with no metadata beyond the config.
    ///
    /// ```
    /// use nacoscrypt_core::config::{ConfigId, export::ExportEntry, migrate::StoredConfig};
    /// let e = ExportEntry::new(StoredConfig::new(&ConfigId::new("d", "g", ""), "x", ""));
    /// assert_eq!(e.name(), "g/d");
    /// ```
    pub fn new(config: StoredConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// The entry's file name in the archive: `<group>/<dataId>`.
    pub fn name(&self) -> String {
        let mut s = String::with_capacity(self.config.group.len() + 1 + self.config.data_id.len());
        s.push_str(&self.config.group);
        s.push('/');
        s.push_str(&self.config.data_id);
        s
    }
}

impl fmt::Debug for ExportEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportEntry")
            .field("config", &self.config)
            .field("config_type", &self.config_type)
            .field("app_name", &self.app_name)
            .field("desc_len", &self.desc.len())
            .field("config_tags", &self.config_tags)
            .finish()
    }
}

/// A read export.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Export {
    /// The configs, in archive order.
    pub entries: Vec<ExportEntry>,
    /// The metadata file found.
    pub metadata: MetadataVersion,
    /// Files the server's importer skips as it does: names that are not exactly
    /// `<group>/<dataId>`, and metadata files after the first.
    pub unrecognized: Vec<String>,
    /// Metadata items (`<group>/<dataId>`) with no config file in the archive.
    pub metadata_only: Vec<String>,
}

fn meta_error(file: &'static str, line: usize, reason: &'static str) -> Error {
    Error::InvalidExportMetadata { file, line, reason }
}

/// Reads an export ZIP whose configs belong to `tenant` (empty: public).
///
/// Entries are `<group>/<dataId>` files whose content must be UTF-8 (Nacos configs are text);
/// directories are skipped; the first `.meta.yml` or `.metadata.yml` is the metadata. A
/// malformed archive or metadata file is an error for the whole export; see [`Export`] for what
/// is skipped.
///
/// ```
/// use nacoscrypt_core::config::export;
/// assert!(export::read_export(b"not a zip", "").is_err());
/// ```
pub fn read_export(zip: &[u8], tenant: &str) -> Result<Export, Error> {
    let files = zip::read(zip)?;
    let mut out = Export::default();
    let mut meta: Option<(MetadataVersion, Vec<u8>)> = None;
    let mut seen = alloc::collections::BTreeMap::new();
    for ZipFile { name, data } in files {
        if name == META_V1 || name == META_V2 {
            if meta.is_none() {
                let v = if name == META_V1 {
                    MetadataVersion::V1
                } else {
                    MetadataVersion::V2
                };
                meta = Some((v, data));
            } else {
                out.unrecognized.push(name);
            }
            continue;
        }
        let mut parts = name.split('/');
        let (Some(group), Some(data_id), None) = (parts.next(), parts.next(), parts.next()) else {
            out.unrecognized.push(name);
            continue;
        };
        if group.is_empty() || data_id.is_empty() {
            out.unrecognized.push(name);
            continue;
        }
        let content = String::from_utf8(data).map_err(|_| Error::InvalidArchive {
            reason: "a config entry is not UTF-8 text",
        })?;
        if seen.insert(name.clone(), out.entries.len()).is_some() {
            return Err(Error::InvalidArchive {
                reason: "the same <group>/<dataId> appears twice",
            });
        }
        out.entries.push(ExportEntry::new(StoredConfig {
            data_id: data_id.into(),
            group: group.into(),
            tenant: tenant.into(),
            content,
            encrypted_data_key: String::new(),
        }));
    }
    let Some((version, data)) = meta else {
        return Ok(out);
    };
    out.metadata = version;
    let file = if version == MetadataVersion::V1 {
        META_V1
    } else {
        META_V2
    };
    let text = core::str::from_utf8(&data).map_err(|_| meta_error(file, 1, "not UTF-8 text"))?;
    match version {
        MetadataVersion::V1 => apply_v1(&mut out, text)?,
        _ => apply_v2(&mut out, &seen, text)?,
    }
    Ok(out)
}

/// The v1 key of a config: `<group>.<dataId>.app` with the data ID's last `.` written `~`.
fn v1_key(group: &str, data_id: &str) -> String {
    let mut k = String::with_capacity(group.len() + data_id.len() + 5);
    k.push_str(group);
    k.push('.');
    match data_id.rfind('.') {
        Some(i) => {
            k.push_str(&data_id[..i]);
            k.push('~');
            k.push_str(&data_id[i + 1..]);
        }
        None => k.push_str(data_id),
    }
    k.push_str(".app");
    k
}

fn apply_v1(out: &mut Export, text: &str) -> Result<(), Error> {
    let mut apps = alloc::collections::BTreeMap::new();
    // The server splits on runs of line breaks; count lines for messages.
    for (i, line) in text.split('\n').enumerate() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let mut kv = line.split('=');
        let (Some(k), Some(v), None) = (kv.next(), kv.next(), kv.next()) else {
            return Err(meta_error(
                META_V1,
                i + 1,
                "expected `<group>.<dataId>.app=<appName>`",
            ));
        };
        apps.insert(k, v);
    }
    for e in &mut out.entries {
        if let Some(app) = apps.get(v1_key(&e.config.group, &e.config.data_id).as_str()) {
            e.app_name = String::from(*app);
        }
    }
    Ok(())
}

/// Parses a v2 `.metadata.yml` into entries with empty content (and tenant): each item's
/// `dataId`, `group`, `type`, `appName`, `desc`, `configTags` and `encryptedDataKey` (unknown
/// keys ignored). An item without `dataId` or `group` is an error naming its line.
///
/// ```
/// use nacoscrypt_core::config::export::parse_metadata_v2;
/// # fn main() -> Result<(), nacoscrypt_core::Error> {
/// let items = parse_metadata_v2("metadata:\n- dataId: a.yaml\n  desc: 'x: y'\n  group: G\n  type: yaml\n")?;
/// assert_eq!((items[0].config.data_id.as_str(), items[0].desc.as_str()), ("a.yaml", "x: y"));
/// # Ok(()) }
/// ```
pub fn parse_metadata_v2(text: &str) -> Result<Vec<ExportEntry>, Error> {
    let mut out = Vec::new();
    for (line, item) in yaml::parse(text)? {
        let get = |k: &str| {
            item.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
                .unwrap_or("")
        };
        let (data_id, group) = (get("dataId"), get("group"));
        if data_id.trim().is_empty() || group.trim().is_empty() {
            return Err(meta_error(META_V2, line, "an item without dataId or group"));
        }
        out.push(ExportEntry {
            config: StoredConfig {
                data_id: data_id.into(),
                group: group.into(),
                tenant: String::new(),
                content: String::new(),
                encrypted_data_key: get("encryptedDataKey").into(),
            },
            config_type: get("type").into(),
            app_name: get("appName").into(),
            desc: get("desc").into(),
            config_tags: get("configTags").into(),
        });
    }
    Ok(out)
}

fn apply_v2(
    out: &mut Export,
    index: &alloc::collections::BTreeMap<String, usize>,
    text: &str,
) -> Result<(), Error> {
    for item in parse_metadata_v2(text)? {
        let name = item.name();
        let Some(&at) = index.get(&name) else {
            out.metadata_only.push(name);
            continue;
        };
        let e = &mut out.entries[at];
        let config = core::mem::take(&mut e.config);
        *e = ExportEntry {
            config: StoredConfig {
                encrypted_data_key: item.config.encrypted_data_key,
                ..config
            },
            ..item
        };
    }
    Ok(())
}

/// Writes `entries` as a v2 export (the config files, then `.metadata.yml`), dated `now`
/// (Unix seconds). Each metadata item has `appName`, `configTags`, `dataId`, `desc`,
/// `encryptedDataKey`, `group` and `type` in that order, empty ones omitted; an unknown type is
/// written [`DEFAULT_TYPE`]. The server's importer reads the configs and ignores
/// `encryptedDataKey`; [`read_export`] reads it back.
///
/// ```
/// use nacoscrypt_core::config::{ConfigId, export::{self, ExportEntry}, migrate::StoredConfig};
/// # fn main() -> Result<(), nacoscrypt_core::Error> {
/// let e = ExportEntry::new(StoredConfig::new(&ConfigId::new("a.txt", "g", ""), "x", ""));
/// let zip = export::write_export(&[e], 0)?;
/// assert_eq!(export::read_export(&zip, "")?.entries[0].config_type, "text");
/// # Ok(()) }
/// ```
pub fn write_export(entries: &[ExportEntry], now: u64) -> Result<Vec<u8>, Error> {
    if entries.len() >= MAX_ZIP_ENTRIES {
        return Err(Error::InvalidArchive {
            reason: "more than 65,534 configs: split the export",
        });
    }
    let mut seen = alloc::collections::BTreeSet::new();
    let mut files = Vec::with_capacity(entries.len() + 1);
    let mut items = Vec::with_capacity(entries.len());
    for e in entries {
        let c = &e.config;
        if c.group.is_empty()
            || c.data_id.is_empty()
            || c.group.contains('/')
            || c.data_id.contains('/')
        {
            return Err(Error::InvalidArgument {
                reason: "an export entry needs a group and a data ID without `/`",
            });
        }
        let name = e.name();
        if !seen.insert(name.clone()) {
            return Err(Error::InvalidArgument {
                reason: "the same group and data ID twice in one export",
            });
        }
        files.push(ZipFile {
            name,
            data: c.content.as_bytes().to_vec(),
        });
        let ty = if e.config_type.trim().is_empty() {
            DEFAULT_TYPE
        } else {
            e.config_type.as_str()
        };
        items.push(alloc::vec![
            ("appName", e.app_name.as_str()),
            ("configTags", e.config_tags.as_str()),
            ("dataId", c.data_id.as_str()),
            ("desc", e.desc.as_str()),
            ("encryptedDataKey", c.encrypted_data_key.as_str()),
            ("group", c.group.as_str()),
            ("type", ty),
        ]);
    }
    files.push(ZipFile {
        name: META_V2.into(),
        data: yaml::write(&items).into_bytes(),
    });
    zip::write(&files, now)
}

/// [`write_export`] dated now.
///
/// ```
/// # fn main() -> Result<(), nacoscrypt_core::Error> {
/// let zip = nacoscrypt_core::config::export::write_export_now(&[])?;
/// assert!(zip.starts_with(b"PK"));
/// # Ok(()) }
/// ```
#[cfg(feature = "std")]
pub fn write_export_now(entries: &[ExportEntry]) -> Result<Vec<u8>, Error> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    write_export(entries, now)
}

/// One line of an `encryptedDataKey` sidecar.
#[derive(Clone, PartialEq, Eq)]
pub struct SidecarKey {
    /// 1-based line number in the sidecar.
    pub line: usize,
    /// `dataId`.
    pub data_id: String,
    /// `group`.
    pub group: String,
    /// `tenant` (empty when absent).
    pub tenant: String,
    /// `encryptedDataKey`.
    pub encrypted_data_key: String,
}

impl fmt::Debug for SidecarKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SidecarKey")
            .field("line", &self.line)
            .field("data_id", &self.data_id)
            .field("group", &self.group)
            .field("tenant", &self.tenant)
            .field("encrypted_data_key_len", &self.encrypted_data_key.len())
            .finish()
    }
}

/// Parses an `encryptedDataKey` sidecar: JSON lines (blank lines skipped) each holding string
/// members `dataId`, `group`, `encryptedDataKey` and optionally `tenant` (absent or `null`:
/// public); other members are ignored. A line whose `encryptedDataKey` is empty gives no key.
///
/// ```
/// use nacoscrypt_core::config::export::parse_sidecar;
/// # fn main() -> Result<(), nacoscrypt_core::Error> {
/// let keys = parse_sidecar("{\"dataId\":\"d\",\"group\":\"g\",\"tenant\":\"t\",\"content\":\"…\",\"encryptedDataKey\":\"k\"}\n")?;
/// assert_eq!((keys[0].tenant.as_str(), keys[0].encrypted_data_key.as_str()), ("t", "k"));
/// assert!(parse_sidecar("{\"dataId\":\"d\"}").is_err());
/// # Ok(()) }
/// ```
pub fn parse_sidecar(text: &str) -> Result<Vec<SidecarKey>, Error> {
    if text.len() > MAX_SIDECAR_LEN {
        return Err(Error::ContentTooLarge {
            size: text.len(),
            limit: MAX_SIDECAR_LEN,
        });
    }
    let mut keys = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let mut fields: [Option<String>; 4] = Default::default();
        let mut wrong_type = false;
        json::parse_object(line.as_bytes(), |k, v| {
            let slot = ["dataId", "group", "tenant", "encryptedDataKey"]
                .iter()
                .position(|n| k.eq_str(n));
            if let Some(slot) = slot {
                match v {
                    Value::Str(s) => fields[slot] = Some(s.decode()),
                    Value::Null if slot == 2 => {}
                    _ => wrong_type = true,
                }
            }
            Ok(())
        })
        .map_err(|reason| meta_error(SIDECAR, line_no, reason))?;
        if wrong_type {
            return Err(meta_error(
                SIDECAR,
                line_no,
                "dataId, group, tenant and encryptedDataKey must be strings",
            ));
        }
        let [Some(data_id), Some(group), tenant, Some(edk)] = fields else {
            return Err(meta_error(
                SIDECAR,
                line_no,
                "needs dataId, group and encryptedDataKey",
            ));
        };
        if edk.is_empty() {
            continue;
        }
        if edk.len() > super::MAX_ENCRYPTED_DATA_KEY_LEN {
            return Err(meta_error(
                SIDECAR,
                line_no,
                "an encryptedDataKey longer than 1024 characters",
            ));
        }
        keys.push(SidecarKey {
            line: line_no,
            data_id,
            group,
            tenant: tenant.unwrap_or_default(),
            encrypted_data_key: edk,
        });
    }
    Ok(keys)
}

/// Parses the entries of an export to write ([`write_export`]) from JSON lines with the open
/// API's field names, one config a line (blank lines skipped): `dataId`, `group` and `content`
/// are required strings; `tenant`, `encryptedDataKey`, `type`, `appName`, `desc` and
/// `configTags` are optional strings (absent or `null`: empty); other members are ignored. So
/// what `nacoscrypt config encrypt` or `migrate` print, and the entries of [`report_json`], are
/// entries as they are. The text is at most [`MAX_SIDECAR_LEN`].
///
/// ```
/// use nacoscrypt_core::config::export::parse_entries;
/// # fn main() -> Result<(), nacoscrypt_core::Error> {
/// let e = parse_entries("{\"dataId\":\"d\",\"group\":\"g\",\"content\":\"x=1\",\"type\":\"properties\"}\n")?;
/// assert_eq!((e[0].name(), e[0].config_type.as_str()), ("g/d".to_owned(), "properties"));
/// assert!(parse_entries("{\"dataId\":\"d\",\"group\":\"g\"}").is_err()); // no content
/// # Ok(()) }
/// ```
pub fn parse_entries(text: &str) -> Result<Vec<ExportEntry>, Error> {
    const NAMES: [&str; 9] = [
        "dataId",
        "group",
        "content",
        "tenant",
        "encryptedDataKey",
        "type",
        "appName",
        "desc",
        "configTags",
    ];
    if text.len() > MAX_SIDECAR_LEN {
        return Err(Error::ContentTooLarge {
            size: text.len(),
            limit: MAX_SIDECAR_LEN,
        });
    }
    let mut entries = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let mut fields: [Option<String>; 9] = Default::default();
        let mut wrong_type = false;
        json::parse_object(line.as_bytes(), |k, v| {
            if let Some(slot) = NAMES.iter().position(|n| k.eq_str(n)) {
                match v {
                    Value::Str(s) => fields[slot] = Some(s.decode()),
                    Value::Null if slot >= 3 => {}
                    _ => wrong_type = true,
                }
            }
            Ok(())
        })
        .map_err(|reason| meta_error(ENTRIES, line_no, reason))?;
        if wrong_type {
            return Err(meta_error(
                ENTRIES,
                line_no,
                "dataId, group, content and the metadata fields must be strings",
            ));
        }
        let [
            Some(data_id),
            Some(group),
            Some(content),
            tenant,
            edk,
            config_type,
            app_name,
            desc,
            config_tags,
        ] = fields
        else {
            return Err(meta_error(
                ENTRIES,
                line_no,
                "needs dataId, group and content",
            ));
        };
        entries.push(ExportEntry {
            config: StoredConfig {
                data_id,
                group,
                tenant: tenant.unwrap_or_default(),
                content,
                encrypted_data_key: edk.unwrap_or_default(),
            },
            config_type: config_type.unwrap_or_default(),
            app_name: app_name.unwrap_or_default(),
            desc: desc.unwrap_or_default(),
            config_tags: config_tags.unwrap_or_default(),
        });
    }
    Ok(entries)
}

/// A read export (and what a sidecar did to it) as one JSON object, the shape of the bindings'
/// `read_export`: `{"metadata": "none"|"v1"|"v2", "entries": [...], "unrecognized": [...],
/// "metadataOnly": [...], "sidecar": null | {"filled": n, "replaced": [names], "unused":
/// [lines], "conflicting": [lines]}}`; each entry has `dataId`, `group`, `tenant`, `content`,
/// `encryptedDataKey`, `type`, `appName`, `desc` and `configTags`, so the entries read back with
/// [`parse_entries`]. The contents are in it: treat the text as the configs themselves.
///
/// ```
/// use nacoscrypt_core::config::export::{self, Export};
/// let json = export::report_json(&Export::default(), None);
/// assert_eq!(json, r#"{"metadata":"none","entries":[],"unrecognized":[],"metadataOnly":[],"sidecar":null}"#);
/// ```
pub fn report_json(export: &Export, applied: Option<&Applied>) -> String {
    fn strings<'a>(out: &mut String, items: impl Iterator<Item = &'a str>) {
        out.push('[');
        for (i, s) in items.enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_json_string(out, s);
        }
        out.push(']');
    }
    fn numbers(out: &mut String, items: &[usize]) {
        use core::fmt::Write;
        out.push('[');
        for (i, n) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            // Writing into a String cannot fail.
            let _ = write!(out, "{n}");
        }
        out.push(']');
    }
    let size: usize = export
        .entries
        .iter()
        .map(|e| e.config.content.len() + e.config.encrypted_data_key.len() + 160)
        .sum();
    let mut out = String::with_capacity(size + 128);
    out.push_str("{\"metadata\":");
    push_json_string(&mut out, export.metadata.as_str());
    out.push_str(",\"entries\":[");
    for (i, e) in export.entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let c = &e.config;
        let members = [
            ("dataId", c.data_id.as_str()),
            ("group", c.group.as_str()),
            ("tenant", c.tenant.as_str()),
            ("content", c.content.as_str()),
            ("encryptedDataKey", c.encrypted_data_key.as_str()),
            ("type", e.config_type.as_str()),
            ("appName", e.app_name.as_str()),
            ("desc", e.desc.as_str()),
            ("configTags", e.config_tags.as_str()),
        ];
        for (j, (name, value)) in members.iter().enumerate() {
            out.push(if j == 0 { '{' } else { ',' });
            push_json_string(&mut out, name);
            out.push(':');
            push_json_string(&mut out, value);
        }
        out.push('}');
    }
    out.push_str("],\"unrecognized\":");
    strings(&mut out, export.unrecognized.iter().map(String::as_str));
    out.push_str(",\"metadataOnly\":");
    strings(&mut out, export.metadata_only.iter().map(String::as_str));
    out.push_str(",\"sidecar\":");
    match applied {
        None => out.push_str("null"),
        Some(a) => {
            use core::fmt::Write;
            // Writing into a String cannot fail.
            let _ = write!(out, "{{\"filled\":{},\"replaced\":", a.filled);
            let names: Vec<String> = a
                .replaced
                .iter()
                .filter_map(|&i| export.entries.get(i).map(ExportEntry::name))
                .collect();
            strings(&mut out, names.iter().map(String::as_str));
            out.push_str(",\"unused\":");
            numbers(&mut out, &a.unused);
            out.push_str(",\"conflicting\":");
            numbers(&mut out, &a.conflicting);
            out.push('}');
        }
    }
    out.push('}');
    out
}

/// What [`apply_sidecar`] did.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Applied {
    /// Entries that got their `encryptedDataKey` from the sidecar.
    pub filled: usize,
    /// Indices of entries whose `.metadata.yml` key differed from the sidecar's (the sidecar's
    /// is used: it is what the server answers now).
    pub replaced: Vec<usize>,
    /// Sidecar line numbers that match no entry (another tenant, or a config not exported).
    pub unused: Vec<usize>,
    /// Sidecar line numbers that repeat an earlier line's config with another key (the later
    /// line is ignored).
    pub conflicting: Vec<usize>,
}

fn norm(tenant: &str) -> &str {
    if tenant.is_empty() {
        DEFAULT_TENANT
    } else {
        tenant
    }
}

/// Sets each entry's `encryptedDataKey` from the sidecar line with its data ID, group and
/// tenant (an empty tenant and `public` are one). Entries the sidecar does not name keep what
/// they had; an envelope config left without a key fails later with
/// [`Error::MissingEncryptedDataKey`], on its own.
///
/// ```
/// use nacoscrypt_core::config::export::{apply_sidecar, parse_sidecar, Export, ExportEntry};
/// use nacoscrypt_core::config::{ConfigId, migrate::StoredConfig};
/// # fn main() -> Result<(), nacoscrypt_core::Error> {
/// let mut e = Export::default();
/// e.entries.push(ExportEntry::new(StoredConfig::new(&ConfigId::new("d", "g", "public"), "x", "")));
/// let applied = apply_sidecar(&mut e, &parse_sidecar(r#"{"dataId":"d","group":"g","encryptedDataKey":"k"}"#)?);
/// assert_eq!((applied.filled, e.entries[0].config.encrypted_data_key.as_str()), (1, "k"));
/// # Ok(()) }
/// ```
pub fn apply_sidecar(export: &mut Export, keys: &[SidecarKey]) -> Applied {
    use alloc::collections::btree_map::{BTreeMap, Entry};
    let mut by_id: BTreeMap<(&str, &str, &str), &SidecarKey> = BTreeMap::new();
    let mut applied = Applied::default();
    for k in keys {
        match by_id.entry((norm(&k.tenant), k.group.as_str(), k.data_id.as_str())) {
            Entry::Vacant(v) => {
                v.insert(k);
            }
            Entry::Occupied(o) => {
                if o.get().encrypted_data_key != k.encrypted_data_key {
                    applied.conflicting.push(k.line);
                }
            }
        }
    }
    let mut used = alloc::collections::BTreeSet::new();
    for (i, e) in export.entries.iter_mut().enumerate() {
        let c = &mut e.config;
        let Some(k) = by_id.get(&(norm(&c.tenant), c.group.as_str(), c.data_id.as_str())) else {
            continue;
        };
        used.insert(k.line);
        if c.encrypted_data_key.is_empty() {
            applied.filled += 1;
        } else if c.encrypted_data_key != k.encrypted_data_key {
            applied.replaced.push(i);
        } else {
            continue;
        }
        c.encrypted_data_key.clone_from(&k.encrypted_data_key);
    }
    applied.unused = by_id
        .values()
        .map(|k| k.line)
        .filter(|l| !used.contains(l))
        .collect();
    applied.unused.sort_unstable();
    applied
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigId;
    use alloc::vec;

    fn entry(data_id: &str, group: &str, content: &str, edk: &str) -> ExportEntry {
        ExportEntry::new(StoredConfig::new(
            &ConfigId::new(data_id, group, ""),
            content,
            edk,
        ))
    }

    #[test]
    fn v1_meta_app_names_by_the_tilde_key() {
        let files = vec![
            ZipFile { name: "DEFAULT_GROUP/app.yaml".into(), data: b"a: 1".to_vec() },
            ZipFile { name: "DEFAULT_GROUP/noext".into(), data: b"b".to_vec() },
            ZipFile { name: "G/a.b.c".into(), data: b"c".to_vec() },
            ZipFile { name: "dir/".into(), data: vec![] },
            ZipFile { name: "top".into(), data: b"x".to_vec() },
            ZipFile { name: "a/b/c".into(), data: b"x".to_vec() },
            ZipFile {
                name: META_V1.into(),
                data: b"DEFAULT_GROUP.app~yaml.app=shop\r\nDEFAULT_GROUP.noext.app=n\r\nG.a.b~c.app=abc\r\n".to_vec(),
            },
        ];
        let e = read_export(&zip::write(&files, 0).unwrap(), "prod").unwrap();
        assert_eq!(e.metadata, MetadataVersion::V1);
        let apps: Vec<_> = e.entries.iter().map(|e| e.app_name.as_str()).collect();
        assert_eq!(apps, ["shop", "n", "abc"]);
        assert_eq!(e.entries[0].config.tenant, "prod");
        assert_eq!(e.unrecognized, ["top", "a/b/c"]);
        let bad = vec![ZipFile {
            name: META_V1.into(),
            data: b"x=y=z\n".to_vec(),
        }];
        assert!(matches!(
            read_export(&zip::write(&bad, 0).unwrap(), ""),
            Err(Error::InvalidExportMetadata { line: 1, .. })
        ));
    }

    #[test]
    fn v2_round_trip_keeps_metadata_and_keys() {
        let mut a = entry(
            "cipher-kms-aes-256-db: 'x' #1",
            "DEFAULT_GROUP",
            "c1",
            "edk1",
        );
        a.config_type = "yaml".into();
        a.app_name = " lead".into();
        a.desc = "two\nlines, \"quoted\" é".into();
        a.config_tags = "a,b".into();
        let b = entry("中文.properties", "G", "c2", "");
        let zip = write_export(&[a.clone(), b.clone()], 1_700_000_000).unwrap();
        let e = read_export(&zip, "").unwrap();
        assert_eq!(e.metadata, MetadataVersion::V2);
        assert_eq!(e.entries[0], a);
        let mut b_typed = b;
        b_typed.config_type = DEFAULT_TYPE.into();
        assert_eq!(e.entries[1], b_typed);
        assert!(e.unrecognized.is_empty() && e.metadata_only.is_empty());
    }

    #[test]
    fn sidecar_fills_replaces_and_reports() {
        let mut e = Export {
            entries: vec![
                entry("a", "g", "x", ""),
                entry("b", "g", "x", "old"),
                entry("c", "g", "x", ""),
            ],
            ..Export::default()
        };
        let keys = parse_sidecar(concat!(
            "{\"dataId\":\"a\",\"group\":\"g\",\"tenant\":\"public\",\"encryptedDataKey\":\"ka\"}\n",
            "\n",
            "{\"dataId\":\"b\",\"group\":\"g\",\"tenant\":null,\"encryptedDataKey\":\"kb\"}\n",
            "{\"dataId\":\"a\",\"group\":\"g\",\"encryptedDataKey\":\"other\"}\n",
            "{\"dataId\":\"z\",\"group\":\"g\",\"encryptedDataKey\":\"kz\"}\n",
            "{\"dataId\":\"c\",\"group\":\"g\",\"tenant\":\"prod\",\"encryptedDataKey\":\"kc\"}\n",
            "{\"dataId\":\"c\",\"group\":\"g\",\"encryptedDataKey\":\"\"}\n",
        ))
        .unwrap();
        assert_eq!(keys.len(), 5);
        let applied = apply_sidecar(&mut e, &keys);
        assert_eq!(applied.filled, 1);
        assert_eq!(applied.replaced, [1]);
        assert_eq!(applied.conflicting, [4]);
        assert_eq!(applied.unused, [5, 6]);
        let edks: Vec<_> = e
            .entries
            .iter()
            .map(|e| e.config.encrypted_data_key.as_str())
            .collect();
        assert_eq!(edks, ["ka", "kb", ""]);
        for (bad, line) in [
            (
                "{\"dataId\":1,\"group\":\"g\",\"encryptedDataKey\":\"k\"}",
                1,
            ),
            ("\n[]", 2),
            ("{\"dataId\":\"d\",\"group\":\"g\"}", 1),
        ] {
            assert!(
                matches!(parse_sidecar(bad), Err(Error::InvalidExportMetadata { line: l, .. }) if l == line),
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_entries_are_refused() {
        assert!(write_export(&[entry("a/b", "g", "x", "")], 0).is_err());
        assert!(write_export(&[entry("a", "g", "x", ""), entry("a", "g", "y", "")], 0).is_err());
        let dup = vec![
            ZipFile {
                name: "g/a".into(),
                data: b"1".to_vec(),
            },
            ZipFile {
                name: "g/a".into(),
                data: b"2".to_vec(),
            },
        ];
        assert!(read_export(&zip::write(&dup, 0).unwrap(), "").is_err());
        let not_text = vec![ZipFile {
            name: "g/a".into(),
            data: vec![0xff],
        }];
        assert!(read_export(&zip::write(&not_text, 0).unwrap(), "").is_err());
    }

    #[test]
    fn the_report_and_its_entries_read_back() {
        let mut a = entry("cipher-kms-aes-256-db.yaml", "G", "q1\"w2\\e3\n中", "");
        a.config_type = "yaml".into();
        a.desc = "tabs\tand \u{1} control".into();
        a.config_tags = "x,y".into();
        let b = entry("plain.properties", "DEFAULT_GROUP", "k=v", "");
        let mut read = read_export(&write_export(&[a, b], 0).unwrap(), "prod").unwrap();
        let keys = parse_sidecar(concat!(
            r#"{"dataId":"cipher-kms-aes-256-db.yaml","group":"G","tenant":"prod","encryptedDataKey":"K1"}"#,
            "\n",
            r#"{"dataId":"gone","group":"G","tenant":"prod","encryptedDataKey":"K2"}"#,
        ))
        .unwrap();
        let applied = apply_sidecar(&mut read, &keys);
        let report: serde_json::Value =
            serde_json::from_str(&report_json(&read, Some(&applied))).unwrap();
        assert_eq!(report["metadata"], "v2");
        assert_eq!(
            report["sidecar"],
            serde_json::json!({"filled": 1, "replaced": [], "unused": [2], "conflicting": []})
        );
        // Every entry, one JSON line each, parses back to the entry it came from.
        let lines: Vec<String> = report["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| serde_json::to_string(e).unwrap())
            .collect();
        assert_eq!(parse_entries(&lines.join("\n")).unwrap(), read.entries);
        assert_eq!(read.entries[0].config.encrypted_data_key, "K1");
        assert_eq!(report["entries"][0]["content"], "q1\"w2\\e3\n中");
    }

    #[test]
    fn entries_need_their_fields_as_strings() {
        let ok = parse_entries(concat!(
            "\n",
            r#"{"dataId":"d","group":"g","content":"","tenant":null,"type":null,"other":[1]}"#,
            "\n\n"
        ))
        .unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(
            (ok[0].config.tenant.as_str(), ok[0].config_type.as_str()),
            ("", "")
        );
        for (bad, line) in [
            (r#"{"dataId":"d","group":"g"}"#, 1),
            (r#"{"dataId":"d","group":"g","content":null}"#, 1),
            (
                "\n{\"dataId\":\"d\",\"group\":\"g\",\"content\":\"x\",\"desc\":3}",
                2,
            ),
            ("not json", 1),
            (r#"{"dataId":"d","group":"g","content":"x""#, 1),
        ] {
            match parse_entries(bad) {
                Err(Error::InvalidExportMetadata { file, line: l, .. }) => {
                    assert_eq!((file, l), (ENTRIES, line), "{bad}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
