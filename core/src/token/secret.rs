//! Token secret keys (SPEC 3.1): decoded exactly as the Nacos server decodes them (with
//! [`b64`]'s Java decoder), the HMAC algorithm chosen by length (keyed in [`super::hmac`]),
//! publicly known keys refused unless the caller opts in.

use super::hmac::{KeyedMac, MacOutput};
use crate::rng::RandomSource;
use crate::{CryptoRng, Error, Result, SecretBytes, SecretString, b64};
use core::fmt;

/// The HMAC-SHA2 algorithm of a token, chosen by the length of the secret key.
///
/// ```
/// use nacoscrypt_core::token::Algorithm;
///
/// assert_eq!(Algorithm::Hs256.name(), "HS256");
/// assert_eq!(Algorithm::Hs256.header(), "eyJhbGciOiJIUzI1NiJ9");
/// assert_eq!(Algorithm::Hs512.signature_len(), 64);
/// assert_eq!(Algorithm::for_key_len(48), Some(Algorithm::Hs384));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// HMAC-SHA-256, for keys of 32 to 47 bytes.
    Hs256,
    /// HMAC-SHA-384, for keys of 48 to 63 bytes.
    Hs384,
    /// HMAC-SHA-512, for keys of 64 bytes and more.
    Hs512,
}

impl Algorithm {
    /// All three, in order of strength.
    pub const ALL: [Algorithm; 3] = [Self::Hs256, Self::Hs384, Self::Hs512];

    /// The JWT name: `HS256`, `HS384` or `HS512`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Hs384 => "HS384",
            Self::Hs512 => "HS512",
        }
    }

    /// The exact header part of a token signed with this algorithm: the base64url form of
    /// `{"alg":"HS256"}` (or 384/512), as the server writes it.
    pub const fn header(self) -> &'static str {
        match self {
            Self::Hs256 => "eyJhbGciOiJIUzI1NiJ9",
            Self::Hs384 => "eyJhbGciOiJIUzM4NCJ9",
            Self::Hs512 => "eyJhbGciOiJIUzUxMiJ9",
        }
    }

    /// The length of the MAC in bytes (32, 48 or 64).
    pub const fn signature_len(self) -> usize {
        match self {
            Self::Hs256 => 32,
            Self::Hs384 => 48,
            Self::Hs512 => 64,
        }
    }

    /// The algorithm the server picks for a key of `len` bytes; `None` under 32 bytes.
    pub const fn for_key_len(len: usize) -> Option<Self> {
        match len {
            0..=31 => None,
            32..=47 => Some(Self::Hs256),
            48..=63 => Some(Self::Hs384),
            _ => Some(Self::Hs512),
        }
    }

    /// The algorithm whose [`header`](Self::header) is exactly `header`.
    pub fn from_header(header: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.header() == header)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses an algorithm's JWT name: `HS256`, `HS384` or `HS512`, upper case as in a token
/// header (the inverse of [`Algorithm::name`] and `Display`). No binding parses one today; the
/// algorithm normally follows from the key's length ([`Algorithm::for_key_len`]).
///
/// ```
/// use nacoscrypt_core::token::Algorithm;
/// use nacoscrypt_core::ErrorKind;
///
/// assert_eq!("HS384".parse::<Algorithm>()?, Algorithm::Hs384);
/// let err = "hs256".parse::<Algorithm>().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidArgument);
/// assert_eq!(
///     err.to_string(),
///     "invalid argument: algorithm must be \"HS256\", \"HS384\" or \"HS512\""
/// );
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
impl core::str::FromStr for Algorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or(Error::InvalidArgument {
                reason: "algorithm must be \"HS256\", \"HS384\" or \"HS512\"",
            })
    }
}

/// Decoded bytes of the two publicly known keys of SPEC 3.1 (both printed in the Nacos docs).
const PUBLICLY_KNOWN: [&[u8]; 2] = [
    // VGhpc0lzTXlDdXN0b21TZWNyZXRLZXkwMTIzNDU2Nzg=
    b"ThisIsMyCustomSecretKey012345678",
    // SecretKey012345678901234567890123456789012345678901234567890123456789
    &[
        0x49, 0xe7, 0x2b, 0x7a, 0xd2, 0x9e, 0xcb, 0x4d, 0x76, 0xdf, 0x8e, 0x7a, 0xef, 0xcf, 0x74,
        0xd7, 0x6d, 0xf8, 0xe7, 0xae, 0xfc, 0xf7, 0x4d, 0x76, 0xdf, 0x8e, 0x7a, 0xef, 0xcf, 0x74,
        0xd7, 0x6d, 0xf8, 0xe7, 0xae, 0xfc, 0xf7, 0x4d, 0x76, 0xdf, 0x8e, 0x7a, 0xef, 0xcf, 0x74,
        0xd7, 0x6d, 0xf8, 0xe7, 0xae, 0xfc,
    ],
];

