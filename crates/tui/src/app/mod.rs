//! The UI state and what keys do to it. No drawing here: `views` renders an [`App`] and the
//! analysis, so every screen can be rendered into a test backend from a state built by keys.
//!
//! Screens: three top-level lists (conferences, dialogs, messages) switched by Tab, and a
//! stack of screens opened from them with Enter (conference grid, ladder, message detail),
//! closed with Esc or Backspace.
//!
//! The state is one [`App`]; each concern adds its keys' methods to it from its own module:
//!
//! * `lists` — the three top-level lists, their filtered rows and cursors;
//! * `filter` — what a list shows (`f`): parsing the filter, matching rows;
//! * `screens` — the screens on the stack (grid, ladder, detail) and how Enter opens them;
//! * `search` — `/`, `n` and `N` on every screen;
//! * `sort` — `s` / `S`: the conference list's order;
//! * `prompt` — the bottom-line prompt and its editing;
//! * `write` — `w`: what is selected, as packets to write; `s`: a ladder or a message as text;
//! * `copy` — `c`: the selected Call-ID to the terminal's clipboard (OSC 52);
//! * `log` — `!`: every status message in full;
//! * `keys` — which key does what.
//!
//! This module holds what they share: the state, [`App::sync`], and the cursor of the
//! current screen.

mod copy;
mod filter;
mod keys;
mod lists;
mod log;
mod prompt;
mod screens;
mod search;
mod sort;
#[cfg(test)]
mod test_support;
mod write;

pub use copy::osc52;
pub(crate) use filter::Filter;
pub(crate) use lists::{ListView, SortColumn, Tab};
pub(crate) use log::Log;
pub(crate) use prompt::{Prompt, PromptKind};
pub(crate) use screens::{DetailView, GridView, LadderView, Pane, Screen};

use super::live::LiveStatus;
use super::loader::LoadStatus;
use lyncscope::analysis::Analysis;
use lyncscope::output::export::MessageSpan;

/// What the run loop must do after a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    Export {
        spans: Vec<MessageSpan>,
        path: String,
        what: String,
    },
    /// Write `text` (a ladder or a message as text) to `path`.
    SaveText {
        text: String,
        path: String,
        what: String,
    },
    /// Put `text` (a Call-ID) on the terminal's clipboard: write [`osc52`] of it.
    Copy {
        text: String,
    },
}

/// Lines of chrome around the content of each screen (title bar, status bar, headers), so
/// that paging and scrolling know how many rows are shown.
pub(crate) mod chrome {
    /// Title bar and status bar.
    pub(crate) const FRAME: u16 = 2;
    /// Table header of a list.
    pub(crate) const LIST: u16 = FRAME + 1;
    /// Conference header (3), grid header (1), participant panel below.
    pub(crate) const fn grid(height: u16) -> u16 {
        FRAME + 3 + 1 + grid_panel(height)
    }

    /// The participant panel: 6 rows at 24, half of every row beyond — a tall terminal has
    /// room for a long reason, the media line and how the participant left.
    pub(crate) const fn grid_panel(height: u16) -> u16 {
        6 + height.saturating_sub(24) / 2
    }
    /// Lane titles (2) and the selected message's line (1).
    pub(crate) const LADDER: u16 = FRAME + 2 + 1;
    /// Pane bar.
    pub(crate) const DETAIL: u16 = FRAME + 1;
}

