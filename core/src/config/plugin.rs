//! The Nacos server's own encryption plugin (SPEC 6): data IDs `cipher-aes-…` (plugin `aes`,
//! `AesEncryptionPluginService` in nacos-group/nacos-plugin) and `cipher-doubleAes-…`
//! (`ServerAesEncryptionPluginService`).
//!
//! The plugin's secret key is text: base64(lower-case hex(16 random bytes)). It is stored as
//! the config's `encryptedDataKey` in the clear (`aes`), or wrapped once more with the
//! server-wide secret of the system property `nacos.encrypt` (`doubleAes`). The content is
//! hex(AES-CBC/PKCS#5(key = the hex-decoded bytes, IV = the first 16 characters of the hex
//! text, plaintext)). The IV is therefore fixed per key: the format has neither integrity nor
//! semantic security, which is why configs should move off it (see `migrate`).
//!
//! ```
//! use nacoscrypt_core::config::plugin;
//!
//! // base64 of the hex text "000102030405060708090a0b0c0d0e0f"
//! let key = "MDAwMTAyMDMwNDA1MDYwNzA4MDkwYTBiMGMwZDBlMGY=";
//! let content = plugin::encrypt(key, "password=s3cret")?;
//! assert!(content.bytes().all(|b| b.is_ascii_hexdigit()));
//! assert_eq!(plugin::decrypt(key, &content)?.as_str(), "password=s3cret");
//! # Ok::<(), nacoscrypt_core::Error>(())
//! ```

use crate::{Error, Result, SecretBytes, SecretString, b64};
use aes::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use aes::{Aes128, Aes192, Aes256};
use alloc::string::String;
use alloc::vec::Vec;

/// The data ID prefix of the plugin `aes`.
pub const AES_PREFIX: &str = "cipher-aes-";
/// The data ID prefix of the plugin `doubleAes`.
pub const DOUBLE_AES_PREFIX: &str = "cipher-doubleAes-";
/// Length of a plugin secret key made by the plugin: base64 of 32 hex characters.
pub const SECRET_KEY_TEXT_LEN: usize = 44;
/// Longest plugin content read: hex of a maximal envelope plaintext plus a padding block.
pub const MAX_CONTENT_LEN: usize = 2 * (crate::config::MAX_ENVELOPE_PLAINTEXT_LEN + 16);

const BLOCK: usize = 16;

/// Which server plugin a data ID names, if any.
///
/// ```
/// use nacoscrypt_core::config::plugin::{self, Plugin};
/// assert_eq!(plugin::plugin_of("cipher-aes-db.yaml"), Some(Plugin::Aes));
/// assert_eq!(plugin::plugin_of("cipher-doubleAes-db.yaml"), Some(Plugin::DoubleAes));
/// assert_eq!(plugin::plugin_of("cipher-kms-aes-256-db.yaml"), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Plugin {
    /// `cipher-aes-`: the secret key is the stored `encryptedDataKey`.
    Aes,
    /// `cipher-doubleAes-`: the stored `encryptedDataKey` is the secret key encrypted with the
    /// server-wide secret (`-Dnacos.encrypt`).
    DoubleAes,
}

impl Plugin {
    /// The plugin's algorithm name: `aes` or `doubleAes`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Aes => "aes",
            Self::DoubleAes => "doubleAes",
        }
    }
}

/// The server plugin that `data_id` names (by prefix, as the server's handler does).
pub fn plugin_of(data_id: &str) -> Option<Plugin> {
    if data_id.starts_with(AES_PREFIX) {
        Some(Plugin::Aes)
    } else if data_id.starts_with(DOUBLE_AES_PREFIX) {
        Some(Plugin::DoubleAes)
    } else {
        None
    }
}

