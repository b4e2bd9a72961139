//! The UI state and what keys do to it. No drawing here: `views` renders an [`App`] and the
//! analysis, so every screen can be rendered into a test backend from a state built by keys.
//!
//! Screens: three top-level lists (conferences, dialogs, messages) switched by Tab, and a
//! stack of screens opened from them with Enter (conference grid, ladder, message detail),
//! closed with Esc or Backspace.

use super::dissect::{self, TreeLine};
use super::ladder::{Ladder, Scope};
use super::live::LiveStatus;
use super::loader::LoadStatus;
use super::model::{self, conference_dialogs, participant_dialogs};
use lyncscope::analysis::{Analysis, DialogKind, JoinState, StartKind};
use lyncscope::output::export::MessageSpan;
use lyncscope::report::reason;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};

/// Rows of a filtered list scanned per update, so that filtering a million rows while loading
/// never costs one frame more than a few milliseconds.
const FILTER_BUDGET: usize = 200_000;
/// Rows the mouse wheel moves.
const WHEEL_ROWS: isize = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Conferences,
    Dialogs,
    Messages,
}

impl Tab {
    pub const ALL: [Tab; 3] = [Tab::Conferences, Tab::Dialogs, Tab::Messages];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Conferences => "Conferences",
            Tab::Dialogs => "Dialogs",
            Tab::Messages => "Messages",
        }
    }

    fn index(self) -> usize {
        match self {
            Tab::Conferences => 0,
            Tab::Dialogs => 1,
            Tab::Messages => 2,
        }
    }
}

/// What a list shows.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Filter {
    #[default]
    None,
    /// Failed joins (conferences), failed dialogs, failure responses.
    Failed,
    /// Dialogs (or messages of dialogs) of one kind.
    Kind(DialogKind),
    /// Rows whose text contains this (ASCII case ignored).
    Text(String),
}

impl Filter {
    /// Parses what was typed at the `f` prompt: `failed`, `kind:<kind>`, text, or nothing.
    pub fn parse(input: &str) -> Result<Filter, String> {
        let s = input.trim();
        if s.is_empty() {
            return Ok(Filter::None);
        }
        if s.eq_ignore_ascii_case("failed") {
            return Ok(Filter::Failed);
        }
        if let Some(k) = s.strip_prefix("kind:") {
            let kinds = [
                DialogKind::Invitation,
                DialogKind::Focus,
                DialogKind::Roster,
                DialogKind::Media,
                DialogKind::Mcu,
                DialogKind::ConferenceControl,
                DialogKind::Other,
            ];
            return kinds
                .into_iter()
                .find(|x| x.as_str().eq_ignore_ascii_case(k.trim()))
                .map(Filter::Kind)
                .ok_or_else(|| {
                    format!(
                        "unknown kind {:?}: invitation, focus, roster, media, mcu, conference-control, other",
                        k.trim()
                    )
                });
        }
        Ok(Filter::Text(s.to_string()))
    }

    pub fn describe(&self) -> Option<String> {
        match self {
            Filter::None => None,
            Filter::Failed => Some("failed".into()),
            Filter::Kind(k) => Some(format!("kind:{}", k.as_str())),
            Filter::Text(t) => Some(format!("\"{t}\"")),
        }
    }
}

/// A top-level list: its filter, the rows that pass it, and the cursor.
#[derive(Clone, Debug, Default)]
pub struct ListView {
    pub filter: Filter,
    /// With a filter: indices of the rows that pass, in order.
    rows: Vec<u32>,
    /// Rows of the source looked at by the filter so far.
    scanned: usize,
    pub selected: usize,
    pub offset: usize,
    /// While the filter looks at every row again: the source row the cursor was on, put back
    /// under the cursor once it is looked at (unless the cursor moves first).
    sticky: Option<usize>,
}

impl ListView {
    /// Rows shown, given the source's length.
    pub fn len(&self, total: usize) -> usize {
        match self.filter {
            Filter::None => total,
            _ => self.rows.len(),
        }
    }

    /// The source index of shown row `i`.
    pub fn item(&self, i: usize, total: usize) -> Option<usize> {
        match self.filter {
            Filter::None => (i < total).then_some(i),
            _ => self.rows.get(i).map(|&r| r as usize),
        }
    }

    /// True while the filter has not looked at every row yet.
    pub fn filtering(&self, total: usize) -> bool {
        self.filter != Filter::None && self.scanned < total
    }

    fn set_filter(&mut self, f: Filter) {
        self.filter = f;
        self.rows.clear();
        self.scanned = 0;
        self.selected = 0;
        self.offset = 0;
        self.sticky = None;
    }

    /// Looks at row `i` (already scanned) again: adds it to or removes it from the rows.
    fn recheck(&mut self, i: usize, passes: bool) {
        let Ok(row) = u32::try_from(i) else { return };
        match (passes, self.rows.binary_search(&row)) {
            (true, Err(at)) => self.rows.insert(at, row),
            (false, Ok(at)) => {
                self.rows.remove(at);
            }
            _ => {}
        }
    }

    /// Puts the cursor back on source row `item` after rows were added or removed before it
    /// (on the row after it, if it left the list); the view scrolls with it.
    fn follow(&mut self, item: usize, total: usize) {
        let at = match self.filter {
            Filter::None => item,
            _ => match self
                .rows
                .binary_search(&u32::try_from(item).unwrap_or(u32::MAX))
            {
                Ok(at) | Err(at) => at,
            },
        };
        let len = self.len(total);
        let at = at.min(len.saturating_sub(1));
        if at >= self.selected {
            self.offset += at - self.selected;
        } else {
            self.offset = self.offset.saturating_sub(self.selected - at);
        }
        self.selected = at;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Tree,
    Raw,
    Hex,
}

impl Pane {
    pub fn title(self) -> &'static str {
        match self {
            Pane::Tree => "Tree",
            Pane::Raw => "Raw",
            Pane::Hex => "Hex",
        }
    }
}

#[derive(Clone, Debug)]
pub struct GridView {
    pub conference: usize,
    pub selected: usize,
    pub offset: usize,
}

#[derive(Clone, Debug)]
pub struct LadderView {
    pub ladder: Ladder,
    pub selected: usize,
    pub offset: usize,
}

#[derive(Clone, Debug)]
pub struct DetailView {
    pub message: usize,
    pub bytes: Vec<u8>,
    pub tree: Vec<TreeLine>,
    pub raw: Vec<String>,
    pub hex: Vec<String>,
    pub pane: Pane,
    /// Cursor and scroll of each pane: tree (over visible lines), raw, hex.
    pub cursor: [usize; 3],
    pub offset: [usize; 3],
}

