//! The lab: one Front End server (`fe01.example.com`, which hosts the registrar, the proxy,
//! the conference focus and the MCUs, as a Standard Edition pool does) and the users' clients,
//! each with one connection to it; the capture point is the FE's switch port.
//!
//! [`Lab`] owns the [`Wire`] and the seeded [`Rng`] and offers what every SIP exchange needs:
//! addressing (Via, Contact, Record-Route), identifiers (Call-ID, tags, branches), timing
//! (client round trips, server work, think time), and sending messages up (client → FE) or
//! down (FE → client), directly or relayed through the FE's proxy to another client. The
//! conference steps ([`super::lync`]) and ordinary SIP ([`super::plain`]) are built on it.

use super::body::{Audio, Ice};
use super::rng::Rng;
use super::sip::{Dialog, Msg, NameAddr};
use super::wire::{
    ms, us, Dir, FlowId, FlowSpec, HostId, Nanos, Packet, Transport, Wire, WriteOpts, Written,
};
use std::net::{IpAddr, Ipv6Addr};

pub(crate) const DOMAIN: &str = "example.com";
pub(crate) const FE_FQDN: &str = "fe01.example.com";
pub(crate) const FE_IPV4: &str = "198.51.100.10";
pub(crate) const FE_IPV6: &str = "2001:db8:100::10";
pub(crate) const UA_CLIENT: &str = "UCCAPI/16.0.4849.1000 OC/16.0.4849.1000 (Skype for Business)";
pub(crate) const UA_SERVER: &str = "RTC/6.0";
pub(crate) const ALLOW: &str =
    "INVITE, BYE, ACK, CANCEL, INFO, UPDATE, REFER, NOTIFY, BENOTIFY, OPTIONS";

/// Index of a user of the lab.
pub(crate) type UserId = usize;

/// The `name` of anonymous guests (their address is a random GUID).
pub(crate) const ANONYMOUS: &str = "guest";

/// Who a user outside the enterprise is.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Outside {
    /// An anonymous guest joining by meeting link.
    Anonymous,
    /// A user of another domain (a federated partner).
    User {
        name: &'static str,
        domain: &'static str,
    },
}

/// A user and their client endpoint.
#[derive(Clone, Debug)]
pub(crate) struct User {
    pub name: &'static str,
    pub display: &'static str,
    /// Endpoint id (`epid=` on From/To).
    pub epid: String,
    /// The address of record (`sip:name@example.com`).
    uri: String,
    /// The Contact URI: the client's GRUU, or what a client without one registered uses.
    contact_uri: String,
    /// Contact header parameters after the URI.
    contact_params: String,
    pub ip: IpAddr,
    pub port: u16,
    /// A server's listening port, which its Via names.
    listen: Option<u16>,
    /// The client's `User-Agent`.
    pub ua: &'static str,
    /// The client reaches the FE through the Access Edge (its messages arrive on the Edge's
    /// connection, with the Edge's Via and trust header).
    hop: Option<Hop>,
    host: HostId,
    flow: FlowId,
    next_request_id: u32,
    next_media_port: u16,
}

/// What the Access Edge adds to the messages of a user outside (docs/joins.md §3).
#[derive(Clone, Debug)]
struct Hop {
    /// The Edge's internal address and port (its Via toward the FE).
    hostport: String,
    /// The Edge's port of its connection to the FE.
    port: u16,
    /// The Edge's Record-Route.
    record_route: String,
    /// `ms-edge-proxy-message-trust` of the user's messages.
    trust: String,
}

impl User {
    /// `sip:name@example.com`.
    pub(crate) fn aor(&self) -> String {
        self.uri.clone()
    }

    /// The client's GRUU, its Contact URI.
    pub(crate) fn gruu(&self) -> String {
        self.contact_uri.clone()
    }

    /// The user's client sits outside, behind the Access Edge.
    pub(crate) fn external(&self) -> bool {
        self.hop.is_some()
    }

    /// The Contact header value: the GRUU; a client without one (an anonymous guest, which
    /// never registered) names its instance instead ([MS-SIPAE] 4.5).
    pub(crate) fn contact(&self) -> String {
        format!("<{}>{}", self.gruu(), self.contact_params)
    }

    /// `ip:port`, IPv6 in brackets: where the client sends from, or where a server listens.
    pub(crate) fn hostport(&self) -> String {
        hostport(self.ip, self.listen.unwrap_or(self.port))
    }

