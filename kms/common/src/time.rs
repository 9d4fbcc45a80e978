//! UTC timestamps as the key services write them (`2024-05-01T12:00:00Z`, HTTP dates, SigV4's
//! `20240501T120000Z`), without a date crate.
//!
//! ```
//! use nacoscrypt_kms_common::time;
//! use std::time::{Duration, UNIX_EPOCH};
//!
//! let t = UNIX_EPOCH + Duration::from_secs(1_714_564_800);
//! assert_eq!(time::iso8601(t), "2024-05-01T12:00:00Z");
//! assert_eq!(time::amz_date(t), "20240501T120000Z");
//! assert_eq!(time::http_date(t), "Wed, 01 May 2024 12:00:00 GMT");
//! assert_eq!(time::parse_iso8601("2024-05-01T12:00:00Z"), Some(t));
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `t` as `YYYY-MM-DDTHH:MM:SSZ` (see the [module](self) example).
///
/// ```
/// use nacoscrypt_kms_common::time::iso8601;
/// use std::time::{Duration, UNIX_EPOCH};
///
/// assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00Z");
/// assert_eq!(iso8601(UNIX_EPOCH + Duration::from_secs(86_399)), "1970-01-01T23:59:59Z");
/// ```
pub fn iso8601(t: SystemTime) -> String {
    let secs = i64::try_from(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())).unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `t` as an HTTP date (RFC 7231): `Wed, 02 Dec 2026 13:20:00 GMT` (see the [module](self)
/// example).
///
/// ```
/// use nacoscrypt_kms_common::time::http_date;
/// use std::time::{Duration, UNIX_EPOCH};
///
/// assert_eq!(http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
/// let t = UNIX_EPOCH + Duration::from_secs(1_796_217_600);
/// assert_eq!(http_date(t), "Wed, 02 Dec 2026 13:20:00 GMT");
/// ```
pub fn http_date(t: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = i64::try_from(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())).unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{}, {d:02} {} {y:04} {:02}:{:02}:{:02} GMT",
        DAYS[usize::try_from(days.rem_euclid(7)).unwrap_or(0)],
        MONTHS[usize::try_from(m - 1).unwrap_or(0)],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `t` as SigV4's `YYYYMMDDTHHMMSSZ` (`X-Amz-Date`; see the [module](self) example).
///
/// ```
/// use nacoscrypt_kms_common::time::amz_date;
/// use std::time::UNIX_EPOCH;
///
/// assert_eq!(amz_date(UNIX_EPOCH), "19700101T000000Z");
/// ```
pub fn amz_date(t: SystemTime) -> String {
    iso8601(t).replace(['-', ':'], "")
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` (fractional seconds allowed and dropped), as STS and the ECS
/// metadata service write `Expiration` (see the [module](self) example); AWS's
/// `2024-05-01T12:00:00+00:00` too.
///
/// ```
/// use nacoscrypt_kms_common::time::{iso8601, parse_iso8601};
///
/// let t = parse_iso8601("2024-05-01T12:00:00.250Z").unwrap();
/// assert_eq!(iso8601(t), "2024-05-01T12:00:00Z");
/// assert_eq!(parse_iso8601("2024-05-01T12:00:00+00:00"), Some(t));
/// assert_eq!(parse_iso8601("2024-05-01 12:00:00"), None);
/// ```
pub fn parse_iso8601(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: core::ops::Range<usize>| -> Option<u32> {
        let t = s.get(r)?;
        if !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let tail = &s[19..];
    let tail = tail
        .strip_prefix('.')
        .map_or(tail, |t| t.trim_start_matches(|c: char| c.is_ascii_digit()));
    if !matches!(tail, "Z" | "+00:00")
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&d)
        || h > 23
        || mi > 59
        || se > 60
    {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d);
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + se);
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates() {
        let t = UNIX_EPOCH + Duration::from_secs(1_796_217_600); // 2026-12-02T13:20:00Z
        assert_eq!(http_date(t), "Wed, 02 Dec 2026 13:20:00 GMT");
        assert_eq!(http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
    }

    #[test]
    fn round_trip() {
        let t = UNIX_EPOCH + Duration::from_secs(1_714_564_800); // 2024-05-01T12:00:00Z
        assert_eq!(iso8601(t), "2024-05-01T12:00:00Z");
        assert_eq!(parse_iso8601("2024-05-01T12:00:00Z"), Some(t));
        assert_eq!(parse_iso8601("2024-05-01T12:00:00.123Z"), Some(t));
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            parse_iso8601("2000-02-29T23:59:59Z")
                .map(iso8601)
                .as_deref(),
            Some("2000-02-29T23:59:59Z")
        );
        for bad in [
            "",
            "2024-05-01 12:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-05-01T12:00:00",
            "x024-05-01T12:00:00Z",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }
}
