//! The message detail tree, in Wireshark's manner: frame and capture information, the
//! network and transport summary (with reassembly notes), the start line, every header, and the
//! body decoded by its content type (conference invitation, C3P, roster, SDP with the Microsoft
//! attributes, multipart), with ms-diagnostics explained.
//!
//! This is the one place the views decode packets: the selected message only, from the message
//! store, with `sip::message` and `sip::body`.

use super::model;
use lyncscope::analysis::{Analysis, MessageRecord};
use lyncscope::sip::body::{self, BodyKind};
use lyncscope::sip::message::{frame_datagram, unfold, Message, StartLine};

/// How a line is emphasised (besides its text, which always says it too).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Tone {
    #[default]
    Normal,
    Good,
    Bad,
    Title,
}

/// One line of the tree; the tree is kept flat, in pre-order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TreeLine {
    pub(crate) depth: u8,
    pub(crate) text: String,
    pub(crate) tone: Tone,
    pub(crate) expanded: bool,
    /// True when the next line is deeper (this line has children).
    pub(crate) has_children: bool,
}

/// Builds the tree in pre-order.
#[derive(Default)]
struct Builder {
    lines: Vec<TreeLine>,
    depth: u8,
}

/// Most lines a tree gets (a 500-user roster would otherwise give thousands).
const MAX_LINES: usize = 5000;

impl Builder {
    fn line(&mut self, text: impl Into<String>, tone: Tone) {
        if self.lines.len() >= MAX_LINES {
            return;
        }
        let text = sanitize(&text.into());
        self.lines.push(TreeLine {
            depth: self.depth,
            text,
            tone,
            // Open down to the decoded body's first level; deeper detail (SDP media lines,
            // roster users) on demand.
            expanded: self.depth < 3,
            has_children: false,
        });
    }

    fn leaf(&mut self, text: impl Into<String>) {
        self.line(text, Tone::Normal);
    }

    /// A line whose children are added by `f`.
    fn node(&mut self, text: impl Into<String>, tone: Tone, f: impl FnOnce(&mut Self)) {
        self.line(text, tone);
        let at = self.lines.len();
        self.depth = self.depth.saturating_add(1);
        f(self);
        self.depth = self.depth.saturating_sub(1);
        if self.lines.len() > at {
            if let Some(l) = self.lines.get_mut(at - 1) {
                l.has_children = true;
            }
        }
    }
}

/// Control characters would break the terminal: shown as `?`.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// The tree of message `index`, whose bytes are `bytes`.
pub(crate) fn tree(
    a: &Analysis,
    index: usize,
    bytes: &[u8],
    tls: Option<&lyncscope::tls::TlsHandle>,
    sources: &[String],
) -> Vec<TreeLine> {
    let mut b = Builder::default();
    let Some(rec) = a.messages().get(index) else {
        return b.lines;
    };
    frame_node(&mut b, a, rec, tls);
    origin_node(&mut b, a, index, sources);
    events_node(&mut b, a, index);
    match frame_datagram(bytes) {
        Ok((msg, _)) => sip_node(&mut b, &msg),
        Err(e) => b.line(
            format!("SIP message could not be framed again: {e:?}"),
            Tone::Bad,
        ),
    }
    b.lines
}

/// What servers logged about the message's dialog (SIPStack diagnostic records of its
/// Call-ID): often the reason a step failed.
fn events_node(b: &mut Builder, a: &Analysis, index: usize) {
    let Some(call_id) = a.messages().get(index).and_then(|rec| a.call_id_of(rec)) else {
        return;
    };
    let events: Vec<_> = a.server_events_for(call_id).collect();
    if events.is_empty() {
        return;
    }
    b.node(
        format!("Server events about this dialog ({})", events.len()),
        Tone::Bad,
        |b| {
            for e in events {
                let code = match &e.result_code {
                    Some((v, Some(n))) => format!("0x{v:08X} {n}"),
                    Some((v, None)) => format!("0x{v:08X}"),
                    None => "no result code".to_string(),
                };
                b.leaf(format!(
                    "{} {}: {code}{}",
                    e.time.map(|t| t.rfc3339()).unwrap_or_default(),
                    e.source.as_deref().unwrap_or("server"),
                    e.text
                        .as_deref()
                        .map(|t| format!(" — {t}"))
                        .unwrap_or_default()
                ));
            }
        },
    );
}

