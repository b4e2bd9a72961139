//! Message bodies of the Lync conference join, in the shapes of docs/protocol.md §8: the
//! conference invitation (`application/ms-conf-invite+xml`), C3P `addUser` request and
//! response (`application/cccp+xml`), the roster (`application/conference-info+xml`, full and
//! partial), and SDP for audio (ICE RFC 5245 or draft 6, SRTP and Scale-SRTP keys,
//! `x-ssrc-range`) and for the IM MCU (`m=message`).
//!
//! Every body is built line by line and ends each line with CRLF, like the wire form the
//! protocol brief computes its Content-Lengths for.

use super::rng::Rng;
use std::net::IpAddr;

/// Joins lines with CRLF, each line (the last too) terminated.
fn crlf<S: AsRef<str>>(lines: &[S]) -> String {
    lines.iter().fold(String::new(), |mut s, line| {
        s.push_str(line.as_ref());
        s.push_str("\r\n");
        s
    })
}

const NS_CCCP: &str = "urn:ietf:params:xml:ns:cccp";
const NS_MSCP: &str = "http://schemas.microsoft.com/rtc/2005/08/cccpextensions";
const NS_CI: &str = "urn:ietf:params:xml:ns:conference-info";
const NS_MSCI: &str = "http://schemas.microsoft.com/rtc/2005/08/confinfoextensions";

/// The conference invitation (docs/protocol.md §2.2, message A1).
pub(crate) fn conf_invite(focus: &str, subject: &str, audio: bool, im: bool) -> String {
    let subject = if subject.is_empty() {
        "  <subject/>".to_owned()
    } else {
        format!("  <subject>{subject}</subject>")
    };
    crlf(&[
        "<Conferencing version=\"2.0\">".to_owned(),
        format!("  <focus-uri>{focus}</focus-uri>"),
        subject,
        format!("  <audio available=\"{audio}\"/>"),
        format!("  <im available=\"{im}\">"),
        "    <first-im/>".to_owned(),
        "  </im>".to_owned(),
        "</Conferencing>".to_owned(),
    ])
}

/// The C3P `addUser` dial-in request of a focus INVITE (message B1).
pub(crate) fn c3p_add_user(focus: &str, user: &str, request_id: u32, endpoint: &str) -> String {
    crlf(&[
        "<?xml version=\"1.0\"?>".to_owned(),
        format!(
            "<request xmlns=\"{NS_CCCP}\" xmlns:mscp=\"{NS_MSCP}\" C3PVersion=\"1\" to=\"{focus}\" \
             from=\"{user}\" requestId=\"{request_id}\">"
        ),
        "  <addUser>".to_owned(),
        format!("    <conferenceKeys confEntity=\"{focus}\"/>"),
        format!("    <ci:user xmlns:ci=\"{NS_CI}\" entity=\"{user}\">"),
        "      <ci:roles>".to_owned(),
        "        <ci:entry>attendee</ci:entry>".to_owned(),
        "      </ci:roles>".to_owned(),
        format!("      <ci:endpoint entity=\"{endpoint}\" xmlns:msci=\"{NS_MSCI}\"/>"),
        "    </ci:user>".to_owned(),
        "  </addUser>".to_owned(),
        "</request>".to_owned(),
    ])
}

