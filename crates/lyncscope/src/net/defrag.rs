//! IP fragment reassembly, bounded in datagrams, bytes and time.
//!
//! Datagrams are keyed like the kernels do (IPv4: source, destination, protocol,
//! identification; IPv6: source, destination, identification) plus a [`Channel`] (VLAN ids,
//! tunnel ids and depth), so that the same addresses on different VLANs or in different
//! tunnels never mix.
//!
//! Each datagram keeps one buffer, grown to the highest fragment end seen (or, once the
//! last fragment has arrived, to the exact total), and the sorted list of byte ranges
//! received so far. Policy for odd input, chosen to match Wireshark:
//!
//! * overlapping or duplicate fragments: the bytes that arrived first win; only the holes
//!   of a later fragment are copied;
//! * the first fragment without MF fixes the datagram length; bytes beyond it (from
//!   earlier or later fragments) are dropped, and a later "last" fragment that disagrees
//!   only contributes its bytes below that length;
//! * a fragment whose end exceeds 65535 bytes is rejected (undecoded, not pooled);
//!   IPv6 jumbograms cannot be fragmented, so this is the limit for both families;
//! * a fragment cut by the capture's snapshot length contributes its captured bytes but
//!   the length it declares, so its datagram can never complete (and expires): a datagram
//!   with a hole must not be passed on as complete;
//! * zero-length fragments are accepted (they may fix the length).
//!
//! Bounds: at most `max_datagrams` datagrams and `max_bytes` of buffers; when a new
//! datagram or a growing buffer would exceed them, the oldest datagrams are evicted. A
//! datagram whose first fragment is older than `timeout` (capture time) is dropped. Both
//! are counted in [`NetStats`], with the number of fragments they held.
//!
//! Age order is kept in a queue of (sequence number, key) in arrival order. Completing a
//! datagram leaves a stale entry behind, skipped when it reaches the front and purged when
//! stale entries outnumber live ones, so expiry and eviction are amortised O(1) and never
//! scan the pool. The clock is the caller's monotonic capture clock, so the queue is also
//! in order of first-fragment time.

use super::walk::{Addrs, Channel, FragKey, Fragment, Layer};
use super::NetStats;
use ahash::AHashMap;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv6Addr};

/// Limits of the reassembly pool.
#[derive(Clone, Copy, Debug)]
pub struct DefragConfig {
    /// Incomplete datagrams held at most.
    pub max_datagrams: usize,
    /// Bytes of reassembly buffers held at most.
    pub max_bytes: usize,
    /// A datagram is dropped when its first fragment is older than this (ns of capture
    /// time).
    pub timeout_ns: i64,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_datagrams: 4096,
            max_bytes: 64 << 20,
            timeout_ns: 30_000_000_000,
        }
    }
}

/// The largest datagram payload that can be expressed by an IP header.
const MAX_DATAGRAM: u32 = 65_535;
/// Bookkeeping bytes charged per datagram on top of its buffer, so that a flood of empty
/// fragments is bounded by `max_bytes` too.
const DATAGRAM_OVERHEAD: usize = 128;

struct Datagram {
    seq: u64,
    first_seen: i64,
    /// Number of the frame whose fragment arrived first.
    first_frame: u64,
    buf: Vec<u8>,
    /// Received byte ranges, sorted, disjoint and not adjacent.
    ranges: Vec<(u32, u32)>,
    /// Known once a fragment without MF has arrived.
    total: Option<u32>,
    /// Upper-layer protocol: the IPv4 protocol, or the next header of the IPv6 fragment at
    /// offset 0 (unknown until that fragment arrives).
    protocol: Option<u8>,
    fragments: u64,
}

impl Datagram {
    fn cost(&self) -> usize {
        self.buf.capacity() + self.ranges.capacity() * 8 + DATAGRAM_OVERHEAD
    }

