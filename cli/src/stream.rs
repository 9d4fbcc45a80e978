//! Streams of stored configs: JSON lines (or one JSON object) with the open API's field names,
//! or a console export ZIP with an `encryptedDataKey` sidecar, in; JSON lines or an export ZIP
//! out, written atomically.

use crate::config::MEMBERS;
use crate::failure::{ENVIRONMENT, Failure, io_text};
use crate::io::{is_stdin, note};
use nacoscrypt_core::config::Scheme;
use nacoscrypt_core::config::export::{self, ExportEntry};
use nacoscrypt_core::config::migrate::StoredConfig;
use serde_json::Value;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The largest stream read (1 GiB): about a million configs of 1 KiB.
const MAX_STREAM: u64 = 1 << 30;

/// Where an input config came from: a line of JSON lines, or a file of an export ZIP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// 1-based line number.
    Line(usize),
    /// `<group>/<dataId>` in the archive.
    Entry(String),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Line(n) => write!(f, "line {n}"),
            Self::Entry(name) => write!(f, "entry {name:?}"),
        }
    }
}

/// One input config: where it came from and the config, or why it could not be read.
pub(crate) type Entry = (Origin, Result<StoredConfig, String>);

/// The two input and output forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum StreamFormat {
    /// JSON lines with the open API's fields (or one JSON object)
    Jsonl,
    /// A console export ZIP (.meta.yml or .metadata.yml)
    Zip,
}

impl StreamFormat {
    /// The format asked for, else `.zip` (any case) means ZIP, else JSON lines.
    pub(crate) fn pick(asked: Option<Self>, path: Option<&Path>) -> Self {
        asked.unwrap_or_else(|| {
            let zip = path
                .and_then(Path::extension)
                .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
            if zip { Self::Zip } else { Self::Jsonl }
        })
    }
}

/// How to read the input.
#[derive(Debug)]
pub(crate) struct InputSpec<'a> {
    /// The file; `-`/absent: standard input.
    pub(crate) path: Option<&'a Path>,
    /// `--in-format` (else from the extension).
    pub(crate) format: Option<StreamFormat>,
    /// `--edk-sidecar`: JSON lines giving the export's `encryptedDataKey`s.
    pub(crate) sidecar: Option<&'a Path>,
    /// `--tenant`: the namespace the export came from.
    pub(crate) tenant: &'a str,
}

/// What was read: the configs, and for an export the metadata of each (same order).
#[derive(Debug)]
pub(crate) struct Input {
    pub(crate) entries: Vec<Entry>,
    /// For a ZIP input, one export entry per config (its type, app name, description, tags).
    pub(crate) export: Option<Vec<ExportEntry>>,
}

/// Reads JSON lines or an export ZIP as `spec` says, with notes on standard error about what an
/// export skips and what the sidecar did.
pub(crate) fn read_input(spec: &InputSpec<'_>) -> Result<Input, Failure> {
    match StreamFormat::pick(spec.format, spec.path) {
        StreamFormat::Jsonl => {
            if spec.sidecar.is_some() {
                return Err(Failure::usage(
                    "--edk-sidecar is for an export ZIP: JSON lines carry their encryptedDataKey",
                ));
            }
            Ok(Input {
                entries: read_entries(spec.path)?,
                export: None,
            })
        }
        StreamFormat::Zip => read_zip(spec),
    }
}

fn read_bytes(path: Option<&Path>, limit: u64, what: &str) -> Result<Vec<u8>, Failure> {
    let mut buf = Vec::new();
    match path {
        Some(p) if !is_stdin(Some(p)) => fs::File::open(p)
            .and_then(|f| f.take(limit + 1).read_to_end(&mut buf))
            .map_err(|e| Failure::io("cannot read", p, &e))?,
        _ => io::stdin()
            .lock()
            .take(limit + 1)
            .read_to_end(&mut buf)
            .map_err(|e| Failure {
                code: ENVIRONMENT,
                message: format!("cannot read standard input: {}", io_text(&e)),
            })?,
    };
    if buf.len() as u64 > limit {
        return Err(Failure::usage(format!(
            "{what} is larger than {} MiB",
            limit >> 20
        )));
    }
    Ok(buf)
}