/// The outcome a C3P response reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum C3pCode {
    /// `code="success"` with the granted role.
    Success { role: &'static str },
    /// `code="pending"`: the focus put the user in the lobby.
    Pending,
    /// `code="failure"` with `<addUser reason="…">`.
    Failure { reason: &'static str },
}

/// The C3P response in the 200 OK to a focus INVITE (messages B2 and N3).
pub(crate) fn c3p_add_user_response(
    focus: &str,
    user: &str,
    request_id: u32,
    endpoint: &str,
    code: C3pCode,
) -> String {
    match code {
        C3pCode::Success { .. } | C3pCode::Pending => crlf(&[
            "<?xml version=\"1.0\"?>".to_owned(),
            format!(
                "<response xmlns=\"{NS_CCCP}\" xmlns:msci=\"{NS_MSCI}\" C3PVersion=\"1\" \
                 requestId=\"{request_id}\" from=\"{focus}\" to=\"{user}\" code=\"{}\">",
                if code == C3pCode::Pending {
                    "pending"
                } else {
                    "success"
                }
            ),
            "  <addUser>".to_owned(),
            format!("    <conferenceKeys confEntity=\"{focus}\"/>"),
            format!("    <ci:user xmlns:ci=\"{NS_CI}\" entity=\"{user}\">"),
            "      <ci:roles>".to_owned(),
            format!(
                "        <ci:entry>{}</ci:entry>",
                match code {
                    C3pCode::Success { role } => role,
                    _ => "attendee",
                }
            ),
            "      </ci:roles>".to_owned(),
            format!("      <ci:endpoint entity=\"{endpoint}\"/>"),
            "    </ci:user>".to_owned(),
            "  </addUser>".to_owned(),
            "</response>".to_owned(),
        ]),
        C3pCode::Failure { reason } => crlf(&[
            "<?xml version=\"1.0\"?>".to_owned(),
            format!(
                "<response xmlns=\"{NS_CCCP}\" C3PVersion=\"1\" requestId=\"{request_id}\" \
                 from=\"{focus}\" to=\"{user}\" code=\"failure\">"
            ),
            format!("  <addUser reason=\"{reason}\">"),
            format!("    <conferenceKeys confEntity=\"{focus}\"/>"),
            "  </addUser>".to_owned(),
            "</response>".to_owned(),
        ]),
    }
}

/// The kind of session an endpoint has in the conference (`endpoint@session-type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SessionType {
    Focus,
    AudioVideo,
    Chat,
    ApplicationSharing,
}

impl SessionType {
    fn as_str(self) -> &'static str {
        match self {
            SessionType::Focus => "focus",
            SessionType::AudioVideo => "audio-video",
            SessionType::Chat => "chat",
            SessionType::ApplicationSharing => "applicationsharing",
        }
    }
}

/// One endpoint of a roster user.
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    pub entity: String,
    pub session: SessionType,
    /// `connected`, `on-hold` (waiting in the lobby), `disconnected`.
    pub status: &'static str,
    /// `dialed-in` (the user's side called), `dialed-out` (the MCU called them).
    pub joining: &'static str,
    /// How a `disconnected` endpoint went (RFC 4575 §5.7.6: `departed`, `booted`, `failed`).
    pub disconnection: Option<&'static str>,
}

impl Endpoint {
    /// A connected endpoint the user's side dialled in.
    pub(crate) fn new(entity: String, session: SessionType) -> Self {
        Endpoint {
            entity,
            session,
            status: "connected",
            joining: "dialed-in",
            disconnection: None,
        }
    }

    /// The endpoint element at `indent` spaces; `full` marks it `state="full"` (in partial
    /// notifications) and shows the server-side mute state of its media.
    fn xml(&self, indent: usize, full: bool) -> Vec<String> {
        let pad = " ".repeat(indent);
        let state = if full { " state=\"full\"" } else { "" };
        let mut lines = vec![
            format!(
                "{pad}<endpoint entity=\"{}\" session-type=\"{}\"{state}>",
                self.entity,
                self.session.as_str()
            ),
            format!("{pad}  <status>{}</status>", self.status),
            format!("{pad}  <joining-method>{}</joining-method>", self.joining),
        ];
        if let Some(how) = self.disconnection {
            lines.push(format!(
                "{pad}  <disconnection-method>{how}</disconnection-method>"
            ));
        }
        let connected = self.status == "connected";
        if self.session == SessionType::ApplicationSharing && connected {
            lines.push(format!("{pad}  <media id=\"3\">"));
            lines.push(format!("{pad}    <type>applicationsharing</type>"));
            lines.push(format!("{pad}    <label>applicationsharing</label>"));
            lines.push(format!("{pad}    <status>sendrecv</status>"));
            lines.push(format!("{pad}  </media>"));
        }
        if self.session == SessionType::AudioVideo && connected {
            lines.push(format!("{pad}  <media id=\"1\">"));
            lines.push(format!("{pad}    <type>audio</type>"));
            lines.push(format!("{pad}    <label>main-audio</label>"));
            lines.push(format!("{pad}    <status>sendrecv</status>"));
            if full {
                lines.push(format!(
                    "{pad}    <msci:media-ingress-filter>unblock</msci:media-ingress-filter>"
                ));
            }
            lines.push(format!("{pad}  </media>"));
        }
        lines.push(format!("{pad}</endpoint>"));
        lines
    }
}

