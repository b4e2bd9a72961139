//! Time: nanoseconds since the Unix epoch, formatted as RFC 3339.

use std::fmt;

/// Nanoseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// From whole seconds and nanoseconds since the epoch (saturating).
    pub fn from_secs_nanos(secs: i64, nanos: u32) -> Self {
        Timestamp(
            secs.saturating_mul(1_000_000_000)
                .saturating_add(nanos as i64),
        )
    }

    /// Whole seconds since the epoch (rounded down).
    pub fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }

    /// Nanoseconds past [`Timestamp::secs`].
    pub fn subsec_nanos(self) -> u32 {
        self.0.rem_euclid(1_000_000_000) as u32
    }

    /// Milliseconds from `earlier` to `self` (negative if `self` is earlier).
    pub fn millis_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0) / 1_000_000
    }

    /// RFC 3339, UTC, with microseconds: `2026-01-01T10:00:00.000000Z`.
    pub fn rfc3339(self) -> String {
        self.rfc3339_text().as_str().to_string()
    }

    /// [`Timestamp::rfc3339`] without an allocation, for writers that format many.
    pub fn rfc3339_text(self) -> Rfc3339 {
        let secs = self.secs();
        let micros = self.subsec_nanos() / 1000;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400) as u32;
        let (y, m, d) = civil_from_days(days);
        // An i64 of nanoseconds spans the years 1677 to 2262: always four digits.
        let y = y.clamp(0, 9999) as u32;
        let mut out = *b"0000-00-00T00:00:00.000000Z";
        let mut put = |at: usize, width: usize, mut v: u32| {
            for i in (0..width).rev() {
                if let Some(b) = out.get_mut(at + i) {
                    *b = b'0' + (v % 10) as u8;
                }
                v /= 10;
            }
        };
        put(0, 4, y);
        put(5, 2, m);
        put(8, 2, d);
        put(11, 2, sod / 3600);
        put(14, 2, (sod / 60) % 60);
        put(17, 2, sod % 60);
        put(20, 6, micros);
        Rfc3339(out)
    }
}

/// A [`Timestamp`] as RFC 3339 text, held inline ([`Timestamp::rfc3339_text`]).
#[derive(Clone, Copy)]
pub struct Rfc3339([u8; 27]);

impl Rfc3339 {
    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written.
        std::str::from_utf8(&self.0).unwrap_or("0000-00-00T00:00:00.000000Z")
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rfc3339_text().as_str())
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day); Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_utc_with_micros() {
        let t = Timestamp::from_secs_nanos(1_709_629_200, 123_456_789);
        assert_eq!(t.rfc3339(), "2024-03-05T09:00:00.123456Z");
        assert_eq!(Timestamp(0).rfc3339(), "1970-01-01T00:00:00.000000Z");
        let before_epoch = Timestamp::from_secs_nanos(-1, 500_000_000);
        assert_eq!(before_epoch.rfc3339(), "1969-12-31T23:59:59.500000Z");
        assert_eq!(Timestamp(i64::MIN).rfc3339(), "1677-09-21T00:12:43.145224Z");
        assert_eq!(Timestamp(i64::MAX).rfc3339(), "2262-04-11T23:47:16.854775Z");
    }

    /// The formatting machinery's version, which the fast one replaced.
    fn by_format(t: Timestamp) -> String {
        let secs = t.secs();
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            y,
            m,
            d,
            sod / 3600,
            (sod / 60) % 60,
            sod % 60,
            t.subsec_nanos() / 1000
        )
    }

    #[test]
    fn the_fast_text_is_the_formatted_one() {
        // Every day boundary, leap years and centuries, and values spread over the whole range.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut values = vec![i64::MIN, i64::MAX, 0, -1, 1, 951_782_400_000_000_000];
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(x as i64);
            values.push((x % 9_000_000_000_000_000_000) as i64);
        }
        for days in -106_000i64..106_000 {
            values.push(days * 86_400_000_000_000 - 1);
            values.push(days * 86_400_000_000_000);
        }
        for v in values {
            let t = Timestamp(v);
            assert_eq!(t.rfc3339(), by_format(t), "{v}");
            assert_eq!(t.to_string(), by_format(t), "{v}");
        }
    }
}
