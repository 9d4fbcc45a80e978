//! Token secret keys (SPEC 3.1): decoded exactly as the Nacos server decodes them, the HMAC
//! algorithm chosen by length, publicly known keys refused unless the caller opts in.

use crate::rng::RandomSource;
use crate::{CryptoRng, Error, Result, SecretBytes, SecretString, b64};
use alloc::vec::Vec;
use core::fmt;
use hmac::{Hmac, KeyInit, Mac};
use sha2::block_api::compress256;
use sha2::{Digest, Sha256, Sha384, Sha512};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

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

/// A MAC keyed once; cloned for every operation so the key schedule is never recomputed.
#[derive(Clone)]
enum KeyedMac {
    Hs256(Hs256),
    Hs384(Hmac<Sha384>),
    Hs512(Hmac<Sha512>),
}

/// A MAC value on the stack, of its algorithm's exact length.
pub(crate) enum MacOutput {
    Hs256([u8; 32]),
    Hs384([u8; 48]),
    Hs512([u8; 64]),
}

impl MacOutput {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Hs256(b) => b,
            Self::Hs384(b) => b,
            Self::Hs512(b) => b,
        }
    }
}

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
        let bytes = decode_lenient(text)?;
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

impl KeyedMac {
    /// HMAC of `algorithm` keyed with `key` (any length: the length policy is the caller's).
    fn new(algorithm: Algorithm, key: &[u8]) -> Result<Self> {
        let invalid = |_| Error::InvalidArgument {
            reason: "HMAC key rejected",
        };
        Ok(match algorithm {
            Algorithm::Hs256 => Self::Hs256(Hs256::new(key)),
            Algorithm::Hs384 => {
                Self::Hs384(<Hmac<Sha384> as KeyInit>::new_from_slice(key).map_err(invalid)?)
            }
            Algorithm::Hs512 => {
                Self::Hs512(<Hmac<Sha512> as KeyInit>::new_from_slice(key).map_err(invalid)?)
            }
        })
    }

    /// The MAC of the concatenation of `parts`, from a clone of the keyed state.
    fn mac(&self, parts: &[&[u8]]) -> MacOutput {
        fn run<M: Mac + Clone>(m: &M, parts: &[&[u8]]) -> hmac::digest::Output<M> {
            let mut m = m.clone();
            for p in parts {
                m.update(p);
            }
            m.finalize().into_bytes()
        }
        match self {
            Self::Hs256(m) => MacOutput::Hs256(m.mac(parts)),
            Self::Hs384(m) => MacOutput::Hs384(run(m, parts).into()),
            Self::Hs512(m) => MacOutput::Hs512(run(m, parts).into()),
        }
    }
}

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];
const SHA256_BLOCK: usize = 64;

/// HMAC-SHA-256 (RFC 2104) keyed once: the SHA-256 states after the key's ipad and opad blocks,
/// wiped on drop. A MAC runs the SHA-256 compression function (`sha2`'s, with SHA-NI where the
/// CPU has it) straight over the input's whole blocks and copies only the last partial block
/// (a token's whole signing input, up to 119 bytes, goes to one compression call with its
/// padding): no hasher object is cloned or moved per call, which on a token-sized input is a
/// large part of what a generic `Hmac<Sha256>` costs beyond the compressions themselves.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct Hs256 {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl Hs256 {
    fn new(key: &[u8]) -> Self {
        let mut block = Zeroizing::new([0u8; SHA256_BLOCK]);
        if key.len() > SHA256_BLOCK {
            let digest = Zeroizing::new(<[u8; 32]>::from(Sha256::digest(key)));
            block[..32].copy_from_slice(&*digest);
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let state_after = |pad: u8| {
            let mut padded = Zeroizing::new([0u8; SHA256_BLOCK]);
            for (p, k) in padded.iter_mut().zip(block.iter()) {
                *p = k ^ pad;
            }
            let mut state = SHA256_IV;
            compress256(&mut state, core::slice::from_ref(&*padded));
            state
        };
        Self {
            inner: state_after(0x36),
            outer: state_after(0x5c),
        }
    }

    /// The MAC of the concatenation of `parts`.
    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        if let [data] = parts
            && data.len() + 9 <= 2 * SHA256_BLOCK
        {
            // A token's signing input: its blocks and padding in one compression call.
            let mut tail = [[0u8; SHA256_BLOCK]; 2];
            tail.as_flattened_mut()[..data.len()].copy_from_slice(data);
            let total = SHA256_BLOCK as u64 + u64::try_from(data.len()).unwrap_or(u64::MAX);
            let inner_hash = sha256_finish(self.inner, &mut tail, data.len(), total);
            return self.outer_hash(&inner_hash);
        }
        let mut state = self.inner;
        let mut tail = [[0u8; SHA256_BLOCK]; 2];
        let mut used = 0;
        let mut total = SHA256_BLOCK as u64;
        for part in parts {
            total = total.saturating_add(u64::try_from(part.len()).unwrap_or(u64::MAX));
            let mut data = *part;
            if used > 0 {
                let take = (SHA256_BLOCK - used).min(data.len());
                tail[0][used..used + take].copy_from_slice(&data[..take]);
                used += take;
                data = &data[take..];
                if used < SHA256_BLOCK {
                    continue;
                }
                compress256(&mut state, &tail[..1]);
            }
            let mut blocks = data.chunks_exact(SHA256_BLOCK);
            for block in &mut blocks {
                if let Ok(block) = <&[u8; SHA256_BLOCK]>::try_from(block) {
                    compress256(&mut state, core::slice::from_ref(block));
                }
            }
            let rest = blocks.remainder();
            tail[0][..rest.len()].copy_from_slice(rest);
            used = rest.len();
        }
        let inner_hash = sha256_finish(state, &mut tail, used, total);
        self.outer_hash(&inner_hash)
    }

    fn outer_hash(&self, inner_hash: &[u8; 32]) -> [u8; 32] {
        let mut tail = [[0u8; SHA256_BLOCK]; 2];
        tail[0][..32].copy_from_slice(inner_hash);
        sha256_finish(self.outer, &mut tail, 32, SHA256_BLOCK as u64 + 32)
    }
}

