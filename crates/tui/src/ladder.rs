//! The join-flow ladder model: lanes and arrows for a conference, one participant's join, or a
//! plain dialog. Built from the analysis (and the message store, for body labels); drawn by
//! `views::ladder`.
//!
//! For a conference or a join, lanes are **roles**, not hosts: in Lync the Front End is the
//! proxy that relays the invitation, the focus and the A/V MCU's signalling address all at
//! once, so lanes per host would draw the three dialogs of a join on top of each other. Which
//! address plays which role is the library's answer (`lyncscope::analysis::lanes`), read from
//! what the messages say; an address it cannot place is a lane titled by its address. For a
//! plain dialog, lanes are the hosts (address and port), in order of appearance, as sngrep
//! draws them.

use super::model::{self, short_user};
use lyncscope::analysis::lanes::{self as roles, LaneTracker, Role};
use lyncscope::analysis::{Analysis, DialogKind, StartKind};
use lyncscope::sip::conf_uri::McuType;
use std::net::SocketAddr;

/// What a ladder shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    Conference(usize),
    /// Conference index and participant index.
    Participant(usize, usize),
    Dialog(u32),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Lane {
    /// The role or user (`inviter alice`, `focus`, `A/V MCU`), or the address of a lane whose
    /// role the messages do not tell.
    pub(crate) title: String,
    /// The address first seen on this lane.
    pub(crate) addr: SocketAddr,
}

/// One message as an arrow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Arrow {
    /// Index in `Analysis::messages`.
    pub(crate) message: usize,
    pub(crate) from: usize,
    pub(crate) to: usize,
    /// Method or status, and the body (`INVITE C3P addUser`, `200 SDP audio`).
    pub(crate) label: String,
    /// The dialog's slot in [`Ladder::dialogs`] (its colour and letter).
    pub(crate) slot: usize,
    pub(crate) retransmission: bool,
    /// A failure response (or a C3P failure inside a success).
    pub(crate) failed: bool,
    /// Nanoseconds since the previous arrow (0 for the first).
    pub(crate) delta_ns: i64,
}

/// A dialog drawn in the ladder: its letter and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LadderDialog {
    pub(crate) dialog: u32,
    pub(crate) letter: char,
    pub(crate) kind: DialogKind,
    /// `invitation`, `focus`, `roster`, `A/V`, `IM`, …
    pub(crate) name: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Ladder {
    pub(crate) scope: Scope,
    /// Lanes in drawing order, left to right.
    pub(crate) lanes: Vec<Lane>,
    pub(crate) arrows: Vec<Arrow>,
    pub(crate) dialogs: Vec<LadderDialog>,
    /// Messages of the analysis already looked at (the ladder grows while loading).
    scanned: usize,
    /// The roles of a conference's or join's addresses (`None` for a plain dialog).
    tracker: Option<Box<LaneTracker>>,
}

impl Ladder {
    pub(crate) fn new(a: &Analysis, scope: Scope) -> Self {
        let tracker = match scope {
            Scope::Conference(c) => Some(Box::new(LaneTracker::new(
                a,
                roles::Scope {
                    conference: c,
                    participant: None,
                },
            ))),
            Scope::Participant(c, p) => Some(Box::new(LaneTracker::new(
                a,
                roles::Scope {
                    conference: c,
                    participant: Some(p),
                },
            ))),
            Scope::Dialog(_) => None,
        };
        let mut l = Ladder {
            scope,
            lanes: Vec::new(),
            arrows: Vec::new(),
            dialogs: Vec::new(),
            scanned: 0,
            tracker,
        };
        l.update(a);
        l
    }

    /// Adds the messages recorded since the last update. Cheap when nothing changed.
    pub(crate) fn update(&mut self, a: &Analysis) {
        let total = a.messages().len();
        if total == self.scanned {
            return;
        }
        match self.tracker.take() {
            Some(mut t) => {
                t.update(a);
                self.place_by_roles(a, &t);
                self.tracker = Some(t);
            }
            None => self.hosts(a, total),
        }
        self.scanned = total;
    }

    /// A plain dialog: lanes per host, in order of appearance.
    fn hosts(&mut self, a: &Analysis, total: usize) {
        let Scope::Dialog(want) = self.scope else {
            return;
        };
        for i in self.scanned..total {
            let Some(m) = a.messages().get(i) else { break };
            if m.dialog() != Some(want) {
                continue;
            }
            let slot = self.slot(a, want);
            let flow = a.flow(m.flow());
            let from = self.host_lane(flow.src);
            let to = self.host_lane(flow.dst);
            self.push_arrow(a, i, from, to, slot);
        }
    }