    /// Copies the parts of `data` at `offset` that no earlier fragment covered.
    fn add(&mut self, offset: u32, data: &[u8]) {
        let mut start = offset;
        let mut end = offset.saturating_add(u32::try_from(data.len()).unwrap_or(u32::MAX));
        if let Some(total) = self.total {
            end = end.min(total);
        }
        if start >= end {
            return;
        }
        if self.buf.len() < end as usize {
            // Grow to the known total, else geometrically: datagrams arrive fragment by fragment.
            let want = match self.total {
                Some(total) => total as usize,
                None => (end as usize)
                    .max(self.buf.capacity() * 2)
                    .min(MAX_DATAGRAM as usize),
            };
            self.buf.reserve(want.saturating_sub(self.buf.len()));
            self.buf.resize(end as usize, 0);
        }
        // Fill the holes of [start, end) between the existing ranges.
        let copy = |from: u32, to: u32, buf: &mut Vec<u8>| {
            let src = data.get((from - offset) as usize..(to - offset) as usize);
            let dst = buf.get_mut(from as usize..to as usize);
            if let (Some(src), Some(dst)) = (src, dst) {
                dst.copy_from_slice(src);
            }
        };
        for &(a, b) in &self.ranges {
            if b <= start {
                continue;
            }
            if a >= end {
                break;
            }
            if a > start {
                copy(start, a, &mut self.buf);
            }
            start = start.max(b);
            if start >= end {
                break;
            }
        }
        if start < end {
            copy(start, end, &mut self.buf);
        }
        self.merge_range(offset, end);
    }

    fn merge_range(&mut self, mut a: u32, mut b: u32) {
        // First range that ends at or after `a` (touching ranges merge too).
        let first = self.ranges.partition_point(|&(_, e)| e < a);
        let mut last = first;
        while let Some(&(s, e)) = self.ranges.get(last) {
            if s > b {
                break;
            }
            a = a.min(s);
            b = b.max(e);
            last += 1;
        }
        self.ranges.splice(first..last, [(a, b)]);
    }

    /// Applies the datagram length learnt from the last fragment.
    fn set_total(&mut self, total: u32) {
        if self.total.is_some() {
            return;
        }
        self.total = Some(total);
        if self.buf.len() > total as usize {
            self.buf.truncate(total as usize);
            self.buf.shrink_to_fit();
        }
        self.ranges.retain_mut(|r| {
            r.1 = r.1.min(total);
            r.0 < r.1
        });
    }

    fn is_complete(&self) -> bool {
        match (self.total, self.ranges.as_slice()) {
            (Some(total), [(0, end)]) => *end == total && self.protocol.is_some(),
            _ => false,
        }
    }
}

/// A datagram whose fragments have all arrived.
#[derive(Debug)]
pub(super) struct Reassembled {
    pub key: FragKey,
    pub protocol: u8,
    pub data: Vec<u8>,
    /// Number of the frame whose fragment arrived first.
    pub first_frame: u64,
    /// The key's addresses as header bytes, for [`Addrs`].
    addrs: [u8; 32],
}

impl Reassembled {
    fn new(key: FragKey, protocol: u8, data: Vec<u8>) -> Self {
        let mut addrs = [0u8; 32];
        match (key.src, key.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                for (slot, b) in addrs
                    .iter_mut()
                    .zip(s.octets().into_iter().chain(d.octets()))
                {
                    *slot = b;
                }
            }
            (s, d) => {
                let (s, d) = (to_v6(s).octets(), to_v6(d).octets());
                for (slot, b) in addrs.iter_mut().zip(s.into_iter().chain(d)) {
                    *slot = b;
                }
            }
        }
        Reassembled {
            key,
            protocol,
            data,
            first_frame: 0,
            addrs,
        }
    }

    /// Where to continue walking the datagram (`data`, taken out of `self`): the IPv6
    /// fragmentable part may begin with more extension headers; an IPv4 payload is the
    /// upper layer (or a tunnel).
    pub fn resume_layer<'d>(&'d self, data: &'d [u8]) -> (Layer<'d>, Channel) {
        let layer = if self.key.src.is_ipv4() {
            Layer::IpPayload {
                addrs: Addrs(self.addrs.get(..8).unwrap_or_default()),
                protocol: self.protocol,
                data,
            }
        } else {
            Layer::Ipv6Ext {
                addrs: Addrs(&self.addrs),
                next: self.protocol,
                data,
                missing: 0,
            }
        };
        (layer, self.key.channel)
    }
}

fn to_v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    }
}

pub(super) enum Inserted {
    Held,
    Complete(Reassembled),
}

pub(super) struct Pool {
    config: DefragConfig,
    /// Number of the frame being decoded, set by the decoder before each insert.
    pub current_frame: u64,
    datagrams: AHashMap<FragKey, Datagram>,
    /// (seq, key) in arrival order; entries whose seq no longer matches are stale.
    order: VecDeque<(u64, FragKey)>,
    next_seq: u64,
    bytes: usize,
}

impl Default for Pool {
    fn default() -> Self {
        Pool::new(DefragConfig::default())
    }
}

