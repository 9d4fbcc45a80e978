//! The ciphertext blob (format 1) and its associated data: pure functions, no token needed.
//!
//! ```text
//! blob = base64std( format[1] = 0x01 ‖ label_len[1] ‖ label ‖ iv[12] ‖ ciphertext ‖ tag[16] )
//! aad  = "nacoscrypt:pkcs11:v1" ‖ lp(label) ‖ for each context pair sorted by name: lp(name) ‖ lp(value)
//! ```
//! where lp(x) = 4-byte big-endian length ‖ bytes of x (SPEC 2.2).

use nacoscrypt_core::kms::Context;
use nacoscrypt_core::{Error, Result};

/// The format byte of the blobs this crate writes (and the only one it reads): the first byte
/// of the decoded blob.
///
/// ```no_run
/// use nacoscrypt_core::kms::{Context, Kms};
/// use nacoscrypt_kms_pkcs11::{FORMAT_V1, Pin, Pkcs11Kms, Token};
///
/// let kms = Pkcs11Kms::builder()
///     .module("/usr/lib/softhsm/libsofthsm2.so")
///     .token(Token::Label("nacos".into()))
///     .pin(Pin::from_env("NACOSCRYPT_PKCS11_PIN")?)
///     .build()?;
/// let blob = kms.encrypt("nacos-2026", b"secret", &Context::new())?;
/// let raw = base64_simd::STANDARD.decode_to_vec(&blob).expect("standard base64");
/// assert_eq!(raw[0], FORMAT_V1);
/// assert_eq!(&raw[2..2 + usize::from(raw[1])], b"nacos-2026", "the label of the key");
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
pub const FORMAT_V1: u8 = 0x01;
/// Bytes of the AES-GCM IV in a blob, after the label.
///
/// ```
/// use nacoscrypt_kms_pkcs11::{IV_LEN, TAG_LEN};
///
/// // format, label length, label, IV, ciphertext, tag: a 32-byte data key under "nacos-2026".
/// let label = "nacos-2026";
/// let raw = 1 + 1 + label.len() + IV_LEN + 32 + TAG_LEN;
/// assert_eq!(raw, 72);
/// assert_eq!(raw.div_ceil(3) * 4, 96, "base64 characters of the blob");
/// ```
pub const IV_LEN: usize = 12;
/// Bytes of the AES-GCM tag at the end of a blob (a 128-bit tag).
///
/// ```
/// use nacoscrypt_kms_pkcs11::TAG_LEN;
///
/// assert_eq!(TAG_LEN * 8, 128);
/// ```
pub const TAG_LEN: usize = 16;
/// The longest key label a blob can name, in bytes (its length is one byte); longer labels are
/// refused before any call to the token.
///
/// ```
/// use nacoscrypt_kms_pkcs11::MAX_LABEL_LEN;
///
/// assert_eq!(MAX_LABEL_LEN, usize::from(u8::MAX));
/// ```
pub const MAX_LABEL_LEN: usize = 255;
/// The longest blob text read (1 MiB): longer input is refused before decoding.
///
/// ```
/// use nacoscrypt_kms_pkcs11::MAX_BLOB_TEXT_LEN;
///
/// assert_eq!(MAX_BLOB_TEXT_LEN, 1 << 20);
/// ```
pub const MAX_BLOB_TEXT_LEN: usize = 1 << 20;
/// The domain separator that starts the AES-GCM associated data (then the length-prefixed
/// label and context pairs; see the crate docs).
///
/// ```
/// use nacoscrypt_kms_pkcs11::AAD_PREFIX;
///
/// // The associated data of a blob under the label "k" with an empty context.
/// let mut aad = AAD_PREFIX.to_vec();
/// aad.extend_from_slice(&1u32.to_be_bytes());
/// aad.extend_from_slice(b"k");
/// assert_eq!(aad.len(), 20 + 4 + 1);
/// assert!(aad.starts_with(b"nacoscrypt:pkcs11:v1"));
/// ```
pub const AAD_PREFIX: &[u8] = b"nacoscrypt:pkcs11:v1";

