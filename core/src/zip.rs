//! A small ZIP reader and writer for the Nacos console's export archives (SPEC 6): stored and
//! DEFLATE entries, UTF-8 names, data descriptors (Java's `ZipOutputStream` writes zero sizes in
//! the local header, so sizes come from the central directory). No ZIP64, no encryption, no
//! multi-disk archives: each is refused with a clear error. Every size is bounded before the
//! work it would cause.

use crate::Error;
use alloc::string::String;
use alloc::vec::Vec;

/// The largest archive read, in bytes (1 GiB).
pub const MAX_ZIP_LEN: usize = 1 << 30;
/// The most entries an archive may hold (the classic ZIP end record's count; ZIP64 is refused).
pub const MAX_ZIP_ENTRIES: usize = 65_535;
/// The largest entry read, inflated (64 MiB: a `.metadata.yml` of 65,535 configs fits).
pub const MAX_ZIP_ENTRY_LEN: usize = 64 << 20;
/// The most bytes all entries of one archive inflate to (1 GiB).
pub const MAX_ZIP_TOTAL_LEN: usize = 1 << 30;

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const END_SIG: u32 = 0x0605_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const END_LEN: usize = 22;
const CENTRAL_LEN: usize = 46;
const LOCAL_LEN: usize = 30;
/// General purpose flag: names and comments are UTF-8.
const FLAG_UTF8: u16 = 1 << 11;
const FLAG_ENCRYPTED: u16 = 1;
const STORED: u16 = 0;
const DEFLATED: u16 = 8;

fn bad(reason: &'static str) -> Error {
    Error::InvalidArchive { reason }
}

/// One file of an archive: its name and inflated bytes.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ZipFile {
    pub(crate) name: String,
    pub(crate) data: Vec<u8>,
}

impl core::fmt::Debug for ZipFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ZipFile")
            .field("name", &self.name)
            .field("len", &self.data.len())
            .finish()
    }
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0u32;
    while i < 256 {
        let mut c = i;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i as usize] = c;
        i += 1;
    }
    table
};

/// CRC-32 (IEEE 802.3, as ZIP and `zlib.crc32` compute it).
pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c = CRC_TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
    }
    !c
}

fn u16_at(b: &[u8], at: usize) -> Result<u16, Error> {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| bad("truncated archive"))
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, Error> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| bad("truncated archive"))
}

