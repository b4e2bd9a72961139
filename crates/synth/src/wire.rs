//! The network model: hosts, client↔server flows over TCP or UDP, and the rendering of
//! timed application writes into packets as a capture at the server's switch port sees them.
//!
//! Scenario code only says *what* is written *when* on which flow ([`Wire::write`]); the
//! order of generation does not matter. [`Wire::render`] then replays every write in time
//! order and produces the packets, so that everything a real stack would keep consistent is
//! consistent:
//!
//! * TCP: a SYN / SYN-ACK / ACK handshake when a flow is first used (MSS 1460 for IPv4, 1440
//!   for IPv6, or a jumbo MSS where a flow asks for it), sequence and acknowledgment numbers,
//!   segmentation at the MSS (and at extra cut points a scenario asks for, to spread a message
//!   over several segments), PSH on the last segment of a write, delayed pure ACKs from the
//!   receiver when it has nothing to send back within the delayed-ACK timer, FIN exchange.
//! * UDP: one datagram per SIP message; IPv4 datagrams above the link MTU (1500 bytes, or
//!   the MSS plus 40 on jumbo-frame flows) are fragmented
//!   (1480-byte fragment payloads, offsets in 8-byte units, More Fragments on all but the
//!   last), optionally sent in reverse order.
//! * IP: per-host IPv4 identification counters, TTL 128 for local hosts and 127 for hosts one
//!   router away (whose frames carry the router's MAC), a per-flow IPv6 flow label, optional
//!   802.1Q VLAN tag per flow, and an interface number per flow for multi-interface pcapng.
//!
//! Packet times never go backwards: a packet that would be stamped before the previous one
//! (because a write's segments take a few microseconds each) is stamped at the same time.

use super::packet::{
    ethernet, ipv4_fragments, ipv6_packet, syn_options, tcp_segment, udp_datagram, Ipv4Fields,
    ETHERTYPE_IPV4, ETHERTYPE_IPV6, PROTO_TCP, PROTO_UDP, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN,
};
use super::rng::Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, SocketAddr};

/// Nanoseconds since the Unix epoch (absolute times) or nanoseconds (durations).
pub(crate) type Nanos = i64;

/// `ms` milliseconds in nanoseconds.
pub(crate) const fn ms(ms: i64) -> Nanos {
    ms * 1_000_000
}

/// `us` microseconds in nanoseconds.
pub(crate) const fn us(us: i64) -> Nanos {
    us * 1_000
}

/// The MAC address of the router that remote hosts sit behind.
const ROUTER_MAC: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x01, 0x01];
/// Delayed-ACK timer of the receiving stacks (Windows' default).
const DELAYED_ACK: Nanos = ms(200);
/// Gap between back-to-back segments or fragments of one write.
const SEGMENT_GAP: Nanos = us(12);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct HostId(usize);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct FlowId(usize);

/// Direction of a write on a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Dir {
    /// Client to server.
    Up,
    /// Server to client.
    Down,
}

impl Dir {
    fn index(self) -> usize {
        match self {
            Dir::Up => 0,
            Dir::Down => 1,
        }
    }

