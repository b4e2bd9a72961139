//! A small seeded pseudo-random generator (xorshift64*), so that every capture is the same
//! byte for byte on every run and platform: nothing comes from the OS or the clock.

/// xorshift64* seeded through splitmix64. Not for cryptography; only for plausible-looking
/// identifiers (tags, branches, keys) and jitter in timings.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        // splitmix64 spreads small seeds over the state; the state must not be zero
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(crate) fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// A value in `lo..hi` (`lo` if the range is empty).
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo)
    }

    fn pick(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| char::from(alphabet[self.range(0, alphabet.len() as u64) as usize]))
            .collect()
    }

    /// `n` lowercase hex digits.
    pub(crate) fn hex(&mut self, n: usize) -> String {
        self.pick(HEX_LOWER, n)
    }

    /// `n` uppercase hex digits.
    pub(crate) fn hex_upper(&mut self, n: usize) -> String {
        self.pick(HEX_UPPER, n)
    }

    /// `n` base64 alphabet characters (no padding).
    pub(crate) fn base64(&mut self, n: usize) -> String {
        self.pick(BASE64, n)
    }

    /// `n` base64 characters without `+` and `/`, for tokens that go into URIs.
    pub(crate) fn alnum(&mut self, n: usize) -> String {
        self.pick(&BASE64[..62], n)
    }

    /// A random (version 4) GUID in braces, uppercase:
    /// `{2C5F80EE-197A-4A55-8EAC-29D771249B52}`.
    pub(crate) fn guid(&mut self) -> String {
        let h = self.hex_upper(32);
        let variant = char::from(b"89AB"[self.range(0, 4) as usize]);
        format!(
            "{{{}-{}-4{}-{variant}{}-{}}}",
            &h[..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..]
        )
    }

    /// A duration between `lo_ms` and `hi_ms` milliseconds, in nanoseconds, with microsecond
    /// granularity.
    pub(crate) fn millis(&mut self, lo_ms: u64, hi_ms: u64) -> i64 {
        (self.range(lo_ms * 1000, hi_ms * 1000) * 1000) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_shapes() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
        let mut r = Rng::new(3);
        let g = r.guid();
        assert_eq!(g.len(), 38);
        assert!(g.starts_with('{') && g.ends_with('}'));
        for _ in 0..1000 {
            let v = r.range(10, 20);
            assert!((10..20).contains(&v));
            let d = r.millis(1, 3);
            assert!((1_000_000..3_000_000).contains(&d));
        }
    }
}