pub struct App {
    /// The inputs, for the title bar.
    pub(crate) title: String,
    pub(crate) tab: Tab,
    pub(crate) lists: [ListView; 3],
    pub(crate) stack: Vec<Screen>,
    pub(crate) prompt: Option<Prompt>,
    /// A one-line message in the status bar (result of the last action).
    pub(crate) notice: Option<String>,
    pub(crate) help: bool,
    pub(crate) last_search: Option<String>,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    pub(crate) status: LoadStatus,
    /// The input was standard input: it cannot be read again to write packets.
    pub(crate) from_stdin: bool,
    /// A live capture: its state for the status line (`None` for files).
    pub live: Option<LiveStatus>,
    /// The TLS layer's state, for the TLS line of a decrypted message's detail.
    pub tls: Option<lyncscope::tls::TlsHandle>,
    /// The inputs by index, to name a message's origins (file and frame, or file and line).
    pub sources: Vec<String>,
    /// Every bound of the pipeline that left something out, for the status line (set by the
    /// run loop before each draw from `Pipeline::stats`).
    pub bounds_hit: Vec<lyncscope::bounds::BoundHit>,
    /// Where the analysis' change log was at the last update.
    change_seq: u64,
    /// What `w` will write, set when its prompt opens.
    write_target: Vec<u32>,
    write_messages: Vec<usize>,
    was_done: bool,
    /// Every status message (`!`).
    pub(crate) log: Log,
    /// Esc on the first screen asked whether to quit.
    pub(crate) confirm_quit: bool,
}

impl App {
    pub fn new(title: String, from_stdin: bool) -> Self {
        App {
            title,
            tab: Tab::Conferences,
            lists: Default::default(),
            stack: Vec::new(),
            prompt: None,
            notice: None,
            bounds_hit: Vec::new(),
            help: false,
            last_search: None,
            size: (80, 24),
            status: LoadStatus::default(),
            from_stdin,
            live: None,
            tls: None,
            sources: Vec::new(),
            change_seq: 0,
            write_target: Vec::new(),
            write_messages: Vec::new(),
            was_done: false,
            log: Log::default(),
            confirm_quit: false,
        }
    }

    pub(crate) fn list(&self, tab: Tab) -> &ListView {
        &self.lists[tab.index()]
    }

    fn list_mut(&mut self, tab: Tab) -> &mut ListView {
        &mut self.lists[tab.index()]
    }

    pub(crate) fn total(&self, tab: Tab, a: &Analysis) -> usize {
        match tab {
            Tab::Conferences => a.conferences().list().len(),
            Tab::Dialogs => a.dialogs().len(),
            Tab::Messages => a.messages().len(),
        }
    }

    /// Brings derived state up to date with the analysis: filters look again at rows whose
    /// dialog or conference changed and scan new rows, ladders take new messages, cursors stay
    /// on their rows. Called before each draw.
    ///
    /// The cost follows what changed since the last update (new rows, the messages' dialogs in
    /// the analysis' change log), not the size of the capture; a live capture updates ten
    /// times a second.
    pub fn sync(&mut self, a: &Analysis, status: LoadStatus) {
        let finished_now = status.done && !self.was_done;
        self.was_done = status.done;
        self.status = status;
        let filtered = self.lists.iter().any(|l| l.filter != Filter::None);
        // Dialogs and conferences touched since the last update, or everything (`None`): the
        // change log fell behind, or there is none and loading just ended.
        let mut changed: Option<(Vec<u32>, Vec<u32>)> = Some(Default::default());
        if filtered {
            match a.changes_since(self.change_seq) {
                Some(ids) => {
                    let mut dialogs: Vec<u32> = ids.collect();
                    dialogs.sort_unstable();
                    dialogs.dedup();
                    let mut confs: Vec<u32> = dialogs
                        .iter()
                        .filter_map(|&d| a.conferences().conference_of(d))
                        .filter_map(|c| u32::try_from(c).ok())
                        .collect();
                    confs.sort_unstable();
                    confs.dedup();
                    changed = Some((dialogs, confs));
                }
                None if a.has_change_log() || finished_now => changed = None,
                None => {}
            }
        }
        self.change_seq = a.change_seq();
        for tab in Tab::ALL {
            let total = self.total(tab, a);
            self.list_mut(tab).update(a, tab, total, changed.as_ref());
        }
        self.sort_conferences(a);
        self.record_status();
        for s in &mut self.stack {
            if let Screen::Ladder(l) = s {
                l.ladder.update(a);
            }
        }
        self.clamp(a);
    }

