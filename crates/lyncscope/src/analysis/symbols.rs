//! A small interner for the short strings that repeat on every message (methods, content
//! types), so that a message record holds a `u32` instead of a copy.
//!
//! Hostile input could invent a new method per packet; the table is bounded and every string
//! past the bound maps to [`Symbols::OVERFLOW`] (shown as `"…"`), which is counted.
//!
//! `SharedTexts` shares longer texts that many records hold (addresses of record, client
//! names) as one `Arc<str>` each.

use ahash::RandomState;
use std::collections::HashMap;
use std::sync::Arc;

/// An interned string (a method, a content type); [`Symbols::name`] gives its text.
/// It holds its index plus one, so that an `Option<Sym>` takes no more room than a `Sym` (a
/// message row holds three).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(std::num::NonZeroU32);

pub(crate) const MAX_SYMBOLS: usize = 4096;

/// The interner: every [`Sym`] of an analysis resolves here.
pub struct Symbols {
    map: HashMap<Box<[u8]>, Sym, RandomState>,
    names: Vec<Box<str>>,
    /// Strings that did not fit in the table.
    pub overflowed: u64,
    /// Bytes the table holds (each string twice, as key and name, plus bookkeeping), for the
    /// analysis' byte budget.
    pub(crate) bytes: usize,
}

impl Default for Symbols {
    fn default() -> Self {
        let mut s = Symbols {
            map: HashMap::default(),
            names: Vec::new(),
            overflowed: 0,
            bytes: 0,
        };
        s.names.push("…".into());
        s
    }
}

impl Sym {
    /// A dense index (0 for [`Symbols::OVERFLOW`]), for tables kept beside the interner.
    pub fn index(self) -> usize {
        (self.0.get() - 1) as usize
    }

    /// Its value, never 0 and at most [`MAX_SYMBOLS`] (a message row packs it with a status).
    pub(crate) fn raw(self) -> u32 {
        self.0.get()
    }

    /// The symbol of a value from [`Sym::raw`].
    pub(crate) fn from_raw(raw: u32) -> Option<Sym> {
        std::num::NonZeroU32::new(raw).map(Sym)
    }
}

impl Symbols {
    /// The symbol of every string that arrived after the table was full; its name is `"…"`.
    pub const OVERFLOW: Sym = Sym(std::num::NonZeroU32::MIN);

    /// The symbol of `bytes`, interning it (lossily as UTF-8) when it is new.
    pub(crate) fn intern(&mut self, bytes: &[u8]) -> Sym {
        if let Some(&s) = self.map.get(bytes) {
            return s;
        }
        if self.names.len() >= MAX_SYMBOLS {
            self.overflowed += 1;
            return Self::OVERFLOW;
        }
        // `names` holds at most MAX_SYMBOLS, far below u32::MAX.
        let sym = Sym(std::num::NonZeroU32::MIN.saturating_add(self.names.len() as u32));
        self.names.push(String::from_utf8_lossy(bytes).into());
        self.map.insert(bytes.into(), sym);
        self.bytes += 2 * bytes.len() + 64;
        sym
    }

    /// The symbol of a string if it was interned.
    pub fn lookup(&self, bytes: &[u8]) -> Option<Sym> {
        self.map.get(bytes).copied()
    }

    /// The text of a symbol; `"…"` for [`Symbols::OVERFLOW`].
    pub fn name(&self, sym: Sym) -> &str {
        self.names.get(sym.index()).map_or("…", |s| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_and_bounds() {
        let mut s = Symbols::default();
        let a = s.intern(b"INVITE");
        assert_eq!(s.intern(b"INVITE"), a);
        assert_eq!(s.name(a), "INVITE");
        for i in 0..10_000 {
            s.intern(format!("M{i}").as_bytes());
        }
        assert_eq!(s.intern(b"NEWER"), Symbols::OVERFLOW);
        assert!(s.overflowed > 0);
        assert_eq!(s.name(a), "INVITE");
        assert_eq!(Symbols::OVERFLOW.index(), 0);
        assert_eq!(s.name(Symbols::OVERFLOW), "…");
        assert_eq!(std::mem::size_of::<Option<Sym>>(), 4);
    }
}

/// Texts shared by the records that hold them: one allocation per distinct text, where each
/// holder had its own copy. A holder that lets its text go gives it back
/// ([`SharedTexts::release`]), so a text no one holds leaves the table; past `most` distinct
/// texts, further ones are not shared (each holder gets its own, as before), so hostile input
/// cannot grow the table.
pub(crate) struct SharedTexts {
    set: hashbrown::HashTable<Arc<str>>,
    hasher: RandomState,
    most: usize,
}

impl SharedTexts {
    /// Bytes of the table per entry it has room for (a pointer and a control byte, 8 buckets
    /// for 7 entries).
    pub(crate) const BUCKET: usize = (std::mem::size_of::<Arc<str>>() + 1) * 8 / 7;

    /// A table sharing at most `most` distinct texts.
    pub(crate) fn new(most: usize) -> Self {
        SharedTexts {
            set: hashbrown::HashTable::new(),
            hasher: RandomState::new(),
            most,
        }
    }

    /// The shared copy of `text` (made now if it is new).
    pub(crate) fn of(&mut self, text: &str) -> Arc<str> {
        let hash = self.hasher.hash_one(text);
        if let Some(known) = self.set.find(hash, |a| **a == *text) {
            return Arc::clone(known);
        }
        let shared: Arc<str> = Arc::from(text);
        if self.set.len() < self.most {
            let hasher = &self.hasher;
            self.set
                .insert_unique(hash, Arc::clone(&shared), |a| hasher.hash_one(&**a));
        }
        shared
    }

    /// A holder lets `shared` go: the table forgets it when no one else holds it.
    pub(crate) fn release(&mut self, shared: Arc<str>) {
        let hash = self.hasher.hash_one(&*shared);
        if let Ok(entry) = self.set.find_entry(hash, |a| Arc::ptr_eq(a, &shared)) {
            // The table's and `shared`.
            if Arc::strong_count(entry.get()) <= 2 {
                entry.remove();
            }
        }
    }

    /// Entries the table has room for.
    pub(crate) fn capacity(&self) -> usize {
        self.set.capacity()
    }

    /// Texts held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.set.len()
    }
}

#[cfg(test)]
mod shared_tests {
    use super::SharedTexts;
    use std::sync::Arc;

    #[test]
    fn texts_are_shared_up_to_the_bound_and_forgotten_once_released() {
        let mut t = SharedTexts::new(2);
        let a = t.of("sip:alice@example.com");
        let again = t.of("sip:alice@example.com");
        assert!(Arc::ptr_eq(&a, &again));
        let b = t.of("sip:bob@example.com");
        // Past the bound: a copy of its own, not kept.
        let c = t.of("sip:carol@example.com");
        let c2 = t.of("sip:carol@example.com");
        assert!(!Arc::ptr_eq(&c, &c2) && *c == *c2);
        assert_eq!(t.len(), 2);
        // Held twice: the first release keeps it, the second forgets it.
        t.release(a);
        assert_eq!(t.len(), 2);
        t.release(again);
        assert_eq!(t.len(), 1);
        // A text the table does not hold (past the bound) is simply dropped.
        t.release(c);
        assert!(Arc::ptr_eq(&b, &t.of("sip:bob@example.com")));
    }
}
