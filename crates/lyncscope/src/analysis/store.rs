//! The message store: every recorded message's bytes, kept compactly for the views.
//!
//! The report does not need message bytes ([`super::MessageRecord`] holds numbers and interned
//! strings only), but the terminal UI shows a selected message as a dissection tree, as text and
//! as hex, and searches message text. Keeping every message as its own `Vec<u8>` would cost the
//! bytes plus an allocation each; instead messages are appended into blocks of about
//! [`BLOCK_BYTES`], and a full block is sealed by compressing it with LZ4 (SIP text compresses
//! about 3.7×). LZ4, not deflate: deflate's level 1 compressed 4.0× but took 10 of the 13 s a
//! million messages took to load in the UI; LZ4 does the same work in a third of the time. The index is 8 bytes per message (block,
//! start: a message ends where the next starts), so a million messages cost 8 MB of index.
//!
//! Sealed blocks are appended to an unlinked temporary file, so they take page cache, not
//! process memory (with no temporary file, they stay in memory). What the process holds is the
//! index, the open block and a few decompressed blocks.
//!
//! Compressing is a sixth of what loading a capture in the UI costs, so a full block is
//! compressed on a thread of its own: the block waits, readable as it is, until the compressed
//! block comes back (at most `PENDING_BLOCKS` wait; without that thread, blocks are compressed
//! where they are sealed).
//!
//! Reading a message decompresses its block (tens of microseconds for 64 KB); the last few blocks read
//! are cached, because the views read neighbours (a ladder, the next message, a search).
//!
//! The store is opt-in ([`super::Analysis::with_message_store`]): report mode stays lean.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::{mpsc, Arc};

/// Raw bytes collected before a block is sealed (compressed).
pub const BLOCK_BYTES: usize = 64 * 1024;
/// Blocks filled at once. One: grouping messages by dialog into several open blocks was
/// measured to compress worse (5.2× against 5.5× on a 100k-message capture): neighbours in
/// time share more text than messages of one dialog, whose random tokens differ anyway.
const BUCKETS: usize = 1;
/// Blocks handed to the compressing thread and not yet back: what bounds the raw bytes held
/// (8 × 64 KB) and how far compression may lag behind the analysis.
const PENDING_BLOCKS: usize = 8;
/// Decompressed blocks kept for reading.
const CACHED_BLOCKS: usize = 4;
/// A single message is never larger than the SIP parser allows (64 KB of headers plus 16 MB
/// of body); anything claiming more is cut, so one hostile message cannot hold a huge block.
const MAX_MESSAGE_BYTES: usize = 17 * 1024 * 1024;
/// `Loc::block` of a message still in an open block: this bit plus the bucket.
const OPEN: u32 = 1 << 31;
/// What the index holds per message, for the analysis' byte budget.
pub(crate) const INDEX_BYTES: usize = std::mem::size_of::<Loc>();

/// Where a message's bytes are: a sealed block (or an open bucket) and where they start in
/// it. They end where the next message of the block starts, or with the block: messages are
/// appended one after the other (8 bytes a message, not 12 with the end).
#[derive(Clone, Copy)]
struct Loc {
    block: u32,
    start: u32,
}

#[derive(Default)]
struct OpenBlock {
    data: Vec<u8>,
    /// Messages in this block, to point them at the sealed block when it is sealed.
    messages: Vec<u32>,
}

/// Compressed message bytes, indexed by message number (the index in
/// [`super::Analysis::messages`]).
pub struct MessageStore {
    /// LZ4-compressed blocks.
    sealed: Sealed,
    /// Blocks sealed after those of `sealed`, oldest first, with the compressing thread;
    /// readable raw until their compressed form comes back.
    pending: VecDeque<Arc<Vec<u8>>>,
    worker: Option<Worker>,
    open: Vec<OpenBlock>,
    locs: Vec<Loc>,
    cache: RefCell<Vec<(u32, Vec<u8>)>>,
    raw_bytes: u64,
    compressed_bytes: u64,
}

