//! The scenarios written as the text logs Lync admins hold, from the same messages as the
//! captures ([`Generated::messages`]):
//!
//! * the Front End's SIPStack log (`fe01.sipstack.log`): every message, since every message of
//!   a scenario passes through the FE (registrar, proxy, focus and MCUs are all on it); a
//!   message from a client is `incoming`, one to a client `outgoing`, `Peer:` is the client;
//! * each client's UCCAPI log (`<user>.uccapi.log`): the messages that client sent and
//!   received, with its local address and the FE's;
//! * one client's pidgin-sipe log (`<user>.sipe.log`): the same messages, no addresses.
//!
//! SIPStack and UCCAPI times are written in the lab's local time, UTC+01:00
//! ([`LOG_UTC_OFFSET`]); sipe writes UTC. Every message is logged at the time the capture has
//! it whole: no clock skew, no path delay between the client and the capture point.
//!
//! `cargo run --example make_captures` writes them to `captures/logs/<scenario>/` with
//! `captures/logs/README.md` ([`readme`]).

use super::{Generated, Scenario, SipMessage};
use lyncscope_logs::{write_sipe, write_sipstack, write_uccapi, Direction, Endpoint, WriteMeta};
use lyncscope_logs::{Format, Host};
use std::fmt::Write as _;
use std::net::SocketAddr;

/// The offset from UTC of the local time the FE and the clients write (SIPStack, UCCAPI), in
/// seconds: readers must be given it (`--log-utc-offset +01:00`). sipe logs are in UTC.
pub const LOG_UTC_OFFSET_SECS: i32 = 3600;
/// [`LOG_UTC_OFFSET_SECS`] as the command line option takes it.
pub const LOG_UTC_OFFSET: &str = "+01:00";
/// The machine name in the bracket of the FE's SIPStack record headers.
pub const FE_SERVER_NAME: &str = "fe01.example.com";
/// File name of the FE's SIPStack log in a scenario's directory.
pub const FE_LOG_FILE: &str = "fe01.sipstack.log";

/// The FE's process id (RTCSrv) in its records.
const FE_PID: u32 = 0x0A54;
/// First record sequence number of the FE's log.
const FE_FIRST_SEQUENCE: u32 = 0x0001_2A40;

/// One log of a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFile {
    /// File name in the scenario's directory (`fe01.sipstack.log`, `bob.uccapi.log`, …).
    pub file_name: String,
    /// Its format.
    pub format: Format,
    /// The user whose client wrote it; `None` for the FE's log.
    pub user: Option<&'static str>,
    /// The UTC offset a reader must be given for its times (`ReadOptions::utc_offset_secs`):
    /// [`LOG_UTC_OFFSET_SECS`] for SIPStack and UCCAPI; sipe writes UTC and ignores it.
    pub utc_offset_secs: i32,
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// What the log holds, in file order: one entry per SIP message.
    pub entries: Vec<LogEntry>,
}

/// One message of a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Index of the message in [`Generated::messages`].
    pub message: usize,
    /// Direction as the logging machine sees it.
    pub direction: Direction,
    /// The time the log states, as UTC ns: the message's time cut to the format's precision
    /// (milliseconds for SIPStack and UCCAPI, microseconds for sipe).
    pub time_ns: i64,
}

impl Generated {
    /// The scenario's logs: the FE's SIPStack log, then each client's UCCAPI log (in the order
    /// the clients first appear), then one client's sipe log (see [`sipe_user`]).
    pub fn logs(&self, scenario: &Scenario) -> Vec<LogFile> {
        let messages = self.messages();
        let mut logs = Vec::new();
        if messages.is_empty() || not_written(scenario.name).is_some() {
            return logs;
        }
        let all: Vec<usize> = (0..messages.len()).collect();
        logs.push(write_log(messages, Format::SipStack, None, &all));
        let users = users(messages);
        for (i, user) in users.iter().enumerate() {
            let own = own_messages(messages, user);
            logs.push(write_log(messages, Format::UccApi, Some((i, user)), &own));
        }
        let sipe = sipe_user(scenario.name);
        let sipe = users
            .iter()
            .position(|u| *u == sipe)
            .or((!users.is_empty()).then_some(0));
        if let Some(i) = sipe {
            let user = users[i];
            let own = own_messages(messages, user);
            logs.push(write_log(messages, Format::Sipe, Some((i, user)), &own));
        }
        logs
    }
}

/// The client whose pidgin-sipe log is written for a scenario: the participant whose join
/// is the subject (the one who fails where someone fails), `bob` unless the scenario has no
/// bob. A scenario not named here gets its first client's.
pub fn sipe_user(scenario: &str) -> &'static str {
    match scenario {
        "invitation-declined" => "dave",
        "multi-conference" => "judy",
        _ => "bob",
    }
}

