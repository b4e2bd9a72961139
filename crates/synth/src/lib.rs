//! Deterministic generator of the sample captures in `captures/`.
//!
//! lyncscope ships captures made by its own code rather than recorded ones: real Lync / Skype
//! for Business traffic is TLS-encrypted and full of people's names, and a generated capture
//! can show exactly the case a test or a reader needs (an A/V MCU rejecting the SDP, a C3P
//! failure inside a 200 OK, a message spread over TCP segments or IP fragments), with known
//! expected results. [`scenarios()`] lists them; `cargo run --example make_captures` writes
//! them with `captures/README.md`, and a test checks that the committed files are exactly
//! what the generator produces.
//!
//! The generator is layered like a network stack, each layer in its own module:
//!
//! * `rng`: a seeded xorshift generator, the only source of variation (no OS randomness, no
//!   clock), so every run produces the same bytes;
//! * `packet`: Ethernet / 802.1Q, IPv4 with fragmentation, IPv6, UDP and TCP headers with
//!   correct checksums;
//! * `wire`: hosts and client↔server flows; renders timed writes into packets with a TCP
//!   model (handshake, sequence numbers, MSS segmentation, PSH, delayed ACKs, FIN) and UDP
//!   with IPv4 fragmentation;
//! * `sip`: SIP messages, name-addrs and dialogs; responses, proxied copies and ACKs derive
//!   from their requests; Content-Length is always computed;
//! * `body`: conference invitation, C3P, roster and SDP bodies shaped like docs/protocol.md §8;
//! * `lab`: the FE (`fe01.example.com`, 198.51.100.10 / 2001:db8:100::10) and the users'
//!   clients, addressing, identifiers and timing (client round trips of a few ms, 100–300 ms
//!   of server work, seconds of user think time);
//! * `lync` and `plain`: the steps of a conference join and ordinary SIP, built on `lab`;
//! * `control`: the C3P commands of a leader (lobby, removal, end, dial-out), creating a
//!   conference with the focus factory, a lost connection; `pstn`: the phone calls a
//!   Mediation Server carries (a dial-in through the Conferencing Attendant, dial-outs);
//! * `scenarios` and `worked_example`: the captures themselves;
//! * [`logs`]: the same scenarios as the FE's SIPStack log, each client's UCCAPI log and one
//!   client's pidgin-sipe log, written from [`Generated::messages`] with `lyncscope-logs`.
//!
//! Every capture is taken at the FE's switch port: all clients' connections are visible, a
//! request the FE proxies from one client to another appears twice (client → FE and
//! FE → client, with the FE's Via and Record-Route), and the focus and MCUs run on the FE, so
//! their traffic with the clients is all there is. Servers beside the FE (the Access Edge's
//! internal side, a Mediation Server) are connections like a client's; what they exchange
//! with the outside is not on this link.

mod body;
mod control;
mod lab;
pub mod logs;
mod lync;
mod media;
mod packet;
mod plain;
mod pstn;
mod rng;
mod scenarios;
mod sip;
mod wire;
mod worked_example;

#[cfg(test)]
mod checks;

use lyncscope_base::writer::{Interface, PcapNgWriter, PcapWriter, Section, TsResolution};
use lyncscope_base::{linktype, Timestamp};
use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;

pub use lyncscope_logs::Transport;

pub use scenarios::scenarios;

/// A sample capture: its file, what it shows, what the analysis should find, and how to
/// build it.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    /// Short name, the file name without extension.
    pub name: &'static str,
    /// File name in `captures/` (`.pcapng`, or `.pcap` for classic pcap).
    pub file_name: &'static str,
    /// One line.
    pub title: &'static str,
    /// What happens in the capture, in order.
    pub description: &'static str,
    /// The expected outcome for each conference participant.
    pub participants: &'static [Participant],
    /// Builds the capture (the same bytes every time).
    pub build: fn() -> Generated,
}

/// A participant's state and the step that failed: the analysis's own types, so that an
/// expectation is written in exactly the terms the report uses.
pub use lyncscope_base::join::{JoinState as State, JoinStep as Step};