impl Default for MessageStore {
    fn default() -> Self {
        Self::new()
    }
}

/// The compressing thread's ends: raw blocks to it, compressed blocks back, in order.
struct Worker {
    to: mpsc::Sender<Arc<Vec<u8>>>,
    from: mpsc::Receiver<Vec<u8>>,
}

impl Worker {
    /// A thread compressing blocks in the order given; `None` when the system refuses one.
    fn spawn() -> Option<Worker> {
        let (to, raw) = mpsc::channel::<Arc<Vec<u8>>>();
        let (done, from) = mpsc::channel();
        std::thread::Builder::new()
            .name("lyncscope-store".into())
            .spawn(move || {
                // Ends when the store is dropped (its sender with it).
                for block in raw {
                    if done.send(compress(&block)).is_err() {
                        break;
                    }
                }
            })
            .ok()?;
        Some(Worker { to, from })
    }
}

fn compress(raw: &[u8]) -> Vec<u8> {
    lz4_flex::block::compress_prepend_size(raw)
}

/// A message's bytes in its block: from `start` to `end`, or to the block's end.
fn part(data: &[u8], start: usize, end: Option<usize>) -> Option<&[u8]> {
    data.get(start..end.unwrap_or(data.len()))
}

impl MessageStore {
    pub(crate) fn new() -> Self {
        Self::with_worker(Worker::spawn())
    }

    fn with_worker(worker: Option<Worker>) -> Self {
        MessageStore {
            sealed: Sealed::new(),
            pending: VecDeque::new(),
            worker,
            open: (0..BUCKETS).map(|_| OpenBlock::default()).collect(),
            locs: Vec::new(),
            cache: RefCell::new(Vec::new()),
            raw_bytes: 0,
            compressed_bytes: 0,
        }
    }

    /// Number of messages stored.
    pub fn len(&self) -> usize {
        self.locs.len()
    }

    /// True when no message is stored.
    pub fn is_empty(&self) -> bool {
        self.locs.is_empty()
    }

    /// Bytes of the messages stored, their compressed size, and the process memory the store
    /// takes (index, open block, and the compressed blocks when they are not in a file).
    pub fn usage(&self) -> (u64, u64, u64) {
        let open: usize = self
            .open
            .iter()
            .map(|b| b.data.capacity() + b.messages.capacity() * 4)
            .sum();
        let pending: usize = self.pending.iter().map(|b| b.capacity()).sum();
        let held = (open + pending) as u64
            + (self.locs.capacity() * std::mem::size_of::<Loc>()) as u64
            + self.sealed.memory();
        (self.raw_bytes, self.compressed_bytes, held)
    }