/// Why a scenario has no logs, for the scenarios that have none: their traffic crosses the
/// FE from a server beside it as well as from clients, and the logs here are the FE's and its
/// clients' own, each client's holding exactly what it sent and received.
pub fn not_written(scenario: &str) -> Option<&'static str> {
    match scenario {
        "lobby-and-guests" => Some(
            "the guests' and the federated partner's messages reach the FE through the Access \
             Edge, which rewrites them (its Via, Record-Route and trust header): their clients' \
             logs would not hold the messages of the capture, and the Edge writes a server log \
             of its own, not a client's",
        ),
        "dial-in-and-rejoin" => Some(
            "the phone calls reach the FE from the Mediation Server, a server whose log is a \
             SIPStack log of its own with the gateway's side the capture does not see, not a \
             client's",
        ),
        _ => None,
    }
}

/// Users in the order their first message appears.
fn users(messages: &[SipMessage]) -> Vec<&'static str> {
    let mut users: Vec<&'static str> = Vec::new();
    for m in messages {
        if !users.contains(&m.user) {
            users.push(m.user);
        }
    }
    users
}

fn own_messages(messages: &[SipMessage], user: &str) -> Vec<usize> {
    (0..messages.len())
        .filter(|&i| messages[i].user == user)
        .collect()
}

fn endpoint(addr: SocketAddr) -> Endpoint<'static> {
    Endpoint {
        host: Host::Ip(addr.ip()),
        port: Some(addr.port()),
    }
}

/// Writes the messages `which` (indices into `messages`) in one format; `client` is the index
/// and name of the client writing it (`None`: the FE).
fn write_log(
    messages: &[SipMessage],
    format: Format,
    client: Option<(usize, &'static str)>,
    which: &[usize],
) -> LogFile {
    let mut bytes = Vec::new();
    let mut entries = Vec::with_capacity(which.len());
    let user = client.map(|(_, u)| u);
    let client_index = client.map_or(0, |(i, _)| i as u32);
    let client_users = users(messages);
    for (n, &i) in which.iter().enumerate() {
        let m = &messages[i];
        // the client's own view: it sends what goes to the FE
        let client_dir = if m.from_client {
            Direction::Sent
        } else {
            Direction::Received
        };
        let (direction, local, remote, pid, tid) = match format {
            Format::SipStack => {
                let k = client_users.iter().position(|u| *u == m.user).unwrap_or(0) as u32;
                let dir = match client_dir {
                    Direction::Sent => Direction::Received,
                    Direction::Received => Direction::Sent,
                };
                // one worker thread per client connection
                (dir, None, Some(endpoint(m.client)), FE_PID, 0x1B10 + 4 * k)
            }
            Format::UccApi | Format::Sipe => (
                client_dir,
                Some(endpoint(m.client)),
                Some(endpoint(m.server)),
                0x1F68 + 0x134 * client_index,
                0x0C14,
            ),
        };
        let meta = WriteMeta {
            time_ns: m.time_ns,
            utc_offset_secs: LOG_UTC_OFFSET_SECS,
            direction,
            local,
            remote,
            server: FE_SERVER_NAME,
            pid,
            tid,
            sequence: FE_FIRST_SEQUENCE + n as u32,
        };
        // writing to a Vec cannot fail
        let _ = match format {
            Format::SipStack => write_sipstack(&mut bytes, &m.bytes, &meta),
            Format::UccApi => write_uccapi(&mut bytes, &m.bytes, &meta),
            Format::Sipe => write_sipe(&mut bytes, &m.bytes, &meta),
        };
        let precision = match format {
            Format::Sipe => 1_000,
            Format::SipStack | Format::UccApi => 1_000_000,
        };
        entries.push(LogEntry {
            message: i,
            direction,
            time_ns: m.time_ns - m.time_ns.rem_euclid(precision),
        });
    }
    let file_name = match (format, user) {
        (Format::SipStack, _) | (_, None) => FE_LOG_FILE.to_owned(),
        (Format::UccApi, Some(u)) => format!("{u}.uccapi.log"),
        (Format::Sipe, Some(u)) => format!("{u}.sipe.log"),
    };
    LogFile {
        file_name,
        format,
        user,
        utc_offset_secs: match format {
            Format::Sipe => 0,
            Format::SipStack | Format::UccApi => LOG_UTC_OFFSET_SECS,
        },
        bytes,
        entries,
    }
}

/// `captures/logs/README.md` for the given scenarios and their captures.
pub fn readme(captures: &[(Scenario, Generated)]) -> String {
    let mut s = String::new();
    s.push_str(README_HEAD);
    s.push_str(
        "\n| Scenario | File | Format | Client | Messages | Bytes | Give |\n\
         |---|---|---|---|---:|---:|---|\n",
    );
    for (scenario, generated) in captures {
        let logs = generated.logs(scenario);
        if let Some(why) = not_written(scenario.name) {
            let _ = writeln!(
                s,
                "| [`{}`](../{}) | — | — | — | 0 | 0 | not written: {why} |",
                scenario.name, scenario.file_name
            );
        } else if logs.is_empty() {
            let _ = writeln!(
                s,
                "| `{}` | — | — | — | 0 | 0 | no SIP messages: no logs |",
                scenario.name
            );
        }
        for log in &logs {
            let give = match log.format {
                Format::Sipe => "nothing (UTC)".to_owned(),
                Format::SipStack | Format::UccApi => format!("`--log-utc-offset {LOG_UTC_OFFSET}`"),
            };
            let _ = writeln!(
                s,
                "| [`{}`](../{}) | [`{}`]({}/{}) | {} | {} | {} | {} | {} |",
                scenario.name,
                scenario.file_name,
                log.file_name,
                scenario.name,
                log.file_name,
                format_name(log.format),
                log.user.unwrap_or("— (the FE)"),
                log.entries.len(),
                log.bytes.len(),
                give
            );
        }
    }
    s.push_str(README_TAIL);
    s
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::SipStack => "SIPStack (server)",
        Format::UccApi => "UCCAPI (client)",
        Format::Sipe => "pidgin-sipe",
    }
}