/// Longest secret key text accepted, in bytes (a denial-of-service bound far above any real key).
pub const MAX_SECRET_TEXT_LEN: usize = 64 * 1024;

/// A token secret key: the decoded bytes (wiped on drop) and the HMAC keyed with them.
///
/// `Debug` prints only the algorithm. Build one from the server setting with
/// [`from_base64`](Self::from_base64), which refuses the publicly known keys of the Nacos
/// documentation; [`from_base64_allowing_publicly_known`](Self::from_base64_allowing_publicly_known)
/// accepts them (for tests and migrations only).
///
/// # Example
/// ```
/// use nacoscrypt_core::token::{Algorithm, SecretKey};
/// use nacoscrypt_core::ErrorKind;
///
/// let key = SecretKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v")?;
/// assert_eq!(key.algorithm(), Algorithm::Hs384);
/// assert_eq!(format!("{key:?}"), "SecretKey { algorithm: HS384 }");
///
/// // The key printed in the Nacos documentation is refused unless explicitly allowed.
/// let doc_key = "VGhpc0lzTXlDdXN0b21TZWNyZXRLZXkwMTIzNDU2Nzg=";
/// assert_eq!(SecretKey::from_base64(doc_key).unwrap_err().kind(), ErrorKind::PubliclyKnownKey);
/// assert!(SecretKey::from_base64_allowing_publicly_known(doc_key).is_ok());
/// # Ok::<(), nacoscrypt_core::Error>(())
/// ```
#[derive(Clone)]
pub struct SecretKey {
    bytes: SecretBytes,
    algorithm: Algorithm,
    mac: KeyedMac,
}

impl SecretKey {
    /// Decodes the server setting `nacos.core.auth.plugin.nacos.token.secret.key` exactly as the
    /// server does and refuses the publicly known keys.
    ///
    /// # Errors
    /// [`Error::IllegalBase64Character`], [`Error::SecretKeyTooShort`] (under 256 bits),
    /// [`Error::PubliclyKnownKey`].
    pub fn from_base64(text: &str) -> Result<Self> {
        Self::decode(text, false)
    }

    /// Like [`from_base64`](Self::from_base64) but accepts the publicly known keys of the Nacos
    /// documentation: for tests and migrations only, never in production.
    ///
    /// # Errors
    /// [`Error::IllegalBase64Character`], [`Error::SecretKeyTooShort`].
    pub fn from_base64_allowing_publicly_known(text: &str) -> Result<Self> {
        Self::decode(text, true)
    }

    fn decode(text: &str, allow_publicly_known: bool) -> Result<Self> {
        if text.len() > MAX_SECRET_TEXT_LEN {
            return Err(Error::IllegalBase64Character {
                position: MAX_SECRET_TEXT_LEN,
            });
        }
        let bytes = b64::decode_java_lenient(text)?;
        Self::build(bytes, allow_publicly_known)
    }