impl DetailView {
    fn pane_index(&self) -> usize {
        match self.pane {
            Pane::Tree => 0,
            Pane::Raw => 1,
            Pane::Hex => 2,
        }
    }

    /// Lines of the current pane (visible tree lines for the tree).
    pub fn pane_len(&self) -> usize {
        match self.pane {
            Pane::Tree => dissect::visible(&self.tree).len(),
            Pane::Raw => self.raw.len(),
            Pane::Hex => self.hex.len(),
        }
    }
}

#[derive(Clone, Debug)]
pub enum Screen {
    Conference(GridView),
    Ladder(LadderView),
    Detail(Box<DetailView>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptKind {
    Search,
    Filter,
    Write,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub input: String,
    /// What the prompt is about (`packets of conference Q9ZL4PJE`).
    pub about: String,
}

/// What the run loop must do after a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    Export {
        spans: Vec<MessageSpan>,
        path: String,
        what: String,
    },
}

/// Lines of chrome around the content of each screen (title bar, status bar, headers), so
/// that paging and scrolling know how many rows are shown.
pub mod chrome {
    /// Title bar and status bar.
    pub const FRAME: u16 = 2;
    /// Table header of a list.
    pub const LIST: u16 = FRAME + 1;
    /// Conference header (3), grid header (1), participant panel below (6).
    pub const GRID: u16 = FRAME + 3 + 1 + 6;
    /// Lane titles (2) and the selected message's line (1).
    pub const LADDER: u16 = FRAME + 2 + 1;
    /// Pane bar.
    pub const DETAIL: u16 = FRAME + 1;
}