/// Where the message was seen: every capture frame, log line or capture agent, with the
/// synthetic addresses a log gave it said to be such.
fn origin_node(b: &mut Builder, a: &Analysis, index: usize, sources: &[String]) {
    use lyncscope::source::Origin;
    let Some(rec) = a.messages().get(index) else {
        return;
    };
    let origins = a.origins(index);
    let only_capture = matches!(origins.as_slice(), [(Origin::Capture { .. }, _)]);
    let flow = a.flow(rec.flow());
    let synthetic = [flow.src.ip(), flow.dst.ip()]
        .into_iter()
        .any(lyncscope::logs::is_synthetic);
    if only_capture && !synthetic {
        return; // the frame line says it all
    }
    let name = |i: u32| {
        sources
            .get(i as usize)
            .map_or_else(|| format!("input {}", i + 1), String::clone)
    };
    b.node("Seen in", Tone::Title, |b| {
        for (o, frame) in &origins {
            b.leaf(match *o {
                Origin::Capture { input } => format!("{}, frame {frame}", name(input)),
                Origin::Log { input, line } => format!("{}, line {line}", name(input)),
                Origin::Agent { node } => format!("HEP capture agent {node}"),
            });
        }
        if synthetic {
            b.leaf("An address the log does not give is synthetic (fd6c:6f67::/32, named after the host)");
        }
    });
}

fn frame_node(
    b: &mut Builder,
    a: &Analysis,
    rec: &MessageRecord,
    tls: Option<&lyncscope::tls::TlsHandle>,
) {
    let flow = a.flow(rec.flow());
    let frames = if rec.first_frame(a) != rec.frame() && rec.first_frame(a) > 0 {
        format!("Frames {}–{}", rec.first_frame(a), rec.frame())
    } else {
        format!("Frame {}", rec.frame())
    };
    b.node(
        format!("{frames}: {} bytes of SIP", rec.size(a)),
        Tone::Title,
        |b| {
            b.leaf(format!("Arrival time: {}", rec.time()));
            b.leaf(format!("Completed in frame {}", rec.frame()));
            if let Some(d) = rec.dialog().and_then(|d| a.dialogs().get(d as usize)) {
                b.leaf(format!("Dialog: {} ({})", d.call_id, d.kind.as_str()));
                if let Some(c) = &d.conference_id {
                    b.leaf(format!("Conference: {c}"));
                }
            }
            if rec.retransmission() {
                b.line("Retransmission of an earlier message", Tone::Bad);
            }
        },
    );
    if rec.link_type(a) != 0 {
        b.leaf(format!(
            "Link layer: {} (LINKTYPE {}); tunnels, if any, are unwrapped",
            lyncscope::linktype::name(rec.link_type(a)),
            rec.link_type(a)
        ));
    }
    let v = if flow.src.is_ipv4() { 4 } else { 6 };
    b.node(
        format!(
            "Internet Protocol Version {v}, Src: {}, Dst: {}",
            flow.src.ip(),
            flow.dst.ip()
        ),
        Tone::Title,
        |b| {
            if rec.ip_reassembled() {
                b.leaf(format!(
                    "Reassembled from IP fragments (first in frame {})",
                    rec.first_frame(a)
                ));
            }
            if rec.icmp_quoted() {
                b.line("Quoted in an ICMP error: this message bounced", Tone::Bad);
            }
        },
    );
    b.node(
        format!(
            "{}, Src Port: {}, Dst Port: {}",
            transport_name(flow.transport),
            flow.src.port(),
            flow.dst.port()
        ),
        Tone::Title,
        |b| {
            if rec.reassembled() {
                b.leaf(format!(
                    "Reassembled from segments in frames {}–{} of this flow",
                    rec.first_frame(a),
                    rec.frame()
                ));
            }
        },
    );
    if flow.transport == lyncscope::transport::Transport::Tls {
        let info = tls.and_then(|t| t.connection(flow.src, flow.dst));
        b.node(
            "Transport Layer Security (decrypted)",
            Tone::Title,
            |b| match info {
                Some(i) => {
                    let version = match i.version {
                        Some(0x0301) => "TLS 1.0",
                        Some(0x0302) => "TLS 1.1",
                        Some(0x0303) => "TLS 1.2",
                        Some(0x0304) => "TLS 1.3",
                        _ => "TLS",
                    };
                    b.leaf(format!(
                        "{version}, {}",
                        i.suite
                            .map(lyncscope::tls::suite_name)
                            .unwrap_or_else(|| "suite unknown".into())
                    ));
                    let source = match i.key_source {
                        Some(lyncscope_tls::KeySource::KeyLog) => "a key log",
                        Some(lyncscope_tls::KeySource::RsaKey) => "the server's RSA key",
                        Some(lyncscope_tls::KeySource::SessionCache) => {
                            "the master secret of the session it resumed"
                        }
                        None => "keys not known",
                    };
                    b.leaf(format!(
                        "Decrypted with {source}{}{}",
                        if i.resumed { "; resumed session" } else { "" },
                        if i.extended_master_secret {
                            "; extended master secret"
                        } else {
                            ""
                        }
                    ));
                }
                None => b.leaf("Decrypted; the connection's details are no longer kept"),
            },
        );
    }
}

