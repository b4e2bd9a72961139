//! Who is who in a conference's or a join's messages: for each address, the role it plays —
//! a participant's client, the proxy that relays the invitation, the focus, an MCU — and the
//! evidence for it; and each message as an arrow between two such lanes. What a ladder (the
//! UI's, the HTML report's) draws.
//!
//! Roles come from what the messages say, never from the order they appear in. A capture
//! taken on a client has only one leg (client ↔ Front End): there the first message of the
//! invitation comes *from* the Front End, so "the opener is the inviter" would be wrong. The
//! rules, each an [`Evidence`]:
//!
//! * a request with a single Via was sent by the user agent its From names: a participant's
//!   client, or the focus / an MCU when From is a conference URI ([`Evidence::OwnRequest`]);
//!   ACK and CANCEL are left out, a proxy sends them hop by hop with its own Via only;
//! * a request with more than one Via was relayed, so its sender is a proxy; a response with
//!   more than one Via goes to a proxy, which strips its Via and passes it on
//!   ([`Evidence::Via`]); a response with a single Via goes to the request's originator
//!   ([`Evidence::OnlyVia`]);
//! * the receiver of a request whose Request-URI (or, sent by the client itself, To) is a
//!   conference URI is that focus or MCU ([`Evidence::RequestUri`], [`Evidence::ToUri`]);
//! * an answer with a single Via and a Record-Route, to a request that is not for a
//!   conference, comes from the first proxy on the path ([`Evidence::RecordRoute`]);
//! * the receiver of a relayed request addressed to a user, which itself relays nothing, is
//!   that user's client ([`Evidence::AddressedRelayed`]).
//!
//! A client's address is that client in every dialog of the scope; a server's role is per
//! dialog, because one Front End address is proxy, focus and A/V MCU at once. An address no
//! rule names is [`Role::Unknown`]: a ladder labels it by its address.
//!
//! The headers are read from the message store ([`Analysis::store`]). Without one, only the
//! dialogs' classification is used (the first request of a focus or MCU dialog went to that
//! server, [`Evidence::Classification`]); every other end is unknown.

use super::{Analysis, DialogKind, Participant, StartKind};
use crate::sip::conf_uri::{aor, ConfUri, McuType};
use crate::sip::message::{frame_datagram, Hdr, Message};
use std::collections::HashMap;
use std::net::SocketAddr;

/// Most addresses whose role is remembered per scope: a ladder of one conference has a few
/// dozen; beyond, further addresses stay [`Role::Unknown`] (counted in
/// [`LaneTracker::addresses_dropped`]).
const MAX_ADDRESSES: usize = 4096;

/// The role an address plays in a conference's messages.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The client of the user with this address-of-record (`sip:bob@example.com`).
    Client(String),
    /// A proxy relaying requests between clients (the Front End for an invitation).
    Proxy,
    /// A conference server: the focus ([`McuType::Focus`]) or an MCU.
    Conference(McuType),
    /// Nothing in the messages says; the lane is labelled by its address.
    Unknown,
}

/// Why an address has its role (see the module documentation for each rule). When rules
/// disagree about an address in a dialog, the later variant wins: having relayed a request
/// ([`Evidence::Via`]) outweighs having received one for the focus, which the first hop of a
/// pool whose focus runs on another server does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Evidence {
    /// The dialogs' classification only (no message store): the first request of a focus or
    /// MCU dialog went to that server.
    Classification,
    /// It answered a request that was not for a conference with Record-Route.
    RecordRoute,
    /// It received a relayed request addressed to its user and relayed nothing itself.
    AddressedRelayed,
    /// It received a response with a single Via: the request's originator.
    OnlyVia,
    /// It sent a request with only its own Via; From names it.
    OwnRequest,
    /// The client itself sent it a request whose To is a conference URI.
    ToUri,
    /// It received a request whose Request-URI is a conference URI.
    RequestUri,
    /// It sent a request with more than one Via, or received a response with more than one.
    Via,
}

impl Evidence {
    /// A stable lower-case name, for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Evidence::Classification => "classification",
            Evidence::Via => "via",
            Evidence::RecordRoute => "record-route",
            Evidence::AddressedRelayed => "addressed-relayed",
            Evidence::OnlyVia => "only-via",
            Evidence::OwnRequest => "own-request",
            Evidence::ToUri => "to-uri",
            Evidence::RequestUri => "request-uri",
        }
    }
}

/// One lane of a ladder: a role and the address first seen playing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lane {
    /// What the lane is.
    pub role: Role,
    /// For a client whose user joins the conference from several devices: the device (its
    /// `epid`), one lane per device. `None` for every other lane.
    pub device: Option<Box<str>>,
    /// The address first seen in this role (an unknown lane's only address).
    pub addr: SocketAddr,
    /// Why (`None` for [`Role::Unknown`]).
    pub evidence: Option<Evidence>,
}

/// One message as an arrow between two lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrow {
    /// Index in [`Analysis::messages`].
    pub message: usize,
    /// The message's dialog.
    pub dialog: u32,
    /// Lane index (in [`Lanes::lanes`]) of the sender.
    pub from: usize,
    /// Lane index of the receiver.
    pub to: usize,
}