/// A blob taken apart; borrows the decoded bytes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Parts<'a> {
    /// The label of the AES key that made the blob.
    pub(crate) label: &'a str,
    /// The AES-GCM IV.
    pub(crate) iv: [u8; IV_LEN],
    /// Ciphertext followed by the tag.
    pub(crate) sealed: &'a [u8],
}

/// Checks a key label: 1 to 255 bytes (UTF-8, as PKCS#11 labels are).
pub(crate) fn check_label(label: &str) -> Result<()> {
    if label.is_empty() {
        return Err(Error::InvalidArgument {
            reason: "PKCS#11 key label is empty (and no default key label is set)",
        });
    }
    if label.len() > MAX_LABEL_LEN {
        return Err(Error::InvalidArgument {
            reason: "PKCS#11 key label is longer than 255 bytes",
        });
    }
    Ok(())
}

/// The AES-GCM associated data binding `label` and `context`.
pub(crate) fn aad(label: &str, context: &Context<'_>) -> Vec<u8> {
    let mut aad = Vec::with_capacity(
        AAD_PREFIX.len()
            + 4
            + label.len()
            + context
                .iter()
                .map(|(k, v)| 8 + k.len() + v.len())
                .sum::<usize>(),
    );
    aad.extend_from_slice(AAD_PREFIX);
    push_lp(&mut aad, label.as_bytes());
    for (name, value) in context.iter() {
        push_lp(&mut aad, name.as_bytes());
        push_lp(&mut aad, value.as_bytes());
    }
    aad
}

