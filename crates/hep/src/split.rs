//! Cuts HEP3 packets out of a TCP byte stream.
//!
//! Over TCP, HEP3 is self-framed by its total-length field (heplify-server
//! server/tcp.go); there is no extra length prefix. After garbage the splitter
//! resynchronises on the next `HEP3` magic and counts what it skipped.

use crate::decode::{HEP3_HEADER_LEN, HEP3_MAGIC, MAX_HEP3_PACKET};

/// Bytes a single read may add after compaction: big enough for one syscall to
/// move many small packets, small enough to keep per-connection memory low.
pub const READ_CHUNK: usize = 16 * 1024;
/// Fixed buffer size: one incomplete maximal packet plus one read.
pub const SPLITTER_BUFFER: usize = MAX_HEP3_PACKET + READ_CHUNK;

/// Counters of what the splitter threw away.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SplitterStats {
    /// Packets handed out.
    pub packets: u64,
    /// Bytes skipped while looking for the next `HEP3` magic.
    pub skipped_bytes: u64,
    /// Runs of garbage: times the stream did not continue with `HEP3` where a
    /// packet should begin (a run spread over several reads counts once).
    pub resyncs: u64,
    /// `HEP3` magics followed by a total length below 6 (skipped as garbage).
    pub bad_lengths: u64,
}

/// A bounded HEP3 stream splitter with a fixed [`SPLITTER_BUFFER`]-byte buffer.
#[derive(Debug)]
pub struct Hep3Splitter {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    in_garbage: bool,
    stats: SplitterStats,
}

impl Default for Hep3Splitter {
    fn default() -> Self {
        Self::new()
    }
}

impl Hep3Splitter {
    /// An empty splitter; allocates its buffer once.
    pub fn new() -> Self {
        Self {
            buf: vec![0; SPLITTER_BUFFER],
            start: 0,
            end: 0,
            in_garbage: false,
            stats: SplitterStats::default(),
        }
    }

    /// What was handed out and skipped so far.
    pub fn stats(&self) -> SplitterStats {
        self.stats
    }

    /// Bytes held but not yet handed out (an incomplete packet or garbage tail).
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// Free space to read into, after moving buffered bytes to the front.
    ///
    /// Once [`Hep3Splitter::next_packet`] has returned `None`, at most
    /// `MAX_HEP3_PACKET - 1` bytes are buffered, so this is at least
    /// [`READ_CHUNK`] bytes long. Call [`Hep3Splitter::commit`] with the bytes written.
    pub fn spare_mut(&mut self) -> &mut [u8] {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        self.buf.get_mut(self.end..).unwrap_or_default()
    }

