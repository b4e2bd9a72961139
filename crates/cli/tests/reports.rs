//! The report kinds and selection flags of issue 13: `--report summary` (bounded on any input),
//! `--report csv` (read back with an RFC 4180 parser), `--report html` (self-contained, hostile
//! values escaped, the failing arrow drawn, never over an input), `--failed`, `--conference`,
//! `--user` (reports and `-w`, the written file read back), standard input read without `-`,
//! and Call-IDs never cut in the text report.

use lyncscope_base::writer::{PcapWriter, TsResolution};
use lyncscope_base::Timestamp;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn lyncscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("runs")
}

fn sample(name: &str) -> String {
    format!("{}/../../captures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lyncscope-reports-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("valid JSON")
}

/// A raw-IPv4 (LINKTYPE_RAW) UDP datagram from `src` to `dst` (last octets of 192.0.2.x).
fn datagram(src: u8, dst: u8, payload: &[u8]) -> Vec<u8> {
    let total = 20 + 8 + payload.len();
    let mut ip = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        1,
        0,
        0,
        64,
        17,
        0,
        0,
        192,
        0,
        2,
        src,
        192,
        0,
        2,
        dst,
    ];
    let mut sum: u32 = ip
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    let udp_len = (8 + payload.len()) as u16;
    ip.extend_from_slice(&5060u16.to_be_bytes());
    ip.extend_from_slice(&5060u16.to_be_bytes());
    ip.extend_from_slice(&udp_len.to_be_bytes());
    ip.extend_from_slice(&[0, 0]);
    ip.extend_from_slice(payload);
    ip
}

/// SIP text with `\n` line ends and a computed Content-Length.
fn sip(text: &str) -> Vec<u8> {
    let text = text.replace('\n', "\r\n");
    match text.split_once("\r\n\r\n") {
        Some((head, body)) => {
            format!("{head}\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
        }
        None => format!("{text}\r\nContent-Length: 0\r\n\r\n").into_bytes(),
    }
}

/// One focus join of `user` to conference `id` (organizer alice), answered by `answer` (a
/// status line) with `extra` headers; the client is 192.0.2.`client`, the server 192.0.2.10.
fn focus_join(
    user: &str,
    id: &str,
    call: &str,
    answer: &str,
    extra: &str,
    client: u8,
) -> Vec<Vec<u8>> {
    let focus = format!("sip:alice@example.com;gruu;opaque=app:conf:focus:id:{id}");
    let body =
        "<request xmlns=\"urn:ietf:params:xml:ns:cccp\" requestId=\"1\"><addUser/></request>";
    let invite = sip(&format!(
        "INVITE {focus} SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.{client};branch=z9hG4bK{call}\nFrom: <sip:{user}@example.com>;tag=t{call}\nTo: <{focus}>\nCall-ID: {call}\nCSeq: 1 INVITE\nContact: <sip:{user}@192.0.2.{client}>\nContent-Type: application/cccp+xml\n\n{body}"
    ));
    let response = sip(&format!(
        "SIP/2.0 {answer}\nVia: SIP/2.0/UDP 192.0.2.{client};branch=z9hG4bK{call}\nFrom: <sip:{user}@example.com>;tag=t{call}\nTo: <{focus}>;tag=srv{call}\nCall-ID: {call}\nCSeq: 1 INVITE\n{extra}"
    ));
    vec![
        datagram(client, 10, &invite),
        datagram(10, client, &response),
    ]
}

fn write_capture(path: &Path, frames: &[Vec<u8>]) {
    let file = std::fs::File::create(path).expect("create");
    let mut w = PcapWriter::new(file, 101, TsResolution::Micro).expect("pcap");
    for (i, f) in frames.iter().enumerate() {
        let t = Timestamp(1_768_215_600_000_000_000 + i as i64 * 50_000_000);
        w.write_packet(t, f, f.len() as u32).expect("write");
    }
    w.flush().expect("flush");
}

/// A tiny RFC 4180 reader: quoted fields, doubled quotes, CRLF records, line breaks in quotes.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => {
                assert!(c != '\n' && c != '\r', "a bare line end outside quotes");
                field.push(c);
            }
        }
    }
    assert!(
        field.is_empty() && row.is_empty(),
        "the last record ends with CRLF"
    );
    rows
}