/// What the analysis of a scenario should report for one participant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Participant {
    /// Conference ID (the part after `:id:` in the focus URI).
    pub conference: &'static str,
    /// The participant's AOR.
    pub uri: &'static str,
    /// The device (`epid`) of a user who joins from several: each device is a participant
    /// of its own. `None`: the user's first (or only) entry.
    pub device: Option<&'static str>,
    /// Who sent the conference invitation; `None` for a join by meeting link.
    pub invited_by: Option<&'static str>,
    pub state: State,
    /// The first step that failed, if any (a declined invitation is not a failure: `None`).
    pub failed_step: Option<Step>,
    /// SIP status of the final response of the step that failed or was declined.
    pub status: Option<u16>,
    /// `ms-diagnostics` error id on that response.
    pub diagnostics: Option<u32>,
    /// C3P outcome when the focus answered 200 with a failure: `failure/<reason>`.
    pub c3p: Option<&'static str>,
    /// Every step and its outcome, for people.
    pub steps: &'static str,
}

/// A generated capture.
#[derive(Clone, Debug)]
pub struct Generated {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// Number of packets (frames) in it.
    pub frames: usize,
    /// Number of SIP messages carried (keep-alives not counted).
    pub sip_messages: usize,
    packets: Vec<wire::Packet>,
    messages: Vec<SipMessage>,
    /// What was written on each flow, for the self-checks.
    #[cfg(test)]
    written: Vec<wire::Written>,
}

/// One SIP message of a scenario as it crossed the capture point (the FE's switch port):
/// the bytes as framed on the wire, one message each (two messages sent in one TCP segment
/// are two of these), keep-alives left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipMessage {
    /// When the capture has the message whole: the time of the packet carrying its last byte
    /// (the last IPv4 fragment sent, for a fragmented datagram), ns since the Unix epoch, UTC.
    pub time_ns: i64,
    /// The user whose client is the other end of the connection (`"alice"`).
    pub user: &'static str,
    /// The client's address and port.
    pub client: SocketAddr,
    /// The FE's address and port (the FE hosts the registrar, proxy, focus and MCUs).
    pub server: SocketAddr,
    /// `Tcp` or `Udp` (the samples have no TLS).
    pub transport: Transport,
    /// Sent by the client to the FE (`false`: by the FE to the client).
    pub from_client: bool,
    /// The message, exactly as on the wire.
    pub bytes: Vec<u8>,
}

/// The file format of a capture and the interfaces it was captured on.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Container {
    /// Classic pcap, Ethernet, microseconds.
    Pcap,
    /// pcapng with a section comment and one Ethernet interface per entry (name,
    /// resolution); packets name their interface by index.
    PcapNg {
        comment: &'static str,
        interfaces: &'static [(&'static str, TsResolution)],
    },
}

impl Generated {
    fn package(
        container: Container,
        packets: Vec<wire::Packet>,
        written: Vec<wire::Written>,
    ) -> Self {
        let sip_messages = written.iter().map(|w| w.messages.len()).sum();
        let messages = written
            .iter()
            .flat_map(|w| {
                w.messages
                    .iter()
                    .zip(&w.times)
                    .map(|(bytes, &time_ns)| SipMessage {
                        time_ns,
                        user: w.label,
                        client: w.client,
                        server: w.server,
                        transport: match w.transport {
                            wire::Transport::Tcp => Transport::Tcp,
                            wire::Transport::Udp => Transport::Udp,
                        },
                        from_client: w.dir == wire::Dir::Up,
                        bytes: bytes.clone(),
                    })
            })
            .collect();
        // writing to a Vec cannot fail; a write error would only come from a packet the
        // formats cannot hold, which the scenarios never make
        let bytes = write_container(container, &packets).unwrap_or_default();
        #[cfg(not(test))]
        drop(written);
        Generated {
            bytes,
            frames: packets.len(),
            sip_messages,
            packets,
            messages,
            #[cfg(test)]
            written,
        }
    }

    /// The scenario's SIP messages in capture order (the order their last packets appear in):
    /// what its logs are written from.
    pub fn messages(&self) -> &[SipMessage] {
        &self.messages
    }

    /// The packets of the capture in order: time, pcapng interface (0 for classic pcap) and
    /// the Ethernet frame. Tests of the layers above the file reader can feed these directly.
    pub fn packets(&self) -> impl Iterator<Item = (Timestamp, u32, &[u8])> + '_ {
        self.packets
            .iter()
            .map(|p| (Timestamp(p.t), p.interface, p.data.as_slice()))
    }
}