/// One participant as the roster shows it.
#[derive(Clone, Debug)]
pub(crate) struct RosterUser {
    pub entity: String,
    pub display: String,
    pub role: &'static str,
    pub endpoints: Vec<Endpoint>,
}

impl RosterUser {
    /// The `user` element with everything known (`state="full"`), at 4 spaces.
    pub(crate) fn full_xml(&self) -> Vec<String> {
        let mut lines = vec![
            format!("    <user entity=\"{}\" state=\"full\">", self.entity),
            format!("      <display-text>{}</display-text>", self.display),
            "      <roles>".to_owned(),
            format!("        <entry>{}</entry>", self.role),
            "      </roles>".to_owned(),
        ];
        for endpoint in &self.endpoints {
            lines.extend(endpoint.xml(6, false));
        }
        lines.push("    </user>".to_owned());
        lines
    }
}

/// A partial `user` element that adds or updates one endpoint (message C3).
pub(crate) fn endpoint_update_xml(user: &str, endpoint: &Endpoint) -> Vec<String> {
    endpoints_update_xml(user, std::slice::from_ref(endpoint))
}

/// A partial `user` element that adds or updates endpoints.
pub(crate) fn endpoints_update_xml(user: &str, endpoints: &[Endpoint]) -> Vec<String> {
    let mut lines = vec![format!("    <user entity=\"{user}\" state=\"partial\">")];
    for endpoint in endpoints {
        lines.extend(endpoint.xml(6, true));
    }
    lines.push("    </user>".to_owned());
    lines
}

/// A `user` element that removes the user from the roster.
pub(crate) fn user_deleted_xml(user: &str) -> Vec<String> {
    vec![format!("    <user entity=\"{user}\" state=\"deleted\"/>")]
}

fn conference_info_open(focus: &str, state: &str, version: u32) -> String {
    format!(
        "<conference-info xmlns=\"{NS_CI}\" xmlns:msci=\"{NS_MSCI}\" entity=\"{focus}\" \
         state=\"{state}\" version=\"{version}\">"
    )
}

/// A full roster (message C2): description with the MCU URIs, then every user.
pub(crate) fn roster_full(
    focus: &str,
    subject: &str,
    mcus: &[(String, &str)],
    users: &[RosterUser],
    version: u32,
) -> String {
    let mut lines = vec![
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>".to_owned(),
        conference_info_open(focus, "full", version),
        "  <conference-description>".to_owned(),
        if subject.is_empty() {
            "    <subject/>".to_owned()
        } else {
            format!("    <subject>{subject}</subject>")
        },
        "    <conf-uris>".to_owned(),
    ];
    for (uri, purpose) in mcus {
        lines.push("      <entry>".to_owned());
        lines.push(format!("        <uri>{uri}</uri>"));
        lines.push(format!("        <display-text>{purpose}</display-text>"));
        lines.push(format!("        <purpose>{purpose}</purpose>"));
        lines.push("      </entry>".to_owned());
    }
    lines.push("    </conf-uris>".to_owned());
    lines.push("  </conference-description>".to_owned());
    lines.push("  <users>".to_owned());
    for user in users {
        lines.extend(user.full_xml());
    }
    lines.push("  </users>".to_owned());
    lines.push("</conference-info>".to_owned());
    crlf(&lines)
}

/// The document that tells a subscriber the conference is gone (RFC 4575 §5.1: the root's
/// `state="deleted"`).
pub(crate) fn roster_deleted(focus: &str, version: u32) -> String {
    crlf(&[
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>".to_owned(),
        conference_info_open(focus, "deleted", version),
        "</conference-info>".to_owned(),
    ])
}

