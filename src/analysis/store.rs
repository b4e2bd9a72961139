//! The message store: every recorded message's bytes, kept compactly for the views.
//!
//! The report does not need message bytes ([`super::MessageRecord`] holds numbers and interned
//! strings only), but the terminal UI shows a selected message as a dissection tree, as text and
//! as hex, and searches message text. Keeping every message as its own `Vec<u8>` would cost the
//! bytes plus an allocation each; instead messages are appended into blocks of about
//! [`BLOCK_BYTES`], and a full block is sealed by compressing it with deflate (SIP text
//! compresses 5–10×). The index is one `u32` per message (its end offset in its block) plus one
//! entry per block, so a million messages cost 4 MB of index.
//!
//! Reading a message decompresses its block (about 0.1 ms for 64 KB); the last few blocks read
//! are cached, because the views read neighbours (a ladder, the next message, a search).
//!
//! The store is opt-in ([`super::Analysis::with_message_store`]): report mode stays lean.

use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use std::cell::RefCell;
use std::io::{Read, Write};

/// Raw bytes collected before a block is sealed (compressed).
pub const BLOCK_BYTES: usize = 64 * 1024;
/// Decompressed blocks kept for reading.
const CACHED_BLOCKS: usize = 4;
/// A single message is never larger than the SIP parser allows (64 KB of headers plus 16 MB
/// of body); anything claiming more is cut, so one hostile message cannot hold a huge block.
const MAX_MESSAGE_BYTES: usize = 17 * 1024 * 1024;

struct Block {
    /// Index of the block's first message.
    first_message: u32,
    /// Deflate-compressed bytes of every message of the block, back to back.
    compressed: Box<[u8]>,
}

/// Compressed message bytes, indexed by message number (the index in
/// [`super::Analysis::messages`]).
pub struct MessageStore {
    sealed: Vec<Block>,
    /// The block being filled, uncompressed.
    open: Vec<u8>,
    open_first_message: u32,
    /// For each message, the offset in its block where it ends (it starts where the previous
    /// message of the same block ended, or at 0).
    ends: Vec<u32>,
    cache: RefCell<Vec<(usize, Vec<u8>)>>,
    raw_bytes: u64,
    compressed_bytes: u64,
}

impl Default for MessageStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MessageStore {
    pub fn new() -> Self {
        MessageStore {
            sealed: Vec::new(),
            open: Vec::with_capacity(BLOCK_BYTES),
            open_first_message: 0,
            ends: Vec::new(),
            cache: RefCell::new(Vec::new()),
            raw_bytes: 0,
            compressed_bytes: 0,
        }
    }

    /// Number of messages stored.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes of the messages stored, and what they take: compressed blocks plus the open block
    /// plus the index.
    pub fn usage(&self) -> (u64, u64) {
        let held = self.compressed_bytes
            + self.open.capacity() as u64
            + self.ends.capacity() as u64 * 4
            + self.sealed.capacity() as u64 * std::mem::size_of::<Block>() as u64;
        (self.raw_bytes, held)
    }

    /// Appends the next message.
    pub fn push(&mut self, bytes: &[u8]) {
        let bytes = bytes
            .get(..bytes.len().min(MAX_MESSAGE_BYTES))
            .unwrap_or(bytes);
        if !self.open.is_empty() && self.open.len() + bytes.len() > BLOCK_BYTES {
            self.seal();
        }
        self.open.extend_from_slice(bytes);
        self.raw_bytes += bytes.len() as u64;
        // A block is at most one oversized message past BLOCK_BYTES, far below u32::MAX.
        self.ends
            .push(u32::try_from(self.open.len()).unwrap_or(u32::MAX));
    }

    fn seal(&mut self) {
        let mut enc =
            DeflateEncoder::new(Vec::with_capacity(self.open.len() / 4), Compression::fast());
        // Writing into a Vec cannot fail.
        let compressed: Vec<u8> = enc
            .write_all(&self.open)
            .and_then(|()| enc.finish())
            .unwrap_or_default();
        self.compressed_bytes += compressed.len() as u64;
        self.sealed.push(Block {
            first_message: self.open_first_message,
            compressed: compressed.into_boxed_slice(),
        });
        self.open.clear();
        self.open_first_message = u32::try_from(self.ends.len()).unwrap_or(u32::MAX);
    }

    /// The bytes of message `index`, or `None` if there is no such message.
    pub fn get(&self, index: usize) -> Option<Vec<u8>> {
        let mut out = None;
        self.with(index, |b| out = Some(b.to_vec()));
        out
    }