    fn reverse(self) -> Dir {
        match self {
            Dir::Up => Dir::Down,
            Dir::Down => Dir::Up,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    Tcp,
    Udp,
}

struct Host {
    ip: IpAddr,
    mac: [u8; 6],
    /// One router hop away from the capture point.
    remote: bool,
    next_ip_id: u16,
}

impl Host {
    fn wire_mac(&self) -> [u8; 6] {
        if self.remote {
            ROUTER_MAC
        } else {
            self.mac
        }
    }

    fn ttl(&self) -> u8 {
        if self.remote {
            127
        } else {
            128
        }
    }
}

/// How a client reaches a server.
#[derive(Clone, Debug)]
pub(crate) struct FlowSpec {
    pub transport: Transport,
    pub client_port: u16,
    pub server_port: u16,
    /// 802.1Q VLAN id of the frames of this flow.
    pub vlan: Option<u16>,
    /// pcapng interface the flow's packets are captured on.
    pub interface: u32,
    /// Round-trip time between the capture point and the client.
    pub rtt: Nanos,
    /// TCP maximum segment size, if not the Ethernet default.
    pub mss: Option<u16>,
    /// Who the client is (the user's name), carried into [`Written`].
    pub label: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TcpPhase {
    Closed,
    Open,
    Finished,
}

struct Flow {
    client: HostId,
    server: HostId,
    spec: FlowSpec,
    mss: usize,
    flow_label: u32,
    phase: TcpPhase,
    /// Next sequence number to send, by direction.
    next_seq: [u32; 2],
    /// Last acknowledgment number sent, by direction.
    acked: [u32; 2],
}

/// What to do at a point in time on a flow.
enum Action {
    Connect,
    Data {
        messages: Vec<Vec<u8>>,
        cuts: Vec<usize>,
        reverse_fragments: bool,
        media: bool,
    },
    Close,
    /// A delayed pure ACK, unless data sent meanwhile acknowledged `upto` already.
    Ack {
        upto: u32,
    },
}

struct Event {
    t: Nanos,
    flow: FlowId,
    dir: Dir,
    action: Action,
}

/// Extra shaping of one write.
#[derive(Clone, Debug, Default)]
pub(crate) struct WriteOpts {
    /// Byte offsets (within the write) where a TCP segment must end, besides the MSS.
    pub cuts: Vec<usize>,
    /// Send the IPv4 fragments of a UDP datagram last one first.
    pub reverse_fragments: bool,
    /// The bytes are media (STUN, SRTP), not SIP: not counted as a SIP message.
    pub media: bool,
}

/// A packet of the capture.
#[derive(Clone, Debug)]
pub(crate) struct Packet {
    pub t: Nanos,
    pub interface: u32,
    pub data: Vec<u8>,
    /// A note for the reader of the capture (pcapng packet comment).
    pub comment: Option<String>,
}

/// One write as it was put on the wire: for the generator's self-checks, and the source of
/// the scenario's SIP messages (and so of its logs).
#[derive(Clone, Debug)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct Written {
    pub flow: FlowId,
    pub dir: Dir,
    pub transport: Transport,
    /// The SIP messages of the write (empty for a keep-alive).
    pub messages: Vec<Vec<u8>>,
    /// For each message, the time of the packet that completes it at the capture point (the
    /// one carrying its last byte), as stamped in the capture.
    pub times: Vec<Nanos>,
    /// Everything written (the messages, or the keep-alive bytes).
    pub bytes: Vec<u8>,
    /// The flow's label (the client's user name).
    pub label: &'static str,
    /// The client's and the server's address of the flow.
    pub client: SocketAddr,
    pub server: SocketAddr,
}

/// The hosts and flows of a capture and the writes scheduled on them.
pub(crate) struct Wire {
    rng: Rng,
    hosts: Vec<Host>,
    flows: Vec<Flow>,
    events: Vec<Event>,
}

impl Wire {
    pub(crate) fn new(seed: u64) -> Self {
        Wire {
            rng: Rng::new(seed),
            hosts: Vec::new(),
            flows: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Adds a host. `remote` hosts sit one router away from the capture point.
    pub(crate) fn host(&mut self, ip: IpAddr, remote: bool) -> HostId {
        let id = self.hosts.len();
        let mut mac = [0x00, 0x15, 0x5d, 0, 0, 0];
        mac[3..].copy_from_slice(&self.rng.next_u32().to_be_bytes()[1..]);
        let next_ip_id = self.rng.next_u32() as u16;
        self.hosts.push(Host {
            ip,
            mac,
            remote,
            next_ip_id,
        });
        HostId(id)
    }

    pub(crate) fn ip(&self, host: HostId) -> IpAddr {
        self.hosts[host.0].ip
    }

    /// Adds a flow between a client and a server host.
    pub(crate) fn flow(&mut self, client: HostId, server: HostId, spec: FlowSpec) -> FlowId {
        let v6 = self.hosts[client.0].ip.is_ipv6();
        let default_mss = if v6 { 1440 } else { 1460 };
        let mss = usize::from(spec.mss.unwrap_or(default_mss));
        let isn = [self.rng.next_u32(), self.rng.next_u32()];
        let flow_label = self.rng.next_u32() & 0x000f_ffff;
        self.flows.push(Flow {
            client,
            server,
            spec,
            mss,
            flow_label,
            phase: TcpPhase::Closed,
            next_seq: isn,
            acked: [0, 0],
        });
        FlowId(self.flows.len() - 1)
    }

    /// A UDP flow between the hosts of `like` (same VLAN, interface, RTT and label) on other
    /// ports: a media stream beside a signalling connection.
    pub(crate) fn udp_beside(
        &mut self,
        like: FlowId,
        client_port: u16,
        server_port: u16,
    ) -> FlowId {
        let f = &self.flows[like.0];
        let (client, server) = (f.client, f.server);
        let spec = FlowSpec {
            transport: Transport::Udp,
            client_port,
            server_port,
            ..f.spec.clone()
        };
        self.flow(client, server, spec)
    }

    pub(crate) fn rtt(&self, flow: FlowId) -> Nanos {
        self.flows[flow.0].spec.rtt
    }

    /// Opens the TCP connection at `t` (SYN at `t`; nothing for UDP).
    pub(crate) fn connect(&mut self, t: Nanos, flow: FlowId) {
        self.events.push(Event {
            t,
            flow,
            dir: Dir::Up,
            action: Action::Connect,
        });
    }

    /// Closes the TCP connection at `t`, the side `dir` comes from sending the first FIN.
    pub(crate) fn close(&mut self, t: Nanos, flow: FlowId, dir: Dir) {
        self.events.push(Event {
            t,
            flow,
            dir,
            action: Action::Close,
        });
    }

    /// Writes SIP messages (several in one write end up in one segment when they fit) at `t`.
    pub(crate) fn write(
        &mut self,
        t: Nanos,
        flow: FlowId,
        dir: Dir,
        messages: Vec<Vec<u8>>,
        opts: WriteOpts,
    ) {
        let action = Action::Data {
            messages,
            cuts: opts.cuts,
            reverse_fragments: opts.reverse_fragments,
            media: opts.media,
        };
        self.events.push(Event {
            t,
            flow,
            dir,
            action,
        });
    }

    /// Writes bytes that are not a SIP message (a CRLF keep-alive) at `t`.
    pub(crate) fn write_raw(&mut self, t: Nanos, flow: FlowId, dir: Dir, bytes: &[u8]) {
        self.write(t, flow, dir, vec![bytes.to_vec()], WriteOpts::default());
    }

    /// How many events were scheduled so far: the index the next one gets.
    pub(crate) fn scheduled(&self) -> usize {
        self.events.len()
    }

    /// Replays every scheduled write in time order (ties in scheduling order) and returns the
    /// packets and the log of writes. `comments` pairs the index of a scheduled write (see
    /// [`Wire::scheduled`]) with a comment for the last packet of that write.
    pub(crate) fn render(mut self, comments: &[(usize, String)]) -> (Vec<Packet>, Vec<Written>) {
        let events = std::mem::take(&mut self.events);
        let mut slots: Vec<Option<Event>> = Vec::with_capacity(events.len() * 2);
        let mut queue = BinaryHeap::new();
        for event in events {
            queue.push(Reverse((event.t, slots.len())));
            slots.push(Some(event));
        }
        let mut out = Output::default();
        while let Some(Reverse((_, slot))) = queue.pop() {
            let Some(event) = slots[slot].take() else {
                continue;
            };
            let before = out.packets.len();
            let follow_ups = self.apply(event, &mut out);
            if let Some((_, comment)) = comments.iter().find(|(i, _)| *i == slot) {
                if out.packets.len() > before {
                    if let Some(last) = out.packets.last_mut() {
                        last.comment = Some(comment.clone());
                    }
                }
            }
            for follow_up in follow_ups {
                queue.push(Reverse((follow_up.t, slots.len())));
                slots.push(Some(follow_up));
            }
        }
        (out.packets, out.written)
    }

    /// Carries out one event; returns events it causes later (delayed ACKs).
    fn apply(&mut self, event: Event, out: &mut Output) -> Vec<Event> {
        let Event {
            t,
            flow,
            dir,
            action,
        } = event;
        let transport = self.flows[flow.0].spec.transport;
        match (action, transport) {
            (Action::Connect, Transport::Tcp) => {
                if self.flows[flow.0].phase == TcpPhase::Closed {
                    self.handshake(t, flow, out);
                }
                Vec::new()
            }
            (Action::Connect, Transport::Udp) => Vec::new(),
            (Action::Close, Transport::Tcp) => {
                self.fin_exchange(t, flow, dir, out);
                Vec::new()
            }
            (Action::Close, Transport::Udp) => Vec::new(),
            (Action::Ack { upto }, Transport::Tcp) => {
                let f = &self.flows[flow.0];
                if f.phase == TcpPhase::Open && seq_before(f.acked[dir.index()], upto) {
                    self.tcp_packet(t, flow, dir, TCP_ACK, &[], &[], out);
                }
                Vec::new()
            }
            (Action::Ack { .. }, Transport::Udp) => Vec::new(),
            (
                Action::Data {
                    messages,
                    cuts,
                    reverse_fragments,
                    media,
                },
                transport,
            ) => {
                let bytes = messages.concat();
                let is_sip = !media && !bytes.iter().all(|b| *b == b'\r' || *b == b'\n');
                // (offset just past a segment or datagram, its packet's time)
                let mut done: Vec<(usize, Nanos)> = Vec::new();
                let follow_ups = match transport {
                    Transport::Tcp => self.tcp_write(t, flow, dir, &bytes, &cuts, out, &mut done),
                    Transport::Udp => {
                        let mut t = t;
                        let mut end = 0;
                        for message in &messages {
                            t = self.udp_datagram(t, flow, dir, message, reverse_fragments, out);
                            end += message.len();
                            done.push((end, out.last_t));
                        }
                        Vec::new()
                    }
                };
                let mut end = 0;
                let times = messages
                    .iter()
                    .map(|m| {
                        end += m.len();
                        done.iter()
                            .find(|(e, _)| *e >= end)
                            .map_or(out.last_t, |(_, t)| *t)
                    })
                    .collect();
                let f = &self.flows[flow.0];
                let client = SocketAddr::new(self.hosts[f.client.0].ip, f.spec.client_port);
                let server = SocketAddr::new(self.hosts[f.server.0].ip, f.spec.server_port);
                out.written.push(Written {
                    flow,
                    dir,
                    transport,
                    messages: if is_sip { messages } else { Vec::new() },
                    times: if is_sip { times } else { Vec::new() },
                    bytes,
                    label: f.spec.label,
                    client,
                    server,
                });
                follow_ups
            }
        }
    }

    fn handshake(&mut self, t: Nanos, flow: FlowId, out: &mut Output) {
        let rtt = self.flows[flow.0].spec.rtt;
        let mss = self.flows[flow.0].mss as u16;
        let opts = syn_options(mss);
        self.tcp_packet(t, flow, Dir::Up, TCP_SYN, &opts, &[], out);
        self.flows[flow.0].next_seq[0] = self.flows[flow.0].next_seq[0].wrapping_add(1);
        self.tcp_packet(
            t + us(90),
            flow,
            Dir::Down,
            TCP_SYN | TCP_ACK,
            &opts,
            &[],
            out,
        );
        self.flows[flow.0].next_seq[1] = self.flows[flow.0].next_seq[1].wrapping_add(1);
        self.tcp_packet(t + us(90) + rtt, flow, Dir::Up, TCP_ACK, &[], &[], out);
        self.flows[flow.0].phase = TcpPhase::Open;
    }

    fn fin_exchange(&mut self, t: Nanos, flow: FlowId, dir: Dir, out: &mut Output) {
        if self.flows[flow.0].phase != TcpPhase::Open {
            return;
        }
        let rtt = self.flows[flow.0].spec.rtt;
        // the client's packets reach the capture point an RTT after the server's
        let turn = |towards: Dir| {
            if towards == Dir::Down {
                rtt + us(300)
            } else {
                us(150)
            }
        };
        let fin = TCP_FIN | TCP_ACK;
        self.tcp_packet(t, flow, dir, fin, &[], &[], out);
        self.bump_seq(flow, dir, 1);
        let t2 = t + turn(dir);
        self.tcp_packet(t2, flow, dir.reverse(), fin, &[], &[], out);
        self.bump_seq(flow, dir.reverse(), 1);
        self.tcp_packet(t2 + turn(dir.reverse()), flow, dir, TCP_ACK, &[], &[], out);
        self.flows[flow.0].phase = TcpPhase::Finished;
    }

    fn bump_seq(&mut self, flow: FlowId, dir: Dir, n: usize) {
        let seq = &mut self.flows[flow.0].next_seq[dir.index()];
        *seq = seq.wrapping_add(n as u32);
    }

    /// Segments one write; returns the receiver's delayed ACK. `done` gets, for each segment,
    /// the offset just past it and its packet's time.
    #[allow(clippy::too_many_arguments)]
    fn tcp_write(
        &mut self,
        t: Nanos,
        flow: FlowId,
        dir: Dir,
        bytes: &[u8],
        cuts: &[usize],
        out: &mut Output,
        done: &mut Vec<(usize, Nanos)>,
    ) -> Vec<Event> {
        if self.flows[flow.0].phase == TcpPhase::Closed {
            let rtt = self.flows[flow.0].spec.rtt;
            self.handshake(t - rtt - us(400), flow, out);
        }
        let mss = self.flows[flow.0].mss;
        let mut start = 0;
        let mut t_seg = t;
        let mut segments = 0;
        while start < bytes.len() {
            let cut = cuts
                .iter()
                .copied()
                .filter(|&c| c > start)
                .min()
                .unwrap_or(usize::MAX);
            let end = (start + mss).min(cut).min(bytes.len());
            let flags = if end == bytes.len() {
                TCP_ACK | TCP_PSH
            } else {
                TCP_ACK
            };
            self.tcp_packet(t_seg, flow, dir, flags, &[], &bytes[start..end], out);
            done.push((end, out.last_t));
            self.bump_seq(flow, dir, end - start);
            start = end;
            t_seg += SEGMENT_GAP;
            segments += 1;
        }
        // the receiver ACKs at once after two segments, else when its delayed-ACK timer fires;
        // a client's ACK reaches the capture point a round trip later
        let receiver = dir.reverse();
        let timer = if segments >= 2 { us(150) } else { DELAYED_ACK };
        let path = if receiver == Dir::Up {
            self.flows[flow.0].spec.rtt
        } else {
            0
        };
        let upto = self.flows[flow.0].next_seq[dir.index()];
        vec![Event {
            t: t_seg + timer + path,
            flow,
            dir: receiver,
            action: Action::Ack { upto },
        }]
    }

    #[allow(clippy::too_many_arguments)]
    fn tcp_packet(
        &mut self,
        t: Nanos,
        flow: FlowId,
        dir: Dir,
        flags: u8,
        options: &[u8],
        payload: &[u8],
        out: &mut Output,
    ) {
        let f = &mut self.flows[flow.0];
        let (src_port, dst_port) = match dir {
            Dir::Up => (f.spec.client_port, f.spec.server_port),
            Dir::Down => (f.spec.server_port, f.spec.client_port),
        };
        let ack = if flags & TCP_ACK != 0 {
            f.next_seq[dir.reverse().index()]
        } else {
            0
        };
        if flags & TCP_ACK != 0 {
            f.acked[dir.index()] = ack;
        }
        let window = match (flags & TCP_SYN != 0, dir) {
            (true, Dir::Up) => 64240,
            (true, Dir::Down) => 65535,
            (false, Dir::Up) => 1026,
            (false, Dir::Down) => 2053,
        };
        let fields = super::packet::TcpFields {
            src_port,
            dst_port,
            seq: f.next_seq[dir.index()],
            ack,
            flags,
            window,
            options,
        };
        let (src, dst) = self.endpoints(flow, dir);
        let segment = tcp_segment(self.hosts[src.0].ip, self.hosts[dst.0].ip, &fields, payload);
        for packet in self.ip_packets(flow, dir, PROTO_TCP, &segment) {
            out.push(t, self.flows[flow.0].spec.interface, packet);
        }
    }

    /// Sends one UDP datagram (fragmented if needed); returns the time after its last packet.
    fn udp_datagram(
        &mut self,
        t: Nanos,
        flow: FlowId,
        dir: Dir,
        payload: &[u8],
        reverse_fragments: bool,
        out: &mut Output,
    ) -> Nanos {
        let f = &self.flows[flow.0];
        let (src_port, dst_port) = match dir {
            Dir::Up => (f.spec.client_port, f.spec.server_port),
            Dir::Down => (f.spec.server_port, f.spec.client_port),
        };
        let (src, dst) = self.endpoints(flow, dir);
        let datagram = udp_datagram(
            self.hosts[src.0].ip,
            self.hosts[dst.0].ip,
            src_port,
            dst_port,
            payload,
        );
        let mut packets = self.ip_packets(flow, dir, PROTO_UDP, &datagram);
        if reverse_fragments {
            packets.reverse();
        }
        let mut t = t;
        for packet in packets {
            out.push(t, self.flows[flow.0].spec.interface, packet);
            t += SEGMENT_GAP / 2;
        }
        t + us(500)
    }

    fn endpoints(&self, flow: FlowId, dir: Dir) -> (HostId, HostId) {
        let f = &self.flows[flow.0];
        match dir {
            Dir::Up => (f.client, f.server),
            Dir::Down => (f.server, f.client),
        }
    }

    /// Wraps a transport segment into IP and Ethernet: several frames for a fragmented
    /// IPv4 datagram.
    fn ip_packets(&mut self, flow: FlowId, dir: Dir, protocol: u8, segment: &[u8]) -> Vec<Vec<u8>> {
        let (src, dst) = self.endpoints(flow, dir);
        let vlan = self.flows[flow.0].spec.vlan;
        let flow_label = self.flows[flow.0].flow_label;
        let (dst_mac, src_mac) = (self.hosts[dst.0].wire_mac(), self.hosts[src.0].wire_mac());
        let ttl = self.hosts[src.0].ttl();
        match (self.hosts[src.0].ip, self.hosts[dst.0].ip) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let host = &mut self.hosts[src.0];
                let id = host.next_ip_id;
                host.next_ip_id = id.wrapping_add(1);
                let fields = Ipv4Fields {
                    src: s,
                    dst: d,
                    protocol,
                    id,
                    ttl,
                    dont_fragment: protocol == PROTO_TCP,
                };
                // the link MTU is what the MSS was derived from: 1500, or jumbo frames
                let mtu = self.flows[flow.0].mss + 40;
                ipv4_fragments(&fields, segment, mtu)
                    .into_iter()
                    .map(|ip| ethernet(dst_mac, src_mac, vlan, ETHERTYPE_IPV4, &ip))
                    .collect()
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let ip = ipv6_packet(s, d, protocol, ttl, flow_label, segment);
                vec![ethernet(dst_mac, src_mac, vlan, ETHERTYPE_IPV6, &ip)]
            }
            // a flow joins hosts of one family; scenarios never mix them
            _ => Vec::new(),
        }
    }
}

/// `a` comes before `b` in sequence space.
fn seq_before(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) > 0
}

#[derive(Default)]
struct Output {
    packets: Vec<Packet>,
    written: Vec<Written>,
    last_t: Nanos,
}

impl Output {
    fn push(&mut self, t: Nanos, interface: u32, data: Vec<u8>) {
        let t = t.max(self.last_t);
        self.last_t = t;
        self.packets.push(Packet {
            t,
            interface,
            data,
            comment: None,
        });
    }
}