/// A C3P request ([MS-CONFPRO] 2.2.2) from `from` to `to` (the focus, or the focus factory),
/// carrying one command's lines.
pub(crate) fn c3p_request(to: &str, from: &str, request_id: u32, command: &[String]) -> String {
    let mut lines = vec![
        "<?xml version=\"1.0\"?>".to_owned(),
        format!(
            "<request xmlns=\"{NS_CCCP}\" xmlns:mscp=\"{NS_MSCP}\" C3PVersion=\"1\" to=\"{to}\" \
             from=\"{from}\" requestId=\"{request_id}\">"
        ),
    ];
    lines.extend_from_slice(command);
    lines.push("</request>".to_owned());
    crlf(&lines)
}

/// The C3P response ([MS-CONFPRO] 2.2.3) to a request, `code` `success` or `failure`.
pub(crate) fn c3p_response(
    from: &str,
    to: &str,
    request_id: u32,
    code: &str,
    command: &[String],
) -> String {
    let mut lines = vec![
        "<?xml version=\"1.0\"?>".to_owned(),
        format!(
            "<response xmlns=\"{NS_CCCP}\" xmlns:msci=\"{NS_MSCI}\" C3PVersion=\"1\" \
             requestId=\"{request_id}\" from=\"{from}\" to=\"{to}\" code=\"{code}\">"
        ),
    ];
    lines.extend_from_slice(command);
    lines.push("</response>".to_owned());
    crlf(&lines)
}

/// `addConference` to the focus factory ([MS-CONFBAS] 2.2.3.8, as sipe-conf.c sends it): the
/// client picks the conference ID; the MCUs it wants are the conference view.
pub(crate) fn add_conference(id: &str, subject: &str, expiry: &str) -> Vec<String> {
    let mut lines = vec![
        "  <addConference>".to_owned(),
        format!(
            "    <ci:conference-info xmlns:ci=\"{NS_CI}\" entity=\"\" xmlns:msci=\"{NS_MSCI}\">"
        ),
        "      <ci:conference-description>".to_owned(),
        format!("        <ci:subject>{subject}</ci:subject>"),
        format!("        <msci:conference-id>{id}</msci:conference-id>"),
        format!("        <msci:expiry-time>{expiry}</msci:expiry-time>"),
        "        <msci:admission-policy>openAuthenticated</msci:admission-policy>".to_owned(),
        "      </ci:conference-description>".to_owned(),
        "      <msci:conference-view>".to_owned(),
    ];
    for mcu in ["chat", "audio-video", "applicationsharing"] {
        lines.push(format!("        <msci:entity-view entity=\"{mcu}\"/>"));
    }
    lines.extend([
        "      </msci:conference-view>".to_owned(),
        "    </ci:conference-info>".to_owned(),
        "  </addConference>".to_owned(),
    ]);
    lines
}

/// The focus factory's answer to `addConference`: the new conference's focus URI.
pub(crate) fn add_conference_done(focus: &str) -> Vec<String> {
    vec![
        "  <addConference>".to_owned(),
        format!("    <ci:conference-info xmlns:ci=\"{NS_CI}\" entity=\"{focus}\"/>"),
        "  </addConference>".to_owned(),
    ]
}

/// `setLobbyAccess` ([MS-CONFBAS] 4.4.8): `granted` admits the user; the refusing value is
/// not in the retrieved text (UCMA calls it "deny"), `denied` is written.
pub(crate) fn set_lobby_access(focus: &str, user: &str, granted: bool) -> Vec<String> {
    vec![
        "  <setLobbyAccess>".to_owned(),
        format!("    <conferenceKeys confEntity=\"{focus}\"/>"),
        format!("    <userEntity>{user}</userEntity>"),
        format!(
            "    <access>{}</access>",
            if granted { "granted" } else { "denied" }
        ),
        "  </setLobbyAccess>".to_owned(),
    ]
}