/// The lanes, left to right (clients in participant order, proxy, focus, A/V MCU, other
/// MCUs, unknown addresses), and the arrows in capture order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lanes {
    /// Lanes in drawing order.
    pub lanes: Vec<Lane>,
    /// Arrows in capture order.
    pub arrows: Vec<Arrow>,
}

/// What a ladder covers: a whole conference, or one participant's join in it (indices into
/// [`super::Conferences::list`] and the conference's participants).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scope {
    /// The conference.
    pub conference: usize,
    /// One participant's join, or the whole conference.
    pub participant: Option<usize>,
}

/// The lanes of a scope in one call: [`LaneTracker::new`] then [`LaneTracker::lanes`].
pub fn lanes(a: &Analysis, scope: Scope) -> Lanes {
    LaneTracker::new(a, scope).lanes(a)
}

/// What one message tells (read once, when the tracker first sees it).
#[derive(Clone, Copy, Debug)]
struct Seen {
    message: usize,
    dialog: u32,
    src: SocketAddr,
    dst: SocketAddr,
}

/// A role claim for an address in one dialog (servers) or in every dialog (clients).
type Claim = (Role, Evidence);

/// The lanes of a scope, kept up to date while messages arrive ([`LaneTracker::update`]):
/// what the messages said is kept, and [`LaneTracker::lanes`] resolves it, so evidence that
/// comes late (a client's own request after the invitation it received) places earlier
/// arrows too.
#[derive(Clone, Debug)]
pub struct LaneTracker {
    scope: Scope,
    scanned: usize,
    seen: Vec<Seen>,
    /// An address's client role, in every dialog of the scope.
    clients: HashMap<SocketAddr, Claim>,
    /// A server role per dialog and address (the strongest evidence wins).
    servers: HashMap<(u32, SocketAddr), Claim>,
    /// Addresses that received a relayed request addressed to a user (the user's AOR).
    addressed: HashMap<SocketAddr, String>,
    /// Addresses that relayed a request: never a client by [`Evidence::AddressedRelayed`].
    relays: HashMap<SocketAddr, ()>,
    /// A client address's device: the `epid` of the From its user agent wrote.
    devices: HashMap<SocketAddr, Box<str>>,
    addresses_dropped: u64,
}

impl LaneTracker {
    /// A tracker for `scope`, up to date with the analysis.
    pub fn new(a: &Analysis, scope: Scope) -> Self {
        let mut t = LaneTracker {
            scope,
            scanned: 0,
            seen: Vec::new(),
            clients: HashMap::new(),
            servers: HashMap::new(),
            addressed: HashMap::new(),
            relays: HashMap::new(),
            devices: HashMap::new(),
            addresses_dropped: 0,
        };
        t.update(a);
        t
    }

    /// The scope.
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// Addresses left unknown because the scope had more than the tracker keeps.
    pub fn addresses_dropped(&self) -> u64 {
        self.addresses_dropped
    }

    /// Reads the messages recorded since the last update. Cheap when nothing changed.
    pub fn update(&mut self, a: &Analysis) {
        let total = a.messages().len();
        if total == self.scanned {
            return;
        }
        // The dialogs of a conference grow while a capture is read: listed again each update.
        let wanted = scope_dialogs(a, self.scope);
        for i in self.scanned..total {
            let Some(m) = a.messages().get(i) else { break };
            let Some(d) = m.dialog().filter(|d| wanted.binary_search(d).is_ok()) else {
                continue;
            };
            let flow = a.flow(m.flow());
            self.seen.push(Seen {
                message: i,
                dialog: d,
                src: flow.src,
                dst: flow.dst,
            });
            let bytes = a.store().and_then(|s| s.get(i));
            match bytes
                .as_deref()
                .and_then(|b| frame_datagram(b).ok())
                .map(|(msg, _)| msg)
            {
                Some(msg) => self.learn(d, flow.src, flow.dst, &msg),
                None => self.classify(a, d, i),
            }
        }
        self.scanned = total;
    }