fn transport_name(t: lyncscope::transport::Transport) -> &'static str {
    use lyncscope::transport::Transport;
    match t {
        Transport::Udp => "User Datagram Protocol",
        Transport::Tcp => "Transmission Control Protocol",
        Transport::Sctp => "Stream Control Transmission Protocol",
        Transport::Ws => "WebSocket (over TCP)",
        Transport::Tls => "Transmission Control Protocol",
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn sip_node(b: &mut Builder, msg: &Message<'_>) {
    b.node("Session Initiation Protocol", Tone::Title, |b| {
        match msg.start() {
            StartLine::Request { method, uri } => {
                b.node(
                    format!("Request-Line: {} {} SIP/2.0", lossy(method), lossy(uri)),
                    Tone::Normal,
                    |b| {
                        b.leaf(format!("Method: {}", lossy(method)));
                        b.leaf(format!("Request-URI: {}", lossy(uri)));
                    },
                );
            }
            StartLine::Response { status, reason } => {
                let tone = if model::is_failure_status(status) {
                    Tone::Bad
                } else {
                    Tone::Normal
                };
                b.node(
                    format!("Status-Line: SIP/2.0 {status} {}", lossy(reason)),
                    tone,
                    |b| {
                        b.leaf(format!("Status-Code: {status}"));
                        b.leaf(format!("Reason: {}", lossy(reason)));
                    },
                );
            }
        }
        let count = msg.headers().count();
        b.node(
            format!("Message Header ({count} headers)"),
            Tone::Normal,
            |b| {
                for (name, value) in msg.headers() {
                    header_line(b, &lossy(name), &unfold(value));
                }
            },
        );
        if !msg.body_complete {
            b.line(
                "Body shorter than its Content-Length (cut by the capture?)",
                Tone::Bad,
            );
        }
        let body = msg.body();
        if !body.is_empty() {
            let ct = msg
                .header(lyncscope::sip::Hdr::ContentType)
                .map(unfold)
                .unwrap_or_default();
            body_node(b, &ct, body);
        }
    });
}

fn header_line(b: &mut Builder, name: &str, value: &str) {
    let diagnostics = name.eq_ignore_ascii_case("ms-diagnostics")
        || name.eq_ignore_ascii_case("ms-diagnostics-public")
        || name.eq_ignore_ascii_case("ms-client-diagnostics");
    if !diagnostics {
        b.leaf(format!("{name}: {value}"));
        return;
    }
    match body::diagnostics::parse(value) {
        Some(d) => b.node(format!("{name}: {value}"), Tone::Bad, |b| {
            b.leaf(format!("Code: {} ({})", d.code, d.component()));
            if let Some(m) = d.meaning() {
                b.leaf(format!("Meaning: {m}"));
            }
            if let Some(r) = &d.reason {
                b.leaf(format!("Reason: {r}"));
            }
            if let Some(s) = &d.source {
                b.leaf(format!("Source: {s}"));
            }
            for (k, v) in &d.params {
                b.leaf(format!("{k}: {v}"));
            }
        }),
        None => b.line(format!("{name}: {value}"), Tone::Bad),
    }
}

fn body_node(b: &mut Builder, content_type: &str, body: &[u8]) {
    let title = format!("Message Body: {} ({} bytes)", content_type, body.len());
    match body::classify(content_type) {
        BodyKind::ConfInvite => b.node(title, Tone::Title, |b| conf_invite(b, body)),
        BodyKind::C3p => b.node(title, Tone::Title, |b| c3p(b, body)),
        BodyKind::ConferenceInfo => b.node(title, Tone::Title, |b| roster(b, body)),
        BodyKind::Sdp => b.node(title, Tone::Title, |b| sdp(b, body)),
        BodyKind::Multipart => b.node(title, Tone::Title, |b| {
            match body::multipart::parse(body, content_type) {
                Ok(parts) => {
                    for (i, part) in parts.iter().enumerate() {
                        let ct = part.content_type().unwrap_or("text/plain").to_string();
                        b.node(format!("Part {}: {ct}", i + 1), Tone::Normal, |b| {
                            if let Some(cd) = part.content_disposition() {
                                b.leaf(format!("Content-Disposition: {cd}"));
                            }
                            if part.is_2007_fallback() {
                                b.leaf("Lync 2007 fallback offer");
                            }
                            body_node(b, &ct, part.body);
                        });
                    }
                }
                Err(e) => b.line(format!("Malformed multipart body: {e}"), Tone::Bad),
            }
        }),
        BodyKind::Other => b.node(title, Tone::Title, |b| text_lines(b, body)),
    }
}

fn text_lines(b: &mut Builder, body: &[u8]) {
    for line in String::from_utf8_lossy(body).lines().take(500) {
        b.leaf(line.to_string());
    }
}

fn opt(b: &mut Builder, name: &str, v: &Option<String>) {
    if let Some(v) = v {
        b.leaf(format!("{name}: {v}"));
    }
}

fn conf_invite(b: &mut Builder, body: &[u8]) {
    match body::conf_invite::parse(body) {
        Ok(i) => b.node("Conference invitation", Tone::Normal, |b| {
            opt(b, "Focus URI", &i.focus_uri);
            opt(b, "Subject", &i.subject);
            if let Some(a) = i.audio {
                b.leaf(format!("Audio available: {a}"));
            }
            if let Some(im) = i.im {
                b.leaf(format!(
                    "IM available: {im}{}",
                    if i.first_im { " (first IM)" } else { "" }
                ));
            }
            opt(b, "Version", &i.version);
            for (k, v) in &i.other {
                b.leaf(format!("{k}: {v}"));
            }
        }),
        Err(e) => b.line(format!("Malformed conference invitation: {e}"), Tone::Bad),
    }
}

fn c3p(b: &mut Builder, body: &[u8]) {
    match body::c3p::parse(body) {
        Ok(c) => {
            let kind = match c.kind {
                body::c3p::C3pKind::Request => "request",
                body::c3p::C3pKind::Response => "response",
            };
            let tone = if c.is_failure() {
                Tone::Bad
            } else if c.is_success() {
                Tone::Good
            } else {
                Tone::Normal
            };
            let outcome = c
                .code
                .as_ref()
                .map(|x| format!(": {}", x.as_str()))
                .unwrap_or_default();
            b.node(format!("C3P {kind} {}{outcome}", c.command), tone, |b| {
                b.leaf(format!("Command: {}", c.command));
                opt(b, "Request ID", &c.request_id);
                if let Some(code) = &c.code {
                    let mark = if c.is_failure() { "✗" } else { "✓" };
                    b.line(format!("Code: {mark} {}", code.as_str()), tone);
                }
                opt(b, "Reason", &c.reason);
                opt(b, "From", &c.from);
                opt(b, "To", &c.to);
                opt(b, "Conference entity", &c.conf_entity);
                opt(b, "Conference ID", &c.conference_id);
                opt(b, "User", &c.user_entity);
                if !c.roles.is_empty() {
                    b.leaf(format!("Roles: {}", c.roles.join(", ")));
                }
                opt(b, "Endpoint", &c.endpoint_entity);
                opt(b, "Media ID", &c.media_id);
                opt(b, "MCU URI", &c.mcu_uri);
                opt(b, "C3P version", &c.c3p_version);
            });
        }
        Err(e) => b.line(format!("Malformed C3P: {e}"), Tone::Bad),
    }
}

fn roster(b: &mut Builder, body: &[u8]) {
    match body::conference_info::parse(body) {
        Ok(doc) => {
            let version = doc
                .version
                .map(|v| format!(" version {v}"))
                .unwrap_or_default();
            b.node(
                format!("Roster (conference-info){version}, {:?}", doc.state).to_lowercase(),
                Tone::Normal,
                |b| {
                    opt(b, "Entity", &doc.entity);
                    opt(b, "Subject", &doc.subject);
                    opt(b, "Organizer", &doc.organizer_display);
                    for u in &doc.conf_uris {
                        b.leaf(format!(
                            "MCU {}: {}",
                            u.purpose.as_deref().unwrap_or("?"),
                            u.uri
                        ));
                    }
                    for u in &doc.users {
                        let name = u.display_text.as_deref().unwrap_or("");
                        b.node(
                            format!("User {} {name} ({:?})", u.entity, u.state).to_string(),
                            Tone::Normal,
                            |b| {
                                if !u.roles.is_empty() {
                                    b.leaf(format!("Roles: {}", u.roles.join(", ")));
                                }
                                for e in &u.endpoints {
                                    let status = e.status.as_deref().unwrap_or("?");
                                    let tone = match status {
                                        "connected" => Tone::Good,
                                        "disconnected" => Tone::Bad,
                                        _ => Tone::Normal,
                                    };
                                    let mark = match tone {
                                        Tone::Good => "✓ ",
                                        Tone::Bad => "✗ ",
                                        _ => "",
                                    };
                                    b.line(
                                        format!(
                                            "Endpoint {}: {mark}{status}",
                                            e.session_type.as_deref().unwrap_or(&e.entity)
                                        ),
                                        tone,
                                    );
                                }
                            },
                        );
                    }
                    if doc.truncated {
                        b.line("Roster cut at the user bound", Tone::Bad);
                    }
                },
            );
        }
        Err(e) => b.line(format!("Malformed conference-info: {e}"), Tone::Bad),
    }
}

fn sdp(b: &mut Builder, body: &[u8]) {
    let parsed = match body::sdp::parse(body) {
        Ok(s) => s,
        Err(e) => {
            b.line(format!("Malformed SDP: {e}"), Tone::Bad);
            return;
        }
    };
    b.node("Session Description Protocol", Tone::Normal, |b| {
        if let Some(o) = &parsed.origin {
            b.leaf(format!(
                "Owner/Creator: {} {} {} {} {} {}",
                o.username, o.session_id, o.session_version, o.net_type, o.addr_type, o.address
            ));
        }
        opt(b, "Session name", &parsed.session_name);
        if let Some(c) = &parsed.connection {
            b.leaf(format!(
                "Connection: {} {} {}",
                c.net_type, c.addr_type, c.address
            ));
        }
        for bw in &parsed.bandwidth {
            b.leaf(format!(
                "Bandwidth {}: {}",
                bw.kind,
                bw.value.map_or("?".into(), |v| v.to_string())
            ));
        }
        for at in &parsed.attributes {
            b.leaf(format!(
                "a={}{}",
                at.name,
                at.value
                    .as_deref()
                    .map(|v| format!(":{v}"))
                    .unwrap_or_default()
            ));
        }
        let ice = format!("{:?}", parsed.ice_flavour());
        b.leaf(format!("ICE flavour: {ice}"));
        for m in &parsed.media {
            b.node(
                format!(
                    "Media: {} port {} {} ({} formats)",
                    m.kind,
                    m.port,
                    m.proto,
                    m.formats.len()
                ),
                Tone::Normal,
                |b| {
                    b.leaf(format!("Direction: {:?}", m.direction).to_lowercase());
                    if let Some(l) = &m.label {
                        b.leaf(format!("Label: {l}"));
                    }
                    for (pt, codec) in &m.rtpmap {
                        b.leaf(format!("rtpmap {pt}: {codec}"));
                    }
                    for c in &m.crypto {
                        b.leaf(format!(
                            "crypto {}: {} {}",
                            c.tag,
                            c.suite,
                            c.key_params.redacted()
                        ));
                    }
                    for c in &m.cryptoscale {
                        b.leaf(format!(
                            "cryptoscale {} {}: {} {}",
                            c.tag,
                            c.direction,
                            c.suite,
                            c.key_params.redacted()
                        ));
                    }
                    if let Some(u) = &m.ice_ufrag {
                        b.leaf(format!(
                            "ice-ufrag: {u}{}",
                            if m.ice_pwd { " (ice-pwd present)" } else { "" }
                        ));
                    }
                    for c in m.candidates.iter().chain(&m.x_candidates) {
                        b.leaf(format!(
                            "candidate {} {} {}:{} {}",
                            c.foundation,
                            c.transport,
                            c.address,
                            c.port,
                            c.typ.as_deref().unwrap_or("")
                        ));
                    }
                    if let Some((first, last)) = m.x_ssrc_range {
                        b.leaf(format!("x-ssrc-range: {first}-{last}"));
                    }
                    if let Some(r) = &m.remote_candidates {
                        b.leaf(format!("remote-candidates: {r}"));
                    }
                    for at in &m.other {
                        b.leaf(format!(
                            "a={}{}",
                            at.name,
                            at.value
                                .as_deref()
                                .map(|v| format!(":{v}"))
                                .unwrap_or_default()
                        ));
                    }
                },
            );
        }
    });
}

/// The raw view: the message as text, one line per line, control characters shown as `?`.
pub(crate) fn raw_lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .split('\n')
        .map(|l| sanitize(l.strip_suffix('\r').unwrap_or(l)))
        .collect()
}

