//! Streams of stored configs: JSON lines (or one JSON object) with the open API's field names
//! in, JSON lines out, written atomically.

use crate::config::MEMBERS;
use crate::failure::{ENVIRONMENT, Failure, io_text};
use crate::io::is_stdin;
use nacoscrypt_core::config::migrate::StoredConfig;
use serde_json::Value;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The largest stream read (1 GiB): about a million configs of 1 KiB.
const MAX_STREAM: u64 = 1 << 30;

/// One input line: its 1-based number and the config, or why it could not be read.
pub(crate) type Entry = (usize, Result<StoredConfig, String>);

/// Reads the stream at `path` (`-`/absent: standard input): one JSON object, or JSON lines.
pub(crate) fn read_entries(path: Option<&Path>) -> Result<Vec<Entry>, Failure> {
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
        return Ok(vec![(1, entry(&v))]);
    }
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            (
                i + 1,
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
