//! A small interner for the short strings that repeat on every message (methods, content
//! types), so that a message record holds a `u32` instead of a copy.
//!
//! Hostile input could invent a new method per packet; the table is bounded and every string
//! past the bound maps to [`Symbols::OVERFLOW`] (shown as `"…"`), which is counted.

use ahash::RandomState;
use std::collections::HashMap;

/// An interned string (a method, a content type); [`Symbols::name`] gives its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(u32);

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
        self.0 as usize
    }
}

impl Symbols {
    /// The symbol of every string that arrived after the table was full; its name is `"…"`.
    pub const OVERFLOW: Sym = Sym(0);

    /// The symbol of `bytes`, interning it (lossily as UTF-8) when it is new.
    pub(crate) fn intern(&mut self, bytes: &[u8]) -> Sym {
        if let Some(&s) = self.map.get(bytes) {
            return s;
        }
        if self.names.len() >= MAX_SYMBOLS {
            self.overflowed += 1;
            return Self::OVERFLOW;
        }
        let sym = Sym(self.names.len() as u32);
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
        self.names.get(sym.0 as usize).map_or("…", |s| s)
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
    }
}