pub struct App {
    /// The inputs, for the title bar.
    pub title: String,
    pub tab: Tab,
    pub lists: [ListView; 3],
    pub stack: Vec<Screen>,
    pub prompt: Option<Prompt>,
    /// A one-line message in the status bar (result of the last action).
    pub notice: Option<String>,
    pub help: bool,
    pub last_search: Option<String>,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    pub status: LoadStatus,
    /// The input was standard input: it cannot be read again to write packets.
    pub from_stdin: bool,
    /// A live capture: its state for the status line (`None` for files).
    pub live: Option<LiveStatus>,
    /// Where the analysis' change log was at the last update.
    change_seq: u64,
    /// What `w` will write, set when its prompt opens.
    write_target: Vec<u32>,
    write_messages: Vec<usize>,
    was_done: bool,
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
            help: false,
            last_search: None,
            size: (80, 24),
            status: LoadStatus::default(),
            from_stdin,
            live: None,
            change_seq: 0,
            write_target: Vec::new(),
            write_messages: Vec::new(),
            was_done: false,
        }
    }

    pub fn list(&self, tab: Tab) -> &ListView {
        &self.lists[tab.index()]
    }

    fn list_mut(&mut self, tab: Tab) -> &mut ListView {
        &mut self.lists[tab.index()]
    }

    /// The breadcrumb of the current screen.
    pub fn breadcrumb(&self, a: &Analysis) -> Vec<String> {
        let mut out = vec![self.tab.title().to_string()];
        for s in &self.stack {
            out.push(match s {
                Screen::Conference(g) => a
                    .conferences()
                    .list()
                    .get(g.conference)
                    .map_or("conference".into(), |c| super::views::clip(&c.id, 24)),
                Screen::Ladder(l) => match l.ladder.scope {
                    Scope::Conference(_) => "conference ladder".into(),
                    Scope::Participant(c, p) => format!(
                        "{} join",
                        a.conferences()
                            .list()
                            .get(c)
                            .and_then(|c| c.participants.get(p))
                            .map_or("participant", |p| model::short_user(&p.uri))
                    ),
                    Scope::Dialog(_) => "dialog ladder".into(),
                },
                Screen::Detail(d) => a
                    .messages()
                    .get(d.message)
                    .map_or("message".into(), |m| format!("frame {}", m.frame)),
            });
        }
        out
    }

    fn total(&self, tab: Tab, a: &Analysis) -> usize {
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
            let list = self.list_mut(tab);
            if list.filter == Filter::None {
                continue;
            }
            let anchor = list.item(list.selected, total);
            match &changed {
                None => {
                    // Look at every row once more, keeping the cursor's row.
                    list.rows.clear();
                    list.scanned = 0;
                    // (A row still waiting from an earlier look is the one to go back to.)
                    list.sticky = list.sticky.or(anchor);
                }
                Some((dialogs, confs)) => {
                    // Rows whose state may have changed: a dialog answered, a join failed.
                    // Messages do not change once recorded.
                    let rows: &[u32] = match tab {
                        Tab::Conferences => confs,
                        Tab::Dialogs => dialogs,
                        Tab::Messages => &[],
                    };
                    for &i in rows {
                        let i = i as usize;
                        if i < list.scanned {
                            let passes = row_passes(a, tab, i, &list.filter);
                            list.recheck(i, passes);
                        }
                    }
                }
            }
            if list.scanned < total {
                let end = total.min(list.scanned + FILTER_BUDGET);
                for i in list.scanned..end {
                    if row_passes(a, tab, i, &list.filter) {
                        list.rows.push(i as u32);
                    }
                }
                list.scanned = end;
            }
            match (list.sticky, anchor) {
                (Some(item), _) if item < list.scanned => {
                    list.sticky = None;
                    list.follow(item, total);
                }
                (Some(_), _) => {}
                (None, Some(item)) => list.follow(item, total),
                (None, None) => {}
            }
        }
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
    pub fn page_height(&self) -> usize {
        let chrome = match self.stack.last() {
            None => chrome::LIST,
            Some(Screen::Conference(_)) => chrome::GRID,
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

    pub fn handle_mouse(&mut self, m: MouseEvent, a: &Analysis) {
        match m.kind {
            MouseEventKind::ScrollDown => self.move_by(a, WHEEL_ROWS),
            MouseEventKind::ScrollUp => self.move_by(a, -WHEEL_ROWS),
            _ => {}
        }
    }

    /// Applies one key; returns what the run loop must do, if anything.
    pub fn handle_key(&mut self, key: KeyEvent, a: &Analysis) -> Option<Action> {
        if key.modifiers.contains(KeyModifiers::CONTROL)
            && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('q'))
        {
            return Some(Action::Quit);
        }
        if self.prompt.is_some() {
            return self.prompt_key(key, a);
        }
        if self.help {
            // Any key closes the help; q still quits.
            self.help = false;
            return (key.code == KeyCode::Char('q')).then_some(Action::Quit);
        }
        self.notice = None;
        let page = self.page_height() as isize;
        match key.code {
            KeyCode::Char('q') => return Some(Action::Quit),
            KeyCode::Char('?') | KeyCode::F(1) => self.help = true,
            KeyCode::Down | KeyCode::Char('j') => self.move_by(a, 1),
            KeyCode::Up | KeyCode::Char('k') => self.move_by(a, -1),
            KeyCode::PageDown | KeyCode::Char(' ') if !self.in_tree() => self.move_by(a, page),
            KeyCode::PageDown => self.move_by(a, page),
            KeyCode::PageUp => self.move_by(a, -page),
            KeyCode::Home | KeyCode::Char('g') => self.move_to(a, 0),
            KeyCode::End | KeyCode::Char('G') => self.move_to(a, usize::MAX),
            KeyCode::Esc | KeyCode::Backspace => {
                self.stack.pop();
                self.clamp(a);
            }
            KeyCode::Enter => self.enter(a),
            KeyCode::Char(' ')
            | KeyCode::Left
            | KeyCode::Right
            | KeyCode::Char('h')
            | KeyCode::Char('l')
                if self.in_tree() =>
            {
                self.toggle(key.code)
            }
            KeyCode::Tab | KeyCode::BackTab => self.next_pane(key.code == KeyCode::BackTab, a),
            KeyCode::Char('1') => self.switch_tab(Tab::Conferences, a),
            KeyCode::Char('2') => self.switch_tab(Tab::Dialogs, a),
            KeyCode::Char('3') => self.switch_tab(Tab::Messages, a),
            KeyCode::Char('t') => self.set_pane(Pane::Tree, a),
            KeyCode::Char('r') => self.set_pane(Pane::Raw, a),
            KeyCode::Char('x') => self.set_pane(Pane::Hex, a),
            KeyCode::Char('l') | KeyCode::Char('L') => self.open_conference_ladder(a),
            KeyCode::Char('/') => self.open_prompt(PromptKind::Search, String::new()),
            KeyCode::Char('n') => self.search_again(a, true),
            KeyCode::Char('N') => self.search_again(a, false),
            KeyCode::Char('f') => {
                if self.stack.is_empty() {
                    let current = match &self.list(self.tab).filter {
                        Filter::None => String::new(),
                        Filter::Failed => "failed".into(),
                        Filter::Kind(k) => format!("kind:{}", k.as_str()),
                        Filter::Text(t) => t.clone(),
                    };
                    self.open_prompt(PromptKind::Filter, current);
                } else {
                    self.notice = Some("filters apply to the lists: Esc back to a list".into());
                }
            }
            KeyCode::Char('w') => self.open_write(a),
            _ => {}
        }
        None
    }

    fn in_tree(&self) -> bool {
        matches!(self.stack.last(), Some(Screen::Detail(d)) if d.pane == Pane::Tree)
    }

    fn switch_tab(&mut self, tab: Tab, a: &Analysis) {
        self.stack.clear();
        self.tab = tab;
        self.clamp(a);
    }

    fn next_pane(&mut self, back: bool, a: &Analysis) {
        match self.stack.last_mut() {
            Some(Screen::Detail(d)) => {
                d.pane = match (d.pane, back) {
                    (Pane::Tree, false) | (Pane::Hex, true) => Pane::Raw,
                    (Pane::Raw, false) | (Pane::Tree, true) => Pane::Hex,
                    (Pane::Hex, false) | (Pane::Raw, true) => Pane::Tree,
                };
            }
            Some(_) => {}
            None => {
                let i = self.tab.index();
                let next = if back { (i + 2) % 3 } else { (i + 1) % 3 };
                self.tab = Tab::ALL[next];
            }
        }
        self.clamp(a);
    }

    fn set_pane(&mut self, pane: Pane, a: &Analysis) {
        if let Some(Screen::Detail(d)) = self.stack.last_mut() {
            d.pane = pane;
        }
        self.clamp(a);
    }

    fn toggle(&mut self, code: KeyCode) {
        let Some(Screen::Detail(d)) = self.stack.last_mut() else {
            return;
        };
        let visible = dissect::visible(&d.tree);
        let Some(&line) = visible.get(d.cursor[0]) else {
            return;
        };
        if let Some(l) = d.tree.get_mut(line) {
            if l.has_children {
                l.expanded = match code {
                    KeyCode::Left | KeyCode::Char('h') => false,
                    KeyCode::Right | KeyCode::Char('l') => true,
                    _ => !l.expanded,
                };
            }
        }
    }

    /// The source index under the cursor of a top-level list.
    pub fn selected_item(&self, tab: Tab, a: &Analysis) -> Option<usize> {
        let list = self.list(tab);
        list.item(list.selected, self.total(tab, a))
    }

    fn enter(&mut self, a: &Analysis) {
        let screen = match self.stack.last() {
            None => match self.tab {
                Tab::Conferences => self.selected_item(Tab::Conferences, a).map(|c| {
                    Screen::Conference(GridView {
                        conference: c,
                        selected: 0,
                        offset: 0,
                    })
                }),
                Tab::Dialogs => self
                    .selected_item(Tab::Dialogs, a)
                    .map(|d| ladder_screen(a, Scope::Dialog(d as u32))),
                Tab::Messages => self
                    .selected_item(Tab::Messages, a)
                    .map(|m| detail_screen(a, m)),
            },
            Some(Screen::Conference(g)) => {
                let has = a
                    .conferences()
                    .list()
                    .get(g.conference)
                    .is_some_and(|c| g.selected < c.participants.len());
                has.then(|| ladder_screen(a, Scope::Participant(g.conference, g.selected)))
            }
            Some(Screen::Ladder(l)) => l
                .ladder
                .arrows
                .get(l.selected)
                .map(|arrow| detail_screen(a, arrow.message)),
            Some(Screen::Detail(_)) => {
                self.toggle(KeyCode::Enter);
                None
            }
        };
        if let Some(s) = screen {
            self.stack.push(s);
            self.clamp(a);
        }
    }

    fn open_conference_ladder(&mut self, a: &Analysis) {
        let conf = match self.stack.last() {
            None if self.tab == Tab::Conferences => self.selected_item(Tab::Conferences, a),
            Some(Screen::Conference(g)) => Some(g.conference),
            _ => None,
        };
        match conf {
            Some(c) => {
                self.stack.push(ladder_screen(a, Scope::Conference(c)));
                self.clamp(a);
            }
            None => {
                self.notice = Some(
                    "l: ladder of the selected conference (from Conferences or a conference)"
                        .into(),
                )
            }
        }
    }

    fn open_prompt(&mut self, kind: PromptKind, input: String) {
        let about = match kind {
            PromptKind::Search => "search".to_string(),
            PromptKind::Filter => {
                "filter (failed | kind:invitation|focus|roster|media|mcu|other | text; empty clears)"
                    .to_string()
            }
            PromptKind::Write => String::new(),
        };
        self.prompt = Some(Prompt { kind, input, about });
    }

    fn prompt_key(&mut self, key: KeyEvent, a: &Analysis) -> Option<Action> {
        let prompt = self.prompt.as_mut()?;
        match key.code {
            KeyCode::Esc => {
                self.prompt = None;
            }
            KeyCode::Backspace => {
                prompt.input.pop();
            }
            KeyCode::Char(c) => prompt.input.push(c),
            KeyCode::Enter => {
                let p = self.prompt.take()?;
                match p.kind {
                    PromptKind::Search => {
                        if p.input.is_empty() {
                            return None;
                        }
                        self.last_search = Some(p.input);
                        self.search_again(a, true);
                    }
                    PromptKind::Filter => match Filter::parse(&p.input) {
                        Ok(f) => {
                            let tab = self.tab;
                            self.list_mut(tab).set_filter(f);
                            self.sync_filter_now(a);
                        }
                        Err(e) => self.notice = Some(e),
                    },
                    PromptKind::Write => {
                        let path = p.input.trim().to_string();
                        if path.is_empty() {
                            return None;
                        }
                        let spans: Vec<MessageSpan> = self
                            .write_messages
                            .iter()
                            .filter_map(|&i| a.messages().get(i))
                            .map(MessageSpan::from)
                            .collect();
                        self.notice = Some(format!("writing {} to {path}…", p.about));
                        return Some(Action::Export {
                            spans,
                            path,
                            what: p.about,
                        });
                    }
                }
            }
            _ => {}
        }
        None
    }

    /// Runs the new filter over the rows at once (within the budget) so the list is not
    /// empty for a frame.
    fn sync_filter_now(&mut self, a: &Analysis) {
        let status = self.status.clone();
        self.sync(a, status);
    }

    /// `w`: asks where to write the packets of what is selected.
    fn open_write(&mut self, a: &Analysis) {
        if self.live.is_some() {
            self.notice = Some(
                "w: a live capture cannot be read again; start lyncscope with -w FILE to keep \
                 its SIP packets"
                    .into(),
            );
            return;
        }
        if self.from_stdin {
            self.notice = Some(
                "w: standard input cannot be read again; save the capture to a file and open that"
                    .into(),
            );
            return;
        }
        let (what, name, dialogs, messages) = self.write_selection(a);
        if dialogs.is_empty() && messages.is_empty() {
            self.notice = Some("w: nothing selected".into());
            return;
        }
        self.write_target = dialogs;
        let mut msgs = messages;
        if !self.write_target.is_empty() {
            msgs.extend(model::messages_of(a, &self.write_target));
            msgs.sort_unstable();
            msgs.dedup();
        }
        self.write_messages = msgs;
        let about = format!("packets of {what} ({} messages)", self.write_messages.len());
        self.prompt = Some(Prompt {
            kind: PromptKind::Write,
            input: format!("{}.pcap", sanitize_file_name(&name)),
            about,
        });
    }

    /// What `w` writes on the current screen: (description, file name stem, dialogs,
    /// single messages).
    fn write_selection(&self, a: &Analysis) -> (String, String, Vec<u32>, Vec<usize>) {
        let confs = a.conferences().list();
        let dialog_of = |d: u32| {
            let call = a
                .dialogs()
                .get(d as usize)
                .map_or(String::new(), |x| super::views::clip(&x.call_id, 16));
            (
                format!("dialog {call}"),
                format!("dialog-{call}"),
                vec![d],
                Vec::new(),
            )
        };
        match self.stack.last() {
            None => match self.tab {
                Tab::Conferences => match self
                    .selected_item(Tab::Conferences, a)
                    .and_then(|c| confs.get(c))
                {
                    Some(c) => (
                        format!("conference {}", super::views::clip(&c.id, 24)),
                        format!("conference-{}", c.id),
                        conference_dialogs(a, c),
                        Vec::new(),
                    ),
                    None => Default::default(),
                },
                Tab::Dialogs => match self.selected_item(Tab::Dialogs, a) {
                    Some(d) => dialog_of(d as u32),
                    None => Default::default(),
                },
                Tab::Messages => match self.selected_item(Tab::Messages, a) {
                    Some(m) => match a.messages().get(m).and_then(|r| r.dialog) {
                        Some(d) => dialog_of(d),
                        None => (
                            format!("message {m}"),
                            format!("message-{m}"),
                            Vec::new(),
                            vec![m],
                        ),
                    },
                    None => Default::default(),
                },
            },
            Some(Screen::Conference(g)) => {
                match confs
                    .get(g.conference)
                    .and_then(|c| Some((c, c.participants.get(g.selected)?)))
                {
                    Some((c, p)) => (
                        format!("{}'s join", model::short_user(&p.uri)),
                        format!("{}-{}", c.id, model::short_user(&p.uri)),
                        participant_dialogs(p).into_iter().map(|(d, _)| d).collect(),
                        Vec::new(),
                    ),
                    None => Default::default(),
                }
            }
            Some(Screen::Ladder(l)) => (
                "this ladder".to_string(),
                "ladder".to_string(),
                l.ladder.dialogs.iter().map(|d| d.dialog).collect(),
                Vec::new(),
            ),
            Some(Screen::Detail(d)) => match a.messages().get(d.message).and_then(|r| r.dialog) {
                Some(dlg) => dialog_of(dlg),
                None => (
                    format!("message {}", d.message),
                    format!("message-{}", d.message),
                    Vec::new(),
                    vec![d.message],
                ),
            },
        }
    }

    /// Moves to the next (or previous) row matching the last search, wrapping around.
    fn search_again(&mut self, a: &Analysis, forward: bool) {
        let Some(needle) = self.last_search.clone() else {
            self.notice = Some("no search yet: / to search".into());
            return;
        };
        let found = match self.stack.last() {
            None => {
                let tab = self.tab;
                let total = self.total(tab, a);
                let list = self.list(tab);
                let len = list.len(total);
                let start = list.selected;
                if tab == Tab::Messages && list.filter == Filter::None {
                    match search_messages(a, start, len, &needle, forward) {
                        Searched::Found(row) => Some(row),
                        Searched::NotFound => None,
                        Searched::Stopped(row) => {
                            // Keep the UI responsive: go where the search stopped; n goes on.
                            self.move_to(a, row);
                            self.notice = Some(format!(
                                "searching \"{needle}\": not in the messages looked at so far; n searches on"
                            ));
                            return;
                        }
                    }
                } else {
                    find_wrapping(start, len, forward, |i| {
                        list.item(i, total)
                            .is_some_and(|item| row_matches_text(a, tab, item, &needle, true))
                    })
                }
            }
            Some(Screen::Conference(g)) => {
                let Some(c) = a.conferences().list().get(g.conference) else {
                    return;
                };
                find_wrapping(g.selected, c.participants.len(), forward, |i| {
                    c.participants.get(i).is_some_and(|p| {
                        let d = c.diagnose(p);
                        let (state, reason) = (d.state, reason::reason(&d, p));
                        contains_ci(&p.uri, &needle)
                            || contains_ci(state.as_str(), &needle)
                            || reason.is_some_and(|r| contains_ci(&r, &needle))
                    })
                })
            }
            Some(Screen::Ladder(l)) => {
                find_wrapping(l.selected, l.ladder.arrows.len(), forward, |i| {
                    l.ladder.arrows.get(i).is_some_and(|arrow| {
                        contains_ci(&arrow.label, &needle)
                            || a.messages()
                                .get(arrow.message)
                                .and_then(|m| a.call_id_of(m))
                                .is_some_and(|c| contains_ci(c, &needle))
                    })
                })
            }
            Some(Screen::Detail(d)) => match d.pane {
                Pane::Tree => {
                    // Search every line, hidden ones too, and open the branch that holds it.
                    let visible = dissect::visible(&d.tree);
                    let at = visible.get(d.cursor[0]).copied().unwrap_or(0);
                    find_wrapping(at, d.tree.len(), forward, |i| {
                        d.tree.get(i).is_some_and(|l| contains_ci(&l.text, &needle))
                    })
                }
                Pane::Raw => find_wrapping(d.cursor[1], d.raw.len(), forward, |i| {
                    d.raw.get(i).is_some_and(|l| contains_ci(l, &needle))
                }),
                Pane::Hex => find_wrapping(d.cursor[2], d.hex.len(), forward, |i| {
                    d.hex.get(i).is_some_and(|l| contains_ci(l, &needle))
                }),
            },
        };
        match found {
            Some(row) => {
                if let Some(Screen::Detail(d)) = self.stack.last_mut() {
                    if d.pane == Pane::Tree {
                        reveal(&mut d.tree, row);
                        let visible = dissect::visible(&d.tree);
                        let pos = visible.iter().position(|&v| v == row).unwrap_or(0);
                        d.cursor[0] = pos;
                        self.clamp(a);
                        return;
                    }
                }
                self.move_to(a, row);
            }
            None => self.notice = Some(format!("not found: {needle}")),
        }
    }
}

