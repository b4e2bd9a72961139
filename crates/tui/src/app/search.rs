//! `/` search and `n`/`N`: the next row of the current screen that mentions the last search,
//! wrapping around. On the message list the search also reads each message's text, in time
//! slices so that a key never holds up the UI for long.

use super::filter::{bytes_contain_ci, contains_ci, row_matches_text, Filter};
use super::lists::Tab;
use super::screens::{Pane, Screen};
use super::App;
use crate::dissect::{self, TreeLine};
use lyncscope::analysis::Analysis;
use lyncscope::report::reason;

impl App {
    /// Moves to the next (or previous) row matching the last search, wrapping around.
    pub(super) fn search_again(&mut self, a: &Analysis, forward: bool) {
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
                let order = crate::model::grid_order(c);
                find_wrapping(g.selected, order.len(), forward, |row| {
                    let p = order.get(row).and_then(|&i| c.participants.get(i));
                    p.is_some_and(|p| {
                        let d = c.diagnose(p);
                        let (state, reason) = (d.state, reason::reason_in(&d, p, a));
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

#[cfg(test)]
mod tests {
    use super::super::test_support::{done, key, load, typed};
    use super::*;
    use lyncscope::analysis::StartKind;
    use ratatui::crossterm::event::KeyCode;

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
        assert_eq!(a.messages()[m].start(), StartKind::Response(488));
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
}