#[test]
fn the_summary_says_what_failed_and_who_hit_which_code() {
    let o = lyncscope(&[
        "--report",
        "summary",
        &sample("focus-c3p-failure.pcapng"),
        &sample("av-mcu-rejected.pcapng"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    for want in [
        "Summary: 2 conferences, 6 joins",
        "Outcomes: 3 joined, 3 failed",
        "Failed at: focus 2 (1 C3P refused, 1 rejected); media 1 (1 rejected)",
        "Failure statuses: 403 ×1, 488 ×1",
        "ms-diagnostics 3014 ×1 (failed authorization): sip:erin@example.com",
        "ms-diagnostics 7008 ×1",
        "sip:bob@example.com in HN6C3TGA at focus: C3P refused: 200 OK",
        "Problems: 0 incomplete messages",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    // The summary is the head of the text report too, and the text report goes on with the
    // conference trees, which the summary leaves out.
    assert!(
        !text.contains("Dialogs") && !text.contains("reason:"),
        "{text}"
    );
    let full = stdout(&lyncscope(&[
        "--report",
        "text",
        &sample("focus-c3p-failure.pcapng"),
        &sample("av-mcu-rejected.pcapng"),
    ]));
    assert!(full.starts_with(&text), "{full}");
    assert!(full.contains("Dialogs"));
    // The same tallies in the JSON report, with tokens.
    let v = json(&lyncscope(&[
        "--report",
        "json",
        &sample("focus-c3p-failure.pcapng"),
        &sample("av-mcu-rejected.pcapng"),
    ]));
    let sum = &v["summary"];
    assert_eq!(sum["joins"], 6);
    assert_eq!(
        sum["outcomes"],
        serde_json::json!({"failed": 3, "joined": 3})
    );
    assert_eq!(sum["failed_steps"][0]["step"], "focus");
    assert_eq!(
        sum["failed_steps"][0]["causes"],
        serde_json::json!({"c3p-refused": 1, "rejected": 1})
    );
    assert_eq!(sum["diagnostics"][0]["code"], 3014);
    assert_eq!(sum["diagnostics"][0]["users"][0], "sip:erin@example.com");
    assert_eq!(sum["failed_joins"], 3);
}

#[test]
fn the_summary_stays_under_30_lines_on_a_large_input() {
    let d = dir("large");
    let capture = d.join("many.pcap");
    // 3,000 refused joins in 1,000 conferences, by 300 users, with 40 different codes.
    let mut frames = Vec::new();
    for i in 0..3000u32 {
        let user = format!("user{}", i % 300);
        let id = format!("CONF{:04}", i % 1000);
        let code = 3000 + i % 40;
        let extra = format!("ms-diagnostics: {code};reason=\"Refused\";source=\"fe01\"");
        frames.extend(focus_join(
            &user,
            &id,
            &format!("c{i}"),
            "403 Forbidden",
            &extra,
            20,
        ));
    }
    write_capture(&capture, &frames);
    let o = lyncscope(&["--report", "summary", s(&capture)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let lines = text.lines().count();
    assert!(lines < 30, "{lines} lines:\n{text}");
    for want in [
        "Summary: 1000 conferences, 3000 joins",
        "Outcomes: 3000 failed",
        "Failed at: focus 3000 (3000 rejected)",
        "Failure statuses: 403 ×3000",
        "and 35 more codes",
        "and 2995 more (--failed --report text lists every one)",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    // Each code was hit 75 times by 15 users (joins i ≡ code mod 40, users i mod 300: 600/40
    // distinct): three are named, the others counted.
    assert!(text.contains("×75"), "{text}");
    assert!(text.contains("and 12 more users"), "{text}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn csv_has_the_documented_columns_and_reads_back() {
    let o = lyncscope(&["--report", "csv", &sample("focus-c3p-failure.pcapng")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows = parse_csv(&stdout(&o));
    let header = rows.first().expect("a header row");
    assert_eq!(
        header.join(","),
        "conference,organizer,subject,participant,invited_by,state,failed_step,cause,status,\
         reason_phrase,diagnostics_header,diagnostics_code,diagnostics_reason,reason,\
         invitation_status,focus_status,c3p_request,c3p_code,roster_status,media_status,\
         media_attempts,other_mcus,focus_setup_ms,media_setup_ms,first_seen,\
         invitation_call_id,focus_call_id,media_call_id,user_agent,client,ended"
    );
    assert_eq!(rows.len(), 4, "{rows:?}");
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let erin = rows
        .iter()
        .find(|r| r[col("participant")] == "sip:erin@example.com")
        .expect("erin");
    assert_eq!(erin[col("state")], "failed");
    assert_eq!(erin[col("failed_step")], "focus");
    assert_eq!(erin[col("cause")], "rejected");
    assert_eq!(erin[col("status")], "403");
    assert_eq!(erin[col("diagnostics_code")], "3014");
    assert_eq!(
        erin[col("focus_call_id")],
        "6cec94c13e1c46d84b1431d43270975f"
    );
    // The reason holds commas and quotes: quoted, and read back whole.
    assert!(
        erin[col("reason")]
            .contains("403 Forbidden, ms-diagnostics 3014 \"Failed authorization.\""),
        "{}",
        erin[col("reason")]
    );
    let bob = rows
        .iter()
        .find(|r| r[col("participant")] == "sip:bob@example.com")
        .expect("bob");
    assert_eq!(bob[col("cause")], "c3p-refused");
    assert_eq!(bob[col("c3p_code")], "failure");
    // --messages: one row per message, as many as the JSON report lists.
    let o = lyncscope(&[
        "--report",
        "csv",
        "--messages",
        &sample("focus-c3p-failure.pcapng"),
    ]);
    let rows = parse_csv(&stdout(&o));
    assert_eq!(rows.len(), 1 + 43);
    assert_eq!(rows[0][0], "frame");
    assert_eq!(rows[0].len(), 15);
    assert!(rows[1..].iter().all(|r| r.len() == 15));
}

#[test]
fn hostile_values_are_quoted_in_csv_and_escaped_in_html() {
    let d = dir("hostile");
    let capture = d.join("hostile.pcap");
    let phrase = "Forbidden <script>alert(1)</script>, \"x\"";
    let extra = "ms-diagnostics: 3014;reason=\"<img src=x onerror=alert(2)>\";source=\"fe01\"";
    let frames = focus_join(
        "mallory",
        "EVIL1",
        "h1",
        &format!("403 {phrase}"),
        extra,
        20,
    );
    write_capture(&capture, &frames);
    let o = lyncscope(&["--report", "csv", s(&capture)]);
    let rows = parse_csv(&stdout(&o));
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1][9], phrase, "reason_phrase read back whole");
    let page = d.join("page.html");
    let o = lyncscope(&["--report", "html", s(&page), s(&capture)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let html = std::fs::read_to_string(&page).expect("page");
    assert!(!html.contains("<script"), "markup from the capture: {html}");
    assert!(!html.contains("<img"), "markup from the capture");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn the_html_page_is_self_contained_and_shows_the_failing_arrow() {
    let d = dir("html");
    let page = d.join("report.html");
    let o = lyncscope(&[
        "--report",
        "html",
        s(&page),
        &sample("focus-c3p-failure.pcapng"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.is_empty(), "the page goes to the file");
    let html = std::fs::read_to_string(&page).expect("page");
    assert!(html.starts_with("<!DOCTYPE html>"));
    for banned in [
        "<script", "<link", "src=", "http:", "https:", "url(", "@import",
    ] {
        assert!(!html.contains(banned), "{banned} in a self-contained page");
    }
    // The conference list, the grid with its failures, the reason, the ladders.
    assert!(html.contains("<a href=\"#conf-0\" class=\"mono\">HN6C3TGA</a>"));
    assert!(html.contains("<tr class=\"failed\"><td class=\"mono\">sip:erin@example.com"));
    assert!(html.contains("the conference focus rejected the join: 403 Forbidden"));
    assert_eq!(html.matches("<svg class=\"ladder\"").count(), 3);
    // erin's ladder: the 403 is the failing arrow.
    let at = html
        .find("id=\"failing-0-2\"")
        .expect("erin's failing arrow");
    let arrow = &html[at..at + html[at..].find("</g>").expect("arrow end")];
    assert!(arrow.contains(">403 INVITE</text>"), "{arrow}");
    let open = html[..at].rfind("<g class=\"").expect("its group");
    assert!(html[open..at].contains("failing"));
    // bob's: the 200 OK whose C3P said failure.
    let at = html
        .find("id=\"failing-0-1\"")
        .expect("bob's failing arrow");
    let arrow = &html[at..at + html[at..].find("</g>").expect("arrow end")];
    assert!(
        arrow.contains(">200 INVITE (application/cccp+xml)</text>"),
        "{arrow}"
    );
    // Without a name ending in .html, the page goes to standard output and the capture named
    // after `html` is read, never written.
    let before = std::fs::read(sample("focus-c3p-failure.pcapng")).expect("sample");
    let o = lyncscope(&["--report", "html", &sample("focus-c3p-failure.pcapng")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("<!DOCTYPE html>"));
    assert_eq!(
        std::fs::read(sample("focus-c3p-failure.pcapng")).expect("sample"),
        before
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn the_html_report_never_overwrites_an_input() {
    let d = dir("same");
    let input = d.join("capture.html");
    std::fs::copy(sample("focus-c3p-failure.pcapng"), &input).expect("copy");
    let link = d.join("link.html");
    std::os::unix::fs::symlink(&input, &link).expect("symlink");
    let before = std::fs::read(&input).expect("input");
    for out in [&input, &link] {
        let o = lyncscope(&["--report", "html", s(out), s(&input)]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("is the input"), "{}", stderr(&o));
        assert_eq!(std::fs::read(&input).expect("input"), before);
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn selection_flags_narrow_every_report() {
    let inputs = [
        sample("focus-c3p-failure.pcapng"),
        sample("multi-conference.pcapng"),
    ];
    let all = json(&lyncscope(&["--report", "json", &inputs[0], &inputs[1]]));
    let failed = json(&lyncscope(&[
        "--report", "json", "--failed", &inputs[0], &inputs[1],
    ]));
    assert!(all.get("selection").is_none());
    assert_eq!(failed["selection"]["failed"], true);
    // Totals stay the whole input's; the lists are the failed joins.
    assert_eq!(failed["stats"], all["stats"]);
    let participants: Vec<(String, String)> = failed["conferences"]
        .as_array()
        .expect("conferences")
        .iter()
        .flat_map(|c| {
            c["participants"]
                .as_array()
                .expect("participants")
                .iter()
                .map(|p| {
                    (
                        p["uri"].as_str().unwrap_or("").to_string(),
                        p["state"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(!participants.is_empty());
    assert!(
        participants.iter().all(|(_, st)| st == "failed"),
        "{participants:?}"
    );
    let every_failed = all["conferences"]
        .as_array()
        .expect("conferences")
        .iter()
        .flat_map(|c| c["participants"].as_array().expect("participants").iter())
        .filter(|p| p["state"] == "failed")
        .count();
    assert_eq!(participants.len(), every_failed);
    assert!(failed["dialogs"].as_array().map(Vec::len) < all["dialogs"].as_array().map(Vec::len));
    // --user by user part, case ignored; --conference by ID.
    let erin = json(&lyncscope(&[
        "--report",
        "json",
        "--user",
        "ERIN",
        "--conference",
        "hn6c3tga",
        &inputs[0],
    ]));
    let confs = erin["conferences"].as_array().expect("conferences");
    assert_eq!(confs.len(), 1);
    let ps = confs[0]["participants"].as_array().expect("participants");
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0]["uri"], "sip:erin@example.com");
    let ids: Vec<&str> = erin["dialogs"]
        .as_array()
        .expect("dialogs")
        .iter()
        .map(|d| d["call_id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        ids,
        [
            "4cf49cc234c43b610ed97e2fee7368a9",
            "6cec94c13e1c46d84b1431d43270975f"
        ]
    );
    // The text report and the CSV follow the selection.
    let text = stdout(&lyncscope(&[
        "--report", "text", "--user", "erin", &inputs[0],
    ]));
    assert!(text.contains("Selection: --user erin"));
    assert!(text.contains("sip:erin@example.com  failed at focus"));
    assert!(!text.contains("sip:bob@example.com  failed"), "{text}");
    let rows = parse_csv(&stdout(&lyncscope(&[
        "--report", "csv", "--failed", &inputs[0],
    ])));
    assert_eq!(rows.len(), 3, "header, bob and erin: {rows:?}");
    // A conference that is not there: nothing selected, said so.
    let none = stdout(&lyncscope(&[
        "--report",
        "text",
        "--conference",
        "NOSUCH",
        &inputs[0],
    ]));
    assert!(none.contains("No SIP dialogs selected."), "{none}");
    assert!(none.contains("Summary: 0 conferences, 0 joins"), "{none}");
}

#[test]
fn write_with_a_selection_writes_only_that_join() {
    let d = dir("w");
    let out = d.join("erin.pcap");
    let input = sample("focus-c3p-failure.pcapng");
    let o = lyncscope(&[
        "--report",
        "json",
        "-w",
        s(&out),
        "--conference",
        "HN6C3TGA",
        "--user",
        "erin",
        &input,
    ]);
    let v = json(&o);
    assert_eq!(v["written"]["file"], s(&out));
    let packets = v["written"]["packets"].as_u64().expect("packets");
    assert!(packets > 0 && packets < 73, "{packets}");
    // Read back: only erin's invitation and focus dialogs, every message of them.
    let back = json(&lyncscope(&["--report", "json", s(&out)]));
    let ids: Vec<&str> = back["dialogs"]
        .as_array()
        .expect("dialogs")
        .iter()
        .map(|d| d["call_id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        ids,
        [
            "4cf49cc234c43b610ed97e2fee7368a9",
            "6cec94c13e1c46d84b1431d43270975f"
        ]
    );
    let messages: u64 = v["dialogs"]
        .as_array()
        .expect("dialogs")
        .iter()
        .map(|d| d["messages"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(back["stats"]["sip_messages"].as_u64(), Some(messages));
    assert_eq!(back["stats"]["packets"].as_u64(), Some(packets));
    let p = &back["conferences"][0]["participants"];
    assert!(p
        .as_array()
        .expect("participants")
        .iter()
        .any(|p| p["uri"] == "sip:erin@example.com" && p["state"] == "failed"));
    // Standard input cannot be read twice: refused before anything runs.
    let o = lyncscope(&["--report", "json", "-w", s(&out), "--failed", "-"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("standard input cannot be read twice"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn standard_input_is_read_without_a_dash_when_it_is_a_pipe() {
    let bytes = std::fs::read(sample("focus-c3p-failure.pcapng")).expect("sample");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lyncscope"))
        .args(["--report", "summary"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(&bytes).expect("write");
    drop(stdin);
    let o = child.wait_with_output().expect("waits");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("lyncscope 0.1.0 — -"), "{text}");
    assert!(text.contains("Summary: 1 conference, 3 joins"), "{text}");
    // Standard input from /dev/null (not a pipe, not a file): the usage error as before.
    let o = lyncscope(&["--report", "json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no input"), "{}", stderr(&o));
}

#[test]
fn the_text_report_never_cuts_a_call_id_or_a_uri() {
    let d = dir("long");
    let capture = d.join("long.pcap");
    let call = "a-very-long-call-id-0123456789abcdef0123456789abcdef@client.example.com";
    let user = "someone.with.a.rather.long.name";
    let frames = focus_join(user, "LONGID", call, "403 Forbidden", "", 20);
    write_capture(&capture, &frames);
    let text = stdout(&lyncscope(&["--report", "text", s(&capture)]));
    assert!(text.contains(call), "{text}");
    assert!(text.contains(&format!("sip:{user}@example.com ")), "{text}");
    assert!(!text.contains('…'), "{text}");
    let _ = std::fs::remove_dir_all(&d);
}

/// An A/V MCU INVITE of `user` to conference `id` with SDP, answered by `answer`.
fn av_attempt(user: &str, id: &str, call: &str, answer: &str, client: u8) -> Vec<Vec<u8>> {
    let av = format!("sip:alice@example.com;gruu;opaque=app:conf:audio-video:id:{id}");
    let invite = sip(&format!(
        "INVITE {av} SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.{client};branch=z9hG4bK{call}\nFrom: <sip:{user}@example.com>;tag=t{call}\nTo: <{av}>\nCall-ID: {call}\nCSeq: 1 INVITE\nContent-Type: application/sdp\n\nv=0\nm=audio 5000 RTP/AVP 0\n"
    ));
    let response = sip(&format!(
        "SIP/2.0 {answer}\nVia: SIP/2.0/UDP 192.0.2.{client};branch=z9hG4bK{call}\nFrom: <sip:{user}@example.com>;tag=t{call}\nTo: <{av}>;tag=srv{call}\nCall-ID: {call}\nCSeq: 1 INVITE"
    ));
    vec![
        datagram(client, 10, &invite),
        datagram(10, client, &response),
    ]
}

#[test]
fn the_html_page_is_bounded_and_says_what_it_leaves_out() {
    let d = dir("bounded");
    let capture = d.join("many.pcap");
    let mut frames = Vec::new();
    // One join with 100 INFO transactions in its focus dialog, then a refused A/V attempt:
    // 204 messages, the failing 488 the last of them.
    let c3p = "Content-Type: application/cccp+xml\n\n<response xmlns=\"urn:ietf:params:xml:ns:cccp\" requestId=\"1\" code=\"success\"><addUser/></response>";
    frames.extend(focus_join("zed", "AAAAFIRST", "zf", "200 OK", c3p, 30));
    let focus = "sip:alice@example.com;gruu;opaque=app:conf:focus:id:AAAAFIRST";
    for n in 2..102 {
        let info = sip(&format!(
            "INFO {focus} SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.30;branch=z9hG4bKi{n}\nFrom: <sip:zed@example.com>;tag=tzf\nTo: <{focus}>;tag=srvzf\nCall-ID: zf\nCSeq: {n} INFO"
        ));
        let ok = sip(&format!(
            "SIP/2.0 200 OK\nVia: SIP/2.0/UDP 192.0.2.30;branch=z9hG4bKi{n}\nFrom: <sip:zed@example.com>;tag=tzf\nTo: <{focus}>;tag=srvzf\nCall-ID: zf\nCSeq: {n} INFO"
        ));
        frames.push(datagram(30, 10, &info));
        frames.push(datagram(10, 30, &ok));
    }
    frames.extend(av_attempt(
        "zed",
        "AAAAFIRST",
        "za",
        "488 Not Acceptable Here",
        30,
    ));
    // 1,000 conferences of three refused joins each.
    for i in 0..3000u32 {
        let user = format!("user{}", i % 300);
        let id = format!("CONF{:04}", i % 1000);
        frames.extend(focus_join(
            &user,
            &id,
            &format!("c{i}"),
            "403 Forbidden",
            "",
            20,
        ));
    }
    write_capture(&capture, &frames);
    let page = d.join("page.html");
    let o = lyncscope(&["--report", "html", s(&page), s(&capture)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("bounded"), "{}", stderr(&o));
    let html = std::fs::read_to_string(&page).expect("page");
    let bounds = html.find("Page bounds: 801 conferences without a section (over 200)");
    let list = html.find("id=\"conferences\"").expect("the list");
    assert!(bounds.is_some_and(|b| b < list), "said before the content");
    // Ladders for the first 200 conferences: zed's and 199 × 3; failed joins first.
    assert!(html.contains("298 joins without a ladder (over 300)"));
    assert!(html.contains("54 messages not drawn in ladders (over 150 a ladder)"));
    assert_eq!(html.matches("<svg class=\"ladder\"").count(), 300);
    assert_eq!(html.matches("<section class=\"conference\"").count(), 200);
    // zed's ladder: 149 arrows, a gap, and the failing 488 (the last message) all the same.
    let at = html.find("id=\"ladder-0-0\"").expect("zed's ladder");
    let end = at + html[at..].find("</details>").expect("its end");
    let ladder = &html[at..end];
    assert_eq!(ladder.matches("<g class=\"arrow").count(), 150);
    assert!(ladder.contains("… 54 messages not drawn …"));
    let failing = ladder
        .find("data-failing=\"true\"")
        .expect("the failing arrow");
    assert!(ladder[failing..].contains(">488 INVITE</text>"));
    assert!(html.len() < 8_000_000, "{} bytes", html.len());
    let _ = std::fs::remove_dir_all(&d);
}