/// Expands every ancestor of tree line `row`.
fn reveal(tree: &mut [TreeLine], row: usize) {
    let Some(mut depth) = tree.get(row).map(|l| l.depth) else {
        return;
    };
    for i in (0..row).rev() {
        if let Some(l) = tree.get_mut(i) {
            if l.depth < depth {
                l.expanded = true;
                depth = l.depth;
            }
        }
    }
}

/// The first row after `start` (wrapping; `start` itself last) that matches.
fn find_wrapping(
    start: usize,
    len: usize,
    forward: bool,
    mut matches: impl FnMut(usize) -> bool,
) -> Option<usize> {
    if len == 0 {
        return None;
    }
    (1..=len)
        .map(|k| {
            if forward {
                (start + k) % len
            } else {
                (start + len * 2 - k) % len
            }
        })
        .find(|&i| matches(i))
}

/// How long one key may search message texts before it stops and lets the UI draw.
const SEARCH_SLICE: std::time::Duration = std::time::Duration::from_millis(300);

enum Searched {
    Found(usize),
    NotFound,
    /// Time ran out; the row reached.
    Stopped(usize),
}

/// Message search: the summary fields, then the message's text in the store. Stops after
/// [`SEARCH_SLICE`] (reading a million messages' text takes seconds).
fn search_messages(
    a: &Analysis,
    start: usize,
    len: usize,
    needle: &str,
    forward: bool,
) -> Searched {
    let deadline = std::time::Instant::now() + SEARCH_SLICE;
    let mut stopped = None;
    let mut checked = 0usize;
    let store = a.store();
    let bytes_match = |i: usize| {
        store.is_some_and(|s| {
            let mut hit = false;
            s.with(i, |b| hit = bytes_contain_ci(b, needle.as_bytes()));
            hit
        })
    };
    let found = find_wrapping(start, len, forward, |i| {
        checked += 1;
        if checked.is_multiple_of(1024) && std::time::Instant::now() > deadline {
            stopped = Some(i);
            return true;
        }
        row_matches_text(a, Tab::Messages, i, needle, false) || bytes_match(i)
    });
    match (stopped, found) {
        (Some(row), _) => Searched::Stopped(row),
        (None, Some(row)) => Searched::Found(row),
        (None, None) => Searched::NotFound,
    }
}