/// `deleteUser` ([MS-CONFIM] 4.3.1): a leader removes `user`.
pub(crate) fn delete_user(focus: &str, user: &str) -> Vec<String> {
    vec![
        "  <deleteUser>".to_owned(),
        format!("    <userKeys confEntity=\"{focus}\" userEntity=\"{user}\"/>"),
        "  </deleteUser>".to_owned(),
    ]
}

/// `deleteConference` ([MS-CONFBAS] 2.2.3.14): ends the conference for everyone.
pub(crate) fn delete_conference(focus: &str) -> Vec<String> {
    vec![
        "  <deleteConference>".to_owned(),
        format!("    <conferenceKeys confEntity=\"{focus}\"/>"),
        "  </deleteConference>".to_owned(),
    ]
}

/// An empty answer element of a command (`<deleteUser/>`), for the C3P response.
pub(crate) fn c3p_done(command: &str, focus: &str) -> Vec<String> {
    vec![
        format!("  <{command}>"),
        format!("    <conferenceKeys confEntity=\"{focus}\"/>"),
        format!("  </{command}>"),
    ]
}

/// `addUser` dial-out ([MS-CONFBAS] 2.2.3.15): the A/V MCU is to call `user` (a SIP URI) at
/// `endpoint_uri`.
pub(crate) fn add_user_dial_out(
    focus: &str,
    mcu: &str,
    user: &str,
    endpoint: &str,
    endpoint_uri: &str,
) -> Vec<String> {
    vec![
        format!("  <addUser mscp:mcuUri=\"{mcu}\">"),
        format!("    <conferenceKeys confEntity=\"{focus}\"/>"),
        format!("    <ci:user xmlns:ci=\"{NS_CI}\" entity=\"{user}\">"),
        "      <ci:roles>".to_owned(),
        "        <ci:entry>attendee</ci:entry>".to_owned(),
        "      </ci:roles>".to_owned(),
        format!("      <ci:endpoint entity=\"{endpoint}\" endpoint-uri=\"{endpoint_uri}\">"),
        "        <ci:joining-method>dialed-out</ci:joining-method>".to_owned(),
        "      </ci:endpoint>".to_owned(),
        "    </ci:user>".to_owned(),
        "  </addUser>".to_owned(),
    ]
}

/// The focus's answer to an `addUser` dial-out.
pub(crate) fn add_user_dial_out_done(focus: &str, user: &str, endpoint: &str) -> Vec<String> {
    vec![
        "  <addUser>".to_owned(),
        format!("    <conferenceKeys confEntity=\"{focus}\"/>"),
        format!("    <ci:user xmlns:ci=\"{NS_CI}\" entity=\"{user}\">"),
        format!("      <ci:endpoint entity=\"{endpoint}\"/>"),
        "    </ci:user>".to_owned(),
        "  </addUser>".to_owned(),
    ]
}

/// A partial roster carrying one `user` element (message C3).
pub(crate) fn roster_partial(focus: &str, version: u32, user_xml: &[String]) -> String {
    let mut lines = vec![
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>".to_owned(),
        conference_info_open(focus, "partial", version),
        "  <users>".to_owned(),
    ];
    lines.extend_from_slice(user_xml);
    lines.push("  </users>".to_owned());
    lines.push("</conference-info>".to_owned());
    crlf(&lines)
}

/// The ICE flavour of an SDP offer (docs/protocol.md §4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ice {
    /// ICE RFC 5245 ("v19"): `a=ice-ufrag`/`a=ice-pwd` and `typ` candidates.
    Rfc5245,
    /// ICE draft 6: credentials inside each candidate, q-values, no `typ`.
    Draft6,
}

/// How an answer protects the media it accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protection {
    /// The A/V MCU accepts the Scale-SRTP (`a=cryptoscale:1`) line.
    ScaleSrtp,
    /// A peer accepts plain SRTP (`a=crypto:2`).
    Srtp,
}