impl Pool {
    pub fn new(config: DefragConfig) -> Self {
        Pool {
            config,
            current_frame: 0,
            datagrams: AHashMap::default(),
            order: VecDeque::new(),
            next_seq: 0,
            bytes: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.datagrams.is_empty()
    }

    pub fn usage(&self) -> (usize, usize) {
        (self.datagrams.len(), self.bytes)
    }

    /// Adds a fragment at capture time `now`.
    pub fn insert(
        &mut self,
        frag: &Fragment<'_>,
        now: i64,
        stats: &mut NetStats,
    ) -> Result<Inserted, &'static str> {
        let declared_end = frag.offset.saturating_add(frag.declared_len);
        if declared_end > MAX_DATAGRAM || frag.data.len() > MAX_DATAGRAM as usize {
            return Err("oversized IP fragment");
        }
        self.expire(now, stats);

        if !self.datagrams.contains_key(&frag.key) {
            while self.datagrams.len() >= self.config.max_datagrams.max(1) {
                if !self.evict_oldest(stats) {
                    break;
                }
            }
            let seq = self.next_seq;
            self.next_seq += 1;
            let d = Datagram {
                seq,
                first_seen: now,
                first_frame: self.current_frame,
                buf: Vec::new(),
                ranges: Vec::new(),
                total: None,
                protocol: None,
                fragments: 0,
            };
            self.bytes += d.cost();
            self.datagrams.insert(frag.key, d);
            self.order.push_back((seq, frag.key));
            self.purge_stale();
        }
        let Some(d) = self.datagrams.get_mut(&frag.key) else {
            return Ok(Inserted::Held);
        };

        let before = d.cost();
        d.fragments += 1;
        if frag.offset == 0 && d.protocol.is_none() {
            d.protocol = Some(frag.protocol);
        }
        if !frag.more {
            d.set_total(declared_end);
        }
        d.add(frag.offset, frag.data);
        let after = d.cost();
        self.bytes = (self.bytes + after).saturating_sub(before);

        if d.is_complete() {
            let protocol = d.protocol.unwrap_or(frag.protocol);
            if let Some(d) = self.datagrams.remove(&frag.key) {
                self.bytes = self.bytes.saturating_sub(d.cost());
                stats.ip_reassembled += 1;
                let mut done = Reassembled::new(frag.key, protocol, d.buf);
                done.first_frame = d.first_frame;
                return Ok(Inserted::Complete(done));
            }
        }
        while self.bytes > self.config.max_bytes {
            if !self.evict_oldest(stats) {
                break;
            }
        }
        Ok(Inserted::Held)
    }

    /// Drops the datagrams older than the timeout.
    pub fn expire(&mut self, now: i64, stats: &mut NetStats) {
        while let Some(&(seq, key)) = self.order.front() {
            if let Some(d) = self.datagrams.get(&key).filter(|d| d.seq == seq) {
                if now.saturating_sub(d.first_seen) <= self.config.timeout_ns {
                    return;
                }
                stats.fragments_expired += d.fragments;
                stats.datagrams_expired += 1;
                self.remove(&key);
            }
            self.order.pop_front();
        }
    }

    /// Drops every datagram, counted as expired.
    pub fn flush(&mut self, stats: &mut NetStats) {
        for d in self.datagrams.values() {
            stats.fragments_expired += d.fragments;
            stats.datagrams_expired += 1;
        }
        self.datagrams.clear();
        self.order.clear();
        self.bytes = 0;
    }

    /// Evicts the oldest datagram; false when the pool is empty.
    fn evict_oldest(&mut self, stats: &mut NetStats) -> bool {
        while let Some((seq, key)) = self.order.pop_front() {
            if let Some(d) = self.datagrams.get(&key).filter(|d| d.seq == seq) {
                stats.fragments_expired += d.fragments;
                stats.datagrams_evicted += 1;
                self.remove(&key);
                return true;
            }
        }
        false
    }

    fn remove(&mut self, key: &FragKey) {
        if let Some(d) = self.datagrams.remove(key) {
            self.bytes = self.bytes.saturating_sub(d.cost());
        }
    }

