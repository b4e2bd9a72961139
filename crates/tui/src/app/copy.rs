//! `c`: copies the selected Call-ID to the clipboard of the terminal, with the OSC 52 escape
//! sequence (xterm, kitty, iTerm2, tmux with `set-clipboard on`, Windows Terminal): works
//! over SSH, with no clipboard tool on the machine.

use super::lists::Tab;
use super::screens::Screen;
use super::{Action, App};
use lyncscope::analysis::{Analysis, JoinState};

/// The OSC 52 sequence that sets the clipboard (`c`) to `text`: `ESC ] 52 ; c ; <base64> BEL`.
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", base64(text.as_bytes()))
}

/// Standard base64 with padding (RFC 4648), the encoding OSC 52 wants.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                let at = ((n >> shift) & 63) as usize;
                out.push(char::from(*ALPHABET.get(at).unwrap_or(&b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl App {
    /// The Call-ID of what is selected: a dialog, a message, a ladder's arrow, the message
    /// open, or in a grid the selected participant's failed step (else their first step).
    pub(super) fn selected_call_id(&self, a: &Analysis) -> Option<String> {
        let of_message = |i: usize| -> Option<String> {
            a.messages()
                .get(i)
                .and_then(|m| a.call_id_of(m))
                .map(str::to_string)
        };
        match self.stack.last() {
            None => match self.tab {
                Tab::Conferences => None,
                Tab::Dialogs => self
                    .selected_item(Tab::Dialogs, a)
                    .and_then(|d| a.dialogs().get(d))
                    .map(|d| d.call_id.to_string()),
                Tab::Messages => self.selected_item(Tab::Messages, a).and_then(of_message),
            },
            Some(Screen::Conference(g)) => {
                let c = a.conferences().list().get(g.conference)?;
                let p = c.participants.get(g.participant(c)?)?;
                let d = c.diagnose(p);
                let step = match d.state {
                    JoinState::Failed | JoinState::Declined => d.evidence,
                    _ => None,
                }
                .or(p.invitation.as_deref())
                .or(p.focus.as_deref());
                step.map(|s| s.call_id.to_string())
            }
            Some(Screen::Ladder(l)) => l
                .ladder
                .arrows
                .get(l.selected)
                .and_then(|x| of_message(x.message)),
            Some(Screen::Detail(d)) => of_message(d.message),
        }
    }

    /// `c`: asks the run loop to copy the selected Call-ID.
    pub(super) fn copy_call_id(&mut self, a: &Analysis) -> Option<Action> {
        match self.selected_call_id(a) {
            Some(text) => {
                self.notice = Some(format!("copied Call-ID {text} (OSC 52)"));
                Some(Action::Copy { text })
            }
            None => {
                self.notice =
                    Some("c: select a dialog, a message or a participant to copy a Call-ID".into());
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{done, key, load};
    use super::*;
    use ratatui::crossterm::event::KeyCode;

    #[test]
    fn the_escape_sequence() {
        assert_eq!(osc52("abc"), "\x1b]52;c;YWJj\x07");
        assert_eq!(osc52("ab"), "\x1b]52;c;YWI=\x07");
        assert_eq!(osc52("a"), "\x1b]52;c;YQ==\x07");
        assert_eq!(osc52(""), "\x1b]52;c;\x07");
        assert_eq!(
            osc52("3f9a@192.0.2.21").into_bytes(),
            b"\x1b]52;c;M2Y5YUAxOTIuMC4yLjIx\x07".to_vec()
        );
    }

    #[test]
    fn c_copies_the_selected_call_id() {
        let p = load("av-mcu-rejected.pcapng");
        let a = p.analysis();
        let mut app = App::new("t".into(), false);
        app.sync(a, done());
        // On the conference list there is nothing to copy.
        assert_eq!(app.handle_key(key(KeyCode::Char('c')), a), None);
        // The grid opens on bob, whose A/V join failed: the failed step's Call-ID.
        app.handle_key(key(KeyCode::Enter), a);
        let c = &a.conferences().list()[0];
        let bob = &c.participants[1];
        let media = bob.media.first().expect("A/V step");
        assert_eq!(
            app.handle_key(key(KeyCode::Char('c')), a),
            Some(Action::Copy {
                text: media.call_id.to_string()
            })
        );
        // The dialog list: the whole Call-ID of the selected dialog.
        app.handle_key(key(KeyCode::Esc), a);
        app.handle_key(key(KeyCode::Char('2')), a);
        assert_eq!(
            app.handle_key(key(KeyCode::Char('c')), a),
            Some(Action::Copy {
                text: a.dialogs()[0].call_id.to_string()
            })
        );
    }
}
