//! docs/protocol.md §8 rebuilt as a capture: the messages of the worked example, verbatim, each
//! in its own TCP segment, on one plain-TCP connection to port 5061 per client (alice
//! 192.0.2.21:50611, bob 192.0.2.22:50622, FE 198.51.100.10).
//!
//! The texts live in `worked_example.txt` with LF line ends and go on the wire with CRLF,
//! which is what the documented Content-Length values were computed for. The connections
//! negotiate a jumbo-frame MSS so that even the 2.5 KB roster stays one segment: frame and
//! message correspond one to one, and every message's frame carries its label (A1, B2, …)
//! as a pcapng packet comment.

use super::lab::{Attach, Lab};
use super::wire::{ms, Dir, Nanos, Packet, Transport, Written};

const TEXT: &str = include_str!("worked_example.txt");

/// One message of the example.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExampleMessage {
    pub label: String,
    pub client: String,
    pub dir: Dir,
    /// Milliseconds after the previous message.
    pub delay_ms: i64,
    pub comment: String,
    /// The wire form (CRLF line ends).
    pub wire: Vec<u8>,
}

/// The messages of `worked_example.txt` in order.
pub(crate) fn messages() -> Vec<ExampleMessage> {
    let mut out: Vec<ExampleMessage> = Vec::new();
    let mut lines: Vec<&str> = Vec::new();
    let mut header: Option<&str> = None;
    let flush = |header: Option<&str>, lines: &mut Vec<&str>, out: &mut Vec<ExampleMessage>| {
        if let Some(message) = header.and_then(|h| parse_message(h, lines)) {
            out.push(message);
        }
        lines.clear();
    };
    for line in TEXT.lines().filter(|l| !l.starts_with('#')) {
        if let Some(rest) = line.strip_prefix("=== ") {
            flush(header, &mut lines, &mut out);
            header = Some(rest);
        } else {
            lines.push(line);
        }
    }
    flush(header, &mut lines, &mut out);
    out
}

fn parse_message(header: &str, lines: &[&str]) -> Option<ExampleMessage> {
    let mut fields = header.splitn(5, ' ');
    let label = fields.next()?.to_owned();
    let client = fields.next()?.to_owned();
    let dir = match fields.next()? {
        "up" => Dir::Up,
        _ => Dir::Down,
    };
    let delay_ms = fields.next()?.parse().ok()?;
    let comment = fields.next()?.to_owned();
    let mut wire = lines.join("\r\n");
    wire.push_str("\r\n");
    if !lines.contains(&"") {
        wire.push_str("\r\n"); // no body: the blank line that ends the headers
    }
    Some(ExampleMessage {
        label,
        client,
        dir,
        delay_ms,
        comment,
        wire: wire.into_bytes(),
    })
}

/// The packets of the capture, starting at `t0`.
pub(crate) fn render(t0: Nanos) -> (Vec<Packet>, Vec<Written>) {
    let mut lab = Lab::new(0x0008_0000, Transport::Tcp, 5061);
    let jumbo = |port| Attach {
        port: Some(port),
        mss: Some(8960),
        ..Attach::default()
    };
    let alice = lab.user_with("alice", "Alice", "192.0.2.21", jumbo(50611));
    let bob = lab.user_with("bob", "Bob", "192.0.2.22", jumbo(50622));
    lab.connect(t0 - ms(900), alice);
    lab.connect(t0 - ms(400), bob);
    let mut t = t0;
    for message in messages() {
        t += ms(message.delay_ms);
        let user = if message.client == "alice" {
            alice
        } else {
            bob
        };
        let comment = format!("{} (docs/protocol.md §8)", message.comment);
        lab.send_encoded(t, user, message.dir, message.wire, &comment);
    }
    lab.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_messages_parse_in_the_documented_order() {
        let labels: Vec<String> = messages().into_iter().map(|m| m.label).collect();
        let expected = [
            "A1", "A2", "A3", "A4", "A5", "A6", "B1", "B2", "B3", "C1", "C2", "D1", "D2", "D3",
            "D4", "D5", "D6", "C3",
        ];
        assert_eq!(labels, expected);
        for m in messages() {
            let text = String::from_utf8(m.wire).unwrap();
            assert!(!text.contains("\r\r") && !text.replace("\r\n", "").contains('\n'));
            assert!(text.contains("\r\n\r\n"), "{} has no header end", m.label);
        }
    }
}
