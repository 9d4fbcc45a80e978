//! `doctor` and `migrate` (issue 16): why a stored config will not decrypt, and moving stored
//! configs to another key, scheme or format.

use crate::boundary::{arg_ref, arg_str, arg_struct, arg_text, check_out, out_opt};
use crate::config::{NACOSCRYPT_FORMAT_NACOS, NACOSCRYPT_FORMAT_V1, nacoscrypt_config_id};
use crate::error::{FfiError, FfiResult, ffi_call};
use crate::kms::nacoscrypt_kms;
use crate::result::nacoscrypt_result;
use crate::string::StringOut;
use core::ffi::c_char;
use nacoscrypt_core::config::doctor::{self, Keys};
use nacoscrypt_core::config::migrate::{self, Mode, Outcome, Plan, StoredConfig, TargetScheme};
use nacoscrypt_core::config::{ConfigId, Format};
use nacoscrypt_core::kms::{KeySpec, Kms};

/// Reads a config id (all three strings required).
///
/// # Safety
/// `id` must be NULL or point to a config id whose strings are NUL-terminated.
unsafe fn id_arg<'a>(id: *const nacoscrypt_config_id) -> FfiResult<ConfigId<'a>> {
    // SAFETY: forwarded contract (every block below).
    let id = unsafe { arg_struct(id, "id") }?;
    Ok(ConfigId::new(
        unsafe { arg_str(id.data_id, "id->data_id") }?,
        unsafe { arg_str(id.group, "id->group") }?,
        unsafe { arg_str(id.tenant, "id->tenant") }?,
    ))
}

/// An optional KMS handle.
///
/// # Safety
/// `kms` must be NULL or a live KMS handle.
unsafe fn opt_kms<'a>(kms: *const nacoscrypt_kms) -> FfiResult<Option<&'a (dyn Kms + Sync)>> {
    if kms.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    Ok(Some(unsafe { arg_ref(kms, "kms") }?.as_dyn()))
}

/// An optional NUL-terminated string.
///
/// # Safety
/// `s` must be NULL or NUL-terminated.
unsafe fn opt_str<'a>(s: *const c_char, name: &'static str) -> FfiResult<Option<&'a str>> {
    if s.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    Ok(Some(unsafe { arg_str(s, name) }?))
}

/// Diagnoses one stored config and writes a JSON report (never key material or plaintext).
///
/// - `kms`: NULL for the static reading only (schemes per SDK, stored format, key blob origin,
///   sizes, structure); otherwise each decryption step is tried with it and the report's
///   `check` names the first that fails (`scheme`, `structure`, `kms`, `key-not-found`,
///   `data-key-length`, `wrong-key`, `utf8`, `limits`).
/// - `plugin_server_secret`: NULL, or the Nacos server's `nacos.encrypt` secret for
///   `cipher-doubleAes-` configs (`cipher-aes-` configs carry their key). When given, the key
///   steps are tried even without `kms`.
/// - `content`, `content_len`: the stored content; `encrypted_data_key`: NUL-terminated (`""`
///   when none).
/// - `report_out`: receives the report, one JSON object (free with `nacoscrypt_string_free()`);
///   `report_len_out` (may be NULL) its length; `healthy_out` (may be NULL) `true` if nothing
///   worse than a warning was found and any key check passed.
///
/// A config that will not decrypt is not an error of this function: it returns
/// `NACOSCRYPT_RESULT_OK` and says so in the report. Errors are bad arguments only.
///
/// # Safety
/// Pointers as documented; `kms` NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_config_doctor(
    kms: *const nacoscrypt_kms,
    plugin_server_secret: *const c_char,
    id: *const nacoscrypt_config_id,
    content: *const c_char,
    content_len: usize,
    encrypted_data_key: *const c_char,
    report_out: *mut *mut c_char,
    report_len_out: *mut usize,
    healthy_out: *mut bool,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let kms = unsafe { opt_kms(kms) }?;
        let secret = unsafe { opt_str(plugin_server_secret, "plugin_server_secret") }?;
        let id = unsafe { id_arg(id) }?;
        let content = unsafe { arg_text(content, content_len, "content") }?;
        let edk = unsafe { arg_str(encrypted_data_key, "encrypted_data_key") }?;
        let target = StringOut::new(report_out, report_len_out, "report_out")?;
        let report = if kms.is_some() || secret.is_some() {
            let keys = Keys {
                kms: kms.map(|k| k as &dyn Kms),
                plugin_server_secret: secret,
            };
            doctor::diagnose_with_keys(&keys, &id, content, edk)
        } else {
            doctor::diagnose(&id, content, edk)
        };
        let healthy = report.is_healthy();
        unsafe { target.write(report.to_json().as_bytes()) }?;
        unsafe { out_opt(healthy_out, healthy) };
        Ok(())
    })
}

