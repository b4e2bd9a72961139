//! HEP (the Homer Encapsulation Protocol) at both ends of the pipeline, over `lyncscope-hep`:
//!
//! * **in**: every SIP packet a capture agent sends to a [`lyncscope_hep::Listener`] becomes a
//!   whole message ([`message_of`]) with the packet's addresses, ports, transport and time, and
//!   the agent (its node id) as its [`Origin`]; the same message from several agents (the same
//!   hop seen on two servers) is one message with every origin (`analysis::copies`).
//! * **out**: [`HepTap`] sends every SIP message the pipeline completes — from captures, logs,
//!   decrypted TLS — to an existing Homer as one HEP3 packet with its real addresses and time.

use crate::capture::Frame;
use crate::pipeline::MessageTap;
use crate::source::{Origin, SourceMessage, Transport};
use crate::transport::MsgContext;
use crate::Timestamp;
use lyncscope_hep::{HepOut, PacketRef, Sender, SenderStats};
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// Agent names remembered (a deployment has a handful of agents; beyond, names are not kept).
const MAX_AGENTS: usize = 4096;

/// The message a received HEP packet carries, numbered `number` in the run (a
/// [`lyncscope_hep::ReceivedPacket`] gives its `PacketRef` with `as_packet`).
pub fn message_of(p: PacketRef<'_>, number: u64) -> SourceMessage<'_> {
    let m = &p.meta;
    let transport = match m.ip_protocol {
        17 => Transport::Udp,
        132 => Transport::Sctp,
        _ => Transport::Tcp,
    };
    SourceMessage {
        number,
        time: Timestamp::from_secs_nanos(
            i64::from(m.ts_sec),
            m.ts_usec.min(999_999).saturating_mul(1000),
        ),
        src: SocketAddr::new(m.src_ip, m.src_port),
        dst: SocketAddr::new(m.dst_ip, m.dst_port),
        transport,
        origin: Origin::Agent { node: m.node_id },
        bytes: p.payload,
    }
}

/// The capture agents seen, by node id, with the name they gave (HEP chunk 0x0013), and the
/// address they sent from.
#[derive(Clone, Debug, Default)]
pub struct Agents {
    agents: BTreeMap<u32, (Option<String>, SocketAddr, u64)>,
}

impl Agents {
    /// Notes the agent of `p` (its name is copied only the first time it is seen).
    pub fn note(&mut self, p: &PacketRef<'_>) {
        let id = p.meta.node_id;
        let name = || p.node_name.map(|n| String::from_utf8_lossy(n).into_owned());
        if let Some(a) = self.agents.get_mut(&id) {
            a.2 += 1;
            if a.0.is_none() {
                a.0 = name();
            }
        } else if self.agents.len() < MAX_AGENTS {
            self.agents.insert(id, (name(), p.peer, 1));
        }
    }

    /// Agents seen (up to the 4,096 remembered).
    pub fn len(&self) -> usize {
        self.agents.len()
    }

    /// No agent seen yet.
    pub fn is_empty(&self) -> bool {
        self.agents.is_empty()
    }

    /// Every agent: node id, name, address, packets.
    pub fn list(&self) -> impl Iterator<Item = (u32, Option<&str>, SocketAddr, u64)> {
        self.agents
            .iter()
            .map(|(id, (n, a, c))| (*id, n.as_deref(), *a, *c))
    }
}

/// Sends every completed SIP message as one HEP3 packet (`--hep-send`). The sender's queue is
/// bounded; what it could not send is counted in its [`SenderStats`].
pub struct HepTap {
    sender: Sender,
    node_id: u32,
    node_name: Option<Vec<u8>>,
    password: Option<Vec<u8>>,
}

impl HepTap {
    /// Sends through `sender` as capture agent `node_id` (with a name and password when
    /// given).
    pub fn new(
        sender: Sender,
        node_id: u32,
        node_name: Option<String>,
        password: Option<String>,
    ) -> Self {
        HepTap {
            sender,
            node_id,
            node_name: node_name.map(String::into_bytes),
            password: password.map(String::into_bytes),
        }
    }

    /// Flushes what is queued (waiting at most `deadline`) and gives the counters.
    pub fn close(self, deadline: std::time::Duration) -> SenderStats {
        self.sender.close(deadline)
    }
}

impl MessageTap for HepTap {
    fn frame(&mut self, _: &Frame<'_>) {}

    fn message(&mut self, ctx: &MsgContext, raw: &[u8]) {
        let ip_protocol = match ctx.transport {
            Transport::Udp => 17,
            Transport::Sctp => 132,
            Transport::Tcp | Transport::Ws | Transport::Tls => 6,
        };
        let out = HepOut {
            ip_protocol,
            src_ip: ctx.src.ip(),
            dst_ip: ctx.dst.ip(),
            src_port: ctx.src.port(),
            dst_port: ctx.dst.port(),
            ts_sec: u32::try_from(ctx.time.secs()).unwrap_or(0),
            ts_usec: ctx.time.subsec_nanos() / 1000,
            proto_type: 1,
            node_id: self.node_id,
            password: self.password.as_deref(),
            correlation_id: None,
            vlan: None,
            node_name: self.node_name.as_deref(),
            payload: raw,
        };
        // A full queue or a message too large is counted by the sender.
        let _ = self.sender.send(&out);
    }
}