    /// Appends the next message.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        let bytes = bytes
            .get(..bytes.len().min(MAX_MESSAGE_BYTES))
            .unwrap_or(bytes);
        let bucket = 0;
        let full = self
            .open
            .get(bucket)
            .is_some_and(|b| !b.data.is_empty() && b.data.len() + bytes.len() > BLOCK_BYTES);
        if full {
            self.seal(bucket);
        }
        let index = u32::try_from(self.locs.len()).unwrap_or(u32::MAX);
        let Some(block) = self.open.get_mut(bucket) else {
            return;
        };
        let start = block.data.len();
        block.data.extend_from_slice(bytes);
        block.messages.push(index);
        self.raw_bytes += bytes.len() as u64;
        // A block is at most one oversized message past BLOCK_BYTES, far below u32::MAX.
        self.locs.push(Loc {
            block: OPEN | bucket as u32,
            start: u32::try_from(start).unwrap_or(u32::MAX),
        });
    }

    fn seal(&mut self, bucket: usize) {
        let id = u32::try_from(self.sealed.len() + self.pending.len()).unwrap_or(u32::MAX) & !OPEN;
        let Some(block) = self.open.get_mut(bucket) else {
            return;
        };
        for &m in &block.messages {
            if let Some(loc) = self.locs.get_mut(m as usize) {
                loc.block = id;
            }
        }
        block.messages.clear();
        let raw = std::mem::replace(&mut block.data, Vec::with_capacity(BLOCK_BYTES));
        let raw = Arc::new(raw);
        let handed = self
            .worker
            .as_ref()
            .is_some_and(|w| w.to.send(raw.clone()).is_ok());
        if handed {
            self.pending.push_back(raw);
            self.collect();
            while self.pending.len() > PENDING_BLOCKS {
                self.wait_for_one();
            }
        } else {
            // No thread (or it is gone): compress here, after whatever it still had.
            self.settle();
            self.keep(compress(&raw));
        }
    }

    /// Compressed blocks that came back, kept in order.
    fn collect(&mut self) {
        while let Some(c) = self.worker.as_ref().and_then(|w| w.from.try_recv().ok()) {
            self.pending.pop_front();
            self.keep(c);
        }
    }

    /// Waits for the oldest pending block; if the thread is gone, compresses what it had here.
    fn wait_for_one(&mut self) {
        match self.worker.as_ref().map(|w| w.from.recv()) {
            Some(Ok(c)) => {
                self.pending.pop_front();
                self.keep(c);
            }
            _ => {
                self.worker = None;
                self.settle();
            }
        }
    }

    /// Every pending block compressed and kept: by the thread if it is there, else here.
    pub(crate) fn settle(&mut self) {
        while !self.pending.is_empty() {
            if self.worker.is_some() {
                self.wait_for_one();
            } else if let Some(raw) = self.pending.pop_front() {
                self.keep(compress(&raw));
            }
        }
    }

    fn keep(&mut self, compressed: Vec<u8>) {
        self.compressed_bytes += compressed.len() as u64;
        self.sealed.push(compressed);
    }

    /// The bytes of message `index`, or `None` if there is no such message.
    pub fn get(&self, index: usize) -> Option<Vec<u8>> {
        let mut out = None;
        self.with(index, |b| out = Some(b.to_vec()));
        out
    }

    /// Calls `f` with the bytes of message `index`; false if there is no such message.
    pub fn with(&self, index: usize, f: impl FnOnce(&[u8])) -> bool {
        let Some(&loc) = self.locs.get(index) else {
            return false;
        };
        // The next message of the same block, if any, says where this one ends.
        let end = self
            .locs
            .get(index + 1)
            .filter(|next| next.block == loc.block)
            .map(|next| next.start as usize);
        let range = |data| part(data, loc.start as usize, end);
        if loc.block & OPEN != 0 {
            let bucket = (loc.block & !OPEN) as usize;
            return match self.open.get(bucket).and_then(|b| range(&b.data)) {
                Some(b) => {
                    f(b);
                    true
                }
                None => false,
            };
        }
        let sealed = self.sealed.len();
        if let Some(raw) = (loc.block as usize)
            .checked_sub(sealed)
            .and_then(|i| self.pending.get(i))
        {
            return match range(raw) {
                Some(b) => {
                    f(b);
                    true
                }
                None => false,
            };
        }
        let mut cache = self.cache.borrow_mut();
        let pos = match cache.iter().position(|(b, _)| *b == loc.block) {
            Some(pos) => pos,
            None => {
                let Some(data) = self.decompress(loc.block as usize) else {
                    return false;
                };
                if cache.len() >= CACHED_BLOCKS {
                    cache.remove(0);
                }
                cache.push((loc.block, data));
                cache.len() - 1
            }
        };
        match cache.get(pos).and_then(|(_, d)| range(d)) {
            Some(b) => {
                f(b);
                true
            }
            None => false,
        }
    }

    fn decompress(&self, block: usize) -> Option<Vec<u8>> {
        let b = self.sealed.get(block)?;
        // The blocks are this process's own, but a temporary file can be damaged: the size
        // it claims is bounded before anything is allocated for it.
        let (len, rest) = lz4_flex::block::uncompressed_size(&b).ok()?;
        if len > BLOCK_BYTES + MAX_MESSAGE_BYTES {
            return None;
        }
        lz4_flex::block::decompress(rest, len).ok()
    }

    /// Calls `f(index, bytes)` for messages `from..` in order until it returns true; returns
    /// the index it stopped at.
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
        if self.is_empty() {
            return None;
        }
        let top = from.min(self.len() - 1);
        (0..=top).rev().find(|&i| {
            let mut hit = false;
            self.with(i, |b| hit = f(i, b));
            hit
        })
    }
}