/// `nacoscrypt_migrate_plan.mode`: keep the data key and re-wrap it under the target key
/// (`nacos`-format content kept as is). Envelope configs whose scheme does not change only.
pub const NACOSCRYPT_MIGRATE_REWRAP: u32 = 0;
/// `nacoscrypt_migrate_plan.mode`: a fresh data key; the content is encrypted afresh.
pub const NACOSCRYPT_MIGRATE_REKEY: u32 = 1;

/// `nacoscrypt_migrate_plan.scheme`: keep the scheme the data ID selects.
pub const NACOSCRYPT_SCHEME_KEEP: u32 = 0;
/// `nacoscrypt_migrate_plan.scheme`: `cipher-kms-aes-256-` (the data ID is renamed if needed).
pub const NACOSCRYPT_SCHEME_KMS_AES_256: u32 = 1;
/// `nacoscrypt_migrate_plan.scheme`: `cipher-kms-aes-128-`.
pub const NACOSCRYPT_SCHEME_KMS_AES_128: u32 = 2;
/// `nacoscrypt_migrate_plan.scheme`: `cipher-` (direct).
pub const NACOSCRYPT_SCHEME_DIRECT: u32 = 3;

/// `nacoscrypt_migrate_plan.format`: keep each config's format (`nacos` for plugin configs).
pub const NACOSCRYPT_FORMAT_KEEP: u32 = 100;

/// `nacoscrypt_config_migrate()` status: migrated; the outputs hold the config to publish.
pub const NACOSCRYPT_MIGRATE_MIGRATED: u32 = 0;
/// `nacoscrypt_config_migrate()` status: already in the target form; nothing written.
pub const NACOSCRYPT_MIGRATE_ALREADY_MIGRATED: u32 = 1;

/// What to migrate to, and with which source keys.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct nacoscrypt_migrate_plan {
    /// The KMS the configs are encrypted with now; NULL for server plugin configs only.
    pub source: *const nacoscrypt_kms,
    /// NULL, or the server's `nacos.encrypt` secret (`cipher-doubleAes-` configs).
    pub plugin_server_secret: *const c_char,
    /// The KMS to move to (required).
    pub target: *const nacoscrypt_kms,
    /// The target master key id (required).
    pub key_id: *const c_char,
    /// `NACOSCRYPT_MIGRATE_REWRAP` or `NACOSCRYPT_MIGRATE_REKEY`.
    pub mode: u32,
    /// `NACOSCRYPT_SCHEME_KEEP`, `_KMS_AES_256`, `_KMS_AES_128` or `_DIRECT`.
    pub scheme: u32,
    /// `NACOSCRYPT_FORMAT_NACOS`, `NACOSCRYPT_FORMAT_V1` or `NACOSCRYPT_FORMAT_KEEP`.
    pub format: u32,
    /// Undo the HTML-escaping quirk (`\u0026` -> `&`, ...); rekey only.
    pub unescape_html: bool,
}

