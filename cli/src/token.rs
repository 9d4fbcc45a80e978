//! `token issue`, `token verify` and `secret new`.

use crate::failure::Failure;
use crate::io::{note, println, read_input_or};
use nacoscrypt_core::error::Malformed;
use nacoscrypt_core::token::{AuthSettings, LoginResponse, SecretKey, TokenManager};
use nacoscrypt_core::{Error, ErrorKind, SecretBytes, SecretString};
use serde_json::Value;
use std::path::Path;

/// The environment variable this command reads the token secret from first.
pub(crate) const SECRET_ENV: &str = "NACOSCRYPT_SECRET";
/// The Nacos Docker image's name for the token secret, read second.
pub(crate) const DOCKER_SECRET_ENV: &str = "NACOS_AUTH_TOKEN";
/// The `application.properties` setting of the token secret.
pub(crate) const SECRET_SETTING: &str = "nacos.core.auth.plugin.nacos.token.secret.key";

/// Where the token secret comes from (never the command line).
#[derive(Debug)]
pub(crate) struct SecretSource<'a> {
    pub(crate) secret_file: Option<&'a Path>,
    pub(crate) properties: Option<&'a Path>,
    pub(crate) allow_publicly_known: bool,
}

/// A token manager from the secret source, and the validity the source configures.
fn manager(src: &SecretSource<'_>) -> Result<TokenManager, Failure> {
    let key_failure = |e: Error, origin: &str| Failure::plain(&e).prefixed(origin);
    if let Some(path) = src.secret_file {
        let text = read_secret_file(path)?;
        let key = decode_key(&text, src.allow_publicly_known)
            .map_err(|e| key_failure(e, &format!("the secret in {}", path.display())))?;
        return Ok(TokenManager::new(key));
    }
    if let Some(path) = src.properties {
        let settings = AuthSettings::from_properties_file(path).map_err(|e| match &e {
            Error::Io { message, .. } => Failure {
                code: crate::failure::ENVIRONMENT,
                message: format!("cannot read {}: {message}", path.display()),
            },
            _ => key_failure(e, &path.display().to_string()),
        })?;
        if settings.secret_key.is_none() {
            return Err(Failure::usage(format!(
                "{} does not set {SECRET_SETTING}: add it (generate one with `nacoscrypt secret new`)",
                path.display()
            )));
        }
        let manager = if src.allow_publicly_known {
            settings.token_manager_allowing_publicly_known()
        } else {
            settings.token_manager()
        };
        return manager.map_err(|e| key_failure(e, &path.display().to_string()));
    }
    if let Some(text) = env_text(SECRET_ENV)? {
        let key = decode_key(&text, src.allow_publicly_known)
            .map_err(|e| key_failure(e, &format!("${SECRET_ENV}")))?;
        return Ok(TokenManager::new(key));
    }
    if env_text(DOCKER_SECRET_ENV)?.is_some() {
        // The Docker image's names, including NACOS_AUTH_TOKEN_EXPIRE_SECONDS.
        let settings = AuthSettings::from_process_env()
            .map_err(|e| key_failure(e, "the NACOS_AUTH_* environment"))?;
        let manager = if src.allow_publicly_known {
            settings.token_manager_allowing_publicly_known()
        } else {
            settings.token_manager()
        };
        return manager.map_err(|e| key_failure(e, &format!("${DOCKER_SECRET_ENV}")));
    }
    Err(Failure::usage(format!(
        "no token secret: pass --secret-file PATH (a file holding the base64 secret) or \
         --properties PATH (the server's application.properties), or set ${SECRET_ENV} or \
         ${DOCKER_SECRET_ENV}; the secret is never taken from the command line"
    )))
}

fn decode_key(text: &str, allow_publicly_known: bool) -> Result<SecretKey, Error> {
    if allow_publicly_known {
        SecretKey::from_base64_allowing_publicly_known(text)
    } else {
        SecretKey::from_base64(text)
    }
}

/// A variable's value if set and not blank; an error if it is not Unicode.
fn env_text(name: &str) -> Result<Option<SecretString>, Failure> {
    match std::env::var(name).map(SecretString::from) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(Failure::usage(format!(
            "${name} is not valid Unicode: set it to the base64 secret"
        ))),
    }
}