fn push_lp(out: &mut Vec<u8>, bytes: &[u8]) {
    // Context values are bounded by the callers far below 4 GiB; saturate rather than wrap.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The blob text of `sealed` (ciphertext ‖ tag) made with the key `label` and `iv`.
pub(crate) fn encode(label: &str, iv: &[u8; IV_LEN], sealed: &[u8]) -> Result<String> {
    check_label(label)?;
    let label_len = u8::try_from(label.len()).map_err(|_| Error::InvalidArgument {
        reason: "PKCS#11 key label is longer than 255 bytes",
    })?;
    let mut raw = Vec::with_capacity(2 + label.len() + IV_LEN + sealed.len());
    raw.push(FORMAT_V1);
    raw.push(label_len);
    raw.extend_from_slice(label.as_bytes());
    raw.extend_from_slice(iv);
    raw.extend_from_slice(sealed);
    Ok(base64_simd::STANDARD.encode_to_string(&raw))
}

/// Decodes blob text into bytes (bounded, standard base64 with padding).
pub(crate) fn decode(text: &str) -> Result<Vec<u8>> {
    if text.len() > MAX_BLOB_TEXT_LEN {
        return Err(Error::BlobTooLarge {
            size: text.len(),
            limit: MAX_BLOB_TEXT_LEN,
        });
    }
    base64_simd::STANDARD
        .decode_to_vec(text.as_bytes())
        .map_err(|_| Error::InvalidBase64 { field: "blob" })
}

/// Takes decoded blob bytes apart; never panics on any input.
pub(crate) fn parse(raw: &[u8]) -> Result<Parts<'_>> {
    let too_short = || Error::BlobTooShort { len: raw.len() };
    let (&format, rest) = raw.split_first().ok_or_else(too_short)?;
    if format != FORMAT_V1 {
        return Err(Error::kms(format!(
            "PKCS#11 blob of unknown format {format:#04x} (this version reads {FORMAT_V1:#04x}): \
             not a blob of this key service, or written by a newer version"
        )));
    }
    let (&label_len, rest) = rest.split_first().ok_or_else(too_short)?;
    let label_len = usize::from(label_len);
    if label_len == 0 {
        return Err(Error::kms("PKCS#11 blob names an empty key label"));
    }
    if rest.len() < label_len + IV_LEN + TAG_LEN {
        return Err(too_short());
    }
    let (label, rest) = rest.split_at(label_len);
    let label = core::str::from_utf8(label)
        .map_err(|_| Error::kms("PKCS#11 blob names a key label that is not UTF-8"))?;
    let (iv, sealed) = rest.split_at(IV_LEN);
    let iv: [u8; IV_LEN] = iv.try_into().map_err(|_| too_short())?;
    Ok(Parts { label, iv, sealed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nacoscrypt_core::ErrorKind;

    #[test]
    fn layout_is_the_documented_one() {
        let iv = [7u8; IV_LEN];
        let sealed = [9u8; 20];
        let text = encode("nacos/k1", &iv, &sealed).unwrap();
        let raw = decode(&text).unwrap();
        assert_eq!(raw[0], 0x01);
        assert_eq!(usize::from(raw[1]), "nacos/k1".len());
        assert_eq!(&raw[2..10], b"nacos/k1");
        assert_eq!(&raw[10..22], &iv);
        assert_eq!(&raw[22..], &sealed);
        let parts = parse(&raw).unwrap();
        assert_eq!(parts.label, "nacos/k1");
        assert_eq!(parts.iv, iv);
        assert_eq!(parts.sealed, &sealed);
    }

    #[test]
    fn aad_frames_label_and_sorted_context() {
        let mut ctx = Context::new();
        ctx.insert("tenant", "public");
        ctx.insert("dataId", "cipher-x");
        let aad = aad("k", &ctx);
        let mut want = b"nacoscrypt:pkcs11:v1".to_vec();
        want.extend_from_slice(&[0, 0, 0, 1, b'k']);
        want.extend_from_slice(&[0, 0, 0, 6]);
        want.extend_from_slice(b"dataId");
        want.extend_from_slice(&[0, 0, 0, 8]);
        want.extend_from_slice(b"cipher-x");
        want.extend_from_slice(&[0, 0, 0, 6]);
        want.extend_from_slice(b"tenant");
        want.extend_from_slice(&[0, 0, 0, 6]);
        want.extend_from_slice(b"public");
        assert_eq!(aad, want);
        // A label and a context value cannot be shifted into each other.
        assert_ne!(super::aad("ka", &Context::new()), super::aad("k", &ctx));
    }

    #[test]
    fn garbage_is_a_clean_error() {
        for raw in [
            &b""[..],
            &[0x01],
            &[0x02, 1, b'k'],
            &[0x01, 0],
            &[0x01, 5, b'a', b'b'],
            &[0x01, 1, b'k', 0, 0, 0],
        ] {
            assert!(parse(raw).is_err(), "{raw:?}");
        }
        let mut bad_utf8 = vec![0x01, 1, 0xff];
        bad_utf8.extend_from_slice(&[0; IV_LEN + TAG_LEN]);
        assert_eq!(parse(&bad_utf8).unwrap_err().kind(), ErrorKind::Kms);
        assert!(matches!(
            parse(&[0x01, 1, b'k']).unwrap_err(),
            Error::BlobTooShort { len: 3 }
        ));
        assert_eq!(
            decode("not base64!").unwrap_err().kind(),
            ErrorKind::InvalidBase64
        );
        let huge = "A".repeat(MAX_BLOB_TEXT_LEN + 4);
        assert_eq!(
            decode(&huge).unwrap_err().kind(),
            ErrorKind::ContentTooLarge
        );
    }

    #[test]
    fn labels_are_bounded() {
        assert!(check_label("").is_err());
        assert!(check_label(&"x".repeat(255)).is_ok());
        assert!(check_label(&"x".repeat(256)).is_err());
        assert!(encode(&"x".repeat(256), &[0; IV_LEN], &[0; TAG_LEN]).is_err());
        let longest = "x".repeat(255);
        let text = encode(&longest, &[0; IV_LEN], &[0; TAG_LEN]).unwrap();
        assert_eq!(parse(&decode(&text).unwrap()).unwrap().label, longest);
    }
}