/// Migrates one stored config according to `plan`.
///
/// - `status_out`: `NACOSCRYPT_MIGRATE_MIGRATED` (the outputs are written) or
///   `NACOSCRYPT_MIGRATE_ALREADY_MIGRATED` (already in the target form: same data ID and
///   format, opened by the target, and under the current version of the target key when the
///   target can tell — a keyring handle can, so `source` may be the target, as in a rotation
///   — else not opened by another source; nothing else written).
/// - `data_id_out`: the migrated config's data ID, which differs from `id->data_id` when the
///   scheme changed (publish the new one, delete the old one); `content_out`,
///   `encrypted_data_key_out`: what to publish. Free each with `nacoscrypt_string_free()`.
///
/// A failing entry is an error result whose message (`nacoscrypt_last_error_message()`)
/// starts with the failing step (`step key-not-found: ...`); call again for the next entry.
/// Thread safety: safe to call concurrently with the same handles (run a pool of threads).
///
/// # Safety
/// Pointers as documented; the plan's handles live through the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nacoscrypt_config_migrate(
    plan: *const nacoscrypt_migrate_plan,
    id: *const nacoscrypt_config_id,
    content: *const c_char,
    content_len: usize,
    encrypted_data_key: *const c_char,
    status_out: *mut u32,
    data_id_out: *mut *mut c_char,
    content_out: *mut *mut c_char,
    encrypted_data_key_out: *mut *mut c_char,
) -> nacoscrypt_result {
    ffi_call(|| {
        // SAFETY: forwarded contract (every block below).
        let p = unsafe { arg_struct(plan, "plan") }?;
        let source = unsafe { opt_kms(p.source) }?;
        let secret = unsafe { opt_str(p.plugin_server_secret, "plan->plugin_server_secret") }?;
        let target = unsafe { arg_ref(p.target, "plan->target") }?.as_dyn();
        let key_id = unsafe { arg_str(p.key_id, "plan->key_id") }?;
        let mode = match p.mode {
            NACOSCRYPT_MIGRATE_REWRAP => Mode::Rewrap,
            NACOSCRYPT_MIGRATE_REKEY => Mode::Rekey,
            _ => {
                return Err(FfiError::invalid(
                    "plan->mode",
                    "is not a NACOSCRYPT_MIGRATE_ mode",
                ));
            }
        };
        let scheme = match p.scheme {
            NACOSCRYPT_SCHEME_KEEP => TargetScheme::Keep,
            NACOSCRYPT_SCHEME_KMS_AES_256 => TargetScheme::Envelope(KeySpec::Aes256),
            NACOSCRYPT_SCHEME_KMS_AES_128 => TargetScheme::Envelope(KeySpec::Aes128),
            NACOSCRYPT_SCHEME_DIRECT => TargetScheme::Direct,
            _ => {
                return Err(FfiError::invalid(
                    "plan->scheme",
                    "is not a NACOSCRYPT_SCHEME_ value",
                ));
            }
        };
        let format = match p.format {
            NACOSCRYPT_FORMAT_NACOS => Some(Format::Nacos),
            NACOSCRYPT_FORMAT_V1 => Some(Format::V1),
            NACOSCRYPT_FORMAT_KEEP => None,
            _ => {
                return Err(FfiError::invalid(
                    "plan->format",
                    "is not NACOSCRYPT_FORMAT_NACOS, _V1 or _KEEP",
                ));
            }
        };
        let id = unsafe { id_arg(id) }?;
        let content = unsafe { arg_text(content, content_len, "content") }?;
        let edk = unsafe { arg_str(encrypted_data_key, "encrypted_data_key") }?;
        check_out(status_out, "status_out")?;
        let data_id_target = StringOut::new(data_id_out, core::ptr::null_mut(), "data_id_out")?;
        let content_target = StringOut::new(content_out, core::ptr::null_mut(), "content_out")?;
        let edk_target = StringOut::new(
            encrypted_data_key_out,
            core::ptr::null_mut(),
            "encrypted_data_key_out",
        )?;
        let plan = Plan {
            source,
            plugin_server_secret: secret,
            target,
            key_id,
            scheme,
            format,
            mode,
            unescape_html: p.unescape_html,
        };
        match migrate::migrate_one(&plan, &StoredConfig::new(&id, content, edk)) {
            Outcome::Migrated { config, .. } => {
                let d = data_id_target.prepare(config.data_id.as_bytes())?;
                let c = content_target.prepare(config.content.as_bytes())?;
                let e = edk_target.prepare(config.encrypted_data_key.as_bytes())?;
                unsafe {
                    d.commit();
                    c.commit();
                    e.commit();
                    out_opt(status_out, NACOSCRYPT_MIGRATE_MIGRATED);
                }
                Ok(())
            }
            Outcome::AlreadyMigrated => {
                unsafe { out_opt(status_out, NACOSCRYPT_MIGRATE_ALREADY_MIGRATED) };
                Ok(())
            }
            Outcome::Failed { step, error } => Err(FfiError::text(
                nacoscrypt_result::from_kind(error.kind()),
                format!("step {}: {error}", step.as_str()),
            )),
        }
    })
}