    /// A conference or a join: the library's lanes; arrows already drawn keep their labels and
    /// move to the lanes later evidence gives them.
    fn place_by_roles(&mut self, a: &Analysis, t: &LaneTracker) {
        let lanes = t.lanes(a);
        self.lanes = lanes
            .lanes
            .iter()
            .map(|l| Lane {
                title: match &l.device {
                    Some(d) => format!(
                        "{} {}",
                        self.title(a, &l.role, l.addr),
                        model::device_tag(d)
                    ),
                    None => self.title(a, &l.role, l.addr),
                },
                addr: l.addr,
            })
            .collect();
        for (n, arrow) in lanes.arrows.iter().enumerate() {
            match self.arrows.get_mut(n) {
                Some(known) => {
                    known.from = arrow.from;
                    known.to = arrow.to;
                }
                None => {
                    let slot = self.slot(a, arrow.dialog);
                    self.push_arrow(a, arrow.message, arrow.from, arrow.to, slot);
                }
            }
        }
    }

    fn push_arrow(&mut self, a: &Analysis, i: usize, from: usize, to: usize, slot: usize) {
        let Some(m) = a.messages().get(i) else {
            return;
        };
        let (label, failed) = arrow_label(a, i);
        let prev = self
            .arrows
            .last()
            .and_then(|p| a.messages().get(p.message))
            .map(|p| p.time().0);
        self.arrows.push(Arrow {
            message: i,
            from,
            to,
            label,
            slot,
            retransmission: m.retransmission(),
            failed,
            delta_ns: prev.map_or(0, |p| m.time().0 - p),
        });
    }

    /// Addresses the role evidence had no room for (their lanes are unknown).
    pub(crate) fn addresses_dropped(&self) -> u64 {
        self.tracker.as_ref().map_or(0, |t| t.addresses_dropped())
    }

    /// The lanes' left-to-right order (they are kept in it).
    pub(crate) fn lane_order(&self) -> Vec<usize> {
        (0..self.lanes.len()).collect()
    }

    /// A lane's title: who the client is in this ladder, the server role, or the address.
    fn title(&self, a: &Analysis, role: &Role, addr: SocketAddr) -> String {
        match role {
            Role::Client(uri) => {
                let user = short_user(uri);
                let Scope::Participant(c, p) = self.scope else {
                    return user.to_string();
                };
                let Some(p) = a
                    .conferences()
                    .list()
                    .get(c)
                    .and_then(|c| c.participants.get(p))
                else {
                    return user.to_string();
                };
                if p.invited_by.as_deref() == Some(uri.as_str()) {
                    format!("inviter {user}")
                } else if p.uri == *uri && p.invited_by.is_some() {
                    format!("invitee {user}")
                } else {
                    user.to_string()
                }
            }
            Role::Proxy => "proxy".to_string(),
            Role::Conference(McuType::Focus) => "focus".to_string(),
            Role::Conference(McuType::AudioVideo) => "A/V MCU".to_string(),
            Role::Conference(other) => format!("{} MCU", mcu_title(other.as_str())),
            Role::Unknown => addr.to_string(),
        }
    }

    fn slot(&mut self, a: &Analysis, d: u32) -> usize {
        if let Some(i) = self.dialogs.iter().position(|x| x.dialog == d) {
            return i;
        }
        let dialog = a.dialogs().get(d as usize);
        let (kind, mcu, client) = self.dialog_part(a, d);
        let mut name = match kind {
            DialogKind::Invitation => "invitation".to_string(),
            DialogKind::Focus => "focus".to_string(),
            DialogKind::Roster => "roster".to_string(),
            DialogKind::Media => "A/V".to_string(),
            DialogKind::Mcu if !mcu.is_empty() => mcu,
            DialogKind::Mcu => "MCU".to_string(),
            DialogKind::ConferenceControl => "control".to_string(),
            // The call a conference was escalated from: where the conference began.
            DialogKind::Other if self.escalated_from(a) == Some(d) => "P2P call".to_string(),
            DialogKind::Other => dialog.map_or("dialog".to_string(), |x| {
                a.symbols.name(x.method).to_string()
            }),
        };
        // In a conference ladder, whose dialog it is (an invitation: who is invited).
        if let Scope::Conference(_) = self.scope {
            let user = if name == "P2P call" {
                dialog.map(|x| format!("{}↔{}, escalated", short_user(&x.from), short_user(&x.to)))
            } else if kind == DialogKind::Invitation {
                dialog.map(|x| format!("→{}", short_user(&x.to)))
            } else {
                client.map(|c| short_user(&c).to_string())
            };
            if let Some(user) = user {
                name = format!("{name} {user}");
            }
        }
        let letter = (b'A' + (self.dialogs.len() % 26) as u8) as char;
        self.dialogs.push(LadderDialog {
            dialog: d,
            letter,
            kind,
            name,
        });
        self.dialogs.len() - 1
    }