/// Pads the last `used` bytes in `tail` (at most 119: Merkle–Damgård, `total` bytes hashed in
/// all), compresses them and returns the digest.
fn sha256_finish(
    mut state: [u32; 8],
    tail: &mut [[u8; SHA256_BLOCK]; 2],
    used: usize,
    total: u64,
) -> [u8; 32] {
    let blocks = if used + 9 <= SHA256_BLOCK { 1 } else { 2 };
    let end = blocks * SHA256_BLOCK;
    let flat = tail.as_flattened_mut();
    flat[used] = 0x80;
    flat[used + 1..end - 8].fill(0);
    flat[end - 8..end].copy_from_slice(&total.wrapping_mul(8).to_be_bytes());
    compress256(&mut state, &tail[..blocks]);
    // Two big-endian words at a time, as 8-byte stores: readers load the MAC 8 bytes at a
    // time, and a load spanning two narrower stores waits for both to retire.
    let mut digest = [0u8; 32];
    for (d, pair) in digest.chunks_exact_mut(8).zip(state.chunks_exact(2)) {
        let w = u64::from(pair[0].swap_bytes()) | u64::from(pair[1].swap_bytes()) << 32;
        d.copy_from_slice(&w.to_le_bytes());
    }
    digest
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("algorithm", &format_args!("{}", self.algorithm.name()))
            .finish()
    }
}

/// The server's lookup table: alphabet characters to their value, `=` to 0, anything else -1.
#[allow(clippy::cast_possible_truncation)] // i < 64
const fn inverse_alphabet() -> [i8; 256] {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut table = [-1i8; 256];
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as i8;
        i += 1;
    }
    table[b'=' as usize] = 0;
    table
}

const IALPHABET: [i8; 256] = inverse_alphabet();

/// The server's decoder, step for step (Nacos `Base64Decode`, a MiGBase64 "decodeFast"): it
/// works on UTF-16 code units with Java `int` arithmetic. Where the Java code throws (an
/// illegal character, an index out of bounds, a negative length), this returns
/// [`Error::IllegalBase64Character`] with the byte offset of the offending character in `text`
/// (or the text's length when no character is to blame).
pub(crate) fn decode_lenient(text: &str) -> Result<SecretBytes> {
    if text.len() > MAX_SECRET_TEXT_LEN {
        return Err(Error::IllegalBase64Character {
            position: MAX_SECRET_TEXT_LEN,
        });
    }
    let units: Zeroizing<Vec<u16>> = Zeroizing::new(text.encode_utf16().collect());
    java_decode(&units).map_err(|unit_index| Error::IllegalBase64Character {
        position: byte_offset(text, unit_index),
    })
}

/// Byte offset in `text` of the UTF-16 code unit `unit_index` (or `text.len()` past the end).
fn byte_offset(text: &str, unit_index: usize) -> usize {
    let mut units = 0;
    for (offset, c) in text.char_indices() {
        if units >= unit_index {
            return offset;
        }
        units += c.len_utf16();
    }
    text.len()
}