fn usize_of(v: u32) -> usize {
    // u32 fits usize on every target the crate supports (32 and 64 bits).
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Reads every file entry of `zip` (directory entries, names ending in `/`, are skipped), in
/// central-directory order.
pub(crate) fn read(zip: &[u8]) -> Result<Vec<ZipFile>, Error> {
    if zip.len() > MAX_ZIP_LEN {
        return Err(Error::ContentTooLarge {
            size: zip.len(),
            limit: MAX_ZIP_LEN,
        });
    }
    if zip.len() < END_LEN {
        return Err(bad("not a ZIP archive (too short)"));
    }
    // The end record is the last 22 bytes plus a comment of at most 65,535 bytes.
    let lowest = zip.len().saturating_sub(END_LEN + 0xFFFF);
    let end = (lowest..=zip.len() - END_LEN)
        .rev()
        .find(|&at| {
            u32_at(zip, at).ok() == Some(END_SIG)
                && u16_at(zip, at + 20).is_ok_and(|c| at + END_LEN + usize::from(c) == zip.len())
        })
        .ok_or_else(|| bad("not a ZIP archive (no end of central directory record)"))?;
    if end >= 20 && u32_at(zip, end - 20)? == ZIP64_LOCATOR_SIG {
        return Err(bad(
            "ZIP64 archives are not supported (more than 65,535 entries or 4 GiB)",
        ));
    }
    if u16_at(zip, end + 4)? != 0 || u16_at(zip, end + 6)? != 0 {
        return Err(bad("multi-disk archives are not supported"));
    }
    let count = usize::from(u16_at(zip, end + 10)?);
    if count != usize::from(u16_at(zip, end + 8)?) {
        return Err(bad("multi-disk archives are not supported"));
    }
    let cd_len = usize_of(u32_at(zip, end + 12)?);
    let cd_at = usize_of(u32_at(zip, end + 16)?);
    if cd_at.checked_add(cd_len).is_none_or(|e| e > end) {
        return Err(bad("the central directory lies outside the archive"));
    }
    if count.saturating_mul(CENTRAL_LEN) > cd_len {
        return Err(bad("the central directory is shorter than its entry count"));
    }
    let mut files = Vec::with_capacity(count);
    let mut at = cd_at;
    let mut total = 0usize;
    for _ in 0..count {
        if u32_at(zip, at)? != CENTRAL_SIG {
            return Err(bad("a central directory entry has a bad signature"));
        }
        let flags = u16_at(zip, at + 8)?;
        let method = u16_at(zip, at + 10)?;
        let crc = u32_at(zip, at + 16)?;
        let packed = usize_of(u32_at(zip, at + 20)?);
        let size = usize_of(u32_at(zip, at + 24)?);
        let name_len = usize::from(u16_at(zip, at + 28)?);
        let extra_len = usize::from(u16_at(zip, at + 30)?);
        let comment_len = usize::from(u16_at(zip, at + 32)?);
        let local_at = usize_of(u32_at(zip, at + 42)?);
        let name = zip
            .get(at + CENTRAL_LEN..at + CENTRAL_LEN + name_len)
            .ok_or_else(|| bad("truncated archive"))?;
        at += CENTRAL_LEN + name_len + extra_len + comment_len;
        if at > cd_at + cd_len {
            return Err(bad("a central directory entry runs past the directory"));
        }
        let name = core::str::from_utf8(name)
            .map_err(|_| bad("an entry name is not UTF-8"))?
            .into();
        if flags & FLAG_ENCRYPTED != 0 {
            return Err(bad("encrypted ZIP entries are not supported"));
        }
        if packed == 0xFFFF_FFFF || size == 0xFFFF_FFFF || local_at == 0xFFFF_FFFF {
            return Err(bad(
                "ZIP64 archives are not supported (more than 65,535 entries or 4 GiB)",
            ));
        }
        if size > MAX_ZIP_ENTRY_LEN {
            return Err(Error::ContentTooLarge {
                size,
                limit: MAX_ZIP_ENTRY_LEN,
            });
        }
        total = total.saturating_add(size);
        if total > MAX_ZIP_TOTAL_LEN {
            return Err(Error::ContentTooLarge {
                size: total,
                limit: MAX_ZIP_TOTAL_LEN,
            });
        }
        let name: String = name;
        if name.ends_with('/') {
            continue;
        }
        if u32_at(zip, local_at)? != LOCAL_SIG {
            return Err(bad("a local file header has a bad signature"));
        }
        let data_at = local_at
            + LOCAL_LEN
            + usize::from(u16_at(zip, local_at + 26)?)
            + usize::from(u16_at(zip, local_at + 28)?);
        let raw = data_at
            .checked_add(packed)
            .and_then(|e| zip.get(data_at..e))
            .ok_or_else(|| bad("an entry's data runs past the archive"))?;
        let data = match method {
            STORED => raw.to_vec(),
            DEFLATED => miniz_oxide::inflate::decompress_to_vec_with_limit(raw, size)
                .map_err(|_| bad("an entry does not inflate (corrupt DEFLATE data, or larger than its stated size)"))?,
            _ => return Err(bad("unsupported compression method (only stored and DEFLATE)")),
        };
        if data.len() != size {
            return Err(bad("an entry's size differs from the central directory"));
        }
        if crc32(&data) != crc {
            return Err(bad("an entry's CRC-32 does not match (corrupt archive)"));
        }
        files.push(ZipFile { name, data });
    }
    Ok(files)
}

/// MS-DOS date and time (local time is what ZIP means; we write UTC) of Unix seconds `now`.
fn dos_time(now: u64) -> (u16, u16) {
    let days = i64::try_from(now / 86_400).unwrap_or(0);
    let secs = now % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let year = year.clamp(1980, 2107);
    let date = ((year - 1980) << 9) | (month << 5) | day;
    let time = ((secs / 3600) << 11) | (((secs / 60) % 60) << 5) | ((secs % 60) / 2);
    (
        u16::try_from(date).unwrap_or(0),
        u16::try_from(time).unwrap_or(0),
    )
}

/// Writes `files` as one archive: DEFLATE entries with UTF-8 names and their sizes in the
/// local headers (no data descriptors), dated `now` (Unix seconds).
pub(crate) fn write(files: &[ZipFile], now: u64) -> Result<Vec<u8>, Error> {
    if files.len() > MAX_ZIP_ENTRIES {
        return Err(bad("more than 65,535 entries (ZIP64 is not written)"));
    }
    let (date, time) = dos_time(now);
    let mut out = Vec::new();
    let mut central = Vec::new();
    let too_large = || bad("an archive over 4 GiB (ZIP64 is not written)");
    for f in files {
        let name_len =
            u16::try_from(f.name.len()).map_err(|_| bad("an entry name over 65,535 bytes"))?;
        let size = u32::try_from(f.data.len()).map_err(|_| too_large())?;
        let packed = miniz_oxide::deflate::compress_to_vec(&f.data, 6);
        let packed_len = u32::try_from(packed.len()).map_err(|_| too_large())?;
        let crc = crc32(&f.data);
        let local_at = u32::try_from(out.len()).map_err(|_| too_large())?;
        let header = |sig: u32, buf: &mut Vec<u8>| {
            buf.extend_from_slice(&sig.to_le_bytes());
            if sig == CENTRAL_SIG {
                buf.extend_from_slice(&20u16.to_le_bytes()); // made by: MS-DOS, 2.0
            }
            buf.extend_from_slice(&20u16.to_le_bytes()); // needed: 2.0 (DEFLATE)
            buf.extend_from_slice(&FLAG_UTF8.to_le_bytes());
            buf.extend_from_slice(&DEFLATED.to_le_bytes());
            buf.extend_from_slice(&time.to_le_bytes());
            buf.extend_from_slice(&date.to_le_bytes());
            buf.extend_from_slice(&crc.to_le_bytes());
            buf.extend_from_slice(&packed_len.to_le_bytes());
            buf.extend_from_slice(&size.to_le_bytes());
            buf.extend_from_slice(&name_len.to_le_bytes());
            buf.extend_from_slice(&0u16.to_le_bytes()); // extra
        };
        header(LOCAL_SIG, &mut out);
        out.extend_from_slice(f.name.as_bytes());
        out.extend_from_slice(&packed);
        header(CENTRAL_SIG, &mut central);
        central.extend_from_slice(&[0u8; 6]); // comment length, disk, internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&local_at.to_le_bytes());
        central.extend_from_slice(f.name.as_bytes());
    }
    let cd_at = u32::try_from(out.len()).map_err(|_| too_large())?;
    let cd_len = u32::try_from(central.len()).map_err(|_| too_large())?;
    let count = u16::try_from(files.len()).map_err(|_| too_large())?;
    out.extend_from_slice(&central);
    out.extend_from_slice(&END_SIG.to_le_bytes());
    out.extend_from_slice(&[0u8; 4]); // disk numbers
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&cd_len.to_le_bytes());
    out.extend_from_slice(&cd_at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn file(name: &str, data: &[u8]) -> ZipFile {
        ZipFile {
            name: name.into(),
            data: data.to_vec(),
        }
    }

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn dos_time_of_known_dates() {
        // 2026-12-04 13:07:08 UTC.
        let (date, time) = dos_time(1_796_389_628);
        assert_eq!(date, ((2026 - 1980) << 9) | (12 << 5) | 4);
        assert_eq!(time, (13 << 11) | (7 << 5) | 4);
        assert_eq!(dos_time(0).0, (1 << 5) | 1); // clamped to 1980-01-01
    }

    #[test]
    fn round_trip_and_corruption_is_refused() {
        let big = vec![b'x'; 100_000];
        let files = vec![
            file("g/a", b"hello"),
            file("g/b", &big),
            file("g/\u{4e2d}", b""),
        ];
        let zip = write(&files, 1_700_000_000).unwrap();
        assert_eq!(read(&zip).unwrap(), files);
        // Any single flipped byte is refused or read back differently, never a panic.
        for i in 0..zip.len() {
            let mut z = zip.clone();
            z[i] ^= 0x55;
            let _ = read(&z);
        }
        // Truncation at every length: an error, never a panic.
        for n in 0..zip.len() {
            assert!(read(&zip[..n]).is_err(), "{n}");
        }
    }

    #[test]
    fn data_corruption_is_a_crc_or_inflate_error() {
        let zip = write(&[file("g/a", b"hello hello hello")], 0).unwrap();
        let mut z = zip.clone();
        z[LOCAL_LEN + 3 + 2] ^= 1; // inside the deflated data
        assert!(matches!(read(&z), Err(Error::InvalidArchive { .. })));
    }

    #[test]
    fn bounds_are_checked_before_inflating() {
        // A stored entry claiming more than the entry bound.
        let mut zip = write(&[file("g/a", b"x")], 0).unwrap();
        let cd = zip.len() - END_LEN - CENTRAL_LEN - 3;
        zip[cd + 24..cd + 28]
            .copy_from_slice(&(u32::try_from(MAX_ZIP_ENTRY_LEN + 1).unwrap()).to_le_bytes());
        assert!(matches!(read(&zip), Err(Error::ContentTooLarge { .. })));
        assert!(read(b"PK\x05\x06").is_err());
        assert!(read(&[0u8; 100]).is_err());
    }
}