    /// Marks `n` bytes of [`Hep3Splitter::spare_mut`] as filled.
    pub fn commit(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// Copies as much of `data` as fits and returns how many bytes were taken;
    /// drain with [`Hep3Splitter::next_packet`] and push the rest.
    pub fn push(&mut self, data: &[u8]) -> usize {
        let spare = self.spare_mut();
        let n = data.len().min(spare.len());
        if let (Some(dst), Some(src)) = (spare.get_mut(..n), data.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.commit(n);
        n
    }

    fn skip(&mut self, n: usize) {
        self.start += n;
        self.stats.skipped_bytes += n as u64;
    }

    /// The next complete HEP3 packet (whole, header included), or `None` when
    /// more bytes are needed.
    pub fn next_packet(&mut self) -> Option<&[u8]> {
        loop {
            let avail = self.buf.get(self.start..self.end).unwrap_or_default();
            if avail.len() < HEP3_MAGIC.len() {
                return None;
            }
            if !avail.starts_with(HEP3_MAGIC) {
                if !self.in_garbage {
                    self.in_garbage = true;
                    self.stats.resyncs += 1;
                }
                match memchr::memmem::find(avail, HEP3_MAGIC) {
                    Some(at) => self.skip(at),
                    None => {
                        // Keep a tail that may be the start of a magic split across reads.
                        let keep = HEP3_MAGIC.len() - 1;
                        let n = avail.len() - keep;
                        self.skip(n);
                        return None;
                    }
                }
                continue;
            }
            let len = avail
                .get(4..6)
                .and_then(|b| <[u8; 2]>::try_from(b).ok())
                .map(u16::from_be_bytes)?;
            let len = usize::from(len);
            if len < HEP3_HEADER_LEN {
                self.stats.bad_lengths += 1;
                self.in_garbage = true;
                self.skip(HEP3_MAGIC.len());
                continue;
            }
            if avail.len() < len {
                return None;
            }
            let from = self.start;
            self.start += len;
            self.in_garbage = false;
            self.stats.packets += 1;
            return self.buf.get(from..from + len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(fill: u8, len: usize) -> Vec<u8> {
        let mut v = b"HEP3".to_vec();
        v.extend_from_slice(&(len as u16).to_be_bytes());
        v.resize(len, fill);
        v
    }

    fn drain(s: &mut Hep3Splitter) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(p) = s.next_packet() {
            out.push(p.to_vec());
        }
        out
    }

    #[test]
    fn split_across_every_byte_boundary() {
        let a = frame(0xaa, 40);
        let b = frame(0xbb, 6);
        let c = frame(0xcc, 300);
        let stream: Vec<u8> = [a.clone(), b.clone(), c.clone()].concat();
        for cut in 0..stream.len() {
            let mut s = Hep3Splitter::new();
            let mut got = Vec::new();
            let (x, y) = stream.split_at(cut);
            assert_eq!(s.push(x), x.len());
            got.extend(drain(&mut s));
            assert_eq!(s.push(y), y.len());
            got.extend(drain(&mut s));
            assert_eq!(got, vec![a.clone(), b.clone(), c.clone()], "cut at {cut}");
            assert_eq!(s.stats().skipped_bytes, 0);
            assert_eq!(s.buffered(), 0);
        }
    }

    #[test]
    fn byte_by_byte() {
        let a = frame(1, 100);
        let b = frame(2, 65_535);
        let stream = [a.clone(), b.clone()].concat();
        let mut s = Hep3Splitter::new();
        let mut got = Vec::new();
        for byte in &stream {
            assert_eq!(s.push(std::slice::from_ref(byte)), 1);
            got.extend(drain(&mut s));
        }
        assert_eq!(got, vec![a, b]);
    }

    #[test]
    fn garbage_is_skipped_and_counted() {
        let a = frame(0x11, 20);
        let junk = b"xxHEPxHEP\x00garbage!".to_vec();
        let stream = [junk.clone(), a.clone(), b"zz".to_vec(), a.clone()].concat();
        let mut s = Hep3Splitter::new();
        s.push(&stream);
        assert_eq!(drain(&mut s), vec![a.clone(), a.clone()]);
        assert_eq!(s.stats().skipped_bytes, (junk.len() + 2) as u64);
        assert_eq!(s.stats().resyncs, 2);
    }

    #[test]
    fn garbage_without_magic_keeps_three_bytes() {
        let mut s = Hep3Splitter::new();
        s.push(b"0123456789HE");
        assert!(s.next_packet().is_none());
        assert_eq!(s.stats().skipped_bytes, 9);
        assert_eq!(s.buffered(), 3);
        let a = frame(7, 10);
        s.push(a.get(2..).unwrap());
        assert_eq!(drain(&mut s), vec![a]);
        assert_eq!(s.stats().skipped_bytes, 10);
    }

    #[test]
    fn length_below_header_is_skipped() {
        let a = frame(3, 9);
        let stream = [b"HEP3\x00\x03".to_vec(), a.clone()].concat();
        let mut s = Hep3Splitter::new();
        s.push(&stream);
        assert_eq!(drain(&mut s), vec![a]);
        assert_eq!(s.stats().bad_lengths, 1);
        assert_eq!(s.stats().skipped_bytes, 6);
    }

    #[test]
    fn buffer_is_bounded_and_always_has_read_room() {
        let mut s = Hep3Splitter::new();
        // A maximal packet missing its last byte, then the rest plus another packet.
        let big = frame(9, 65_535);
        let n = s.push(big.get(..65_534).unwrap());
        assert_eq!(n, 65_534);
        assert!(s.next_packet().is_none());
        assert!(s.spare_mut().len() >= READ_CHUNK);
        s.push(big.get(65_534..).unwrap());
        assert_eq!(drain(&mut s), vec![big]);
        assert_eq!(s.buffered(), 0);
        // A full buffer accepts no more until drained.
        let mut t = Hep3Splitter::new();
        let flood = vec![b'x'; SPLITTER_BUFFER + 10];
        assert_eq!(t.push(&flood), SPLITTER_BUFFER);
        assert!(t.next_packet().is_none());
        assert_eq!(t.buffered(), 3);
    }
}