/// The hex view: offset, 16 bytes in hex, and the printable characters.
pub(crate) fn hex_lines(bytes: &[u8]) -> Vec<String> {
    bytes
        .chunks(16)
        .enumerate()
        .map(|(i, chunk)| {
            let mut hex = String::with_capacity(49);
            for (j, byte) in chunk.iter().enumerate() {
                if j == 8 {
                    hex.push(' ');
                }
                hex.push_str(&format!("{byte:02x} "));
            }
            let ascii: String = chunk
                .iter()
                .map(|&c| {
                    if c.is_ascii_graphic() || c == b' ' {
                        c as char
                    } else {
                        '.'
                    }
                })
                .collect();
            format!("{:04x}  {hex:<49} {ascii}", i * 16)
        })
        .collect()
}

/// Indices of the visible lines of a tree: those whose ancestors are all expanded.
pub(crate) fn visible(lines: &[TreeLine]) -> Vec<usize> {
    let mut out = Vec::with_capacity(lines.len());
    // Depth at which lines are hidden (below a collapsed line), if any.
    let mut hidden_below: Option<u8> = None;
    for (i, l) in lines.iter().enumerate() {
        if let Some(d) = hidden_below {
            if l.depth > d {
                continue;
            }
            hidden_below = None;
        }
        out.push(i);
        if l.has_children && !l.expanded {
            hidden_below = Some(l.depth);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decrypted_message_says_how_it_was_decrypted() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../captures/tls");
        let tls = lyncscope::tls::TlsHandle::default();
        let keylog = std::fs::read(format!("{dir}/join-tls13.keylog")).expect("key log");
        tls.add_keylog(&keylog);
        let mut files = lyncscope::capture::CaptureFiles::open(&[format!("{dir}/join-tls13.pcap")])
            .expect("capture");
        let mut p = lyncscope::Pipeline::new(&lyncscope::Options {
            keep_messages: true,
            message_store: true,
            ..lyncscope::Options::default()
        })
        .with_tls(tls.clone());
        lyncscope::pipeline::run(&mut files, &mut p);
        let a = p.analysis();
        assert!(!a.messages().is_empty());
        let bytes = a.store().and_then(|s| s.get(0)).unwrap_or_default();
        let text: Vec<String> = tree(a, 0, &bytes, Some(&tls), &[])
            .into_iter()
            .map(|l| l.text)
            .collect();
        assert!(
            text.iter().any(|l| l == "TLS 1.3, TLS_AES_128_GCM_SHA256"),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|l| l.starts_with("Decrypted with a key log")),
            "{text:?}"
        );
        // Without the handle the line says the details are gone, not something made up.
        let text: Vec<String> = tree(a, 0, &bytes, None, &[])
            .into_iter()
            .map(|l| l.text)
            .collect();
        assert!(
            text.iter().any(|l| l.contains("no longer kept")),
            "{text:?}"
        );
    }

    #[test]
    fn a_logged_message_says_where_it_was_seen() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../captures");
        let paths = vec![
            format!("{dir}/conference-join.pcapng"),
            format!("{dir}/logs/conference-join/fe01.sipstack.log"),
        ];
        let mut inputs = lyncscope::inputs::Inputs::open(
            &paths,
            &lyncscope::logs::LogOptions {
                utc_offset_secs: 3600,
                ..Default::default()
            },
        )
        .expect("inputs");
        let mut p = lyncscope::Pipeline::new(&lyncscope::Options {
            keep_messages: true,
            message_store: true,
            merge_copies: true,
            ..lyncscope::Options::default()
        });
        lyncscope::pipeline::run(&mut inputs, &mut p);
        let a = p.analysis();
        assert_eq!(a.messages().len(), 62);
        let bytes = a.store().and_then(|s| s.get(0)).unwrap_or_default();
        let text: Vec<String> = tree(a, 0, &bytes, None, &paths)
            .into_iter()
            .map(|l| l.text)
            .collect();
        assert!(text.iter().any(|l| l == "Seen in"), "{text:?}");
        assert!(
            text.iter().any(|l| l.contains("fe01.sipstack.log, line ")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|l| l.contains("conference-join.pcapng, frame ")),
            "{text:?}"
        );
    }

    #[test]
    fn a_dialog_with_a_server_event_shows_it() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../captures/av-mcu-rejected.pcapng"
        );
        let mut files =
            lyncscope::capture::CaptureFiles::open(&[path.to_string()]).expect("capture");
        let mut p = lyncscope::Pipeline::new(&lyncscope::Options {
            keep_messages: true,
            message_store: true,
            ..lyncscope::Options::default()
        });
        lyncscope::pipeline::run(&mut files, &mut p);
        let call_id = p
            .analysis()
            .call_id_of(&p.analysis().messages()[0])
            .expect("call id")
            .to_string();
        p.add_server_event(lyncscope::logs::ServerEvent {
            origin: lyncscope::source::Origin::Log { input: 0, line: 7 },
            source: Some("edge01".into()),
            time: None,
            level: Some("ERROR".into()),
            result_code: Some((
                0xC3E9_3EC3,
                Some("SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH".into()),
            )),
            text: Some("no matching FQDN".into()),
            call_id: Some(call_id),
            cseq: None,
            start_line: None,
            peer: None,
            data: None,
        });
        let a = p.analysis();
        let bytes = a.store().and_then(|s| s.get(0)).unwrap_or_default();
        let text: Vec<String> = tree(a, 0, &bytes, None, &[])
            .into_iter()
            .map(|l| l.text)
            .collect();
        assert!(
            text.iter()
                .any(|l| l == "Server events about this dialog (1)"),
            "{text:?}"
        );
        assert!(
            text.iter().any(|l| l.contains(
                "edge01: 0xC3E93EC3 SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH — no matching FQDN"
            )),
            "{text:?}"
        );
    }

    #[test]
    fn hex_and_raw() {
        let h = hex_lines(b"INVITE sip:a@b SIP/2.0\r\n\x01");
        assert_eq!(h.len(), 2);
        assert!(h[0].starts_with("0000  49 4e 56 49 54 45 20 73  69 70"));
        assert!(h[0].ends_with("INVITE sip:a@b S"));
        assert!(h[1].ends_with("IP/2.0..."));
        assert_eq!(raw_lines(b"a\r\nb\x1b\n"), vec!["a", "b?", ""]);
    }

    #[test]
    fn collapsed_lines_hide_their_children() {
        let line = |depth, has_children, expanded| TreeLine {
            depth,
            text: String::new(),
            tone: Tone::Normal,
            expanded,
            has_children,
        };
        let lines = vec![
            line(0, true, true),
            line(1, true, false),
            line(2, false, true),
            line(1, false, true),
            line(0, false, true),
        ];
        assert_eq!(visible(&lines), vec![0, 1, 3, 4]);
    }
}