fn read_zip(spec: &InputSpec<'_>) -> Result<Input, Failure> {
    let bytes = read_bytes(spec.path, export::MAX_ZIP_LEN as u64, "the export ZIP")?;
    let what = spec.path.filter(|p| !is_stdin(Some(p))).map_or_else(
        || String::from("standard input"),
        |p| p.display().to_string(),
    );
    let mut read = export::read_export(&bytes, spec.tenant)
        .map_err(|e| Failure::usage(format!("{what}: {e}")))?;
    drop(bytes);
    for name in &read.unrecognized {
        note(&format!(
            "{what}: skipped {name:?} (not <group>/<dataId>; the server skips it too)"
        ));
    }
    for name in &read.metadata_only {
        note(&format!(
            "{what}: {} names {name:?}, which the archive does not hold",
            export::META_V2
        ));
    }
    if let Some(sidecar) = spec.sidecar {
        let text = read_bytes(
            Some(sidecar),
            export::MAX_SIDECAR_LEN as u64,
            "the encryptedDataKey sidecar",
        )?;
        let text = String::from_utf8(text)
            .map_err(|_| Failure::usage("the encryptedDataKey sidecar is not UTF-8 JSON lines"))?;
        let keys = export::parse_sidecar(&text)
            .map_err(|e| Failure::usage(format!("{}: {e}", sidecar.display())))?;
        let applied = export::apply_sidecar(&mut read, &keys);
        for i in &applied.replaced {
            note(&format!(
                "entry {:?}: the sidecar's encryptedDataKey replaces the one in {}",
                read.entries[*i].name(),
                export::META_V2
            ));
        }
        for line in &applied.conflicting {
            note(&format!(
                "{} line {line}: ignored, an earlier line gives this config another encryptedDataKey",
                sidecar.display()
            ));
        }
        for line in &applied.unused {
            note(&format!(
                "{} line {line}: no such config in the export (tenant {:?})",
                sidecar.display(),
                spec.tenant
            ));
        }
        note(&format!(
            "{what}: {} encryptedDataKey(s) from the sidecar, {} config(s), metadata {}",
            applied.filled + applied.replaced.len(),
            read.entries.len(),
            read.metadata.as_str()
        ));
    } else {
        let keyless = read
            .entries
            .iter()
            .filter(|e| {
                e.config.encrypted_data_key.is_empty()
                    && matches!(
                        Scheme::for_encrypt(&e.config.data_id),
                        Ok(Scheme::Envelope(_))
                    )
            })
            .count();
        if keyless > 0 {
            note(&format!(
                "{what}: {keyless} envelope config(s) have no encryptedDataKey (console exports leave it out): give --edk-sidecar FILE"
            ));
        }
    }
    let entries = read
        .entries
        .iter()
        .map(|e| (Origin::Entry(e.name()), Ok(e.config.clone())))
        .collect();
    Ok(Input {
        entries,
        export: Some(read.entries),
    })
}

/// Reads the stream at `path` (`-`/absent: standard input): one JSON object, or JSON lines.
fn read_entries(path: Option<&Path>) -> Result<Vec<Entry>, Failure> {
    let mut buf = Vec::new();
    let read = match path {
        Some(p) if !is_stdin(Some(p)) => fs::File::open(p)
            .and_then(|f| f.take(MAX_STREAM + 1).read_to_end(&mut buf))
            .map_err(|e| Failure::io("cannot read", p, &e)),
        _ => io::stdin()
            .lock()
            .take(MAX_STREAM + 1)
            .read_to_end(&mut buf)
            .map_err(|e| Failure {
                code: ENVIRONMENT,
                message: format!("cannot read standard input: {}", io_text(&e)),
            }),
    };
    read?;
    if buf.len() as u64 > MAX_STREAM {
        return Err(Failure::usage("the input is larger than 1 GiB: split it"));
    }
    let text = String::from_utf8(buf).map_err(|_| Failure::usage("the input is not UTF-8 JSON"))?;
    // One pretty-printed object (what `config encrypt | jq .` gives), else JSON lines.
    if text.trim_start().starts_with('{')
        && let Ok(v) = serde_json::from_str::<Value>(&text)
    {
        return Ok(vec![(Origin::Line(1), entry(&v))]);
    }
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            (
                Origin::Line(i + 1),
                serde_json::from_str::<Value>(l)
                    .map_err(|e| format!("not JSON ({e})"))
                    .and_then(|v| entry(&v)),
            )
        })
        .collect())
}

fn entry(v: &Value) -> Result<StoredConfig, String> {
    let Some(object) = v.as_object() else {
        return Err(String::from("not a JSON object"));
    };
    let mut fields: [String; 5] = Default::default();
    for (slot, name) in fields.iter_mut().zip(MEMBERS) {
        *slot = match object.get(name) {
            Some(Value::String(s)) => s.clone(),
            // The open API omits an empty encryptedDataKey and tenant; null means empty too.
            None | Some(Value::Null) if matches!(name, "encryptedDataKey" | "tenant") => {
                String::new()
            }
            Some(_) => return Err(format!("`{name}` is not a string")),
            None => return Err(format!("no `{name}` (need {})", MEMBERS.join(", "))),
        };
    }
    let [data_id, group, tenant, content, encrypted_data_key] = fields;
    Ok(StoredConfig {
        data_id,
        group,
        tenant,
        content,
        encrypted_data_key,
    })
}

/// One JSON line with the open API's field names.
pub(crate) fn to_json_line(c: &StoredConfig) -> String {
    let values = [
        &c.data_id,
        &c.group,
        &c.tenant,
        &c.content,
        &c.encrypted_data_key,
    ];
    let mut json = String::from("{");
    for (i, (name, value)) in MEMBERS.iter().zip(values).enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str(&Value::from(*name).to_string());
        json.push(':');
        json.push_str(&Value::from(value.as_str()).to_string());
    }
    json.push_str("}\n");
    json
}

/// Writes `text` to `path` atomically: a temporary file in the same folder (mode 0600),
/// flushed, then renamed over `path`. A failure leaves `path` as it was.
pub(crate) fn write_atomically(path: &Path, text: &[u8]) -> Result<(), Failure> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| Failure::usage("--output must name a file"))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp)?;
        f.write_all(text)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Ok(d) = fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e: io::Error| {
        let _ = fs::remove_file(&tmp);
        Failure::io("cannot write", path, &e)
    })
}