/// One side's audio media: address, port, SSRC, ICE credentials and SRTP keys, from which
/// offers, answers and post-ICE re-offers are written consistently.
#[derive(Clone, Debug)]
pub(crate) struct Audio {
    pub ip: IpAddr,
    pub port: u16,
    ssrc: u32,
    ice: Ice,
    ufrag: String,
    pwd: String,
    /// draft-6 candidate credentials (username, password) for UDP and TCP candidates
    draft6: [(String, String); 2],
    keys: [String; 3],
    /// The relayed address the A/V Edge allocated (TURN), for a client outside: its checks
    /// and media go through it.
    pub relay: Option<(IpAddr, u16)>,
}

impl Audio {
    pub(crate) fn new(rng: &mut Rng, ip: IpAddr, port: u16, ice: Ice) -> Self {
        Audio {
            ip,
            port,
            ssrc: rng.range(1 << 20, 4_294_967_040) as u32,
            ice,
            ufrag: rng.alnum(4),
            pwd: rng.alnum(24),
            draft6: [
                (rng.alnum(32), rng.alnum(22)),
                (rng.alnum(32), rng.alnum(22)),
            ],
            keys: [rng.base64(40), rng.base64(40), rng.base64(40)],
            relay: None,
        }
    }

    /// The ICE username fragment (`a=ice-ufrag`).
    pub(crate) fn ufrag(&self) -> &str {
        &self.ufrag
    }

    /// The SSRC this side sends with (`a=x-ssrc-range`).
    pub(crate) fn ssrc(&self) -> u32 {
        self.ssrc
    }