const README_HEAD: &str = "\
# Sample logs

The scenarios of the sample captures in `captures/`, written also as the text logs Lync /
Skype for Business admins hold, from the same generated messages (`crates/synth/src/logs.rs`;
`cargo run --example make_captures` writes them with the captures, and a test checks that the
files here are byte for byte what it produces — do not edit them by hand). Each scenario has a
directory with:

- `fe01.sipstack.log`: the Front End's SIPStack trace (the CLS / OCSLogger text layout,
  `TL_INFO(TF_PROTOCOL) [fe01.example.com]… $$begin_record` … `$$end_record`). Every message
  of a scenario passes through the FE (it hosts the registrar, the proxy, the focus and the
  MCUs), so this log has all of them: what a client sent is `incoming`, what the FE sent
  `outgoing`, `Peer:` is the client's address and port. A request the FE proxies from one
  client to another is logged twice, as in the capture (received, then sent with the FE's Via).
- `<user>.uccapi.log`: that user's client's UCCAPI log (`Sending Packet - …` /
  `Data Received - …` blocks): only the messages it sent and received, with its own address
  (`Local Address`) and the FE's.
- `<user>.sipe.log`: a pidgin-sipe debug log (`MESSAGE START >>>>>>>>>> SIP - <UTC time>` …)
  of one client (the participant whose join the scenario is about: bob; dave in
  `invitation-declined`, judy in `multi-conference`), the same messages as that user's UCCAPI
  log. It is written as if that user ran Pidgin; the UCCAPI log of the same user is there too.

Give lyncscope any of them, alone or together, with or without the capture of the same
scenario, for example:

```
lyncscope --log-utc-offset +01:00 captures/logs/conference-join/fe01.sipstack.log \\
    captures/logs/conference-join/bob.uccapi.log
```

**Times.** The SIPStack and UCCAPI logs are in the lab's local time, **UTC+01:00**, without a
zone, as those formats write it: give `--log-utc-offset +01:00` (one offset for all of them,
so the FE's log and the clients' logs mix with one option). The sipe logs are in UTC (`…Z`);
the option does not change them. SIPStack and UCCAPI times have milliseconds, sipe
microseconds. Every message is logged at the time the capture has it whole (the packet with
its last byte): no clock skew between the machines and no path delay between a client and the
FE's switch port is modelled, so the same message has the same time (to the log's precision)
in the capture and in every log.

Messages are those of the capture, one record per SIP message as framed on the wire (two
messages sent in one TCP segment are two records; a message spread over segments or IP
fragments is one), keep-alives left out. What each log lacks compared with the capture:

- **SIPStack (server)**: no local address (the record has only `Peer:`; the FE is named by
  the bracket `fe01.example.com` of the header line); no transport but the top Via's; no TCP
  or IP detail (segments, fragments, VLAN, interfaces).
- **UCCAPI (client)**: only that client's own messages: not the other clients', not the FE's
  copy of a proxied request to someone else.
- **pidgin-sipe**: no addresses at all, only the direction; only that client's messages.
- None of them has server diagnostic records (`TF_DIAG`): the scenarios' failures are in the
  SIP responses, as in the captures.

Scenarios whose traffic also comes from a server beside the FE (the Access Edge, a Mediation
Server) have no logs here: the table says why.
";

const README_TAIL: &str = "
None of the formats states a transport: a reader takes the top Via's. That is the capture's
transport (`TCP`; `UDP` in `join-udp-fragments`) except in `worked-example`, whose messages
are docs/protocol.md §8 verbatim with `Via: SIP/2.0/TLS` while its capture is plain TCP to
port 5061: its logs read as TLS.
";