    /// Removes the stale queue entries once they outnumber the live ones, which keeps the
    /// queue within twice the pool size at amortised constant cost.
    fn purge_stale(&mut self) {
        if self.order.len() > 2 * self.datagrams.len() + 64 {
            let datagrams = &self.datagrams;
            self.order
                .retain(|(seq, key)| datagrams.get(key).is_some_and(|d| d.seq == *seq));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn key(id: u32) -> FragKey {
        FragKey {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            protocol: 17,
            id,
            channel: Channel::default(),
        }
    }

    fn frag(id: u32, offset: u32, more: bool, data: &[u8]) -> Fragment<'_> {
        Fragment {
            key: key(id),
            offset,
            more,
            protocol: 17,
            data,
            declared_len: data.len() as u32,
        }
    }

    fn complete(r: Result<Inserted, &str>) -> Vec<u8> {
        match r {
            Ok(Inserted::Complete(d)) => d.data,
            Ok(Inserted::Held) => panic!("held"),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn overlap_keeps_first_bytes() {
        let mut pool = Pool::default();
        let mut st = NetStats::default();
        assert!(matches!(
            pool.insert(&frag(1, 0, true, b"AAAAAAAA"), 0, &mut st),
            Ok(Inserted::Held)
        ));
        // Overlaps the first fragment's tail and brings new bytes.
        assert!(matches!(
            pool.insert(&frag(1, 4, true, b"bbbbBBBB"), 0, &mut st),
            Ok(Inserted::Held)
        ));
        let out = complete(pool.insert(&frag(1, 12, false, b"CC"), 0, &mut st));
        assert_eq!(out, b"AAAAAAAABBBBCC");
        assert_eq!(pool.usage(), (0, 0));
    }

    #[test]
    fn first_last_fragment_fixes_length() {
        let mut pool = Pool::default();
        let mut st = NetStats::default();
        assert!(matches!(
            pool.insert(&frag(2, 8, false, b"12345678"), 0, &mut st),
            Ok(Inserted::Held)
        ));
        // A contradicting "last" fragment that would make the datagram longer is cut.
        assert!(matches!(
            pool.insert(&frag(2, 8, false, b"xxxxxxxxyyyy"), 0, &mut st),
            Ok(Inserted::Held)
        ));
        let out = complete(pool.insert(&frag(2, 0, true, b"abcdefgh"), 0, &mut st));
        assert_eq!(out, b"abcdefgh12345678");
    }

    #[test]
    fn zero_length_last_fragment() {
        let mut pool = Pool::default();
        let mut st = NetStats::default();
        assert!(matches!(
            pool.insert(&frag(3, 0, true, b"abcdefgh"), 0, &mut st),
            Ok(Inserted::Held)
        ));
        assert_eq!(
            complete(pool.insert(&frag(3, 8, false, b""), 0, &mut st)),
            b"abcdefgh"
        );
    }

    #[test]
    fn truncated_fragment_never_completes() {
        let mut pool = Pool::default();
        let mut st = NetStats::default();
        let mut f = frag(4, 8, false, b"1234");
        f.declared_len = 8;
        assert!(matches!(pool.insert(&f, 0, &mut st), Ok(Inserted::Held)));
        assert!(matches!(
            pool.insert(&frag(4, 0, true, b"abcdefgh"), 0, &mut st),
            Ok(Inserted::Held)
        ));
        pool.expire(31_000_000_000, &mut st);
        assert_eq!((st.datagrams_expired, st.fragments_expired), (1, 2));
        assert!(pool.is_empty());
    }

    #[test]
    fn oversized_fragment_rejected() {
        let mut pool = Pool::default();
        let mut st = NetStats::default();
        let data = [0u8; 16];
        assert!(pool
            .insert(&frag(5, 65_528, false, &data), 0, &mut st)
            .is_err());
        assert!(pool.is_empty());
    }

    #[test]
    fn ranges_merge() {
        let mut d = Datagram {
            seq: 0,
            first_seen: 0,
            first_frame: 0,
            buf: Vec::new(),
            ranges: Vec::new(),
            total: None,
            protocol: None,
            fragments: 0,
        };
        d.add(16, &[1; 8]);
        d.add(0, &[2; 8]);
        assert_eq!(d.ranges, [(0, 8), (16, 24)]);
        d.add(8, &[3; 8]);
        assert_eq!(d.ranges, [(0, 24)]);
        d.add(30, &[4; 2]);
        d.add(26, &[5; 2]);
        d.add(20, &[6; 14]);
        assert_eq!(d.ranges, [(0, 34)]);
        assert_eq!(&d.buf[24..34], &[6, 6, 5, 5, 6, 6, 4, 4, 6, 6]);
    }

    #[test]
    fn stale_queue_entries_are_purged() {
        let mut pool = Pool::default();
        let mut st = NetStats::default();
        for id in 0..10_000 {
            pool.insert(&frag(id, 0, true, b"abcdefgh"), 0, &mut st)
                .unwrap();
            complete(pool.insert(&frag(id, 8, false, b"x"), 0, &mut st));
        }
        assert!(pool.order.len() <= 2 * pool.datagrams.len() + 65);
        assert_eq!(st.ip_reassembled, 10_000);
    }
}