    /// A key from raw bytes (at least 32), refusing the publicly known keys.
    ///
    /// ```
    /// use nacoscrypt_core::token::{Algorithm, SecretKey};
    ///
    /// let key = SecretKey::from_bytes(&[7u8; 64])?;
    /// assert_eq!(key.algorithm(), Algorithm::Hs512);
    /// assert!(SecretKey::from_bytes(&[7u8; 31]).is_err());
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::SecretKeyTooShort`], [`Error::PubliclyKnownKey`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::build(SecretBytes::copy_from(bytes), false)
    }

    /// Like [`from_bytes`](Self::from_bytes) but accepts the publicly known keys (tests and
    /// migrations only).
    ///
    /// # Errors
    /// [`Error::SecretKeyTooShort`].
    pub fn from_bytes_allowing_publicly_known(bytes: &[u8]) -> Result<Self> {
        Self::build(SecretBytes::copy_from(bytes), true)
    }

    /// A new random 256-bit key (HS256) from the operating system's RNG.
    ///
    /// ```
    /// use nacoscrypt_core::token::{Algorithm, SecretKey};
    ///
    /// let key = SecretKey::generate()?;
    /// assert_eq!(key.algorithm(), Algorithm::Hs256);
    /// // The text to put into application.properties reads back to the same key.
    /// let again = SecretKey::from_base64(&key.to_base64())?;
    /// assert_eq!(again.to_base64(), key.to_base64());
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Random`] if the operating system's RNG fails.
    #[cfg(feature = "getrandom")]
    pub fn generate() -> Result<Self> {
        Self::generate_from(&mut RandomSource::Os)
    }

    /// A new random 256-bit key (HS256) from the caller's cryptographic RNG.
    ///
    /// # Errors
    /// None in practice (the signature matches [`generate`](Self::generate)).
    pub fn generate_with_rng(rng: &mut dyn CryptoRng) -> Result<Self> {
        Self::generate_from(&mut RandomSource::Caller(rng))
    }

    fn generate_from(rng: &mut RandomSource<'_>) -> Result<Self> {
        let mut bytes = SecretBytes::from(alloc::vec![0u8; 32]);
        rng.fill(bytes.as_mut_slice())?;
        Self::build(bytes, true)
    }

    fn build(bytes: SecretBytes, allow_publicly_known: bool) -> Result<Self> {
        let Some(algorithm) = Algorithm::for_key_len(bytes.len()) else {
            return Err(Error::SecretKeyTooShort {
                bits: bytes.len() * 8,
            });
        };
        if !allow_publicly_known && PUBLICLY_KNOWN.contains(&bytes.as_bytes()) {
            return Err(Error::PubliclyKnownKey);
        }
        let mac = KeyedMac::new(algorithm, &bytes)?;
        Ok(Self {
            bytes,
            algorithm,
            mac,
        })
    }

    /// The algorithm the key's length selects.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key length in bits.
    pub fn bits(&self) -> usize {
        self.bytes.len() * 8
    }

    /// The key as padded standard base64: the text for
    /// `nacos.core.auth.plugin.nacos.token.secret.key` in `application.properties`.
    pub fn to_base64(&self) -> SecretString {
        SecretString::from(b64::encode_std(&self.bytes))
    }

    /// The raw key bytes (handle with care).
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.as_bytes()
    }

    /// Signs a token for `subject` expiring at `exp` (Unix seconds): the exact bytes the Nacos
    /// server produces (SPEC 3.2). Most callers use [`TokenManager`](super::TokenManager).
    ///
    /// ```
    /// use nacoscrypt_core::token::SecretKey;
    ///
    /// let key = SecretKey::from_base64_allowing_publicly_known(
    ///     "VGhpc0lzTXlDdXN0b21TZWNyZXRLZXkwMTIzNDU2Nzg=",
    /// )?;
    /// assert_eq!(
    ///     key.sign("nacos", 1_700_000_000),
    ///     "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJuYWNvcyIsImV4cCI6MTcwMDAwMDAwMH0.\
    ///      dDekJ5JWHewJzbpBo_SiTvI6x6plFi4fjuKdVc49lOE"
    /// );
    /// # Ok::<(), nacoscrypt_core::Error>(())
    /// ```
    pub fn sign(&self, subject: &str, exp: i64) -> alloc::string::String {
        super::sign::sign(self, subject, exp)
    }

    /// Like [`sign`](Self::sign), but refuses a token that [`verify`](Self::verify) would
    /// refuse, with the same error: a subject holding a NUL character
    /// ([`Error::InvalidClaims`](crate::Error::InvalidClaims)), or one so long that the token
    /// exceeds [`MAX_TOKEN_LEN`](super::MAX_TOKEN_LEN)
    /// ([`Error::MalformedToken`](crate::Error::MalformedToken)) or its payload
    /// [`MAX_PAYLOAD_LEN`](super::MAX_PAYLOAD_LEN) ([`Error::InvalidClaims`](crate::Error::InvalidClaims)).
    ///
    /// # Errors
    /// As above.
    pub fn try_sign(&self, subject: &str, exp: i64) -> Result<alloc::string::String> {
        super::verify::check_subject(subject)?;
        let token = super::sign::sign(self, subject, exp);
        super::verify::check_signed(&token, self.algorithm())?;
        Ok(token)
    }

    /// Verifies `token` with this key alone (SPEC 3.3), valid while `exp + leeway >= now`.
    /// Most callers use [`TokenManager::verify`](super::TokenManager::verify).
    ///
    /// # Errors
    /// The five token kinds: [`Error::MalformedToken`], [`Error::UnsupportedAlgorithm`],
    /// [`Error::InvalidSignature`], [`Error::InvalidClaims`], [`Error::TokenExpired`].
    pub fn verify(&self, token: &str, now: i64, leeway: u64) -> Result<super::Claims> {
        super::verify::verify(core::slice::from_ref(self), token, now, leeway)
    }

    /// The MAC of `data`, computed from the precomputed keyed state.
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> MacOutput {
        self.mac.mac(parts)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("algorithm", &format_args!("{}", self.algorithm.name()))
            .finish()
    }
}
