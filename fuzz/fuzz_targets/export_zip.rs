//! Console export ZIPs and their metadata: the ZIP reader, the `.meta.yml` / `.metadata.yml`
//! readers and the sidecar parser never panic, and what reads survives a write / read round trip
//! (every name, content and metadata string, odd characters included), also through JSON
//! (`report_json` -> one line per entry -> `parse_entries`, the C ABI's path). The first byte
//! picks the input: 0 a ZIP, 1 a `.metadata.yml` text, 2 a sidecar, 3 entries as JSON lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nacoscrypt_core::config::export::{self, DEFAULT_TYPE, ExportEntry};

fn normalised(mut entries: Vec<ExportEntry>) -> Vec<ExportEntry> {
    for e in &mut entries {
        if e.config_type.trim().is_empty() {
            e.config_type = DEFAULT_TYPE.into();
        }
    }
    entries
}

/// The entries of `read` through the JSON report and back, one JSON line per entry.
fn through_json(read: &export::Export) -> Vec<ExportEntry> {
    let report: serde_json::Value =
        serde_json::from_str(&export::report_json(read, None)).expect("the report is JSON");
    let lines: Vec<String> = report["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| serde_json::to_string(e).expect("an entry"))
        .collect();
    export::parse_entries(&lines.join("\n")).expect("the report's entries parse")
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            let Ok(read) = export::read_export(rest, "t") else {
                return;
            };
            let zip = export::write_export(&read.entries, 0).expect("a read export writes");
            let again = export::read_export(&zip, "t").expect("a written export reads");
            assert_eq!(again.entries, normalised(read.entries.clone()));
            assert_eq!(through_json(&read), read.entries);
        }
        1 => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            let Ok(items) = export::parse_metadata_v2(text) else {
                return;
            };
            // Items whose group/dataId make a valid entry name go through the writer.
            let mut seen = std::collections::BTreeSet::new();
            let items: Vec<ExportEntry> = items
                .into_iter()
                .filter(|e| !e.config.group.contains('/') && !e.config.data_id.contains('/'))
                .filter(|e| seen.insert(e.name()))
                .collect();
            let zip = export::write_export(&items, 0).expect("parsed metadata writes");
            let again = export::read_export(&zip, "").expect("a written export reads");
            assert_eq!(again.entries, normalised(items));
        }
        2 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = export::parse_sidecar(text);
            }
        }
        _ => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            let Ok(entries) = export::parse_entries(text) else {
                return;
            };
            let read = export::Export {
                entries,
                ..export::Export::default()
            };
            assert_eq!(through_json(&read), read.entries);
        }
    }
});