fn write_container(container: Container, packets: &[wire::Packet]) -> io::Result<Vec<u8>> {
    match container {
        Container::Pcap => {
            let mut w = PcapWriter::new(Vec::new(), linktype::ETHERNET, TsResolution::Micro)?;
            for p in packets {
                w.write_packet(Timestamp(p.t), &p.data, p.data.len() as u32)?;
            }
            Ok(w.into_inner())
        }
        Container::PcapNg {
            comment,
            interfaces,
        } => {
            let section = Section {
                comment: Some(comment.to_owned()),
                user_application: Some(format!(
                    "lyncscope {} synth (cargo run --example make_captures)",
                    env!("CARGO_PKG_VERSION")
                )),
                ..Section::default()
            };
            let mut w = PcapNgWriter::with_section(Vec::new(), &section)?;
            for (name, resolution) in interfaces {
                w.add_interface(
                    &Interface::new(linktype::ETHERNET)
                        .name(name)
                        .resolution(*resolution),
                )?;
            }
            for p in packets {
                let len = p.data.len() as u32;
                w.write_packet_with_comment(
                    p.interface,
                    Timestamp(p.t),
                    &p.data,
                    len,
                    p.comment.as_deref(),
                )?;
            }
            Ok(w.into_inner())
        }
    }
}

/// `captures/README.md` for the given scenarios and their captures.
pub fn readme(captures: &[(Scenario, Generated)]) -> String {
    let mut s = String::new();
    s.push_str(README_HEAD);
    s.push_str("\n| File | Frames | SIP messages | Shows |\n|---|---:|---:|---|\n");
    for (scenario, generated) in captures {
        let _ = writeln!(
            s,
            "| [`{}`](#{}) | {} | {} | {} |",
            scenario.file_name,
            scenario.name,
            generated.frames,
            generated.sip_messages,
            scenario.title
        );
    }
    for (scenario, generated) in captures {
        let _ = write!(
            s,
            "\n<a id=\"{}\"></a>\n## `{}`\n\n{}\n\n{}\n\n{} frames, {} SIP messages, {} bytes.\n",
            scenario.name,
            scenario.file_name,
            scenario.title,
            scenario.description,
            generated.frames,
            generated.sip_messages,
            generated.bytes.len()
        );
        let commented: Vec<(usize, &str)> = generated
            .packets
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((i + 1, p.comment.as_deref()?)))
            .collect();
        if !commented.is_empty() {
            s.push_str("\n| Frame | Packet comment |\n|---:|---|\n");
            for (frame, comment) in commented {
                let _ = writeln!(s, "| {frame} | {} |", table_cell(comment));
            }
        }
        if scenario.participants.is_empty() {
            continue;
        }
        s.push_str(
            "\n| Conference | Participant | Invited by | State | Failed step | Status | \
             ms-diagnostics | C3P | Steps |\n|---|---|---|---|---|---|---|---|---|\n",
        );
        for p in scenario.participants {
            let opt = |v: Option<String>| v.unwrap_or_else(|| "—".to_owned());
            let who = match p.device {
                Some(epid) => format!("{} (device `{epid}`)", p.uri),
                None => p.uri.to_owned(),
            };
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | **{}** | {} | {} | {} | {} | {} |",
                p.conference,
                who,
                opt(p.invited_by.map(str::to_owned)),
                p.state.as_str(),
                opt(p.failed_step.map(|x| x.as_str().to_owned())),
                opt(p.status.map(|x| x.to_string())),
                opt(p.diagnostics.map(|x| x.to_string())),
                opt(p.c3p.map(str::to_owned)),
                p.steps
            );
        }
    }
    s
}

/// Text made safe for a Markdown table cell: no column breaks, no HTML tags.
fn table_cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

const README_HEAD: &str = "\
# Sample captures

These captures are generated by lyncscope's own code (`src/synth/`), not recorded: run
`cargo run --example make_captures` to write them again (into `captures/`, or the directory
given as argument). The generator is deterministic, and a test checks that the files here are
byte for byte what it produces, so do not edit them by hand; change the generator instead.
The same scenarios are also written as the Front End's SIPStack log and the clients' UCCAPI
and pidgin-sipe logs, in [`logs/`](logs/README.md).

What they have in common:

