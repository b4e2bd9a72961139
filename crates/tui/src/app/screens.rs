//! The screens opened over the lists with Enter — a conference's grid, a ladder, a message's
//! detail — and closed with Esc: their state, how each is opened from the one below, and
//! their names in the breadcrumb.

use super::lists::Tab;
use super::App;
use crate::dissect::{self, TreeLine};
use crate::ladder::{Ladder, Scope};
use crate::model;
use lyncscope::analysis::{Analysis, JoinState};
use lyncscope::tls::TlsHandle;
use ratatui::crossterm::event::KeyCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pane {
    Tree,
    Raw,
    Hex,
}

impl Pane {
    pub(crate) fn title(self) -> &'static str {
        match self {
            Pane::Tree => "Tree",
            Pane::Raw => "Raw",
            Pane::Hex => "Hex",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct GridView {
    pub(crate) conference: usize,
    /// The selected row (rows are in [`crate::model::grid_order`]).
    pub(crate) selected: usize,
    pub(crate) offset: usize,
}

impl GridView {
    /// The participant (index in the conference's list) on the selected row.
    pub(crate) fn participant(&self, c: &lyncscope::analysis::Conference) -> Option<usize> {
        crate::model::grid_order(c).get(self.selected).copied()
    }
}

#[derive(Clone, Debug)]
pub(crate) struct LadderView {
    pub(crate) ladder: Ladder,
    pub(crate) selected: usize,
    pub(crate) offset: usize,
    /// The first lane shown when the lanes do not fit (← →).
    pub(crate) hscroll: usize,
    /// The selected message's text beside the ladder (`v`).
    pub(crate) split: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct DetailView {
    pub(crate) message: usize,
    pub(crate) bytes: Vec<u8>,
    pub(crate) tree: Vec<TreeLine>,
    pub(crate) raw: Vec<String>,
    pub(crate) hex: Vec<String>,
    pub(crate) pane: Pane,
    /// Cursor and scroll of each pane: tree (over visible lines), raw, hex.
    pub(crate) cursor: [usize; 3],
    pub(crate) offset: [usize; 3],
}

impl DetailView {
    pub(super) fn pane_index(&self) -> usize {
        match self.pane {
            Pane::Tree => 0,
            Pane::Raw => 1,
            Pane::Hex => 2,
        }
    }

    /// Lines of the current pane (visible tree lines for the tree).
    pub(crate) fn pane_len(&self) -> usize {
        match self.pane {
            Pane::Tree => dissect::visible(&self.tree).len(),
            Pane::Raw => self.raw.len(),
            Pane::Hex => self.hex.len(),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Screen {
    Conference(GridView),
    Ladder(LadderView),
    Detail(Box<DetailView>),
}

impl App {
    /// The breadcrumb of the current screen.
    pub(crate) fn breadcrumb(&self, a: &Analysis) -> Vec<String> {
        let mut out = vec![self.tab.title().to_string()];
        for s in &self.stack {
            out.push(match s {
                Screen::Conference(g) => a
                    .conferences()
                    .list()
                    .get(g.conference)
                    .map_or("conference".into(), |c| crate::views::clip(&c.id, 24)),
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
                    .map_or("message".into(), |m| format!("frame {}", m.frame())),
            });
        }
        out
    }

    pub(super) fn in_tree(&self) -> bool {
        matches!(self.stack.last(), Some(Screen::Detail(d)) if d.pane == Pane::Tree)
    }

    pub(super) fn switch_tab(&mut self, tab: Tab, a: &Analysis) {
        self.stack.clear();
        self.tab = tab;
        self.clamp(a);
    }

    pub(super) fn next_pane(&mut self, back: bool, a: &Analysis) {
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

    pub(super) fn set_pane(&mut self, pane: Pane, a: &Analysis) {
        if let Some(Screen::Detail(d)) = self.stack.last_mut() {
            d.pane = pane;
        }
        self.clamp(a);
    }

    pub(super) fn toggle(&mut self, code: KeyCode) {
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

    pub(super) fn enter(&mut self, a: &Analysis) {
        let tls = self.tls.clone();
        let sources = self.sources.clone();
        let width = self.size.0;
        let screen = match self.stack.last() {
            None => match self.tab {
                // The grid opens on the first participant whose join failed: what was asked.
                Tab::Conferences => self.selected_item(Tab::Conferences, a).map(|c| {
                    let first_failed = a.conferences().list().get(c).and_then(|conf| {
                        model::grid_order(conf).iter().position(|&i| {
                            conf.participants
                                .get(i)
                                .is_some_and(|p| conf.diagnose(p).state == JoinState::Failed)
                        })
                    });
                    Screen::Conference(GridView {
                        conference: c,
                        selected: first_failed.unwrap_or(0),
                        offset: 0,
                    })
                }),
                Tab::Dialogs => self
                    .selected_item(Tab::Dialogs, a)
                    .map(|d| ladder_screen(a, Scope::Dialog(d as u32), width)),
                Tab::Messages => self
                    .selected_item(Tab::Messages, a)
                    .map(|m| detail_screen(a, m, tls.as_ref(), &sources)),
            },
            Some(Screen::Conference(g)) => {
                let p = a
                    .conferences()
                    .list()
                    .get(g.conference)
                    .and_then(|c| g.participant(c));
                p.map(|p| ladder_screen(a, Scope::Participant(g.conference, p), width))
            }
            Some(Screen::Ladder(l)) => l
                .ladder
                .arrows
                .get(l.selected)
                .map(|arrow| detail_screen(a, arrow.message, tls.as_ref(), &sources)),
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

    pub(super) fn open_conference_ladder(&mut self, a: &Analysis) {
        let conf = match self.stack.last() {
            None if self.tab == Tab::Conferences => self.selected_item(Tab::Conferences, a),
            Some(Screen::Conference(g)) => Some(g.conference),
            _ => None,
        };
        match conf {
            Some(c) => {
                self.stack
                    .push(ladder_screen(a, Scope::Conference(c), self.size.0));
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
}

/// Terminals this wide open ladders in the split view.
const SPLIT_WIDTH: u16 = 160;

fn ladder_screen(a: &Analysis, scope: Scope, width: u16) -> Screen {
    Screen::Ladder(LadderView {
        ladder: Ladder::new(a, scope),
        selected: 0,
        offset: 0,
        hscroll: 0,
        split: width >= SPLIT_WIDTH,
    })
}

fn detail_screen(
    a: &Analysis,
    message: usize,
    tls: Option<&TlsHandle>,
    sources: &[String],
) -> Screen {
    let bytes = a.store().and_then(|s| s.get(message)).unwrap_or_default();
    let tree = dissect::tree(a, message, &bytes, tls, sources);
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
    use super::super::test_support::{done, key, load};
    use super::super::Action;
    use super::*;

    #[test]
    fn navigation_through_the_screens_and_back() {
        let p = load("av-mcu-rejected.pcapng");
        let a = p.analysis();
        let mut app = App::new("t".into(), false);
        app.sync(a, done());
        app.handle_key(key(KeyCode::Enter), a);
        // The grid opens on bob, whose join failed.
        assert!(matches!(app.stack.last(), Some(Screen::Conference(g)) if g.selected == 1));
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
}