fn sanitize_file_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect()
}

/// ASCII case-insensitive substring test.
pub fn contains_ci(hay: &str, needle: &str) -> bool {
    bytes_contain_ci(hay.as_bytes(), needle.as_bytes())
}

fn bytes_contain_ci(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Whether row `i` of a list passes a filter.
fn row_passes(a: &Analysis, tab: Tab, i: usize, f: &Filter) -> bool {
    match f {
        Filter::None => true,
        Filter::Text(t) => row_matches_text(a, tab, i, t, true),
        Filter::Failed => match tab {
            Tab::Conferences => a.conferences().list().get(i).is_some_and(|c| {
                c.participants
                    .iter()
                    .any(|p| c.diagnose(p).state == JoinState::Failed)
            }),
            Tab::Dialogs => a
                .dialogs()
                .get(i)
                .is_some_and(|d| d.final_status.is_some_and(model::is_failure_status)),
            Tab::Messages => a.messages().get(i).is_some_and(
                |m| matches!(m.start, StartKind::Response(s) if model::is_failure_status(s)),
            ),
        },
        Filter::Kind(k) => match tab {
            // From the participants' steps, not by scanning every dialog per conference.
            Tab::Conferences => a.conferences().list().get(i).is_some_and(|c| {
                (*k == DialogKind::ConferenceControl && !c.control.is_empty())
                    || c.participants
                        .iter()
                        .any(|p| participant_dialogs(p).iter().any(|(_, kind)| kind == k))
            }),
            Tab::Dialogs => a.dialogs().get(i).is_some_and(|d| d.kind == *k),
            Tab::Messages => a
                .messages()
                .get(i)
                .and_then(|m| m.dialog)
                .and_then(|d| a.dialogs().get(d as usize))
                .is_some_and(|d| d.kind == *k),
        },
    }
}

/// Whether row `i` of a list mentions `t`: IDs, URIs, addresses, methods. `deep` also looks
/// at a conference's participants.
fn row_matches_text(a: &Analysis, tab: Tab, i: usize, t: &str, deep: bool) -> bool {
    match tab {
        Tab::Conferences => a.conferences().list().get(i).is_some_and(|c| {
            contains_ci(&c.id, t)
                || contains_ci(&c.organizer, t)
                || contains_ci(&c.focus_uri, t)
                || c.subject.as_deref().is_some_and(|s| contains_ci(s, t))
                || (deep && c.participants.iter().any(|p| contains_ci(&p.uri, t)))
        }),
        Tab::Dialogs => a.dialogs().get(i).is_some_and(|d| {
            contains_ci(&d.call_id, t)
                || contains_ci(&d.from, t)
                || contains_ci(&d.to, t)
                || contains_ci(d.kind.as_str(), t)
                || contains_ci(a.symbols.name(d.method), t)
                || d.conference_id
                    .as_deref()
                    .is_some_and(|c| contains_ci(c, t))
        }),
        Tab::Messages => a.messages().get(i).is_some_and(|m| {
            let dialog = m.dialog.and_then(|d| a.dialogs().get(d as usize));
            contains_ci(&a.start_text(m.start), t)
                || contains_ci(&m.src.to_string(), t)
                || contains_ci(&m.dst.to_string(), t)
                || m.content_type
                    .is_some_and(|c| contains_ci(a.symbols.name(c), t))
                || dialog.is_some_and(|d| {
                    contains_ci(&d.call_id, t)
                        || contains_ci(&d.from, t)
                        || contains_ci(&d.to, t)
                        || d.conference_id
                            .as_deref()
                            .is_some_and(|c| contains_ci(c, t))
                })
        }),
    }
}

fn ladder_screen(a: &Analysis, scope: Scope) -> Screen {
    Screen::Ladder(LadderView {
        ladder: Ladder::new(a, scope),
        selected: 0,
        offset: 0,
    })
}

fn detail_screen(a: &Analysis, message: usize) -> Screen {
    let bytes = a.store().and_then(|s| s.get(message)).unwrap_or_default();
    let tree = dissect::tree(a, message, &bytes);
    Screen::Detail(Box::new(DetailView {
        message,
        raw: dissect::raw_lines(&bytes),
        hex: dissect::hex_lines(&bytes),
        bytes,
        tree,
        pane: Pane::Tree,
        cursor: [0; 3],
        offset: [0; 3],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lyncscope::capture::CaptureFiles;
    use lyncscope::pipeline::Pipeline;
    use ratatui::crossterm::event::KeyEventState;

    pub(crate) fn load(name: &str) -> Pipeline {
        let path = format!(
            "{}/captures/{name}",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../..")
        );
        let mut files = CaptureFiles::open(&[path]).expect("sample opens");
        let mut p = Pipeline::new(true).with_message_store();
        while let Some(f) = files.next_frame() {
            p.push(&f);
        }
        p.finish();
        p
    }

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent {
            code: c,
            modifiers: KeyModifiers::NONE,
            kind: ratatui::crossterm::event::KeyEventKind::Press,
            state: KeyEventState::NONE,
        }
    }

    fn done() -> LoadStatus {
        LoadStatus {
            done: true,
            ..Default::default()
        }
    }

    fn typed(app: &mut App, a: &Analysis, text: &str) {
        for c in text.chars() {
            app.handle_key(key(KeyCode::Char(c)), a);
        }
    }

    #[test]
    fn navigation_through_the_screens_and_back() {
        let p = load("av-mcu-rejected.pcapng");
        let a = p.analysis();
        let mut app = App::new("t".into(), false);
        app.sync(a, done());
        app.handle_key(key(KeyCode::Enter), a);
        assert!(matches!(app.stack.last(), Some(Screen::Conference(_))));
        app.handle_key(key(KeyCode::Down), a);
        app.handle_key(key(KeyCode::Enter), a);
        let Some(Screen::Ladder(l)) = app.stack.last() else {
            panic!("ladder expected");
        };
        assert_eq!(l.ladder.scope, Scope::Participant(0, 1));
        assert!(
            l.ladder.dialogs.len() >= 3,
            "invitation, focus, A/V at least"
        );
        app.handle_key(key(KeyCode::Enter), a);
        let Some(Screen::Detail(d)) = app.stack.last() else {
            panic!("detail expected");
        };
        assert!(!d.bytes.is_empty());
        app.handle_key(key(KeyCode::Char('x')), a);
        assert!(matches!(app.stack.last(), Some(Screen::Detail(d)) if d.pane == Pane::Hex));
        app.handle_key(key(KeyCode::Tab), a);
        assert!(matches!(app.stack.last(), Some(Screen::Detail(d)) if d.pane == Pane::Tree));
        for _ in 0..3 {
            app.handle_key(key(KeyCode::Esc), a);
        }
        assert!(app.stack.is_empty());
        app.handle_key(key(KeyCode::Esc), a);
        assert!(app.stack.is_empty(), "Esc at the top stays");
        app.handle_key(key(KeyCode::Tab), a);
        assert_eq!(app.tab, Tab::Dialogs);
        app.handle_key(key(KeyCode::BackTab), a);
        app.handle_key(key(KeyCode::BackTab), a);
        assert_eq!(app.tab, Tab::Messages);
        assert_eq!(
            app.handle_key(key(KeyCode::Char('q')), a),
            Some(Action::Quit)
        );
    }

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

    #[test]
    fn search_filter_and_failed_only() {
        let p = load("multi-conference.pcapng");
        let a = p.analysis();
        let mut app = App::new("t".into(), false);
        app.sync(a, done());
        // Failed joins only: in this capture heidi declined, nobody failed.
        app.handle_key(key(KeyCode::Char('f')), a);
        typed(&mut app, a, "failed");
        app.handle_key(key(KeyCode::Enter), a);
        assert_eq!(app.list(Tab::Conferences).len(3), 0);
        // Conferences where someone joined the A/V MCU: frank's and ivan's (judy).
        app.handle_key(key(KeyCode::Char('f')), a);
        for _ in 0..10 {
            app.handle_key(key(KeyCode::Backspace), a);
        }
        typed(&mut app, a, "kind:media");
        app.handle_key(key(KeyCode::Enter), a);
        assert_eq!(app.list(Tab::Conferences).len(3), 2);
        // Dialogs of one kind.
        app.handle_key(key(KeyCode::Char('2')), a);
        app.handle_key(key(KeyCode::Char('f')), a);
        typed(&mut app, a, "kind:media");
        app.handle_key(key(KeyCode::Enter), a);
        let media = a
            .dialogs()
            .iter()
            .filter(|d| d.kind == DialogKind::Media)
            .count();
        assert_eq!(app.list(Tab::Dialogs).len(a.dialogs().len()), media);
        // A bad kind is refused with a notice, the filter stays.
        app.handle_key(key(KeyCode::Char('f')), a);
        for _ in 0..20 {
            app.handle_key(key(KeyCode::Backspace), a);
        }
        typed(&mut app, a, "kind:nope");
        app.handle_key(key(KeyCode::Enter), a);
        assert!(app
            .notice
            .as_deref()
            .is_some_and(|n| n.contains("unknown kind")));
        assert_eq!(
            app.list(Tab::Dialogs).filter,
            Filter::Kind(DialogKind::Media)
        );
        // Clearing.
        app.handle_key(key(KeyCode::Char('f')), a);
        for _ in 0..20 {
            app.handle_key(key(KeyCode::Backspace), a);
        }
        app.handle_key(key(KeyCode::Enter), a);
        assert_eq!(app.list(Tab::Dialogs).filter, Filter::None);
        // Search a Call-ID-free word that only the REGISTER dialog has: the user.
        app.handle_key(key(KeyCode::Char('/')), a);
        typed(&mut app, a, "victor");
        app.handle_key(key(KeyCode::Enter), a);
        let sel = app.selected_item(Tab::Dialogs, a).expect("a row");
        let d = &a.dialogs()[sel];
        assert!(d.from.contains("victor") || d.to.contains("victor"));
        // n finds the next one, wrapping.
        app.handle_key(key(KeyCode::Char('n')), a);
        let next = app.selected_item(Tab::Dialogs, a).expect("a row");
        let d = &a.dialogs()[next];
        assert!(d.from.contains("victor") || d.to.contains("victor"));
        // A search that finds nothing says so.
        app.handle_key(key(KeyCode::Char('/')), a);
        typed(&mut app, a, "zzzz-nothing");
        app.handle_key(key(KeyCode::Enter), a);
        assert_eq!(app.notice.as_deref(), Some("not found: zzzz-nothing"));
    }

    #[test]
    fn message_search_reads_message_text() {
        let p = load("av-mcu-rejected.pcapng");
        let a = p.analysis();
        let mut app = App::new("t".into(), false);
        app.sync(a, done());
        app.handle_key(key(KeyCode::Char('3')), a);
        app.handle_key(key(KeyCode::Char('/')), a);
        typed(&mut app, a, "Error parsing SDP");
        app.handle_key(key(KeyCode::Enter), a);
        let m = app.selected_item(Tab::Messages, a).expect("a row");
        assert_eq!(a.messages()[m].start, StartKind::Response(488));
    }

    #[test]
    fn write_prompt_and_standard_input() {
        let p = load("av-mcu-rejected.pcapng");
        let a = p.analysis();
        let mut app = App::new("t".into(), false);
        app.sync(a, done());
        app.handle_key(key(KeyCode::Char('w')), a);
        let prompt = app.prompt.clone().expect("write prompt");
        assert_eq!(prompt.input, "conference-Q9ZL4PJE.pcap");
        let action = app.handle_key(key(KeyCode::Enter), a);
        let Some(Action::Export { spans, path, .. }) = action else {
            panic!("export expected");
        };
        assert_eq!(path, "conference-Q9ZL4PJE.pcap");
        assert!(spans.len() >= 40, "{}", spans.len());
        let mut stdin_app = App::new("-".into(), true);
        stdin_app.sync(a, done());
        stdin_app.handle_key(key(KeyCode::Char('w')), a);
        assert!(stdin_app.prompt.is_none());
        assert!(stdin_app
            .notice
            .as_deref()
            .is_some_and(|n| n.contains("standard input cannot be read again")));
    }

    #[test]
    fn tree_toggles_and_search_reveals() {
        let p = load("av-mcu-rejected.pcapng");
        let a = p.analysis();
        let mut app = App::new("t".into(), false);
        app.sync(a, done());
        app.handle_key(key(KeyCode::Char('3')), a);
        app.handle_key(key(KeyCode::Enter), a);
        let len = |app: &App| match app.stack.last() {
            Some(Screen::Detail(d)) => dissect::visible(&d.tree).len(),
            _ => 0,
        };
        let open = len(&app);
        app.handle_key(key(KeyCode::Enter), a); // collapse the frame line
        assert!(len(&app) < open);
        app.handle_key(key(KeyCode::Right), a);
        assert_eq!(len(&app), open);
        // Searching the tree finds a header line.
        app.handle_key(key(KeyCode::Char('/')), a);
        typed(&mut app, a, "CSeq:");
        app.handle_key(key(KeyCode::Enter), a);
        let Some(Screen::Detail(d)) = app.stack.last() else {
            panic!("detail");
        };
        let line = dissect::visible(&d.tree)[d.cursor[0]];
        assert!(d.tree[line].text.starts_with("CSeq:"));
    }

    #[test]
    fn help_and_ctrl_c() {
        let p = load("worked-example.pcapng");
        let a = p.analysis();
        let mut app = App::new("t".into(), false);
        app.sync(a, done());
        app.handle_key(key(KeyCode::Char('?')), a);
        assert!(app.help);
        assert_eq!(app.handle_key(key(KeyCode::Down), a), None);
        assert!(!app.help);
        let ctrl_c = KeyEvent {
            modifiers: KeyModifiers::CONTROL,
            ..key(KeyCode::Char('c'))
        };
        assert_eq!(app.handle_key(ctrl_c, a), Some(Action::Quit));
    }

    /// The SIP messages of a sample capture with their contexts, to be fed to an analysis in
    /// any interleaving (as a live capture of two conferences at once would).
    fn sip_messages(name: &str) -> Vec<(lyncscope::transport::MsgContext, Vec<u8>)> {
        use lyncscope::net::{NetDecoder, NetOutput};
        use lyncscope::transport::{MsgContext, SipSink, TransportLayer};
        struct Collect(Vec<(MsgContext, Vec<u8>)>);
        impl SipSink for Collect {
            fn message(&mut self, ctx: &MsgContext, msg: &lyncscope::sip::Message<'_>) {
                self.0.push((*ctx, msg.raw().to_vec()));
            }
        }
        let path = format!(
            "{}/captures/{name}",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../..")
        );
        let mut files = CaptureFiles::open(&[path]).expect("sample opens");
        let (mut net, mut transport) = (NetDecoder::new(), TransportLayer::new());
        let mut out = Collect(Vec::new());
        while let Some(f) = files.next_frame() {
            if let NetOutput::Packet(pkt) = net.decode(&f) {
                transport.handle(&f, &pkt, &mut out);
            }
        }
        transport.finish(&mut out);
        out.0
    }

    fn feed(a: &mut Analysis, msgs: &[(lyncscope::transport::MsgContext, Vec<u8>)]) {
        use lyncscope::transport::SipSink;
        for (ctx, bytes) in msgs {
            let (msg, _) = lyncscope::sip::frame_stream(bytes).expect("a whole message");
            a.message(ctx, &msg);
        }
    }

    fn capturing() -> LoadStatus {
        LoadStatus::default()
    }

    fn selected_conference(app: &App, a: &Analysis) -> Option<String> {
        app.selected_item(Tab::Conferences, a)
            .and_then(|c| a.conferences().list().get(c))
            .map(|c| c.id.clone())
    }

    #[test]
    fn live_rows_appear_between_syncs_and_the_selection_stays_put() {
        // Two conferences captured at once: av-mcu-rejected's (bob's A/V join fails late) and
        // focus-c3p-failure's (bob's focus join fails early).
        let first = sip_messages("av-mcu-rejected.pcapng");
        let second = sip_messages("focus-c3p-failure.pcapng");
        let mut a = Analysis::new(true).with_change_log();
        let opened = (1..first.len())
            .find(|&n| {
                let mut probe = Analysis::new(true);
                feed(&mut probe, &first[..n]);
                !probe.conferences().list().is_empty()
            })
            .expect("the first conference opens");
        feed(&mut a, &first[..opened]);
        let mut app = App::new("live: lo".into(), false);
        app.sync(&a, capturing());
        assert_eq!(selected_conference(&app, &a).as_deref(), Some("Q9ZL4PJE"));

        // The second conference appears: listed after the first, the cursor stays.
        feed(&mut a, &second);
        app.sync(&a, capturing());
        assert_eq!(a.conferences().list().len(), 2);
        assert_eq!(app.list(Tab::Conferences).len(2), 2);
        assert_eq!(selected_conference(&app, &a).as_deref(), Some("Q9ZL4PJE"));
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 10)).expect("terminal");
        terminal
            .draw(|f| super::super::views::render(f, &app, &a))
            .expect("draw");
        let screen = terminal.backend().to_string();
        assert!(screen.contains("HN6C3TGA"), "{screen}");
        assert!(screen.contains("▶✓ Q9ZL4PJE"), "{screen}");

        // Failed joins only: the second conference's join has failed, the first's not yet.
        app.handle_key(key(KeyCode::Char('f')), &a);
        typed(&mut app, &a, "failed");
        app.handle_key(key(KeyCode::Enter), &a);
        assert_eq!(app.list(Tab::Conferences).len(2), 1);
        assert_eq!(selected_conference(&app, &a).as_deref(), Some("HN6C3TGA"));
        // The same in the dialog list: the 403 of the focus dialog.
        app.handle_key(key(KeyCode::Char('2')), &a);
        app.handle_key(key(KeyCode::Char('f')), &a);
        typed(&mut app, &a, "failed");
        app.handle_key(key(KeyCode::Enter), &a);
        let failed_dialog = app
            .selected_item(Tab::Dialogs, &a)
            .expect("a failed dialog");
        assert_eq!(a.dialogs()[failed_dialog].final_status, Some(403));
        app.handle_key(key(KeyCode::Char('1')), &a);

        // The rest of the first capture: its join fails (488) and its conference enters the
        // filtered list before the selected one; the cursor stays on HN6C3TGA.
        feed(&mut a, &first[opened..]);
        app.sync(&a, capturing());
        assert_eq!(app.list(Tab::Conferences).len(2), 2);
        assert_eq!(selected_conference(&app, &a).as_deref(), Some("HN6C3TGA"));
        assert_eq!(app.list(Tab::Conferences).selected, 1);
        // The dialog list too: the 488s are listed, the cursor stays on the 403.
        assert!(app.list(Tab::Dialogs).len(a.dialogs().len()) >= 2);
        assert_eq!(app.selected_item(Tab::Dialogs, &a), Some(failed_dialog));

        // What was filtered bit by bit is what a filter over the finished analysis gives.
        let mut fresh = App::new("t".into(), false);
        fresh.sync(&a, done());
        fresh.handle_key(key(KeyCode::Char('f')), &a);
        typed(&mut fresh, &a, "failed");
        fresh.handle_key(key(KeyCode::Enter), &a);
        assert_eq!(
            fresh.list(Tab::Conferences).rows,
            app.list(Tab::Conferences).rows
        );
        // A state change is picked up without a look at every row when loading ends.
        app.sync(&a, done());
        assert_eq!(selected_conference(&app, &a).as_deref(), Some("HN6C3TGA"));
    }

    #[test]
    fn without_a_change_log_rows_are_filtered_again_at_the_end_keeping_the_cursor() {
        let first = sip_messages("av-mcu-rejected.pcapng");
        let second = sip_messages("focus-c3p-failure.pcapng");
        let mut a = Analysis::new(true);
        let half = first.len() / 4;
        feed(&mut a, &first[..half]);
        feed(&mut a, &second);
        let mut app = App::new("t".into(), false);
        app.sync(&a, capturing());
        app.handle_key(key(KeyCode::Char('f')), &a);
        typed(&mut app, &a, "failed");
        app.handle_key(key(KeyCode::Enter), &a);
        assert_eq!(selected_conference(&app, &a).as_deref(), Some("HN6C3TGA"));
        feed(&mut a, &first[half..]);
        app.sync(&a, capturing());
        // Not looked at again while loading (no change log) …
        assert_eq!(app.list(Tab::Conferences).len(2), 1);
        // … but when loading ends; the cursor stays on its conference.
        app.sync(&a, done());
        assert_eq!(app.list(Tab::Conferences).len(2), 2);
        assert_eq!(selected_conference(&app, &a).as_deref(), Some("HN6C3TGA"));
    }

    #[test]
    fn a_live_capture_cannot_be_written_again() {
        let p = load("av-mcu-rejected.pcapng");
        let a = p.analysis();
        let mut app = App::new("live: lo".into(), false);
        app.live = Some(LiveStatus::new(&["lo".into()]));
        app.sync(a, capturing());
        app.handle_key(key(KeyCode::Char('w')), a);
        assert!(app.prompt.is_none());
        assert!(app.notice.as_deref().is_some_and(|n| n.contains("-w FILE")));
    }
}