    /// The lanes as the evidence so far places them.
    pub fn lanes(&self, a: &Analysis) -> Lanes {
        let order = client_order(a, self.scope);
        let devices = device_order(a, self.scope);
        let mut lanes: Vec<Lane> = Vec::new();
        let mut unknown_order: Vec<SocketAddr> = Vec::new();
        let mut place = |role: Role, evidence: Option<Evidence>, addr: SocketAddr| -> usize {
            // A user joining from several devices has a lane per device; the device of an
            // address is the epid its own messages carried.
            let device = match &role {
                Role::Client(u) if devices.iter().any(|(du, _)| du == u) => {
                    self.devices.get(&addr).cloned()
                }
                _ => None,
            };
            let found = lanes.iter().position(|l| match &role {
                Role::Unknown => l.role == Role::Unknown && l.addr == addr,
                _ => l.role == role && l.device == device,
            });
            match found {
                Some(i) => i,
                None => {
                    if role == Role::Unknown {
                        unknown_order.push(addr);
                    }
                    lanes.push(Lane {
                        role,
                        device,
                        addr,
                        evidence,
                    });
                    lanes.len() - 1
                }
            }
        };
        let mut arrows = Vec::with_capacity(self.seen.len());
        for s in &self.seen {
            let (fr, fe) = self.role_of(s.dialog, s.src);
            let (tr, te) = self.role_of(s.dialog, s.dst);
            let from = place(fr, fe, s.src);
            let to = place(tr, te, s.dst);
            arrows.push(Arrow {
                message: s.message,
                dialog: s.dialog,
                from,
                to,
            });
        }
        // Drawing order: sort the lanes, then renumber the arrows' ends.
        let key = |l: &Lane| -> (u8, usize, usize, String) {
            match &l.role {
                Role::Client(u) => {
                    // A user's devices in the order the conference first saw them.
                    let device = devices
                        .iter()
                        .position(|(du, dd)| du == u && dd.as_deref() == l.device.as_deref())
                        .unwrap_or(usize::MAX);
                    match order.iter().position(|o| o == u) {
                        Some(i) => (0, i, device, String::new()),
                        None => (1, 0, device, u.clone()),
                    }
                }
                Role::Proxy => (2, 0, 0, String::new()),
                Role::Conference(McuType::Focus) => (3, 0, 0, String::new()),
                Role::Conference(McuType::AudioVideo) => (4, 0, 0, String::new()),
                Role::Conference(other) => (5, 0, 0, other.as_str().to_string()),
                Role::Unknown => (
                    6,
                    unknown_order
                        .iter()
                        .position(|x| *x == l.addr)
                        .unwrap_or(usize::MAX),
                    0,
                    String::new(),
                ),
            }
        };
        let mut idx: Vec<usize> = (0..lanes.len()).collect();
        idx.sort_by_cached_key(|&i| lanes.get(i).map(key));
        let mut new_of = vec![0; lanes.len()];
        for (new, &old) in idx.iter().enumerate() {
            if let Some(slot) = new_of.get_mut(old) {
                *slot = new;
            }
        }
        let sorted: Vec<Lane> = idx.iter().filter_map(|&i| lanes.get(i).cloned()).collect();
        for arrow in &mut arrows {
            arrow.from = new_of.get(arrow.from).copied().unwrap_or(arrow.from);
            arrow.to = new_of.get(arrow.to).copied().unwrap_or(arrow.to);
        }
        Lanes {
            lanes: sorted,
            arrows,
        }
    }

    /// The role of `addr` in dialog `d`: a client anywhere (unless it relayed a request), else
    /// the dialog's server claim, else the addressee of a relayed request that relays nothing,
    /// else unknown.
    fn role_of(&self, d: u32, addr: SocketAddr) -> (Role, Option<Evidence>) {
        // An address that relayed a request is a server, whatever it sent on its own behalf.
        let relays = self.relays.contains_key(&addr);
        if let Some((r, e)) = self.clients.get(&addr).filter(|_| !relays) {
            return (r.clone(), Some(*e));
        }
        if let Some((r, e)) = self.servers.get(&(d, addr)) {
            return (r.clone(), Some(*e));
        }
        if !relays {
            if let Some(user) = self.addressed.get(&addr) {
                return (Role::Client(user.clone()), Some(Evidence::AddressedRelayed));
            }
        }
        (Role::Unknown, None)
    }

    fn room(&mut self) -> bool {
        let used = self.clients.len() + self.servers.len() + self.addressed.len();
        if used >= MAX_ADDRESSES {
            self.addresses_dropped += 1;
            return false;
        }
        true
    }

    fn client(&mut self, addr: SocketAddr, user: String, e: Evidence, from: Option<&str>) {
        if self.clients.contains_key(&addr) || !self.room() {
            return;
        }
        if let Some(epid) = from.and_then(|f| super::conference::epid_of(f.as_bytes())) {
            self.devices.insert(addr, epid.into());
        }
        self.clients.insert(addr, (Role::Client(user), e));
    }

    fn server(&mut self, d: u32, addr: SocketAddr, role: Role, e: Evidence) {
        match self.servers.get(&(d, addr)) {
            Some((_, old)) if *old >= e => {}
            Some(_) => {
                self.servers.insert((d, addr), (role, e));
            }
            None => {
                if self.room() {
                    self.servers.insert((d, addr), (role, e));
                }
            }
        }
    }