/// `true` if `content` has the shape of plugin content: non-empty lower- or upper-case hex
/// whose length is a whole number of AES blocks.
pub fn looks_like_content(content: &str) -> bool {
    !content.is_empty()
        && content.len().is_multiple_of(2 * BLOCK)
        && content.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Decrypts plugin `content` with the plugin secret key text `secret_key` (the `aes` plugin's
/// stored `encryptedDataKey`). Errors: [`Error::InvalidBase64`] or
/// [`Error::InvalidArgument`] for a malformed key or content, [`Error::NotWholeBlocks`],
/// [`Error::BadPadding`] (the wrong key, usually), [`Error::InvalidUtf8`].
pub fn decrypt(secret_key: &str, content: &str) -> Result<SecretString> {
    let key = PluginKey::parse(secret_key)?;
    if content.len() > MAX_CONTENT_LEN {
        return Err(Error::StoredContentTooLarge {
            size: content.len(),
            limit: MAX_CONTENT_LEN,
        });
    }
    let raw = hex_decode(content.as_bytes()).ok_or(Error::InvalidArgument {
        reason: "server plugin content must be hex",
    })?;
    if raw.is_empty() || raw.len() % BLOCK != 0 {
        return Err(Error::NotWholeBlocks { len: raw.len() });
    }
    let mut buf = SecretBytes::from(raw);
    key.cbc_decrypt(buf.as_mut_slice());
    let len = unpad(buf.as_bytes()).ok_or(Error::BadPadding)?;
    buf.truncate(len);
    buf.into_secret_string()
}

/// Encrypts `plaintext` as the plugin does with the secret key text `secret_key`: lower-case
/// hex of AES-CBC/PKCS#5. (For tests and for moving configs back; writing new plugin configs is
/// not recommended.)
pub fn encrypt(secret_key: &str, plaintext: &str) -> Result<String> {
    let key = PluginKey::parse(secret_key)?;
    let pad = BLOCK - plaintext.len() % BLOCK;
    // Capacity reserved up front: the plaintext is never left behind by a reallocation.
    let mut raw = Vec::with_capacity(plaintext.len() + pad);
    raw.extend_from_slice(plaintext.as_bytes());
    // `pad` is 1..=16.
    raw.resize(plaintext.len() + pad, u8::try_from(pad).unwrap_or(16));
    let mut buf = SecretBytes::from(raw);
    key.cbc_encrypt(buf.as_mut_slice());
    Ok(hex_encode(buf.as_bytes()))
}

/// The `doubleAes` plugin's secret key: the stored `encryptedDataKey` decrypted with the
/// server-wide secret `server_secret` (the server's `-Dnacos.encrypt`, itself a plugin secret
/// key text).
pub fn unwrap_secret_key(server_secret: &str, encrypted_data_key: &str) -> Result<SecretString> {
    decrypt(server_secret, encrypted_data_key)
}

/// A parsed plugin secret key: the AES key schedule and the IV (both wiped on drop).
struct PluginKey {
    cipher: Cipher,
    iv: [u8; BLOCK],
}

/// The key schedule by key size (the `aes` crate's `zeroize` feature wipes it on drop).
enum Cipher {
    Aes128(Aes128),
    Aes192(Aes192),
    Aes256(Aes256),
}

impl Drop for PluginKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.iv);
    }
}

impl PluginKey {
    fn parse(secret_key: &str) -> Result<Self> {
        if secret_key.len() > 4 * SECRET_KEY_TEXT_LEN {
            return Err(Error::InvalidArgument {
                reason: "server plugin secret key is too long",
            });
        }
        let hex = SecretBytes::from(b64::decode_std(secret_key.trim(), "encryptedDataKey")?);
        let key =
            hex_decode(hex.as_bytes())
                .map(SecretBytes::from)
                .ok_or(Error::InvalidArgument {
                    reason: "server plugin secret key is not base64 of hex",
                })?;
        let wrong_length = || Error::DataKeyLength {
            expected: 16,
            len: key.len(),
        };
        let cipher = match key.len() {
            16 => Cipher::Aes128(Aes128::new_from_slice(&key).map_err(|_| wrong_length())?),
            24 => Cipher::Aes192(Aes192::new_from_slice(&key).map_err(|_| wrong_length())?),
            32 => Cipher::Aes256(Aes256::new_from_slice(&key).map_err(|_| wrong_length())?),
            _ => return Err(wrong_length()),
        };
        let mut iv = [0u8; BLOCK];
        iv.copy_from_slice(&hex.as_bytes()[..BLOCK]);
        Ok(Self { cipher, iv })
    }