    /// The `ms-subnet` value: the /24 (or /64) the client sits in.
    pub(crate) fn subnet(&self) -> String {
        match self.ip {
            IpAddr::V4(v4) => {
                let [a, b, c, _] = v4.octets();
                format!("{a}.{b}.{c}.0")
            }
            IpAddr::V6(v6) => {
                let s = v6.segments();
                Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0).to_string()
            }
        }
    }

    /// The next C3P requestId of this client.
    pub(crate) fn take_request_id(&mut self) -> u32 {
        self.next_request_id += 1;
        self.next_request_id
    }

    /// The next local RTP port (even; RTCP is the next one).
    pub(crate) fn take_media_port(&mut self) -> u16 {
        let port = self.next_media_port;
        self.next_media_port += 20;
        port
    }
}

fn hostport(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// How a user's client is attached.
#[derive(Clone, Debug, Default)]
pub(crate) struct Attach {
    /// Client port (default: a random ephemeral port).
    pub port: Option<u16>,
    /// 802.1Q tag of the client's frames.
    pub vlan: Option<u16>,
    /// pcapng interface its traffic is captured on.
    pub interface: u32,
    /// TCP MSS (default: Ethernet).
    pub mss: Option<u16>,
    /// Name of the connection in the logs (default: the user's name): a second device of a
    /// user needs its own.
    pub label: Option<&'static str>,
    /// The client's `User-Agent` (default: Skype for Business 2016).
    pub ua: Option<&'static str>,
    /// The endpoint id (default: random), for a device a scenario names.
    pub epid: Option<&'static str>,
}

/// A change to the shape of one upcoming write of a user.
#[derive(Clone, Debug)]
pub(crate) enum Shape {
    /// Send this message and the next one in the same direction in one write (one segment).
    WithNext,
    /// End TCP segments at these offsets of the message (besides the MSS).
    Split(Vec<usize>),
    /// Send the IPv4 fragments of this UDP datagram last one first.
    ReverseFragments,
}

struct PendingShape {
    user: UserId,
    dir: Dir,
    /// The message's start line begins with this.
    start: String,
    shape: Shape,
}

struct Held {
    user: UserId,
    dir: Dir,
    t: Nanos,
    messages: Vec<Vec<u8>>,
}

/// The FE, the users, the wire, and the generator's random state.
pub(crate) struct Lab {
    pub rng: Rng,
    wire: Wire,
    transport: Transport,
    fe_port: u16,
    fe4: HostId,
    fe6: HostId,
    users: Vec<User>,
    shapes: Vec<PendingShape>,
    held: Option<Held>,
    comments: Vec<(usize, String)>,
}

impl Lab {
    /// A lab whose clients talk to the FE over `transport` on `fe_port`.
    pub(crate) fn new(seed: u64, transport: Transport, fe_port: u16) -> Self {
        let mut wire = Wire::new(seed ^ 0x05ee_d0f3_117e);
        let fe4 = wire.host(parse_ip(FE_IPV4), false);
        let fe6 = wire.host(parse_ip(FE_IPV6), false);
        Lab {
            rng: Rng::new(seed),
            wire,
            transport,
            fe_port,
            fe4,
            fe6,
            users: Vec::new(),
            shapes: Vec::new(),
            held: None,
            comments: Vec::new(),
        }
    }

    /// Adds a user whose client sits at `ip`, attached the default way.
    pub(crate) fn user(&mut self, name: &'static str, display: &'static str, ip: &str) -> UserId {
        self.user_with(name, display, ip, Attach::default())
    }

    /// Adds a user whose client sits at `ip` (IPv4 or IPv6), one router hop from the FE.
    pub(crate) fn user_with(
        &mut self,
        name: &'static str,
        display: &'static str,
        ip: &str,
        attach: Attach,
    ) -> UserId {
        let ip = parse_ip(ip);
        let port = attach
            .port
            .unwrap_or_else(|| self.rng.range(49_700, 60_000) as u16);
        let client = self.wire.host(ip, true);
        let server = if ip.is_ipv6() { self.fe6 } else { self.fe4 };
        let spec = FlowSpec {
            transport: self.transport,
            client_port: port,
            server_port: self.fe_port,
            vlan: attach.vlan,
            interface: attach.interface,
            rtt: ms(3) + self.rng.millis(1, 9),
            mss: attach.mss,
            label: attach.label.unwrap_or(name),
        };
        let flow = self.wire.flow(client, server, spec);
        let epid = self.rng.hex(10);
        let epid = attach.epid.map_or(epid, str::to_owned);
        let gruu_id = format!("{}AAA", self.rng.alnum(21));
        let next_request_id = self.rng.range(1, 40) as u32;
        let next_media_port = 50_000 + 20 * self.rng.range(1, 30) as u16;
        self.users.push(User {
            name,
            display,
            epid,
            uri: format!("sip:{name}@{DOMAIN}"),
            contact_uri: format!("sip:{name}@{DOMAIN};opaque=user:epid:{gruu_id};gruu"),
            contact_params: String::new(),
            ip,
            port,
            listen: None,
            ua: attach.ua.unwrap_or(UA_CLIENT),
            hop: None,
            host: client,
            flow,
            next_request_id,
            next_media_port,
        });
        self.users.len() - 1
    }

    /// Adds a server beside the FE (the Access Edge's internal side, a Mediation Server),
    /// one router hop away, with its connection to the FE; `name` is its host name.
    pub(crate) fn server(&mut self, name: &'static str, ip: &str) -> UserId {
        let id = self.user_with(name, name, ip, Attach::default());
        let u = &mut self.users[id];
        u.uri = format!("sip:{name}.{DOMAIN}");
        u.contact_uri = format!("sip:{name}.{DOMAIN}:{}", self.fe_port);
        u.listen = Some(self.fe_port);
        u.ua = UA_SERVER;
        id
    }

    /// Adds a user outside the enterprise whose client at `ip` (its public address) reaches
    /// the FE through the Access Edge `edge` (a [`Lab::server`]): `user@domain`, or for an
    /// anonymous guest ([MS-SIPAE] 3.2.4.3) a random GUID `@anonymous.invalid` with the
    /// display name in From. `trust` is the Edge's `ms-edge-proxy-message-trust` value.
    pub(crate) fn outside(
        &mut self,
        edge: UserId,
        who: Outside,
        display: &'static str,
        ip: &str,
        trust: String,
    ) -> UserId {
        let (edge_ip, edge_port, flow, edge_host) = {
            let e = &self.users[edge];
            (e.ip, e.port, e.flow, e.host)
        };
        let port = self.rng.range(49_700, 60_000) as u16;
        let epid = self.rng.hex(10);
        let next_request_id = self.rng.range(1, 40) as u32;
        let next_media_port = 50_000 + 20 * self.rng.range(1, 30) as u16;
        let (name, uri, contact_uri, contact_params) = match who {
            Outside::Anonymous => {
                let guid = self.rng.hex(32);
                let uri = format!("sip:{guid}@anonymous.invalid");
                let instance = self
                    .rng
                    .guid()
                    .trim_matches(|c| c == '{' || c == '}')
                    .to_ascii_lowercase();
                let params = format!(";proxy=replace;+sip.instance=\"<urn:uuid:{instance}>\"");
                (ANONYMOUS, uri.clone(), uri, params)
            }
            Outside::User { name, domain } => {
                let gruu_id = format!("{}AAA", self.rng.alnum(21));
                (
                    name,
                    format!("sip:{name}@{domain}"),
                    format!("sip:{name}@{domain};opaque=user:epid:{gruu_id};gruu"),
                    String::new(),
                )
            }
        };
        let edge_name = self.users[edge].name;
        self.users.push(User {
            name,
            display,
            epid,
            uri,
            contact_uri,
            contact_params,
            ip: parse_ip(ip),
            port,
            listen: None,
            ua: UA_CLIENT,
            hop: Some(Hop {
                // its listening port, as a server's Via says
                hostport: hostport(edge_ip, self.fe_port),
                port: edge_port,
                record_route: format!(
                    "<sip:{edge_name}.{DOMAIN}:{};transport=tcp;lr>",
                    self.fe_port
                ),
                trust,
            }),
            host: edge_host,
            flow,
            next_request_id,
            next_media_port,
        });
        self.users.len() - 1
    }

    /// The user's client lost its connection: the next messages go over a new one, from a
    /// new port of the same address (the old connection is left as it was, never closed).
    pub(crate) fn new_connection(&mut self, user: UserId) {
        let port = self.rng.range(49_700, 60_000) as u16;
        let rtt = ms(3) + self.rng.millis(1, 9);
        let u = &self.users[user];
        let server = if u.ip.is_ipv6() { self.fe6 } else { self.fe4 };
        let spec = FlowSpec {
            transport: self.transport,
            client_port: port,
            server_port: self.fe_port,
            vlan: None,
            interface: 0,
            rtt,
            mss: None,
            label: u.name,
        };
        let flow = self.wire.flow(u.host, server, spec);
        let u = &mut self.users[user];
        u.port = port;
        u.flow = flow;
    }

    pub(crate) fn u(&self, user: UserId) -> &User {
        &self.users[user]
    }

    pub(crate) fn u_mut(&mut self, user: UserId) -> &mut User {
        &mut self.users[user]
    }

    /// The FE's address in the user's address family.
    pub(crate) fn fe_ip(&self, user: UserId) -> IpAddr {
        let host = if self.users[user].ip.is_ipv6() {
            self.fe6
        } else {
            self.fe4
        };
        self.wire.ip(host)
    }

    // ---- addressing and identifiers ----------------------------------------------------

    /// The transport all clients use.
    pub(crate) fn transport(&self) -> Transport {
        self.transport
    }

    fn transport_token(&self) -> &'static str {
        match self.transport {
            Transport::Tcp => "TCP",
            Transport::Udp => "UDP",
        }
    }

    /// A new branch parameter value.
    pub(crate) fn branch(&mut self) -> String {
        format!("z9hG4bK{}", self.rng.hex(12))
    }

    /// The client's Via with a new branch (a client outside talks TLS to the Edge).
    pub(crate) fn client_via(&mut self, user: UserId) -> String {
        let branch = self.branch();
        let transport = match self.users[user].hop {
            Some(_) => "TLS",
            None => self.transport_token(),
        };
        format!(
            "SIP/2.0/{transport} {};branch={branch}",
            self.users[user].hostport()
        )
    }

    /// The FE's Via (on requests it originates or forwards towards `user`).
    pub(crate) fn fe_via(&mut self, user: UserId) -> String {
        let branch = self.branch();
        let fe = hostport(self.fe_ip(user), self.fe_port);
        format!(
            "SIP/2.0/{} {fe};branch={branch};branched=FALSE",
            self.transport_token()
        )
    }

    /// The FE's Record-Route.
    pub(crate) fn record_route(&self) -> String {
        let transport = self.transport_token().to_ascii_lowercase();
        format!("<sip:{FE_FQDN}:{};transport={transport};lr>", self.fe_port)
    }

    /// A Call-ID: 32 lowercase hex digits, as Lync clients make them.
    pub(crate) fn call_id(&mut self) -> String {
        self.rng.hex(32)
    }

    /// A client's From/To tag: 10 hex digits.
    pub(crate) fn tag(&mut self) -> String {
        self.rng.hex(10)
    }

    /// The focus' or an MCU's To tag: 8 uppercase hex digits.
    pub(crate) fn server_tag(&mut self) -> String {
        format!("tag={}", self.rng.hex_upper(8))
    }

    /// A Ms-Conversation-ID value.
    pub(crate) fn conversation_id(&mut self) -> String {
        format!("Ad{}==", self.rng.base64(28))
    }

    /// A new dialog from `user` to `remote` (a user's AOR or a conference URI): fresh
    /// Call-ID and From tag, the user's GRUU as Contact; `with_display` puts the user's
    /// display name in From.
    pub(crate) fn dialog(&mut self, user: UserId, remote: &str, with_display: bool) -> Dialog {
        let call_id = self.call_id();
        let local = self.sender(user, with_display);
        Dialog::new(
            call_id,
            local,
            NameAddr::new(remote),
            &self.users[user].gruu(),
        )
    }

    /// The user's next request in `dialog`, with a new Via branch; for a client outside, as
    /// the FE gets it from the Edge (the Edge's Via on top, its Record-Route on a request that
    /// opens a dialog, its trust header), so that responses derive from what the FE saw.
    pub(crate) fn request(&mut self, user: UserId, dialog: &mut Dialog, method: &str) -> Msg {
        let via = self.client_via(user);
        let opens = dialog.remote.tag.is_none() && (method == "INVITE" || method == "SUBSCRIBE");
        let msg = dialog.request(method, via);
        let Some(hop) = self.users[user].hop.clone() else {
            return msg;
        };
        let branch = self.branch();
        let edge_via = format!("SIP/2.0/TCP {};branch={branch}", hop.hostport);
        let rr = opens.then_some(hop.record_route.as_str());
        msg.received(self.users[user].port)
            .forwarded(edge_via, rr)
            .h("ms-edge-proxy-message-trust", hop.trust)
    }

    /// The port the FE sees the user's messages come from: the client's, or the Edge's.
    fn conn_port(&self, user: UserId) -> u16 {
        let u = &self.users[user];
        u.hop.as_ref().map_or(u.port, |h| h.port)
    }

    /// The FE's response to a request it received from `user` (whose Via it annotated with
    /// `ms-received-port`).
    pub(crate) fn reply(&self, user: UserId, request: &Msg, code: u16, reason: &str) -> Msg {
        Msg::response(&request.received(self.conn_port(user)), code, reason)
    }

    /// `<aor>;tag=…;epid=…` for requests from the user, optionally with the display name (an
    /// anonymous guest always shows theirs: it is all that names them).
    pub(crate) fn sender(&mut self, user: UserId, with_display: bool) -> NameAddr {
        let tag = self.tag();
        let u = &self.users[user];
        let addr = NameAddr::new(u.aor()).tag(tag).epid(&u.epid);
        if with_display || u.name == ANONYMOUS {
            addr.display(u.display)
        } else {
            addr
        }
    }

    /// The `tag=…;epid=…` a client adds to the To of its responses.
    pub(crate) fn uas_params(&mut self, user: UserId) -> String {
        let tag = self.tag();
        format!("tag={tag};epid={}", self.users[user].epid)
    }

    /// Audio media of an endpoint at `ip`, with fresh SSRC, ICE credentials and keys.
    pub(crate) fn audio(&mut self, ip: IpAddr, port: u16, ice: Ice) -> Audio {
        Audio::new(&mut self.rng, ip, port, ice)
    }

    // ---- timing ------------------------------------------------------------------------

    /// From the FE sending something to a client to the client's reply reaching the FE: a
    /// round trip plus a few milliseconds of client work.
    pub(crate) fn react(&mut self, user: UserId) -> Nanos {
        self.wire.rtt(self.users[user].flow) + self.rng.millis(2, 9)
    }

    /// The FE's proxy forwarding a message.
    pub(crate) fn hop(&mut self) -> Nanos {
        us(600) + self.rng.millis(0, 2)
    }

    /// Server work of `lo_ms..hi_ms` milliseconds (the focus and MCUs take 100–300 ms).
    pub(crate) fn work(&mut self, lo_ms: u64, hi_ms: u64) -> Nanos {
        self.rng.millis(lo_ms, hi_ms)
    }

    // ---- sending -----------------------------------------------------------------------

    /// Opens the user's connection at `t`.
    pub(crate) fn connect(&mut self, t: Nanos, user: UserId) {
        self.wire.connect(t, self.users[user].flow);
    }

    /// Closes the user's connection at `t`, the client sending the first FIN.
    pub(crate) fn disconnect(&mut self, t: Nanos, user: UserId) {
        self.wire.close(t, self.users[user].flow, Dir::Up);
    }

    /// A double-CRLF keep-alive from the client, answered with a CRLF (RFC 5626 §4.4.1).
    pub(crate) fn keep_alive(&mut self, t: Nanos, user: UserId) {
        let flow = self.users[user].flow;
        self.wire.write_raw(t, flow, Dir::Up, b"\r\n\r\n");
        self.wire.write_raw(t + us(250), flow, Dir::Down, b"\r\n");
    }

    /// Changes the shape of the next write of `user` in `dir` whose start line begins with
    /// `start`.
    pub(crate) fn shape(&mut self, user: UserId, dir: Dir, start: &str, shape: Shape) {
        self.shapes.push(PendingShape {
            user,
            dir,
            start: start.to_owned(),
            shape,
        });
    }

    /// A UDP media stream between the user's host and the FE's (the A/V MCU runs there in
    /// these captures), on the given ports.
    pub(crate) fn media_stream(&mut self, user: UserId, client_port: u16, mcu_port: u16) -> FlowId {
        self.wire
            .udp_beside(self.users[user].flow, client_port, mcu_port)
    }

    /// One media datagram (STUN or SRTP/SRTCP) on a stream of [`Lab::media_stream`].
    pub(crate) fn media_send(&mut self, t: Nanos, flow: FlowId, dir: Dir, bytes: Vec<u8>) {
        let opts = WriteOpts {
            media: true,
            ..WriteOpts::default()
        };
        self.wire.write(t, flow, dir, vec![bytes], opts);
    }

    /// Client → FE. A response of a client outside gets the Edge's trust header, which the
    /// Edge adds to whatever comes in ([MS-SIPRE] 2.2.15).
    pub(crate) fn up(&mut self, t: Nanos, user: UserId, msg: &Msg) {
        match &self.users[user].hop {
            Some(hop) if msg.is_response() && msg.get("ms-edge-proxy-message-trust").is_none() => {
                let msg = msg
                    .clone()
                    .h("ms-edge-proxy-message-trust", hop.trust.clone());
                self.send(t, user, Dir::Up, msg.encode());
            }
            _ => self.send(t, user, Dir::Up, msg.encode()),
        }
    }

    /// FE → client.
    pub(crate) fn down(&mut self, t: Nanos, user: UserId, msg: &Msg) {
        self.send(t, user, Dir::Down, msg.encode());
    }

    /// Sends already-encoded message bytes, with a packet comment on the last packet of the
    /// write (pcapng only).
    pub(crate) fn send_encoded(
        &mut self,
        t: Nanos,
        user: UserId,
        dir: Dir,
        bytes: Vec<u8>,
        comment: &str,
    ) {
        self.comments
            .push((self.wire.scheduled(), comment.to_owned()));
        self.send(t, user, dir, bytes);
    }

    fn send(&mut self, t: Nanos, user: UserId, dir: Dir, bytes: Vec<u8>) {
        let shape = self
            .shapes
            .iter()
            .position(|s| s.user == user && s.dir == dir && bytes.starts_with(s.start.as_bytes()))
            .map(|i| self.shapes.remove(i).shape);
        let mut opts = WriteOpts::default();
        match shape {
            Some(Shape::WithNext) => {
                self.held = Some(Held {
                    user,
                    dir,
                    t,
                    messages: vec![bytes],
                });
                return;
            }
            Some(Shape::Split(cuts)) => opts.cuts = cuts,
            Some(Shape::ReverseFragments) => opts.reverse_fragments = true,
            None => {}
        }
        let (t, messages) = match self.held.take() {
            Some(held) if held.user == user && held.dir == dir => {
                let offset: usize = held.messages.iter().map(Vec::len).sum();
                opts.cuts.iter_mut().for_each(|c| *c += offset);
                let mut messages = held.messages;
                messages.push(bytes);
                (held.t, messages)
            }
            other => {
                self.held = other;
                (t, vec![bytes])
            }
        };
        self.wire
            .write(t, self.users[user].flow, dir, messages, opts);
    }

    /// A request from `from` that the FE's proxy forwards to `to`: sent up at `t`, annotated
    /// and forwarded (with a Record-Route when `record_route`). Returns the forwarded copy
    /// and when it left the FE.
    pub(crate) fn relay_request(
        &mut self,
        t: Nanos,
        from: UserId,
        to: UserId,
        request: &Msg,
        record_route: bool,
    ) -> (Msg, Nanos) {
        self.up(t, from, request);
        let rr = record_route.then(|| self.record_route());
        let via = self.fe_via(to);
        let forwarded = request
            .received(self.conn_port(from))
            .forwarded(via, rr.as_deref());
        let t = t + self.hop();
        self.down(t, to, &forwarded);
        (forwarded, t)
    }

    /// A response from `from` to a relayed request of `to`: sent up at `t`, the FE's Via
    /// removed and sent down to `to`. Returns the copy `to` got and when.
    pub(crate) fn relay_response(
        &mut self,
        t: Nanos,
        from: UserId,
        to: UserId,
        response: &Msg,
    ) -> (Msg, Nanos) {
        self.up(t, from, response);
        let upstream = response.strip_top_via();
        let t = t + self.hop();
        self.down(t, to, &upstream);
        (upstream, t)
    }

    /// Renders the capture: the packets in time order with their comments, and the log of
    /// writes.
    pub(crate) fn render(mut self) -> (Vec<Packet>, Vec<Written>) {
        if let Some(held) = self.held.take() {
            let flow = self.users[held.user].flow;
            self.wire
                .write(held.t, flow, held.dir, held.messages, WriteOpts::default());
        }
        self.wire.render(&self.comments)
    }
}

fn parse_ip(text: &str) -> IpAddr {
    text.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
}