    fn family(&self) -> &'static str {
        if self.ip.is_ipv6() {
            "IP6"
        } else {
            "IP4"
        }
    }

    /// `a=candidate:` for IPv4, `a=x-candidate-ipv6:` for IPv6 (MS-SDPEXT).
    fn candidate_attr(&self) -> &'static str {
        if self.ip.is_ipv6() {
            "a=x-candidate-ipv6"
        } else {
            "a=candidate"
        }
    }

    fn session_lines(&self, version: u32) -> Vec<String> {
        let fam = self.family();
        vec![
            "v=0".to_owned(),
            format!("o=- 0 {version} IN {fam} {}", self.ip),
            "s=session".to_owned(),
            format!("c=IN {fam} {}", self.ip),
            "b=CT:99980".to_owned(),
            "t=0 0".to_owned(),
        ]
    }

    fn candidates(&self, with_tcp: bool) -> Vec<String> {
        let (ip, rtp, rtcp, attr) = (self.ip, self.port, self.port + 1, self.candidate_attr());
        match self.ice {
            Ice::Rfc5245 => {
                let mut lines = vec![
                    format!("a=ice-ufrag:{}", self.ufrag),
                    format!("a=ice-pwd:{}", self.pwd),
                    format!("{attr}:1 1 UDP 2130706431 {ip} {rtp} typ host"),
                    format!("{attr}:1 2 UDP 2130705918 {ip} {rtcp} typ host"),
                ];
                if let Some((rip, rport)) = self.relay {
                    lines.push(format!(
                        "{attr}:3 1 UDP 16648703 {rip} {rport} typ relay raddr {ip} rport {rtp}"
                    ));
                    lines.push(format!(
                        "{attr}:3 2 UDP 16648702 {rip} {} typ relay raddr {ip} rport {rtcp}",
                        rport + 1
                    ));
                }
                if with_tcp {
                    lines.push(format!(
                        "{attr}:2 1 TCP-ACT 1684798463 {ip} {rtp} typ srflx raddr {ip} rport {rtp}"
                    ));
                    lines.push(format!(
                        "{attr}:2 2 TCP-ACT 1684797950 {ip} {rtp} typ srflx raddr {ip} rport {rtp}"
                    ));
                }
                lines
            }
            Ice::Draft6 => {
                let [(u1, p1), (u2, p2)] = &self.draft6;
                let mut lines = vec![
                    format!("{attr}:{u1} 1 {p1} UDP 0.830 {ip} {rtp}"),
                    format!("{attr}:{u1} 2 {p1} UDP 0.830 {ip} {rtcp}"),
                ];
                if with_tcp {
                    lines.push(format!("{attr}:{u2} 1 {p2} TCP 0.190 {ip} {}", rtp + 2));
                    lines.push(format!("{attr}:{u2} 2 {p2} TCP 0.190 {ip} {}", rtp + 2));
                }
                lines
            }
        }
    }

    fn codec_lines(&self) -> Vec<String> {
        [
            "a=rtpmap:117 G722/8000/2",
            "a=rtpmap:104 SILK/16000",
            "a=fmtp:104 useinbandfec=1; usedtx=0",
            "a=rtpmap:114 x-msrta/16000",
            "a=fmtp:114 bitrate=29000",
            "a=rtpmap:9 G722/8000",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:8 PCMA/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-16",
            "a=rtpmap:13 CN/8000",
            "a=ptime:20",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    }

    fn media_head(&self, profile: &str) -> Vec<String> {
        vec![
            format!("m=audio {} {profile} 117 104 114 9 0 8 101 13", self.port),
            format!("a=x-ssrc-range:{0}-{0}", self.ssrc),
            "a=rtcp-fb:* x-message app send:dsh recv:dsh".to_owned(),
            "a=rtcp-rsize".to_owned(),
            "a=label:main-audio".to_owned(),
            "a=x-source:main-audio".to_owned(),
        ]
    }

    fn cryptoscale(&self) -> String {
        format!(
            "a=cryptoscale:1 client AES_CM_128_HMAC_SHA1_80 inline:{}|2^31|1:1",
            self.keys[0]
        )
    }

    fn crypto(&self, tag: usize) -> String {
        let lifetime = if tag == 3 { "|2^31" } else { "|2^31|1:1" };
        format!(
            "a=crypto:{tag} AES_CM_128_HMAC_SHA1_80 inline:{}{lifetime}",
            self.keys[tag - 1]
        )
    }

    /// An initial offer (message D1): RTP/AVP with SRTP optional, Scale-SRTP and two SRTP
    /// keys, host and TCP candidates.
    pub(crate) fn offer(&self) -> String {
        let mut lines = self.session_lines(0);
        lines.push("a=x-devicecaps:audio:send,recv;video:send,recv".to_owned());
        lines.extend(self.media_head("RTP/AVP"));
        lines.extend(self.candidates(true));
        lines.push(self.cryptoscale());
        lines.push(self.crypto(2));
        lines.push(self.crypto(3));
        lines.push("a=maxptime:200".to_owned());
        lines.push(format!("a=rtcp:{}", self.port + 1));
        lines.extend(self.codec_lines());
        crlf(&lines)
    }

    /// An answer (message D2) with session version `version`: RTP/SAVP with the one
    /// accepted key line.
    pub(crate) fn answer(&self, protection: Protection, version: u32) -> String {
        let mut lines = self.session_lines(version);
        lines.extend(self.media_head("RTP/SAVP"));
        lines.extend(self.candidates(false));
        lines.push(match protection {
            Protection::ScaleSrtp => self.cryptoscale(),
            Protection::Srtp => self.crypto(2),
        });
        lines.push("a=maxptime:200".to_owned());
        lines.push(format!("a=rtcp:{}", self.port + 1));
        lines.extend(self.codec_lines());
        crlf(&lines)
    }

    /// The post-ICE re-offer (message D4): the selected pair in `a=remote-candidates`.
    pub(crate) fn reoffer(&self, remote: &Audio) -> String {
        let mut lines = self.session_lines(1);
        lines.extend(self.media_head("RTP/SAVP").into_iter().take(2));
        lines.extend(self.candidates(false));
        let (rip, rport) = (remote.ip, remote.port);
        lines.push(match self.ice {
            Ice::Rfc5245 => {
                format!("a=remote-candidates:1 {rip} {rport} 2 {rip} {}", rport + 1)
            }
            Ice::Draft6 => format!("a=remote-candidate:{}", remote.draft6[0].0),
        });
        lines.push(self.cryptoscale());
        lines.push(format!("a=rtcp:{}", self.port + 1));
        lines.extend(self.codec_lines());
        crlf(&lines)
    }
}