    /// What one message's headers say.
    fn learn(&mut self, d: u32, src: SocketAddr, dst: SocketAddr, msg: &Message<'_>) {
        let vias = via_count(msg);
        let from = msg.header(Hdr::From).map(lossy);
        let to = msg.header(Hdr::To).map(lossy);
        let from_conf = from.as_deref().and_then(ConfUri::parse).map(|c| c.mcu);
        let to_conf = to.as_deref().and_then(ConfUri::parse).map(|c| c.mcu);
        if msg.is_request() {
            let method = msg.method().unwrap_or_default();
            let hop_by_hop = method.eq_ignore_ascii_case(b"ACK") || method == b"CANCEL";
            let ruri = msg.request_uri().map(lossy);
            let ruri_conf = ruri.as_deref().and_then(ConfUri::parse).map(|c| c.mcu);
            if vias >= 2 {
                self.relays.insert(src, ());
                self.server(d, src, Role::Proxy, Evidence::Via);
                // Addressed to a user: the receiver may be that user's client.
                if ruri_conf.is_none() && !self.addressed.contains_key(&dst) && self.room() {
                    if let Some(u) = ruri.as_deref().map(aor).filter(|u| !u.is_empty()) {
                        self.addressed.insert(dst, u);
                    }
                }
            } else if vias == 1 && !hop_by_hop {
                match (&from_conf, from.as_deref()) {
                    (Some(mcu), _) => {
                        self.server(d, src, Role::Conference(mcu.clone()), Evidence::OwnRequest)
                    }
                    (None, Some(f)) => {
                        let user = aor(f);
                        if !user.is_empty() {
                            self.client(src, user, Evidence::OwnRequest, Some(f));
                        }
                    }
                    (None, None) => {}
                }
                if from_conf.is_none() {
                    if let Some(mcu) = to_conf.clone().filter(|_| ruri_conf.is_none()) {
                        self.server(d, dst, Role::Conference(mcu), Evidence::ToUri);
                    }
                }
            }
            if let Some(mcu) = ruri_conf {
                self.server(d, dst, Role::Conference(mcu), Evidence::RequestUri);
            }
        } else {
            if vias >= 2 {
                self.server(d, dst, Role::Proxy, Evidence::Via);
            } else if vias == 1 {
                // The originator of the request: its From.
                match (&from_conf, from.as_deref()) {
                    (Some(mcu), _) => {
                        self.server(d, dst, Role::Conference(mcu.clone()), Evidence::OnlyVia)
                    }
                    (None, Some(f)) => {
                        let user = aor(f);
                        if !user.is_empty() {
                            self.client(dst, user, Evidence::OnlyVia, Some(f));
                        }
                    }
                    (None, None) => {}
                }
            }
            let record_routed = msg.headers_named("record-route").next().is_some();
            // On the way back to the originator (one Via left), a Record-Route means a proxy
            // was on the path, and the last hop is the first proxy. (The far end's own answer
            // carries the Record-Route too, but with the proxy's Via still on it.)
            if vias == 1 && record_routed && from_conf.is_none() && to_conf.is_none() {
                self.server(d, src, Role::Proxy, Evidence::RecordRoute);
            }
        }
    }