fn read_secret_file(path: &Path) -> Result<SecretString, Failure> {
    warn_if_readable_by_others(path);
    // A secret over the input bound is refused as the core refuses any over-long secret text.
    let raw = SecretBytes::from(read_input_or(Some(path), "the secret file", || {
        Failure::plain(&Error::IllegalBase64Character {
            position: nacoscrypt_core::limits::MAX_SECRET_TEXT_LEN,
        })
        .prefixed(&format!("the secret in {}", path.display()))
    })?);
    let text = raw.into_secret_string().map_err(|_| {
        Failure::usage(format!(
            "{} is not text: it must hold the base64 secret",
            path.display()
        ))
    })?;
    Ok(text)
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            note(&format!(
                "warning: secret file {} can be read by its group or others (mode {mode:03o}): \
                 run `chmod 600 {}`",
                path.display(),
                path.display()
            ));
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// `token issue`: prints the login response JSON the server would answer.
pub(crate) fn issue(
    src: &SecretSource<'_>,
    subject: &str,
    validity: Option<u64>,
    global_admin: bool,
) -> Result<(), Failure> {
    let mut manager = manager(src)?;
    if let Some(secs) = validity {
        manager = manager
            .with_validity(secs)
            .map_err(|e| Failure::plain(&e).prefixed("--validity"))?;
    }
    let token = manager.issue_now(subject).map_err(|e| Failure::plain(&e))?;
    println(&token.to_login_json(subject, global_admin))
}

/// `token verify`: prints the claims as JSON, or fails with the error kind and the server's
/// message (exit 1).
pub(crate) fn verify(
    src: &SecretSource<'_>,
    token: Option<&str>,
    leeway: u64,
) -> Result<(), Failure> {
    let secret_on_stdin = src
        .secret_file
        .is_some_and(|p| crate::io::is_stdin(Some(p)));
    if secret_on_stdin && token.is_none_or(|t| t == "-") {
        return Err(Failure::usage(
            "the secret is read from standard input (--secret-file -): give the token as an argument",
        ));
    }
    let manager = manager(src)?.with_leeway(leeway);
    let text = match token {
        Some(t) if t != "-" => t.to_string(),
        _ => {
            // A token over the input bound is what any over-long token is: malformed.
            let raw = read_input_or(None, "the token", || {
                token_failure(&Error::MalformedToken(Malformed::TooLong))
            })?;
            String::from_utf8(raw)
                .map_err(|_| Failure::usage("the token on standard input is not text"))?
        }
    };
    let text = text.trim();
    // The login response JSON (what `token issue` prints) is accepted too.
    let token = if text.starts_with('{') {
        LoginResponse::parse(text)
            .map_err(|e| {
                Failure::usage(format!(
                    "the input looks like JSON but is not a login response ({e}): \
                     give the token itself, or {{\"accessToken\":…}}"
                ))
            })?
            .access_token
    } else {
        text.to_string()
    };
    let claims = manager.verify_now(&token).map_err(|e| token_failure(&e))?;
    let json = format!(
        "{{\"sub\":{},\"exp\":{}}}",
        Value::from(claims.sub.as_str()),
        claims.exp
    );
    println(&json)
}

fn token_failure(err: &Error) -> Failure {
    let kind = err.kind();
    if !kind.is_token_error() {
        return Failure::plain(err);
    }
    let advice = match kind {
        ErrorKind::TokenExpired => "issue a new one (`nacoscrypt token issue`) or log in again",
        ErrorKind::InvalidSignature => {
            "it was signed with another secret: check the secret the server uses \
             (nacos.core.auth.plugin.nacos.token.secret.key / NACOS_AUTH_TOKEN)"
        }
        ErrorKind::UnsupportedAlgorithm => {
            "its header names another algorithm than the secret's length selects \
             (32-47 bytes HS256, 48-63 HS384, 64+ HS512): check the secret"
        }
        ErrorKind::MalformedToken => "give the whole token, `header.payload.signature`",
        _ => "the payload is not {\"sub\":…,\"exp\":…}: the token was not issued by Nacos",
    };
    // The core's text adds detail only for these two kinds (blank or shape; what is wrong).
    let detail = match kind {
        ErrorKind::MalformedToken | ErrorKind::InvalidClaims => format!(" ({err})"),
        _ => String::new(),
    };
    Failure::core(
        err,
        format!(
            "token refused: {}{detail}, the server answers \"{}\": {advice}",
            kind.name(),
            err.nacos_message().unwrap_or_default()
        ),
    )
}

/// `secret new`: a fresh random secret of `bytes` bytes, and the properties line to paste.
pub(crate) fn new_secret(bytes: usize) -> Result<(), Failure> {
    let mut buf = Vec::with_capacity(bytes + 32);
    while buf.len() < bytes {
        let part = SecretKey::generate().map_err(|e| Failure::plain(&e))?;
        buf.extend_from_slice(part.as_bytes());
    }
    buf.truncate(bytes);
    let raw = SecretBytes::from(buf);
    let key = SecretKey::from_bytes(&raw).map_err(|e| Failure::plain(&e))?;
    let text = key.to_base64();
    let out = SecretString::from(format!(
        "{text}\n{SECRET_SETTING}={text}\n",
        text = text.as_str()
    ));
    crate::io::write_stdout(out.as_bytes())?;
    note(&format!(
        "a new {} secret ({} bits): paste the second line into application.properties on every \
         Nacos node (the Docker image reads it from {DOCKER_SECRET_ENV}); keep it secret",
        key.algorithm(),
        key.bits()
    ));
    Ok(())
}