/// The SDP of an application sharing join ([MS-CONFAS]; lines as sipe-appshare.c writes
/// them): RDP over RTP over TCP, ICE TCP candidates, the side's role. `answer` is the MCU's.
pub(crate) fn sharing_sdp(
    rng: &mut Rng,
    ip: IpAddr,
    port: u16,
    role: &str,
    answer: bool,
) -> String {
    let fam = if ip.is_ipv6() { "IP6" } else { "IP4" };
    let (ufrag, pwd) = (rng.alnum(4), rng.alnum(24));
    crlf(&[
        "v=0".to_owned(),
        format!("o=- 0 0 IN {fam} {ip}"),
        "s=session".to_owned(),
        format!("c=IN {fam} {ip}"),
        "b=CT:99980".to_owned(),
        "t=0 0".to_owned(),
        format!("m=applicationsharing {port} TCP/RTP/AVP 127"),
        format!("a=ice-ufrag:{ufrag}"),
        format!("a=ice-pwd:{pwd}"),
        format!("a=candidate:1 1 TCP-PASS 2120613887 {ip} {port} typ host"),
        format!("a=candidate:1 2 TCP-PASS 2120613374 {ip} {port} typ host"),
        format!(
            "a=candidate:2 1 TCP-ACT 2121006591 {ip} {} typ host",
            port + 1
        ),
        format!(
            "a=candidate:2 2 TCP-ACT 2121006078 {ip} {} typ host",
            port + 1
        ),
        format!("a=setup:{}", if answer { "passive" } else { "active" }),
        "a=connection:new".to_owned(),
        format!("a=rtcp:{port}"),
        "a=mid:1".to_owned(),
        "a=rtpmap:127 x-data/90000".to_owned(),
        "a=x-applicationsharing-session-id:1".to_owned(),
        format!("a=x-applicationsharing-role:{role}"),
        "a=x-applicationsharing-media-type:rdp".to_owned(),
    ])
}

/// The SDP of an IM MCU join (docs/protocol.md §4.1): `m=message 5060 sip null`.
pub(crate) fn message_sdp(ip: IpAddr) -> String {
    let fam = if ip.is_ipv6() { "IP6" } else { "IP4" };
    crlf(&[
        "v=0".to_owned(),
        format!("o=- 0 0 IN {fam} {ip}"),
        "s=session".to_owned(),
        format!("c=IN {fam} {ip}"),
        "t=0 0".to_owned(),
        "m=message 5060 sip null".to_owned(),
        "a=accept-types:text/plain text/html multipart/alternative \
         application/im-iscomposing+xml application/ms-imdn+xml"
            .to_owned(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example_shapes_have_the_documented_lengths() {
        // A1 and B1 of docs/protocol.md §8 rebuilt by the builders give the documented
        // Content-Length values.
        let focus = "sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP";
        assert_eq!(conf_invite(focus, "Weekly sync", true, false).len(), 249);
        let endpoint = "{2C5F80EE-197A-4A55-8EAC-29D771249B52}";
        assert_eq!(
            c3p_add_user(focus, "sip:bob@example.com", 17, endpoint).len(),
            727
        );
        let ok = C3pCode::Success { role: "attendee" };
        assert_eq!(
            c3p_add_user_response(focus, "sip:bob@example.com", 17, endpoint, ok).len(),
            675
        );
        let fail = C3pCode::Failure {
            reason: "otherFailure",
        };
        assert_eq!(
            c3p_add_user_response(focus, "sip:bob@example.com", 17, endpoint, fail).len(),
            368
        );
    }

    #[test]
    fn ipv6_audio_uses_x_candidate_ipv6() {
        let mut rng = Rng::new(1);
        let a = Audio::new(
            &mut rng,
            "2001:db8::1".parse().unwrap(),
            50040,
            Ice::Rfc5245,
        );
        let offer = a.offer();
        assert!(offer.contains("c=IN IP6 2001:db8::1\r\n"));
        assert!(
            offer.contains("a=x-candidate-ipv6:1 1 UDP 2130706431 2001:db8::1 50040 typ host\r\n")
        );
        assert!(!offer.contains("a=candidate:"));
    }
}