    /// Without the message's bytes: the first request of a focus or MCU dialog went to it.
    fn classify(&mut self, a: &Analysis, d: u32, i: usize) {
        let Some(dialog) = a.dialogs().get(d as usize) else {
            return;
        };
        let Some(m) = a.messages().get(i) else { return };
        let first = self.seen.iter().filter(|s| s.dialog == d).count() == 1;
        if !first || m.start() != StartKind::Request(dialog.method) {
            return;
        }
        let role = match dialog.kind {
            DialogKind::Focus | DialogKind::Roster => Role::Conference(McuType::Focus),
            DialogKind::Media => Role::Conference(McuType::AudioVideo),
            DialogKind::Mcu => match ConfUri::parse(&dialog.to) {
                Some(c) => Role::Conference(c.mcu),
                None => return,
            },
            _ => return,
        };
        self.server(d, a.flow(m.flow()).dst, role, Evidence::Classification);
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Vias in every Via header (a header may list several, comma-separated): counted by their
/// protocol token, which no Via parameter contains.
fn via_count(msg: &Message<'_>) -> usize {
    let finder = memchr::memmem::Finder::new(b"SIP/2.0/");
    msg.headers_named("via")
        .map(|v| {
            let upper = v.to_ascii_uppercase();
            finder.find_iter(&upper).count()
        })
        .sum()
}

/// The dialogs a scope draws, sorted.
pub fn scope_dialogs(a: &Analysis, scope: Scope) -> Vec<u32> {
    let Some(conf) = a.conferences().list().get(scope.conference) else {
        return Vec::new();
    };
    let mut out: Vec<u32> = match scope.participant {
        Some(p) => conf
            .participants
            .get(p)
            .map(participant_dialogs)
            .unwrap_or_default(),
        None => {
            let mut v: Vec<u32> = conf
                .participants
                .iter()
                .flat_map(participant_dialogs)
                .collect();
            v.extend(conf.control.iter().map(|(d, _)| *d));
            v.extend(conf.dialogs.iter().copied());
            // The peer-to-peer call the conference was escalated from is where it began.
            v.extend(a.escalation_of(scope.conference));
            v
        }
    };
    out.retain(|&d| (d as usize) < a.dialogs().len());
    out.sort_unstable();
    out.dedup();
    out
}

fn participant_dialogs(p: &Participant) -> Vec<u32> {
    let mut out = Vec::new();
    out.extend(p.invitation.iter().map(|s| s.dialog));
    out.extend(p.earlier_focus.iter().map(|s| s.dialog));
    out.extend(p.focus.iter().map(|s| s.dialog));
    out.extend(p.roster.iter().map(|s| s.dialog));
    out.extend(p.media.iter().map(|s| s.dialog));
    out.extend(p.mcus.iter().map(|(_, s)| s.dialog));
    out
}

/// The devices of the users who join the scope's conference from several: `(aor, epid)` in
/// the order the conference lists them. Empty for everyone else (one lane per user).
fn device_order(a: &Analysis, scope: Scope) -> Vec<(String, Option<Box<str>>)> {
    let Some(conf) = a.conferences().list().get(scope.conference) else {
        return Vec::new();
    };
    conf.participants
        .iter()
        .filter(|p| p.shares_user())
        .map(|p| (p.uri.clone(), p.device.clone()))
        .collect()
}

/// Clients' left-to-right order: for a join, the inviter then the participant; for a
/// conference, the participants as first seen, each followed by whoever invited them.
fn client_order(a: &Analysis, scope: Scope) -> Vec<String> {
    let Some(conf) = a.conferences().list().get(scope.conference) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    let mut add = |u: &str| {
        if !out.iter().any(|o| o == u) {
            out.push(u.to_string());
        }
    };
    match scope.participant {
        Some(p) => {
            if let Some(p) = conf.participants.get(p) {
                if let Some(i) = &p.invited_by {
                    add(i);
                }
                add(&p.uri);
            }
        }
        None => {
            for p in &conf.participants {
                add(&p.uri);
                if let Some(i) = &p.invited_by {
                    add(i);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Frame;
    use crate::pipeline::Pipeline;

    /// A sample capture cut down to one client's packets (what a capture taken on that
    /// client holds), the Front End's port optionally moved (5060 → `fe_port`).
    pub(crate) fn one_leg(
        name: &str,
        client: [u8; 4],
        fe_port: Option<u16>,
        store: bool,
    ) -> Pipeline {
        let s = lyncscope_synth::scenarios()
            .into_iter()
            .find(|s| s.name == name)
            .expect("scenario");
        let g = (s.build)();
        let mut p = Pipeline::new(&crate::Options {
            keep_messages: true,
            message_store: store,
            ..crate::Options::default()
        });
        let mut n = 0;
        for (t, _, data) in g.packets() {
            let mut data = data.to_vec();
            // Ethernet, IPv4: addresses at 26..34, ports after the IP header.
            let ip = |d: &[u8], at: usize| d.get(at..at + 4).map(|x| x == client) == Some(true);
            if !(ip(&data, 26) || ip(&data, 30)) {
                continue;
            }
            if let Some(port) = fe_port {
                let ihl = data.get(14).map_or(20, |b| usize::from(b & 0x0f) * 4);
                for at in [14 + ihl, 16 + ihl] {
                    if data.get(at..at + 2) == Some(&5060u16.to_be_bytes()[..]) {
                        data[at..at + 2].copy_from_slice(&port.to_be_bytes());
                    }
                }
            }
            n += 1;
            p.push(&Frame {
                number: n,
                timestamp: t,
                link_type: crate::linktype::ETHERNET,
                data: &data,
                original_len: data.len() as u32,
                source: 0,
            });
        }
        p.finish();
        p
    }

    const ALICE: [u8; 4] = [192, 0, 2, 21];
    const BOB: [u8; 4] = [192, 0, 2, 22];
    const ERIN: [u8; 4] = [192, 0, 2, 25];
    const FE: &str = "198.51.100.10";

    fn roles(l: &Lanes) -> Vec<(String, String)> {
        l.lanes
            .iter()
            .map(|l| {
                let role = match &l.role {
                    Role::Client(u) => format!("client {u}"),
                    Role::Proxy => "proxy".into(),
                    Role::Conference(m) => m.as_str().to_string(),
                    Role::Unknown => "unknown".into(),
                };
                (role, l.addr.ip().to_string())
            })
            .collect()
    }

    fn scope_of(a: &Analysis, user: &str) -> Scope {
        let c = a.conferences().list().first().expect("a conference");
        let p = c
            .participants
            .iter()
            .position(|p| p.uri == user)
            .expect("participant");
        Scope {
            conference: 0,
            participant: Some(p),
        }
    }

    #[test]
    fn the_front_end_side_places_inviter_proxy_and_invitee() {
        let s = lyncscope_synth::scenarios()
            .into_iter()
            .find(|s| s.name == "av-mcu-rejected")
            .expect("scenario");
        let g = (s.build)();
        let mut files = Pipeline::new(&crate::Options {
            keep_messages: true,
            message_store: true,
            ..crate::Options::default()
        });
        for (n, (t, _, data)) in g.packets().enumerate() {
            files.push(&Frame {
                number: n as u64 + 1,
                timestamp: t,
                link_type: crate::linktype::ETHERNET,
                data,
                original_len: data.len() as u32,
                source: 0,
            });
        }
        files.finish();
        let a = files.analysis();
        let l = lanes(a, scope_of(a, "sip:bob@example.com"));
        let r = roles(&l);
        assert_eq!(
            r,
            vec![
                ("client sip:alice@example.com".into(), "192.0.2.21".into()),
                ("client sip:bob@example.com".into(), "192.0.2.22".into()),
                ("proxy".into(), FE.into()),
                ("focus".into(), FE.into()),
                ("audio-video".into(), FE.into()),
            ]
        );
        // alice's INVITE goes to the proxy; the proxy's copy to bob.
        let first = l.arrows.first().expect("arrows");
        assert_eq!((first.from, first.to), (0, 2));
    }

    #[test]
    fn a_client_side_capture_of_a_focus_403_has_no_inviter_on_the_front_end() {
        // bob's leg of the focus-c3p-failure sample: invitation from the FE, focus 403 3014.
        let p = one_leg("focus-c3p-failure", ERIN, None, true);
        let a = p.analysis();
        let c = a.conferences().list().first().expect("conference");
        let pi = c
            .participants
            .iter()
            .position(|p| p.focus.as_ref().and_then(|f| f.status) == Some(403))
            .expect("the 403 join");
        let user = c.participants[pi].uri.clone();
        let l = lanes(
            a,
            Scope {
                conference: 0,
                participant: Some(pi),
            },
        );
        let r = roles(&l);
        assert!(
            r.contains(&(format!("client {user}"), "192.0.2.25".into())),
            "{r:?}"
        );
        assert!(r.contains(&("focus".into(), FE.into())), "{r:?}");
        assert!(
            !r.iter()
                .any(|(role, ip)| ip == FE && role.starts_with("client")),
            "{r:?}"
        );
        assert!(
            !r.iter().any(|(role, ip)| ip != FE && role == "proxy"),
            "{r:?}"
        );
        // The 403 goes from the focus to the client.
        let focus = l
            .lanes
            .iter()
            .position(|x| x.role == Role::Conference(McuType::Focus));
        let me = l
            .lanes
            .iter()
            .position(|x| x.role == Role::Client(user.clone()));
        let refused = l
            .arrows
            .iter()
            .find(|x| a.messages()[x.message].start() == StartKind::Response(403))
            .expect("the 403");
        assert_eq!((Some(refused.from), Some(refused.to)), (focus, me));
    }

    #[test]
    fn a_declined_invitation_on_the_invitees_leg_over_tcp_5070() {
        let p = one_leg("invitation-declined", BOB, Some(5070), true);
        let a = p.analysis();
        let l = lanes(a, scope_of(a, "sip:bob@example.com"));
        let r = roles(&l);
        assert_eq!(
            r,
            vec![
                ("client sip:bob@example.com".into(), "192.0.2.22".into()),
                ("proxy".into(), FE.into()),
            ]
        );
        assert!(l
            .lanes
            .iter()
            .all(|x| x.addr.port() == 5070 || x.addr.ip().to_string() != FE));
        // The 603 goes from bob to the proxy.
        let declined = l
            .arrows
            .iter()
            .find(|x| a.messages()[x.message].start() == StartKind::Response(603))
            .expect("the 603");
        assert_eq!((declined.from, declined.to), (0, 1));
    }

    #[test]
    fn the_inviters_leg_has_the_proxy_by_record_route() {
        let p = one_leg("invitation-declined", ALICE, None, true);
        let a = p.analysis();
        let l = lanes(a, scope_of(a, "sip:bob@example.com"));
        let r = roles(&l);
        assert_eq!(
            r,
            vec![
                ("client sip:alice@example.com".into(), "192.0.2.21".into()),
                ("proxy".into(), FE.into()),
            ]
        );
        assert_eq!(l.lanes[1].evidence, Some(Evidence::RecordRoute));
    }

    #[test]
    fn a_udp_join_on_the_clients_leg() {
        let p = one_leg("join-udp-fragments", BOB, None, true);
        let a = p.analysis();
        let l = lanes(a, scope_of(a, "sip:bob@example.com"));
        let r = roles(&l);
        assert_eq!(
            r,
            vec![
                ("client sip:bob@example.com".into(), "192.0.2.22".into()),
                ("proxy".into(), FE.into()),
                ("focus".into(), FE.into()),
                ("audio-video".into(), FE.into()),
            ]
        );
    }

    /// A pool whose Front End proxies the client's focus INVITE to a focus on another server:
    /// the Front End received a request for the focus, but it relayed it, so it is the proxy.
    #[test]
    fn a_front_end_that_relays_to_a_separate_focus_is_the_proxy() {
        use crate::transport::{MsgContext, SipSink, Transport};
        let client: SocketAddr = "192.0.2.50:50000".parse().expect("addr");
        let fe: SocketAddr = "198.51.100.10:5061".parse().expect("addr");
        let focus: SocketAddr = "198.51.100.20:5064".parse().expect("addr");
        let uri = "sip:alice@example.com;gruu;opaque=app:conf:focus:id:ABC123";
        let via_client = "Via: SIP/2.0/TLS 192.0.2.50:50000;branch=z9hG4bKc1\r\n";
        let via_fe = "Via: SIP/2.0/TLS 198.51.100.10:5061;branch=z9hG4bKf1\r\n";
        let common = format!(
            "From: <sip:bob@example.com>;tag=b1\r\nTo: <{uri}>\r\nCall-ID: relay-1\r\n\
             CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
        );
        let invite = |vias: &str| format!("INVITE {uri} SIP/2.0\r\n{vias}{common}");
        let ok = |vias: &str| {
            format!(
                "SIP/2.0 200 OK\r\n{vias}{}",
                common.replace(&format!("<{uri}>"), &format!("<{uri}>;tag=f1"))
            )
        };
        let msgs = [
            (client, fe, invite(via_client)),
            (fe, focus, invite(&format!("{via_fe}{via_client}"))),
            (focus, fe, ok(&format!("{via_fe}{via_client}"))),
            (fe, client, ok(via_client)),
        ];
        let mut a = Analysis::new(true).with_message_store();
        for (n, (src, dst, text)) in msgs.iter().enumerate() {
            let (msg, _) = crate::sip::message::frame_datagram(text.as_bytes()).expect("a message");
            let ctx = MsgContext {
                frame: n as u64 + 1,
                first_frame: n as u64 + 1,
                time: crate::Timestamp::from_secs_nanos(1_000 + n as i64, 0),
                src: *src,
                dst: *dst,
                transport: Transport::Tcp,
                ip_reassembled: false,
                reassembled: false,
                icmp_quoted: false,
                link_type: crate::linktype::ETHERNET,
                origin: Default::default(),
            };
            a.message(&ctx, &msg);
        }
        let c = a.conferences().list().first().expect("the conference");
        let p = c
            .participants
            .iter()
            .position(|p| p.uri == "sip:bob@example.com")
            .expect("bob");
        let l = lanes(
            &a,
            Scope {
                conference: 0,
                participant: Some(p),
            },
        );
        assert_eq!(
            roles(&l),
            vec![
                ("client sip:bob@example.com".into(), "192.0.2.50".into()),
                ("proxy".into(), FE.into()),
                ("focus".into(), "198.51.100.20".into()),
            ]
        );
        // The relayed INVITE goes from the proxy to the focus.
        let relayed = l.arrows.get(1).expect("arrow");
        assert_eq!((relayed.from, relayed.to), (1, 2));
    }

    #[test]
    fn without_message_bytes_only_the_classification_names_servers() {
        let p = one_leg("focus-c3p-failure", ERIN, None, false);
        let a = p.analysis();
        let pi = a.conferences().list()[0]
            .participants
            .iter()
            .position(|p| p.focus.is_some())
            .expect("a join");
        let l = lanes(
            a,
            Scope {
                conference: 0,
                participant: Some(pi),
            },
        );
        assert!(l
            .lanes
            .iter()
            .all(|x| !matches!(x.role, Role::Client(_) | Role::Proxy)));
        assert!(l
            .lanes
            .iter()
            .any(|x| x.role == Role::Conference(McuType::Focus)
                && x.evidence == Some(Evidence::Classification)));
        assert!(l.lanes.iter().any(|x| x.role == Role::Unknown));
    }

    const FOCUS: &str = "sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP";

    /// Sends one SIP message (`\n` line ends, Content-Length added) from `src` to `dst`.
    fn send(a: &mut Analysis, n: u64, src: &str, dst: &str, text: &str) {
        let text = text.replace('\n', "\r\n");
        let text = match text.split_once("\r\n\r\n") {
            Some((head, body)) => format!("{head}\r\nContent-Length: {}\r\n\r\n{body}", body.len()),
            None => format!("{text}\r\nContent-Length: 0\r\n\r\n"),
        };
        let (m, _) = crate::sip::frame_stream(text.as_bytes()).expect("a SIP message");
        let ctx = crate::transport::MsgContext {
            frame: n,
            first_frame: n,
            time: crate::Timestamp(n as i64 * 100_000_000),
            src: src.parse().expect("addr"),
            dst: dst.parse().expect("addr"),
            transport: crate::transport::Transport::Tcp,
            ip_reassembled: false,
            reassembled: false,
            icmp_quoted: false,
            link_type: 1,
            origin: Default::default(),
        };
        crate::transport::SipSink::message(a, &ctx, &m);
    }

    /// `user`'s focus join from `addr` with `epid`, answered `status`.
    fn device_join(a: &mut Analysis, n: u64, user: &str, addr: &str, epid: &str, status: &str) {
        const FE: &str = "198.51.100.10:5061";
        let call = format!("{user}{epid}");
        let head = format!(
            "Via: SIP/2.0/TLS {addr};branch=z9hG4bK{call}\nFrom: <sip:{user}@example.com>;tag=t{call};epid={epid}\nTo: <{FOCUS}>"
        );
        let c3p =
            "<request xmlns=\"urn:ietf:params:xml:ns:cccp\" requestId=\"1\"><addUser/></request>";
        send(
            a,
            n,
            addr,
            FE,
            &format!("INVITE {FOCUS} SIP/2.0\n{head}\nCall-ID: {call}\nCSeq: 1 INVITE\nContent-Type: application/cccp+xml\n\n{c3p}"),
        );
        send(
            a,
            n + 1,
            FE,
            addr,
            &format!("SIP/2.0 {status}\n{head};tag=srv\nCall-ID: {call}\nCSeq: 1 INVITE"),
        );
    }

    #[test]
    fn each_device_of_a_user_has_its_own_lane() {
        let mut a = Analysis::new(true).with_message_store();
        device_join(&mut a, 1, "bob", "192.0.2.22:50000", "1a2b3c4d5e", "200 OK");
        device_join(
            &mut a,
            3,
            "bob",
            "192.0.2.40:50001",
            "9f8e7d6c5b",
            "403 Forbidden",
        );
        device_join(&mut a, 5, "carol", "192.0.2.23:50002", "77aa", "200 OK");
        let l = lanes(
            &a,
            Scope {
                conference: 0,
                participant: None,
            },
        );
        let clients: Vec<(String, Option<&str>, String)> = l
            .lanes
            .iter()
            .filter_map(|x| match &x.role {
                Role::Client(u) => Some((u.clone(), x.device.as_deref(), x.addr.to_string())),
                _ => None,
            })
            .collect();
        assert_eq!(
            clients,
            [
                (
                    "sip:bob@example.com".to_string(),
                    Some("1a2b3c4d5e"),
                    "192.0.2.22:50000".to_string()
                ),
                (
                    "sip:bob@example.com".to_string(),
                    Some("9f8e7d6c5b"),
                    "192.0.2.40:50001".to_string()
                ),
                // One device: one lane for the user, no device named.
                (
                    "sip:carol@example.com".to_string(),
                    None,
                    "192.0.2.23:50002".to_string()
                ),
            ]
        );
        // Each device's arrows are on its own lane.
        let lane_of = |addr: &str| l.lanes.iter().position(|x| x.addr.to_string() == addr);
        let phone = lane_of("192.0.2.40:50001").expect("phone lane");
        assert_eq!(
            l.arrows
                .iter()
                .filter(|x| x.from == phone || x.to == phone)
                .count(),
            2
        );
    }

    #[test]
    fn the_conference_ladder_has_the_call_it_was_escalated_from() {
        let mut a = Analysis::new(true).with_message_store();
        let (bob, fe) = ("192.0.2.22:50000", "198.51.100.10:5061");
        let p2p = "Via: SIP/2.0/TLS 192.0.2.22;branch=z9hG4bKp2p\nFrom: <sip:bob@example.com>;tag=tp2p\nTo: <sip:alice@example.com>";
        send(&mut a, 1, bob, fe, &format!("INVITE sip:alice@example.com SIP/2.0\n{p2p}\nCall-ID: p2p\nCSeq: 1 INVITE\nContent-Type: application/sdp\n\nv=0\nm=audio 5000 RTP/AVP 0\n"));
        send(
            &mut a,
            2,
            fe,
            bob,
            &format!("SIP/2.0 200 OK\n{p2p};tag=srv\nCall-ID: p2p\nCSeq: 1 INVITE"),
        );
        let inv = "Via: SIP/2.0/TLS 198.51.100.10;branch=z9hG4bKfe\nVia: SIP/2.0/TLS 192.0.2.21;branch=z9hG4bKi1\nFrom: <sip:alice@example.com>;tag=ti1\nTo: <sip:bob@example.com>";
        send(&mut a, 3, fe, bob, &format!("INVITE sip:bob@example.com SIP/2.0\n{inv}\nCall-ID: i1\nCSeq: 1 INVITE\nContent-Type: application/ms-conf-invite+xml\n\n<Conferencing version=\"2.0\"><focus-uri>{FOCUS}</focus-uri></Conferencing>"));
        send(
            &mut a,
            4,
            bob,
            fe,
            &format!("SIP/2.0 200 OK\n{inv};tag=b1\nCall-ID: i1\nCSeq: 1 INVITE"),
        );
        // The call ends once bob is in the conference.
        send(
            &mut a,
            5,
            bob,
            fe,
            &format!("BYE sip:alice@example.com SIP/2.0\n{p2p};tag=srv\nCall-ID: p2p\nCSeq: 2 BYE"),
        );
        assert_eq!(a.escalation_of(0), Some(0));
        assert_eq!(a.escalations(), vec![Some(0)]);
        let whole = Scope {
            conference: 0,
            participant: None,
        };
        assert_eq!(scope_dialogs(&a, whole), [0, 1]);
        let l = lanes(&a, whole);
        assert_eq!(l.arrows.len(), 5);
        assert_eq!(l.arrows.iter().filter(|x| x.dialog == 0).count(), 3);
        // A single join's ladder stays the join's own dialogs.
        let join = Scope {
            conference: 0,
            participant: Some(0),
        };
        assert_eq!(scope_dialogs(&a, join), [1]);
    }
}