    fn cbc_encrypt(&self, buf: &mut [u8]) {
        let mut prev = self.iv;
        let (blocks, _) = Array::slice_as_chunks_mut(buf);
        for block in blocks {
            for (b, p) in block.iter_mut().zip(prev) {
                *b ^= p;
            }
            match &self.cipher {
                Cipher::Aes128(c) => c.encrypt_block(block),
                Cipher::Aes192(c) => c.encrypt_block(block),
                Cipher::Aes256(c) => c.encrypt_block(block),
            }
            prev.copy_from_slice(block);
        }
        zeroize::Zeroize::zeroize(&mut prev);
    }

    fn cbc_decrypt(&self, buf: &mut [u8]) {
        let mut prev = self.iv;
        let mut saved = [0u8; BLOCK];
        let (blocks, _) = Array::slice_as_chunks_mut(buf);
        for block in blocks {
            saved.copy_from_slice(block);
            match &self.cipher {
                Cipher::Aes128(c) => c.decrypt_block(block),
                Cipher::Aes192(c) => c.decrypt_block(block),
                Cipher::Aes256(c) => c.decrypt_block(block),
            }
            for (b, p) in block.iter_mut().zip(prev) {
                *b ^= p;
            }
            prev = saved;
        }
        zeroize::Zeroize::zeroize(&mut prev);
        zeroize::Zeroize::zeroize(&mut saved);
    }
}

fn unpad(buf: &[u8]) -> Option<usize> {
    let last = *buf.last()?;
    let n = usize::from(last);
    if n == 0 || n > BLOCK || n > buf.len() {
        return None;
    }
    let ok = buf[buf.len() - n..]
        .iter()
        .fold(0u8, |acc, &b| acc | (b ^ last))
        == 0;
    ok.then(|| buf.len() - n)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes hex (either case); `None` for an odd length or a non-hex character.
pub(crate) fn hex_decode(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks_exact(2)
        .map(|pair| Some(hex_value(pair[0])? << 4 | hex_value(pair[1])?))
        .collect()
}

fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "MDAwMTAyMDMwNDA1MDYwNzA4MDkwYTBiMGMwZDBlMGY=";

    #[test]
    fn every_length_round_trips_and_wrong_keys_fail_cleanly() {
        let other = "ZmZlZWRkY2NiYmFhOTk4ODc3NjY1NTQ0MzMyMjExMDA=";
        for len in 1..70 {
            let text: String = (0..len)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect();
            let ct = encrypt(KEY, &text).unwrap();
            assert_eq!(ct.len() % 32, 0);
            assert_eq!(decrypt(KEY, &ct).unwrap().as_str(), text);
            // A wrong key is bad padding or, by chance, garbage: never a panic.
            let _ = decrypt(other, &ct);
        }
    }

    #[test]
    fn malformed_inputs_are_errors() {
        assert!(decrypt("not base64!", "00").is_err());
        assert!(decrypt(KEY, "zz").is_err());
        assert!(decrypt(KEY, "00").is_err());
        assert!(decrypt(KEY, "").is_err());
        // base64 of "nacos" (not hex)
        assert!(decrypt("bmFjb3M=", "00112233445566778899aabbccddeeff").is_err());
    }

    #[test]
    fn double_aes_unwraps_the_secret_key() {
        let server = "ZmZlZWRkY2NiYmFhOTk4ODc3NjY1NTQ0MzMyMjExMDA=";
        let wrapped = encrypt(server, KEY).unwrap();
        assert_eq!(unwrap_secret_key(server, &wrapped).unwrap().as_str(), KEY);
    }
}