/// Where sealed blocks are kept: appended to an unlinked temporary file (the operating
/// system's page cache holds them, not the process), or in memory when no temporary file can
/// be made.
enum Sealed {
    File {
        file: std::fs::File,
        /// Offset and length of each block in the file.
        blocks: Vec<(u64, u32)>,
        end: u64,
    },
    Memory(Vec<Box<[u8]>>),
}

impl Sealed {
    fn new() -> Self {
        match spill_file() {
            Some(file) => Sealed::File {
                file,
                blocks: Vec::new(),
                end: 0,
            },
            None => Sealed::Memory(Vec::new()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Sealed::File { blocks, .. } => blocks.len(),
            Sealed::Memory(v) => v.len(),
        }
    }

    /// Process memory the sealed blocks take.
    fn memory(&self) -> u64 {
        match self {
            Sealed::File { blocks, .. } => (blocks.capacity() * 16) as u64,
            Sealed::Memory(v) => v.iter().map(|b| b.len() as u64 + 16).sum(),
        }
    }

    fn push(&mut self, compressed: Vec<u8>) {
        if let Sealed::File { file, blocks, end } = self {
            use std::io::{Seek, SeekFrom};
            let len = u32::try_from(compressed.len()).unwrap_or(u32::MAX);
            let written = file
                .seek(SeekFrom::Start(*end))
                .and_then(|_| file.write_all(&compressed));
            if written.is_ok() {
                blocks.push((*end, len));
                *end += u64::from(len);
                return;
            }
            // The disk is full or failing: keep what was written readable and go on in
            // memory. Blocks already in the file stay there, numbered first.
            let mut in_memory: Vec<Box<[u8]>> = Vec::with_capacity(blocks.len() + 1);
            let mut buf = Vec::new();
            for &(offset, len) in blocks.iter() {
                buf.clear();
                buf.resize(len as usize, 0);
                let ok = file
                    .seek(SeekFrom::Start(offset))
                    .and_then(|_| file.read_exact(&mut buf));
                in_memory.push(if ok.is_ok() {
                    buf.clone().into_boxed_slice()
                } else {
                    Box::default()
                });
            }
            *self = Sealed::Memory(in_memory);
        }
        if let Sealed::Memory(v) = self {
            v.push(compressed.into_boxed_slice());
        }
    }

    fn get(&self, block: usize) -> Option<Vec<u8>> {
        match self {
            Sealed::Memory(v) => v.get(block).map(|b| b.to_vec()),
            Sealed::File { file, blocks, .. } => {
                use std::io::{Seek, SeekFrom};
                let &(offset, len) = blocks.get(block)?;
                let mut buf = vec![0; len as usize];
                // Reading through a shared reference: `&File` implements Read and Seek.
                let mut f = file;
                f.seek(SeekFrom::Start(offset)).ok()?;
                f.read_exact(&mut buf).ok()?;
                Some(buf)
            }
        }
    }
}

/// A temporary file that nobody else can open and that disappears with the process: created
/// exclusively, then unlinked at once (on Unix the open handle keeps it alive).
fn spill_file() -> Option<std::fs::File> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir();
    for _ in 0..8 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("lyncscope-store-{}-{n}", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path);
        if let Ok(file) = file {
            if std::fs::remove_file(&path).is_ok() {
                return Some(file);
            }
            // Could not unlink (not Unix): do not leave files behind; keep blocks in memory.
            drop(file);
            let _ = std::fs::remove_file(&path);
            return None;
        }
    }
    None
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
        // Some blocks may still be with the compressing thread: read back either way.
        assert_eq!(s.get(1234).as_deref(), Some(&message(1234)[..]));
        s.settle();
        assert!(s.sealed.len() > 2, "several blocks were sealed");
        for i in (0..3000).rev().step_by(7) {
            assert_eq!(s.get(i).as_deref(), Some(&message(i)[..]), "message {i}");
        }
        assert_eq!(s.get(0).as_deref(), Some(&message(0)[..]));
        assert_eq!(s.get(2999).as_deref(), Some(&message(2999)[..]));
        assert_eq!(s.get(3000), None);
        let (raw, compressed, _) = s.usage();
        assert!(compressed * 3 < raw, "compressed: {compressed} of {raw}");
    }

    #[test]
    fn blocks_kept_in_memory_read_back() {
        let mut s = MessageStore::new();
        s.sealed = Sealed::Memory(Vec::new());
        for i in 0..2000 {
            s.push(&message(i));
        }
        s.settle();
        assert!(s.sealed.len() > 1);
        for i in (0..2000).step_by(13) {
            assert_eq!(s.get(i).as_deref(), Some(&message(i)[..]), "message {i}");
        }
        let (_, compressed, held) = s.usage();
        assert!(held >= compressed, "memory counts the blocks");
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

    /// Blocks with the compressing thread read back raw; once their compressed form is back
    /// they read from it; no more than `PENDING_BLOCKS` wait. The test plays the thread.
    #[test]
    fn blocks_being_compressed_read_back_and_stay_bounded() {
        let (to, raw) = mpsc::channel::<Arc<Vec<u8>>>();
        let (done, from) = mpsc::channel();
        let mut s = MessageStore::with_worker(Some(Worker { to, from }));
        let mut i = 0;
        while s.pending.len() < PENDING_BLOCKS {
            s.push(&message(i));
            i += 1;
        }
        assert_eq!(s.sealed.len(), 0, "nothing came back yet");
        for j in 0..i {
            assert_eq!(
                s.get(j).as_deref(),
                Some(&message(j)[..]),
                "pending message {j}"
            );
        }
        // The thread gives the first two back: they are kept, in order, at the next seal.
        for _ in 0..2 {
            let block = raw.recv().expect("a block was handed over");
            done.send(compress(&block)).expect("store alive");
        }
        let before = s.pending.len();
        while s.pending.len() == before {
            s.push(&message(i));
            i += 1;
        }
        assert_eq!(s.sealed.len(), 2);
        assert_eq!(s.pending.len(), PENDING_BLOCKS - 1);
        for j in 0..i {
            assert_eq!(s.get(j).as_deref(), Some(&message(j)[..]), "message {j}");
        }
        // The thread goes away: what it had is compressed by the store itself.
        drop((raw, done));
        while s.sealed.len() < 3 {
            s.push(&message(i));
            i += 1;
        }
        assert!(s.pending.is_empty());
        assert!(s.worker.is_none());
        for j in 0..i {
            assert_eq!(s.get(j).as_deref(), Some(&message(j)[..]), "message {j}");
        }
    }

    #[test]
    fn a_real_compressing_thread_settles() {
        let mut s = MessageStore::new();
        for i in 0..5000 {
            s.push(&message(i));
        }
        s.settle();
        assert!(s.pending.is_empty());
        for i in (0..5000).step_by(11) {
            assert_eq!(s.get(i).as_deref(), Some(&message(i)[..]), "message {i}");
        }
    }
}