- The capture point is the switch port of the Front End `fe01.example.com`
  (198.51.100.10, and 2001:db8:100::10 for IPv6), which hosts the registrar, the proxy, the
  conference focus and the MCUs. Clients (192.0.2.0/24, one router hop away, TTL 127) each
  have one connection to it, plain TCP to port 5060 (UDP in `join-udp-fragments.pcap`, port
  5061 without TLS in the worked example). Every message of the clients is in clear text.
- A request the FE proxies from one client to another (the conference invitation, a peer
  call, a page-mode MESSAGE) appears twice: client → FE, then FE → client with the FE's Via
  on top and its Record-Route. Responses likewise.
- Servers beside the FE have one connection each to it, in the same clear TCP: the Access
  Edge's internal side (`edge01.example.com`, 198.51.100.20), which carries everything of the
  users outside (anonymous guests, federated partners) with its own Via and Record-Route and
  `ms-edge-proxy-message-trust`, and a Mediation Server (`med01.example.com`,
  198.51.100.40), the SIP end of every phone call.
- Users are `sip:<name>@example.com`; the organizer's AOR is the user part of the focus URI
  (`sip:alice@example.com;gruu;opaque=app:conf:focus:id:<ID>`). Anonymous guests are
  `sip:<32 hex>@anonymous.invalid`, phones `sip:+<E.164>@example.com;user=phone`. A user on
  several devices has one row per device (`device` is the `epid`).
- Timing is realistic: a few ms of network round trip, 100–400 ms for the focus and the
  A/V MCU, seconds of think time before someone accepts or declines an invitation.
- Packets are correct on the wire: IPv4 header, TCP and UDP checksums; TCP handshake,
  sequence and acknowledgment numbers, MSS segmentation with PSH on the last segment of a
  write, delayed pure ACKs; IPv4 fragments with proper offsets and More Fragments flags.
- Expected results below use the vocabulary of the JSON report (`state`, `failed_step`).
  \"Status\" is the SIP status of the final response of the step that failed or was declined
  (a declined invitation has state `declined` and no failed step); a participant who joined
  has none.
";

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn generate_all() -> Vec<(Scenario, Generated)> {
        scenarios().into_iter().map(|s| (s, (s.build)())).collect()
    }

    #[test]
    fn every_scenario_is_deterministic() {
        for scenario in scenarios() {
            let (a, b) = ((scenario.build)(), (scenario.build)());
            assert!(
                a.bytes == b.bytes,
                "{} differs between two runs",
                scenario.name
            );
        }
    }

    #[test]
    fn packets_checksums_and_streams_are_consistent() {
        for (scenario, generated) in generate_all() {
            checks::verify(scenario.name, &generated.packets, &generated.written);
        }
    }

    #[test]
    fn every_content_length_matches_its_body() {
        for (scenario, generated) in generate_all() {
            for message in generated.written.iter().flat_map(|w| &w.messages) {
                checks::verify_content_length(scenario.name, message);
            }
        }
    }

    #[test]
    fn files_are_small_and_names_unique() {
        let all = generate_all();
        for (scenario, generated) in &all {
            // the scenarios that show several paths at once run to 120 KB
            assert!(
                generated.bytes.len() < 128_000,
                "{} is {} bytes",
                scenario.file_name,
                generated.bytes.len()
            );
            assert!(scenario.file_name.starts_with(scenario.name));
            assert!(generated.frames > 0 && generated.sip_messages > 0);
            assert!(
                generated.bytes.len() > 24 + 16 * generated.frames,
                "{} not written",
                scenario.name
            );
        }
        let mut names: Vec<_> = all.iter().map(|(s, _)| s.file_name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
    }

    #[test]
    fn committed_captures_equal_the_generator() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("captures");
        let all = generate_all();
        for (scenario, generated) in &all {
            let path = dir.join(scenario.file_name);
            let committed = std::fs::read(&path).unwrap_or_default();
            assert!(
                committed == generated.bytes,
                "{} is not what the generator makes: run `cargo run --example make_captures`",
                path.display()
            );
        }
        let readme_path = dir.join("README.md");
        let committed = std::fs::read_to_string(&readme_path).unwrap_or_default();
        assert!(
            committed == readme(&all),
            "{} is out of date",
            readme_path.display()
        );
    }
}
