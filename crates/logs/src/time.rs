//! Civil time <-> nanoseconds since the Unix epoch, without a time-zone database: every log
//! time is either UTC (sipe's ISO-8601 `Z`) or local time with a caller-given offset.

use crate::bytes::{at, from, sub};

const NS_PER_SEC: i64 = 1_000_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Date of a day number since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// Nanoseconds since the epoch of a civil date-time, `None` when a field is out of range or the
/// result does not fit an `i64` (years outside about 1678..2262).
pub(crate) fn civil_to_ns(
    y: i64,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
    frac_ns: u32,
) -> Option<i64> {
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60
    {
        return None;
    }
    if !(1600..=2400).contains(&y) {
        return None;
    }
    let secs = days_from_civil(y, mo, d) * 86_400
        + i64::from(h) * 3600
        + i64::from(mi) * 60
        + i64::from(s);
    secs.checked_mul(NS_PER_SEC)?
        .checked_add(i64::from(frac_ns))
}

/// Local time to UTC: `local - offset`.
pub(crate) fn apply_offset(local_ns: i64, utc_offset_secs: i32) -> Option<i64> {
    local_ns.checked_sub(i64::from(utc_offset_secs).checked_mul(NS_PER_SEC)?)
}

fn digits(b: &[u8], n: usize) -> Option<u32> {
    if b.len() < n {
        return None;
    }
    let mut v = 0u32;
    for &c in sub(b, 0, n) {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// A fraction of a second: up to 9 digits read, more ignored. Returns (ns, digits consumed).
fn fraction(b: &[u8]) -> (u32, usize) {
    let mut ns = 0u32;
    let mut n = 0usize;
    for &c in b {
        if !c.is_ascii_digit() {
            break;
        }
        if n < 9 {
            ns = ns * 10 + u32::from(c - b'0');
        }
        n += 1;
    }
    let mut k = n.min(9);
    while k < 9 {
        ns *= 10;
        k += 1;
    }
    (ns, n)
}

/// `MM/DD/YYYY<sep>HH:MM:SS[.fff]` (SIPStack `-`, UCCAPI `|`) at the start of `b`, as local
/// time in ns; also returns the bytes consumed.
pub(crate) fn parse_mdy(b: &[u8], sep: u8) -> Option<(i64, usize)> {
    let mo = digits(b, 2)?;
    let d = digits(from(b, 3), 2)?;
    let y = digits(from(b, 6), 4)?;
    if at(b, 2) != b'/' || at(b, 5) != b'/' || at(b, 10) != sep {
        return None;
    }
    let h = digits(from(b, 11), 2)?;
    let mi = digits(from(b, 14), 2)?;
    let s = digits(from(b, 17), 2)?;
    if at(b, 13) != b':' || at(b, 16) != b':' {
        return None;
    }
    let mut used = 19;
    let mut frac = 0;
    if at(b, 19) == b'.' {
        let (ns, n) = fraction(from(b, 20));
        frac = ns;
        used = 20 + n;
    }
    Some((civil_to_ns(i64::from(y), mo, d, h, mi, s, frac)?, used))
}

/// ISO-8601 as glib's `g_time_val_to_iso8601` writes it (`2013-04-16T03:17:30.168000Z`, the
/// fraction absent when zero), also accepting a numeric offset (`+02:00`) and no zone
/// (taken as UTC). Returns ns since the epoch, UTC.
pub fn parse_iso8601(b: &[u8]) -> Option<i64> {
    let y = digits(b, 4)?;
    let mo = digits(from(b, 5), 2)?;
    let d = digits(from(b, 8), 2)?;
    let h = digits(from(b, 11), 2)?;
    let mi = digits(from(b, 14), 2)?;
    let s = digits(from(b, 17), 2)?;
    if at(b, 4) != b'-' || at(b, 7) != b'-' || !matches!(at(b, 10), b'T' | b't' | b' ') {
        return None;
    }
    if at(b, 13) != b':' || at(b, 16) != b':' {
        return None;
    }
    let mut i = 19;
    let mut frac = 0;
    if matches!(at(b, i), b'.' | b',') {
        let (ns, n) = fraction(from(b, i + 1));
        frac = ns;
        i += 1 + n;
    }
    let t = civil_to_ns(i64::from(y), mo, d, h, mi, s, frac)?;
    match at(b, i) {
        b'Z' | b'z' | 0 | b' ' | b'\r' | b'\n' => Some(t),
        sign @ (b'+' | b'-') => {
            let oh = digits(from(b, i + 1), 2)?;
            let om_at = if at(b, i + 3) == b':' { i + 4 } else { i + 3 };
            let om = digits(from(b, om_at), 2).unwrap_or(0);
            let off = i64::from(oh * 3600 + om * 60);
            let off = if sign == b'+' { off } else { -off };
            apply_offset(t, i32::try_from(off).ok()?)
        }
        _ => None,
    }
}

/// Split ns since the epoch into date and time fields (year, month, day, h, m, s, ns).
pub(crate) fn split_ns(ns: i64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let secs = ns.div_euclid(NS_PER_SEC);
    let sub_ns = ns.rem_euclid(NS_PER_SEC) as u32;
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400) as u32;
    let (y, m, d) = civil_from_days(days);
    (y, m, d, tod / 3600, (tod / 60) % 60, tod % 60, sub_ns)
}

/// `2013-04-16T03:17:30.168000Z` as glib writes it (microseconds, omitted when zero).
pub fn format_iso8601_utc(ns: i64) -> String {
    let (y, mo, d, h, mi, s, sub_ns) = split_ns(ns);
    let us = sub_ns / 1000;
    if us == 0 {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    } else {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{us:06}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-800_000i64, -1, 0, 1, 15_000, 19_000, 200_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn sipstack_and_uccapi_times() {
        // 01/18/2012-05:00:43.101 from the Microsoft support article example.
        let (ns, used) = parse_mdy(b"01/18/2012-05:00:43.101.00005386", b'-').unwrap();
        assert_eq!(used, 23);
        assert_eq!(ns, 1_326_862_843_101_000_000);
        let (ns, _) = parse_mdy(b"04/16/2013|03:17:30.168 1F68:C14", b'|').unwrap();
        assert_eq!(ns, 1_366_082_250_168_000_000);
        assert!(parse_mdy(b"13/16/2013|03:17:30.168", b'|').is_none());
        assert!(parse_mdy(b"02/30/2013|03:17:30.168", b'|').is_none());
        assert!(parse_mdy(b"04/16/2013-03:17:30.168", b'|').is_none());
        assert!(parse_mdy(b"04/16/20", b'|').is_none());
    }

    #[test]
    fn iso() {
        let t = parse_iso8601(b"2013-04-16T03:17:30.168000Z").unwrap();
        assert_eq!(t, 1_366_082_250_168_000_000);
        assert_eq!(
            parse_iso8601(b"2013-04-16T03:17:30Z"),
            Some(1_366_082_250_000_000_000)
        );
        assert_eq!(
            parse_iso8601(b"2013-04-16T05:17:30+02:00"),
            Some(1_366_082_250_000_000_000)
        );
        assert_eq!(format_iso8601_utc(t), "2013-04-16T03:17:30.168000Z");
        assert_eq!(
            format_iso8601_utc(1_366_082_250_000_000_000),
            "2013-04-16T03:17:30Z"
        );
        assert!(parse_iso8601(b"2013-04-16X03:17:30Z").is_none());
        assert!(parse_iso8601(b"99999-04-16T03:17:30Z").is_none());
    }

    #[test]
    fn offset() {
        assert_eq!(apply_offset(3_600_000_000_000, 3600), Some(0));
        assert_eq!(apply_offset(i64::MIN, 3600), None);
    }
}