/// The Java algorithm; `Err` carries the UTF-16 index where Java would throw.
fn java_decode(s: &[u16]) -> core::result::Result<SecretBytes, usize> {
    // Indices are i64 so that every Java int expression below is computed without overflow
    // (inputs are bounded by MAX_SECRET_TEXT_LEN).
    let s_len = i64::try_from(s.len()).map_err(|_| 0usize)?;
    let idx = |i: i64| usize::try_from(i).unwrap_or(0);
    if s_len == 0 {
        return Ok(SecretBytes::default());
    }
    let unit = |i: i64| -> core::result::Result<u16, usize> {
        usize::try_from(i)
            .ok()
            .and_then(|i| s.get(i).copied())
            .ok_or_else(|| usize::try_from(i.max(0)).unwrap_or(0).min(s.len()))
    };
    // The trimming loops index the 256-entry table directly: a unit above 255 is an
    // ArrayIndexOutOfBoundsException in Java.
    let table = |i: i64| -> core::result::Result<i32, usize> {
        let c = unit(i)?;
        IALPHABET
            .get(usize::from(c))
            .map(|&v| i32::from(v))
            .ok_or(idx(i))
    };
    // ctoi: units above 255 and characters outside the alphabet are illegal.
    let ctoi = |i: i64| -> core::result::Result<i32, usize> {
        let v = table(i)?;
        if v < 0 { Err(idx(i)) } else { Ok(v) }
    };

    let mut s_ix: i64 = 0;
    let mut e_ix: i64 = s_len - 1;
    while s_ix < e_ix && table(s_ix)? < 0 {
        s_ix += 1;
    }
    while e_ix > 0 && table(e_ix)? < 0 {
        e_ix -= 1;
    }
    let pad: i64 = if unit(e_ix)? == u16::from(b'=') {
        if unit(e_ix - 1)? == u16::from(b'=') {
            2
        } else {
            1
        }
    } else {
        0
    };
    let c_cnt = e_ix - s_ix + 1;
    let sep_cnt = if s_len > 76 {
        (if unit(76)? == u16::from(b'\r') {
            c_cnt / 78
        } else {
            0
        }) << 1
    } else {
        0
    };
    let len = (((c_cnt - sep_cnt) * 6) >> 3) - pad;
    let Ok(len) = usize::try_from(len) else {
        // NegativeArraySizeException
        return Err(s.len());
    };
    let mut out = SecretBytes::from(alloc::vec![0u8; len]);
    let d_arr = out.as_mut_slice();
    let mut d = 0usize;
    let e_len = (len / 3) * 3;
    let mut cc = 0;
    while d < e_len {
        let i = ctoi(s_ix)? << 18 | ctoi(s_ix + 1)? << 12 | ctoi(s_ix + 2)? << 6 | ctoi(s_ix + 3)?;
        s_ix += 4;
        let [_, b0, b1, b2] = i.to_be_bytes();
        d_arr[d] = b0;
        d_arr[d + 1] = b1;
        d_arr[d + 2] = b2;
        d += 3;
        if sep_cnt > 0 {
            cc += 1;
            if cc == 19 {
                s_ix += 2;
                cc = 0;
            }
        }
    }
    if d < len {
        let mut i: i32 = 0;
        let mut j: i32 = 0;
        while s_ix <= e_ix - pad {
            // Java masks shift distances to five bits, as wrapping_shl does.
            i |= ctoi(s_ix)?.wrapping_shl((18 - j * 6) as u32);
            s_ix += 1;
            j = j.wrapping_add(1);
        }
        let mut r: i32 = 16;
        while d < len {
            d_arr[d] = i.wrapping_shr(r.unsigned_abs()).to_le_bytes()[0];
            d += 1;
            r -= 8;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Result<Vec<u8>> {
        decode_lenient(s).map(|b| b.as_bytes().to_vec())
    }

    #[test]
    fn lenient_decoding_matches_the_server() {
        assert_eq!(dec("").unwrap(), b"");
        assert_eq!(dec("QQ").unwrap(), b"A");
        assert_eq!(dec("QQ==").unwrap(), b"A");
        assert_eq!(dec("  QUJD\n").unwrap(), b"ABC");
        // '=' inside is read as 'A' (zero bits) by the server's table
        assert_eq!(dec("QU=D").unwrap(), dec("QUAD").unwrap());
        // leftover bits dropped: "QR" decodes like "QQ"
        assert_eq!(dec("QR").unwrap(), b"A");
        // Latin-1 characters at the ends are trimmed, others refused
        assert_eq!(dec("\u{a0}QUJD\u{e9}").unwrap(), b"ABC");
        assert_eq!(
            dec("\u{2028}QUJD").unwrap_err(),
            Error::IllegalBase64Character { position: 0 }
        );
        assert_eq!(
            dec("QU JD").unwrap_err(),
            Error::IllegalBase64Character { position: 2 }
        );
        assert_eq!(
            dec("QUéJD").unwrap_err(),
            Error::IllegalBase64Character { position: 2 }
        );
        assert!(dec("=").is_err());
        assert!(dec("   ").is_err());
        assert_eq!(dec("A").unwrap(), b"");
    }

    #[test]
    fn mime_lines_are_read() {
        let bytes: Vec<u8> = (0u8..=200).collect();
        let plain = b64::encode_std(&bytes);
        let mut mime = alloc::string::String::new();
        for (n, chunk) in plain.as_bytes().chunks(76).enumerate() {
            if n > 0 {
                mime.push_str("\r\n");
            }
            mime.push_str(core::str::from_utf8(chunk).unwrap());
        }
        assert_eq!(dec(&mime).unwrap(), bytes);
        assert_eq!(dec(&plain).unwrap(), bytes);
    }
}

#[cfg(test)]
mod wycheproof {
    use super::*;
    use crate::test_util::hex;

    /// The block-level HMAC-SHA-256 equals the `hmac` crate's for every message length from 0
    /// to 199 bytes (across the one-call and the streaming paths), split into two parts at
    /// several points, for short, block-sized and long keys.
    #[test]
    #[cfg_attr(miri, ignore = "thousands of MACs: too slow interpreted")]
    fn hs256_matches_the_hmac_crate() {
        let msg: Vec<u8> = (0..200u8).map(|i| i.wrapping_mul(31)).collect();
        for key_len in [0u8, 1, 32, 47, 63, 64, 65, 100] {
            let key: Vec<u8> = (0..key_len).map(|i| i ^ 0xa5).collect();
            let ours = Hs256::new(&key);
            let theirs = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
            for len in 0..msg.len() {
                let m = &msg[..len];
                let expected = theirs.clone().chain_update(m).finalize().into_bytes();
                for split in [0, len / 3, len / 2, len] {
                    let (a, b) = m.split_at(split);
                    assert_eq!(
                        ours.mac(&[a, b])[..],
                        expected[..],
                        "key {key_len} len {len} split {split}"
                    );
                }
            }
        }
    }

    /// Wycheproof HMAC-SHA256/384/512 through the keyed state exactly as tokens use it (keyed
    /// once, cloned per MAC, fed in parts). Truncated-tag groups compare the prefix.
    #[test]
    #[cfg_attr(miri, ignore = "hundreds of vectors: too slow interpreted")]
    fn hmac() {
        for (algorithm, doc) in [
            (
                Algorithm::Hs256,
                include_str!("../../tests/wycheproof/hmac_sha256_test.json"),
            ),
            (
                Algorithm::Hs384,
                include_str!("../../tests/wycheproof/hmac_sha384_test.json"),
            ),
            (
                Algorithm::Hs512,
                include_str!("../../tests/wycheproof/hmac_sha512_test.json"),
            ),
        ] {
            let doc: serde_json::Value = serde_json::from_str(doc).unwrap();
            let (mut valid, mut invalid) = (0, 0);
            for group in doc["testGroups"].as_array().unwrap() {
                for case in group["tests"].as_array().unwrap() {
                    let (key, msg, tag) = (
                        hex(case["key"].as_str().unwrap()),
                        hex(case["msg"].as_str().unwrap()),
                        hex(case["tag"].as_str().unwrap()),
                    );
                    let mac = KeyedMac::new(algorithm, &key).unwrap();
                    let (head, tail) = msg.split_at(msg.len() / 2);
                    let out = mac.mac(&[head, tail]);
                    assert_eq!(out.as_bytes().len(), algorithm.signature_len());
                    let matches = out.as_bytes().starts_with(&tag) && !tag.is_empty();
                    let id = case["tcId"].as_u64().unwrap();
                    match case["result"].as_str().unwrap() {
                        "valid" => {
                            assert!(matches, "{} tcId {id}", algorithm.name());
                            valid += 1;
                        }
                        "invalid" => {
                            assert!(!matches, "{} tcId {id}", algorithm.name());
                            invalid += 1;
                        }
                        other => panic!("tcId {id}: {other}"),
                    }
                }
            }
            assert!(
                valid > 50 && invalid > 50,
                "{valid} valid, {invalid} invalid"
            );
        }
    }
}
