//! What each key (and the mouse wheel) does. One table for every screen: most keys mean the
//! same everywhere (move, page, Enter opens, Esc closes), and the few that depend on the screen
//! say so in a guard or in the method they call.

use super::lists::Tab;
use super::prompt::PromptKind;
use super::screens::{Pane, Screen};
use super::{Action, App};
use lyncscope::analysis::Analysis;
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

/// Rows the mouse wheel moves.
const WHEEL_ROWS: isize = 3;

impl App {
    pub(crate) fn handle_mouse(&mut self, m: MouseEvent, a: &Analysis) {
        match m.kind {
            MouseEventKind::ScrollDown => self.move_by(a, WHEEL_ROWS),
            MouseEventKind::ScrollUp => self.move_by(a, -WHEEL_ROWS),
            MouseEventKind::Down(MouseButton::Left) => self.click(a, m.row),
            _ => {}
        }
    }

    /// Applies one key; returns what the run loop must do, if anything.
    pub fn handle_key(&mut self, key: KeyEvent, a: &Analysis) -> Option<Action> {
        let action = self.apply_key(key, a);
        self.record_status();
        action
    }

    fn apply_key(&mut self, key: KeyEvent, a: &Analysis) -> Option<Action> {
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
        if self.log.open {
            // The log scrolls; any other key closes it; q still quits.
            match key.code {
                KeyCode::Up | KeyCode::Char('k') => self.log.back += 1,
                KeyCode::Down | KeyCode::Char('j') => {
                    self.log.back = self.log.back.saturating_sub(1)
                }
                KeyCode::Char('q') => return Some(Action::Quit),
                _ => self.log.open = false,
            }
            self.log.back = self.log.back.min(self.log.lines.len().saturating_sub(1));
            return None;
        }
        // Esc on the first screen asked to quit: Esc again or y quits, anything else stays.
        if std::mem::take(&mut self.confirm_quit)
            && matches!(key.code, KeyCode::Esc | KeyCode::Char('y'))
        {
            return Some(Action::Quit);
        }
        self.notice = None;
        let page = self.page_height() as isize;
        let in_ladder = matches!(self.stack.last(), Some(Screen::Ladder(_)));
        let on_list = self.stack.is_empty();
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
            KeyCode::Esc if on_list => {
                self.confirm_quit = true;
                self.notice = Some("quit? Esc again or y quits, any other key stays".into());
            }
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
            KeyCode::Left | KeyCode::Right if in_ladder => {
                self.scroll_lanes(key.code == KeyCode::Right)
            }
            KeyCode::Char('v') if in_ladder => {
                if let Some(Screen::Ladder(l)) = self.stack.last_mut() {
                    l.split = !l.split;
                }
            }
            KeyCode::Tab | KeyCode::BackTab => self.next_pane(key.code == KeyCode::BackTab, a),
            KeyCode::Char('1') => self.switch_tab(Tab::Conferences, a),
            KeyCode::Char('2') => self.switch_tab(Tab::Dialogs, a),
            KeyCode::Char('3') => self.switch_tab(Tab::Messages, a),
            KeyCode::Char('t') => self.set_pane(Pane::Tree, a),
            KeyCode::Char('r') => self.set_pane(Pane::Raw, a),
            KeyCode::Char('x') => self.set_pane(Pane::Hex, a),
            KeyCode::Char('l') => self.open_conference_ladder(a),
            KeyCode::Char('!') | KeyCode::Char('L') => {
                self.log.open = true;
                self.log.back = 0;
            }
            KeyCode::Char('/') | KeyCode::F(3) => {
                self.open_prompt(PromptKind::Search, String::new())
            }
            KeyCode::Char('n') => self.search_again(a, true),
            KeyCode::Char('N') => self.search_again(a, false),
            KeyCode::Char('f') | KeyCode::F(7) => self.open_filter(),
            KeyCode::Char('w') | KeyCode::F(2) => self.open_write(a, false),
            KeyCode::Char('s') if on_list && self.tab == Tab::Conferences => {
                self.cycle_sort(a, false)
            }
            KeyCode::Char('S') if on_list && self.tab == Tab::Conferences => {
                self.cycle_sort(a, true)
            }
            KeyCode::Char('s') => self.open_write(a, true),
            KeyCode::Char('c') => return self.copy_call_id(a),
            _ => {}
        }
        None
    }

    /// ← → on a ladder whose lanes do not fit: the lanes shown move by one.
    fn scroll_lanes(&mut self, right: bool) {
        let width = self.size.0;
        if let Some(Screen::Ladder(l)) = self.stack.last_mut() {
            let max = crate::views::ladder::max_hscroll(&l.ladder, ladder_width(width, l.split));
            l.hscroll = if right {
                (l.hscroll + 1).min(max)
            } else {
                l.hscroll.saturating_sub(1).min(max)
            };
        }
    }

    /// A click selects the row under it (in the lists, the grid and the ladder).
    fn click(&mut self, a: &Analysis, row: u16) {
        // Rows above the first data row: title bar and the screen's own headers.
        let top = match self.stack.last() {
            None => 2,
            Some(Screen::Conference(_)) => 5,
            Some(Screen::Ladder(_)) => 3,
            Some(Screen::Detail(_)) => return,
        };
        let Some(line) = row.checked_sub(top) else {
            return;
        };
        let height = self.page_height();
        if usize::from(line) >= height {
            return;
        }
        if let Some((sel, off, len)) = self.cursor(a) {
            let at = *off + usize::from(line);
            if at < len {
                *sel = at;
            }
        }
        self.unstick();
        self.clamp(a);
    }
}

/// Columns the ladder itself has: all, or its part of the split view.
fn ladder_width(width: u16, split: bool) -> u16 {
    if split && width >= 100 {
        width * 58 / 100
    } else {
        width
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{done, key, load};
    use super::*;

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

    #[test]
    fn sngrep_habits() {
        let p = load("av-mcu-rejected.pcapng");
        let a = p.analysis();
        let mut app = App::new("t".into(), false);
        app.sync(a, done());
        // Esc on the first screen asks; another key stays, Esc again quits.
        assert_eq!(app.handle_key(key(KeyCode::Esc), a), None);
        assert!(app
            .notice
            .as_deref()
            .is_some_and(|n| n.starts_with("quit?")));
        assert_eq!(app.handle_key(key(KeyCode::Down), a), None);
        assert_eq!(app.handle_key(key(KeyCode::Esc), a), None);
        assert_eq!(app.handle_key(key(KeyCode::Esc), a), Some(Action::Quit));
        // F3 searches, F7 filters, F2 writes.
        for (f, kind) in [
            (3, PromptKind::Search),
            (7, PromptKind::Filter),
            (2, PromptKind::Write),
        ] {
            app.handle_key(key(KeyCode::F(f)), a);
            assert_eq!(app.prompt.as_ref().map(|p| p.kind), Some(kind));
            app.handle_key(key(KeyCode::Esc), a);
        }
        // A click selects the row under it: the third message (rows start below the title
        // bar and the header).
        app.handle_key(key(KeyCode::Char('3')), a);
        let click = MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: 10,
            row: 4,
            modifiers: KeyModifiers::NONE,
        };
        app.handle_mouse(click, a);
        assert_eq!(app.list(Tab::Messages).selected, 2);
    }
}