    /// Keeps the cursor of the current screen within its rows and on screen.
    fn clamp(&mut self, a: &Analysis) {
        let height = self.page_height();
        if let Some((sel, off, len)) = self.cursor(a) {
            if len == 0 {
                *sel = 0;
                *off = 0;
                return;
            }
            *sel = (*sel).min(len - 1);
            if *sel < *off {
                *off = *sel;
            } else if *sel >= *off + height {
                *off = *sel + 1 - height;
            }
            *off = (*off).min(len.saturating_sub(1));
        }
    }

    /// Rows of content the current screen shows.
    pub(crate) fn page_height(&self) -> usize {
        let chrome = match self.stack.last() {
            None => chrome::LIST,
            Some(Screen::Conference(_)) => chrome::grid(self.size.1),
            Some(Screen::Ladder(_)) => chrome::LADDER,
            Some(Screen::Detail(_)) => chrome::DETAIL,
        };
        self.size.1.saturating_sub(chrome).max(1) as usize
    }

    /// The cursor of the current screen: (selected, offset, rows).
    fn cursor(&mut self, a: &Analysis) -> Option<(&mut usize, &mut usize, usize)> {
        match self.stack.last_mut() {
            None => {
                let tab = self.tab;
                let total = match tab {
                    Tab::Conferences => a.conferences().list().len(),
                    Tab::Dialogs => a.dialogs().len(),
                    Tab::Messages => a.messages().len(),
                };
                let list = &mut self.lists[tab.index()];
                let len = list.len(total);
                Some((&mut list.selected, &mut list.offset, len))
            }
            Some(Screen::Conference(g)) => {
                let len = a
                    .conferences()
                    .list()
                    .get(g.conference)
                    .map_or(0, |c| c.participants.len());
                Some((&mut g.selected, &mut g.offset, len))
            }
            Some(Screen::Ladder(l)) => {
                let len = l.ladder.arrows.len();
                Some((&mut l.selected, &mut l.offset, len))
            }
            Some(Screen::Detail(d)) => {
                let len = d.pane_len();
                let i = d.pane_index();
                let (c, o) = (d.cursor.get_mut(i)?, d.offset.get_mut(i)?);
                Some((c, o, len))
            }
        }
    }

    fn move_by(&mut self, a: &Analysis, delta: isize) {
        self.unstick();
        if let Some((sel, _, len)) = self.cursor(a) {
            let max = len.saturating_sub(1) as isize;
            *sel = (*sel as isize + delta).clamp(0, max.max(0)) as usize;
        }
        self.clamp(a);
    }

    /// The user moved: the cursor stays where they put it.
    fn unstick(&mut self) {
        if self.stack.is_empty() {
            let tab = self.tab;
            self.list_mut(tab).sticky = None;
        }
    }

    fn move_to(&mut self, a: &Analysis, row: usize) {
        self.unstick();
        if let Some((sel, _, _)) = self.cursor(a) {
            *sel = row;
        }
        self.clamp(a);
    }

    /// The source index under the cursor of a top-level list.
    pub(crate) fn selected_item(&self, tab: Tab, a: &Analysis) -> Option<usize> {
        let list = self.list(tab);
        list.item(list.selected, self.total(tab, a))
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{done, key, load};
    use super::*;
    use ratatui::crossterm::event::KeyCode;

    #[test]
    fn cursor_stays_in_range_and_pages() {
        let p = load("multi-conference.pcapng");
        let a = p.analysis();
        let mut app = App::new("t".into(), false);
        app.size = (80, 24);
        app.sync(a, done());
        app.handle_key(key(KeyCode::Char('3')), a);
        app.handle_key(key(KeyCode::End), a);
        let n = a.messages().len();
        assert_eq!(app.list(Tab::Messages).selected, n - 1);
        assert_eq!(app.list(Tab::Messages).offset, n - app.page_height());
        app.handle_key(key(KeyCode::PageUp), a);
        assert_eq!(app.list(Tab::Messages).selected, n - 1 - app.page_height());
        app.handle_key(key(KeyCode::Home), a);
        app.handle_key(key(KeyCode::Up), a);
        assert_eq!(app.list(Tab::Messages).selected, 0);
        assert_eq!(app.list(Tab::Messages).offset, 0);
    }
}