    /// Calls `f` with the bytes of message `index`; false if there is no such message.
    pub fn with(&self, index: usize, f: impl FnOnce(&[u8])) -> bool {
        let Some(&end) = self.ends.get(index) else {
            return false;
        };
        let index32 = u32::try_from(index).unwrap_or(u32::MAX);
        let start_of = |first: u32| {
            if index32 > first {
                self.ends.get(index - 1).copied().unwrap_or(0)
            } else {
                0
            }
        };
        if index32 >= self.open_first_message {
            let start = start_of(self.open_first_message);
            match self.open.get(start as usize..end as usize) {
                Some(b) => f(b),
                None => return false,
            }
            return true;
        }
        // The sealed block holding the message: the last one starting at or before it.
        let block = self
            .sealed
            .partition_point(|b| b.first_message <= index32)
            .saturating_sub(1);
        let Some(first) = self.sealed.get(block).map(|b| b.first_message) else {
            return false;
        };
        let start = start_of(first);
        let mut cache = self.cache.borrow_mut();
        let pos = match cache.iter().position(|(b, _)| *b == block) {
            Some(pos) => pos,
            None => {
                let Some(data) = self.decompress(block) else {
                    return false;
                };
                if cache.len() >= CACHED_BLOCKS {
                    cache.remove(0);
                }
                cache.push((block, data));
                cache.len() - 1
            }
        };
        match cache
            .get(pos)
            .and_then(|(_, d)| d.get(start as usize..end as usize))
        {
            Some(b) => f(b),
            None => return false,
        }
        true
    }

    fn decompress(&self, block: usize) -> Option<Vec<u8>> {
        let b = self.sealed.get(block)?;
        let mut out = Vec::with_capacity(BLOCK_BYTES);
        DeflateDecoder::new(&b.compressed[..])
            .take(BLOCK_BYTES as u64 + MAX_MESSAGE_BYTES as u64)
            .read_to_end(&mut out)
            .ok()?;
        Some(out)
    }

    /// Calls `f(index, bytes)` for messages `from..` in order until it returns true; returns
    /// the index it stopped at. Each block is decompressed once (for searching).
    pub fn find_from(&self, from: usize, mut f: impl FnMut(usize, &[u8]) -> bool) -> Option<usize> {
        (from..self.len()).find(|&i| {
            let mut hit = false;
            self.with(i, |b| hit = f(i, b));
            hit
        })
    }

    /// Like [`find_from`](Self::find_from), backwards from `from` (inclusive).
    pub fn rfind_from(
        &self,
        from: usize,
        mut f: impl FnMut(usize, &[u8]) -> bool,
    ) -> Option<usize> {
        let top = from.min(self.len().saturating_sub(1));
        if self.is_empty() {
            return None;
        }
        (0..=top).rev().find(|&i| {
            let mut hit = false;
            self.with(i, |b| hit = f(i, b));
            hit
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(i: usize) -> Vec<u8> {
        format!(
            "INVITE sip:user{i}@example.com SIP/2.0\r\nCall-ID: call-{i}\r\nCSeq: {i} INVITE\r\n\r\n{}",
            "v=0\r\n".repeat(i % 50)
        )
        .into_bytes()
    }

    #[test]
    fn every_message_reads_back_across_blocks() {
        let mut s = MessageStore::new();
        for i in 0..3000 {
            s.push(&message(i));
        }
        assert_eq!(s.len(), 3000);
        assert!(s.sealed.len() > 2, "several blocks were sealed");
        for i in (0..3000).rev().step_by(7) {
            assert_eq!(s.get(i).as_deref(), Some(&message(i)[..]), "message {i}");
        }
        assert_eq!(s.get(0).as_deref(), Some(&message(0)[..]));
        assert_eq!(s.get(2999).as_deref(), Some(&message(2999)[..]));
        assert_eq!(s.get(3000), None);
        let (raw, held) = s.usage();
        assert!(held * 3 < raw, "compressed: {held} of {raw}");
    }

    #[test]
    fn oversized_and_empty_messages() {
        let mut s = MessageStore::new();
        s.push(b"");
        let big = vec![b'x'; BLOCK_BYTES * 2];
        s.push(&big);
        s.push(b"after");
        assert_eq!(s.get(0).as_deref(), Some(&b""[..]));
        assert_eq!(s.get(1).map(|b| b.len()), Some(big.len()));
        assert_eq!(s.get(2).as_deref(), Some(&b"after"[..]));
    }

    #[test]
    fn search_both_ways() {
        let mut s = MessageStore::new();
        for i in 0..2000 {
            s.push(&message(i));
        }
        let hit = s.find_from(10, |_, b| memchr::memmem::find(b, b"call-1500\r").is_some());
        assert_eq!(hit, Some(1500));
        let back = s.rfind_from(1499, |_, b| memchr::memmem::find(b, b"call-15\r").is_some());
        assert_eq!(back, Some(15));
        assert_eq!(s.find_from(1501, |_, b| b.starts_with(b"nope")), None);
    }
}
