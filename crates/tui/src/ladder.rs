//! The join-flow ladder model: lanes and arrows for a conference, one participant's join, or a
//! plain dialog. Built from the analysis (and the message store, for body labels); drawn by
//! `views::ladder`.
//!
//! For a conference or a join, lanes are **roles**, not hosts: in Lync the Front End is the
//! proxy that relays the invitation, the focus and the A/V MCU's signalling address all at
//! once, so lanes per host would draw the three dialogs of a join on top of each other. A
//! message's ends are placed as follows: an address that opened one of a participant's dialogs
//! (the client's connection) is that participant's lane; the other end is the server role of
//! the dialog's kind — proxy for the invitation, focus for the focus and roster dialogs, A/V
//! MCU, or another MCU. For a plain dialog, lanes are the hosts (address and port), in order of
//! appearance, as sngrep draws them.

use super::model::{self, conference_dialogs, participant_dialogs, short_user};
use lyncscope::analysis::{Analysis, DialogKind, StartKind};
use std::collections::HashMap;
use std::net::SocketAddr;

/// What a ladder shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    Conference(usize),
    /// Conference index and participant index.
    Participant(usize, usize),
    Dialog(u32),
}

/// The order lanes are drawn in (left to right).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum LaneKey {
    /// A participant's client, by the participant's order (inviter first in a join ladder).
    Client(usize),
    Proxy,
    Focus,
    AvMcu,
    /// Another MCU (IM, application sharing), by name.
    Mcu(String),
    /// A host of a plain dialog, by order of appearance.
    Host(usize),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Lane {
    pub(crate) key: LaneKey,
    /// The role or user (`inviter alice`, `focus`, `A/V MCU`).
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

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ladder {
    pub(crate) scope: Scope,
    pub(crate) lanes: Vec<Lane>,
    pub(crate) arrows: Vec<Arrow>,
    pub(crate) dialogs: Vec<LadderDialog>,
    /// Messages of the analysis already looked at (the ladder grows while loading).
    scanned: usize,
    /// Source and destination of each dialog's first message: the client and the server end.
    openers: HashMap<u32, (SocketAddr, SocketAddr)>,
}

/// Who takes part, for role lanes.
struct Roles {
    /// Participant URIs by lane order (index in `LaneKey::Client`), with their titles.
    clients: Vec<(String, String)>,
    /// Dialog id → (kind, MCU name, participant order of the dialog's client).
    dialogs: HashMap<u32, (DialogKind, String, Option<usize>)>,
}

impl Ladder {
    pub(crate) fn new(a: &Analysis, scope: Scope) -> Self {
        let mut l = Ladder {
            scope,
            lanes: Vec::new(),
            arrows: Vec::new(),
            dialogs: Vec::new(),
            scanned: 0,
            openers: HashMap::new(),
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
        let roles = self.roles(a);
        // The dialogs of a conference can grow while loading: re-list them each update.
        let mut wanted: Vec<u32> = roles.dialogs.keys().copied().collect();
        if let Scope::Dialog(d) = self.scope {
            wanted = vec![d];
        }
        wanted.sort_unstable();
        for i in self.scanned..total {
            let Some(m) = a.messages().get(i) else { break };
            let Some(d) = m.dialog.filter(|d| wanted.binary_search(d).is_ok()) else {
                continue;
            };
            self.openers.entry(d).or_insert((m.src, m.dst));
            let slot = self.slot(a, d, &roles);
            let (from, to) = match self.scope {
                Scope::Dialog(_) => (self.host_lane(m.src), self.host_lane(m.dst)),
                _ => self.role_lanes(a, d, m.src, m.dst, &roles),
            };
            let (label, failed) = arrow_label(a, i);
            let prev = self
                .arrows
                .last()
                .and_then(|p| a.messages().get(p.message))
                .map(|p| p.time.0);
            self.arrows.push(Arrow {
                message: i,
                from,
                to,
                label,
                slot,
                retransmission: m.retransmission,
                failed,
                delta_ns: prev.map_or(0, |p| m.time.0 - p),
            });
        }
        self.scanned = total;
    }

    /// The lanes' left-to-right order: lane indices sorted by key.
    pub(crate) fn lane_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.lanes.len()).collect();
        order.sort_by(|&x, &y| {
            let kx = self.lanes.get(x).map(|l| &l.key);
            let ky = self.lanes.get(y).map(|l| &l.key);
            kx.cmp(&ky)
        });
        order
    }

    fn roles(&self, a: &Analysis) -> Roles {
        let mut roles = Roles {
            clients: Vec::new(),
            dialogs: HashMap::new(),
        };
        let confs = a.conferences().list();
        let add_participant = |roles: &mut Roles, uri: &str, title: String| -> usize {
            match roles.clients.iter().position(|(u, _)| u == uri) {
                Some(i) => i,
                None => {
                    roles.clients.push((uri.to_string(), title));
                    roles.clients.len() - 1
                }
            }
        };
        let mcu_names = |p: &lyncscope::analysis::Participant| -> HashMap<u32, String> {
            p.mcus
                .iter()
                .map(|(mcu, s)| (s.dialog, mcu_title(mcu.as_str())))
                .collect()
        };
        match self.scope {
            Scope::Dialog(_) => {}
            Scope::Participant(c, pi) => {
                let Some(p) = confs.get(c).and_then(|c| c.participants.get(pi)) else {
                    return roles;
                };
                let inviter = p
                    .invited_by
                    .as_deref()
                    .map(|i| add_participant(&mut roles, i, format!("inviter {}", short_user(i))));
                let title = if p.invited_by.is_some() {
                    format!("invitee {}", short_user(&p.uri))
                } else {
                    short_user(&p.uri).to_string()
                };
                let me = add_participant(&mut roles, &p.uri, title);
                let names = mcu_names(p);
                for (d, kind) in participant_dialogs(p) {
                    let client = if kind == DialogKind::Invitation {
                        inviter
                    } else {
                        Some(me)
                    };
                    let name = names.get(&d).cloned().unwrap_or_default();
                    roles.dialogs.insert(d, (kind, name, client));
                }
            }
            Scope::Conference(c) => {
                let Some(conf) = confs.get(c) else {
                    return roles;
                };
                for p in &conf.participants {
                    let me = add_participant(&mut roles, &p.uri, short_user(&p.uri).to_string());
                    let inviter = p
                        .invited_by
                        .as_deref()
                        .map(|i| add_participant(&mut roles, i, short_user(i).to_string()));
                    let names = mcu_names(p);
                    for (d, kind) in participant_dialogs(p) {
                        let client = if kind == DialogKind::Invitation {
                            inviter
                        } else {
                            Some(me)
                        };
                        let name = names.get(&d).cloned().unwrap_or_default();
                        roles.dialogs.insert(d, (kind, name, client));
                    }
                }
                for d in conference_dialogs(a, conf) {
                    if let Some(dialog) = a.dialogs().get(d as usize) {
                        roles
                            .dialogs
                            .entry(d)
                            .or_insert((dialog.kind, String::new(), None));
                    }
                }
            }
        }
        roles
    }

    fn slot(&mut self, a: &Analysis, d: u32, roles: &Roles) -> usize {
        if let Some(i) = self.dialogs.iter().position(|x| x.dialog == d) {
            return i;
        }
        let (kind, mcu, client) = match roles.dialogs.get(&d) {
            Some((k, name, client)) => (*k, name.clone(), *client),
            None => (
                a.dialogs()
                    .get(d as usize)
                    .map_or(DialogKind::Other, |x| x.kind),
                String::new(),
                None,
            ),
        };
        let mut name = match kind {
            DialogKind::Invitation => "invitation".to_string(),
            DialogKind::Focus => "focus".to_string(),
            DialogKind::Roster => "roster".to_string(),
            DialogKind::Media => "A/V".to_string(),
            DialogKind::Mcu if !mcu.is_empty() => mcu,
            DialogKind::Mcu => "MCU".to_string(),
            DialogKind::ConferenceControl => "control".to_string(),
            DialogKind::Other => a
                .dialogs()
                .get(d as usize)
                .map_or("dialog".to_string(), |x| {
                    a.symbols.name(x.method).to_string()
                }),
        };
        // In a conference ladder, whose dialog it is (an invitation: who is invited).
        if let Scope::Conference(_) = self.scope {
            let user = if kind == DialogKind::Invitation {
                a.dialogs()
                    .get(d as usize)
                    .map(|x| format!("→{}", short_user(&x.to)))
            } else {
                client
                    .and_then(|c| roles.clients.get(c))
                    .map(|(_, title)| title.clone())
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

    fn lane(&mut self, key: LaneKey, title: String, addr: SocketAddr) -> usize {
        match self.lanes.iter().position(|l| l.key == key) {
            Some(i) => i,
            None => {
                self.lanes.push(Lane { key, title, addr });
                self.lanes.len() - 1
            }
        }
    }

    fn host_lane(&mut self, addr: SocketAddr) -> usize {
        match self.lanes.iter().position(|l| l.addr == addr) {
            Some(i) => i,
            None => {
                let n = self.lanes.len();
                self.lane(LaneKey::Host(n), addr.ip().to_string(), addr)
            }
        }
    }

    fn role_lanes(
        &mut self,
        a: &Analysis,
        d: u32,
        src: SocketAddr,
        dst: SocketAddr,
        roles: &Roles,
    ) -> (usize, usize) {
        let (kind, mcu, client) =
            roles
                .dialogs
                .get(&d)
                .cloned()
                .unwrap_or((DialogKind::Other, String::new(), None));
        // The client end of the dialog sent its first request; the proxy received it.
        let (opener, proxy_addr) = match self.openers.get(&d) {
            Some((s, d)) => (Some(*s), Some(*d)),
            None => (None, None),
        };
        let server = match kind {
            DialogKind::Invitation => (LaneKey::Proxy, "proxy".to_string()),
            DialogKind::Media => (LaneKey::AvMcu, "A/V MCU".to_string()),
            DialogKind::Mcu => {
                let name = if mcu.is_empty() { "MCU".into() } else { mcu };
                (LaneKey::Mcu(name.clone()), format!("{name} MCU"))
            }
            _ => (LaneKey::Focus, "focus".to_string()),
        };
        // In an invitation relayed by the proxy, the far end is the invitee's client.
        let invitee = if kind == DialogKind::Invitation {
            let (c, p) = match self.scope {
                Scope::Participant(c, p) => (c, Some(p)),
                Scope::Conference(c) => (c, p_of(a, c, d)),
                Scope::Dialog(_) => (0, None),
            };
            p.and_then(|p| a.conferences().list().get(c)?.participants.get(p))
                .and_then(|p| roles.clients.iter().position(|(u, _)| *u == p.uri))
        } else {
            None
        };
        let place = |this: &mut Self, addr: SocketAddr| -> usize {
            if Some(addr) == opener {
                if let Some((c, (_, title))) =
                    client.and_then(|c| roles.clients.get(c).map(|t| (c, t)))
                {
                    return this.lane(LaneKey::Client(c), title.clone(), addr);
                }
            }
            // A participant's client seen in another dialog of the ladder.
            if let Some(existing) = this
                .lanes
                .iter()
                .position(|l| matches!(l.key, LaneKey::Client(_)) && l.addr == addr)
            {
                return existing;
            }
            if kind == DialogKind::Invitation && Some(addr) != proxy_addr {
                if let Some((i, (_, title))) =
                    invitee.and_then(|i| roles.clients.get(i).map(|c| (i, c)))
                {
                    return this.lane(LaneKey::Client(i), title.clone(), addr);
                }
            }
            this.lane(server.0.clone(), server.1.clone(), addr)
        };
        let from = place(self, src);
        let to = place(self, dst);
        (from, to)
    }
}

/// The participant (index) whose invitation dialog `d` is, in conference `c`.
fn p_of(a: &Analysis, c: usize, d: u32) -> Option<usize> {
    a.conferences()
        .list()
        .get(c)?
        .participants
        .iter()
        .position(|p| p.invitation.as_ref().is_some_and(|s| s.dialog == d))
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
    let mut label = match m.start {
        StartKind::Request(s) => a.symbols.name(s).to_string(),
        StartKind::Response(code) => {
            failed = model::is_failure_status(code);
            let method = m.cseq.map(|(_, s)| a.symbols.name(s)).unwrap_or("");
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
    if let Some(ct) = m.content_type {
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