    /// The peer-to-peer call the ladder's conference was escalated from.
    fn escalated_from(&self, a: &Analysis) -> Option<u32> {
        match self.scope {
            Scope::Conference(c) => a.escalation_of(c),
            _ => None,
        }
    }

    /// The part a dialog plays in the ladder's conference: its kind, the MCU's name, and the
    /// participant whose step it is.
    fn dialog_part(&self, a: &Analysis, d: u32) -> (DialogKind, String, Option<String>) {
        let fallback = a
            .dialogs()
            .get(d as usize)
            .map_or(DialogKind::Other, |x| x.kind);
        let c = match self.scope {
            Scope::Conference(c) | Scope::Participant(c, _) => c,
            Scope::Dialog(_) => return (fallback, String::new(), None),
        };
        let Some(conf) = a.conferences().list().get(c) else {
            return (fallback, String::new(), None);
        };
        for p in &conf.participants {
            for (dialog, kind) in model::participant_dialogs(p) {
                if dialog != d {
                    continue;
                }
                let mcu = p
                    .mcus
                    .iter()
                    .find(|(_, s)| s.dialog == d)
                    .map(|(m, _)| mcu_title(m.as_str()))
                    .unwrap_or_default();
                let client = (kind != DialogKind::Invitation).then(|| p.uri.clone());
                return (kind, mcu, client);
            }
        }
        (fallback, String::new(), None)
    }

    fn host_lane(&mut self, addr: SocketAddr) -> usize {
        match self.lanes.iter().position(|l| l.addr == addr) {
            Some(i) => i,
            None => {
                self.lanes.push(Lane {
                    title: addr.ip().to_string(),
                    addr,
                });
                self.lanes.len() - 1
            }
        }
    }
}

fn mcu_title(mcu: &str) -> String {
    match mcu {
        "chat" => "IM".into(),
        "applicationsharing" => "sharing".into(),
        "audio-video" | "audiovideo" => "A/V".into(),
        other => other.to_string(),
    }
}

/// The label of a message's arrow and whether it is a failure.
pub(crate) fn arrow_label(a: &Analysis, i: usize) -> (String, bool) {
    let Some(m) = a.messages().get(i) else {
        return (String::new(), false);
    };
    let mut failed = false;
    let mut label = match m.start() {
        StartKind::Request(s) => a.symbols.name(s).to_string(),
        StartKind::Response(code) => {
            failed = model::is_failure_status(code);
            let method = m.cseq().map(|(_, s)| a.symbols.name(s)).unwrap_or("");
            if method.is_empty() || method == "INVITE" {
                code.to_string()
            } else {
                format!("{code} {method}")
            }
        }
    };
    let bytes = a.store().and_then(|s| s.get(i)).unwrap_or_default();
    let msg = lyncscope::sip::message::frame_datagram(&bytes)
        .ok()
        .map(|(m, _)| m);
    if let Some(ct) = m.content_type() {
        let ct = a.symbols.name(ct).to_string();
        let described = match &msg {
            Some(msg) => model::describe_body(&ct, msg.body()),
            None => model::body_label(&ct),
        };
        if msg
            .as_ref()
            .is_some_and(|msg| model::body_failed(&ct, msg.body()))
        {
            failed = true;
        }
        label.push(' ');
        label.push_str(&described);
    }
    // Why a request was refused, in a word: the ms-diagnostics code.
    if failed {
        let diag = msg.as_ref().and_then(|msg| {
            [
                lyncscope::sip::Hdr::MsDiagnostics,
                lyncscope::sip::Hdr::MsDiagnosticsPublic,
                lyncscope::sip::Hdr::MsClientDiagnostics,
            ]
            .into_iter()
            .find_map(|h| {
                let v = msg.header(h)?;
                lyncscope::sip::body::diagnostics::parse(&String::from_utf8_lossy(v))
            })
        });
        if let Some(d) = diag {
            label.push_str(&format!(" ms-diag {}", d.code));
        }
    }
    (label, failed)
}
