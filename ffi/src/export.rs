//! Console export ZIPs (issue 16, SPEC 6): read one, with the `encryptedDataKey` sidecar that
//! the console leaves out, into JSON; write one whose `.metadata.yml` keeps every entry's key.

use crate::boundary::{arg_bytes, arg_str, arg_text};
use crate::error::{FfiError, ffi_call};
use crate::result::nacoscrypt_result;
use crate::string::StringOut;
use core::ffi::c_char;
use nacoscrypt_core::config::export;

/// Reads a console export ZIP (v1 `.meta.yml` or v2 `.metadata.yml`) whose configs belong to
/// the namespace `tenant` (`""`: public), filling each `encryptedDataKey` from `sidecar` when
/// one is given, and writes what it found as one JSON object.
///
/// - `zip`, `zip_len`: the archive (at most 256 MiB; a malformed archive, metadata file or
///   sidecar is `NACOSCRYPT_RESULT_INVALID_ARGUMENT`, with the file and line in
///   `nacoscrypt_last_error_message()`).
/// - `sidecar`, `sidecar_len`: JSON lines with `dataId`, `group`, `tenant` (optional) and
///   `encryptedDataKey` — what `nacoscrypt config encrypt` or `nacoscrypt_config_migrate()`'s
///   caller wrote; other members are ignored. NULL (with `sidecar_len` 0): no sidecar.
/// - `report_out`: receives `{"metadata": "none"|"v1"|"v2", "entries": [...],
///   "unrecognized": [...], "metadataOnly": [...], "sidecar": null | {"filled": n, "replaced":
///   [names], "unused": [lines], "conflicting": [lines]}}`; each entry has `dataId`, `group`,
///   `tenant`, `content`, `encryptedDataKey`, `type`, `appName`, `desc`, `configTags` (one
///   entry, as a line, is an input of `nacoscrypt_export_write()`). It holds the configs' content:
///   free it with `nacoscrypt_string_free()`, which wipes it. `report_len_out` (may be NULL):
///   its length.
///
/// Thread safety: no shared state; call from any thread.
///
/// # Safety
/// `zip` points to `zip_len` readable bytes; `tenant` is NUL-terminated; `sidecar` is NULL or
/// points to `sidecar_len` bytes; the outputs are writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_export_read(
    zip: *const u8,
    zip_len: usize,
    tenant: *const c_char,
    sidecar: *const c_char,
    sidecar_len: usize,
    report_out: *mut *mut c_char,
    report_len_out: *mut usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let zip = unsafe { arg_bytes(zip, zip_len, "zip") }?;
        let tenant = unsafe { arg_str(tenant, "tenant") }?;
        let sidecar = if sidecar.is_null() {
            if sidecar_len != 0 {
                return Err(FfiError::invalid(
                    "sidecar_len",
                    "must be 0 when sidecar is NULL",
                ));
            }
            None
        } else {
            Some(unsafe { arg_text(sidecar, sidecar_len, "sidecar") }?)
        };
        let target = StringOut::new(report_out, report_len_out, "report_out")?;
        let mut read = export::read_export(zip, tenant)?;
        let applied = match sidecar {
            Some(text) => Some(export::apply_sidecar(
                &mut read,
                &export::parse_sidecar(text)?,
            )),
            None => None,
        };
        let report = zeroize::Zeroizing::new(export::report_json(&read, applied.as_ref()));
        unsafe { target.write(report.as_bytes()) }
    })
}

/// Writes a console export ZIP of `entries` whose `.metadata.yml` (v2) carries each entry's
/// `encryptedDataKey` (the server's importer ignores the extra key), so that a backup of
/// KMS-encrypted configs keeps its keys; importing it into Nacos needs the keys published
/// separately, as for any envelope config.
///
/// - `entries`, `entries_len`: JSON lines, one config each, with `dataId`, `group` and
///   `content` (strings) and optionally `encryptedDataKey`, `type` (default `text`), `appName`,
///   `desc`, `configTags`; `tenant` and other members are ignored (an export has no namespace).
///   A data ID or group that is empty or has a `/`, the same pair twice, or 65,535 entries or
///   more is `NACOSCRYPT_RESULT_INVALID_ARGUMENT`.
/// - `now`: the files' modification time, in seconds since 1970; 0: the current time.
/// - `zip_out`, `zip_len_out`: receive the archive (free it with `nacoscrypt_bytes_free()`,
///   which wipes it); both required.
///
/// Thread safety: no shared state; call from any thread.
///
/// # Safety
/// `entries` points to `entries_len` readable bytes; the outputs are writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_export_write(
    entries: *const c_char,
    entries_len: usize,
    now: u64,
    zip_out: *mut *mut u8,
    zip_len_out: *mut usize,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let entries = unsafe { arg_text(entries, entries_len, "entries") }?;
        crate::boundary::check_out(zip_len_out, "zip_len_out")?;
        let target = StringOut::new(zip_out.cast::<*mut c_char>(), zip_len_out, "zip_out")?;
        let entries = export::parse_entries(entries)?;
        let zip = zeroize::Zeroizing::new(if now == 0 {
            export::write_export_now(&entries)?
        } else {
            export::write_export(&entries, now)?
        });
        unsafe { target.write(&zip) }
    })
}
