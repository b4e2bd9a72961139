//! The sample logs in `captures/logs/`: they are exactly what the generator produces, and each
//! reads back with `lyncscope_logs::LogReader` to exactly the scenario's messages.

use lyncscope_logs::{
    detect, Detection, Direction, Endpoint, Format, Host, LogReader, ReadOptions, Record, Transport,
};
use lyncscope_synth::logs::{readme, LogFile, FE_SERVER_NAME, LOG_UTC_OFFSET_SECS};
use lyncscope_synth::{scenarios, Generated, Scenario};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn logs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../captures/logs")
}

fn generate_all() -> Vec<(Scenario, Generated)> {
    scenarios().into_iter().map(|s| (s, (s.build)())).collect()
}

#[test]
fn committed_logs_equal_what_the_generator_produces() {
    let dir = logs_dir();
    let all = generate_all();
    for (scenario, generated) in &all {
        let sub = dir.join(scenario.name);
        let logs = generated.logs(scenario);
        for log in &logs {
            let path = sub.join(&log.file_name);
            let committed = std::fs::read(&path).unwrap_or_default();
            assert!(
                committed == log.bytes,
                "{} is not what the generator makes: run `cargo run -p lyncscope-synth --example make_captures`",
                path.display()
            );
        }
        let expected: BTreeSet<String> = logs.iter().map(|l| l.file_name.clone()).collect();
        let present: BTreeSet<String> = std::fs::read_dir(&sub)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|name| !name.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(present, expected, "files in {}", sub.display());
    }
    let readme_path = dir.join("README.md");
    let committed = std::fs::read_to_string(&readme_path).unwrap_or_default();
    assert!(
        committed == readme(&all),
        "{} is out of date: run `cargo run -p lyncscope-synth --example make_captures`",
        readme_path.display()
    );
}

/// Every scenario but those `logs::not_written` names.
#[test]
fn every_scenario_has_an_fe_log_every_clients_uccapi_log_and_a_sipe_log() {
    for (scenario, generated) in generate_all() {
        let logs = generated.logs(&scenario);
        let messages = generated.messages();
        assert!(!messages.is_empty(), "{}", scenario.name);
        if lyncscope_synth::logs::not_written(scenario.name).is_some() {
            assert!(logs.is_empty(), "{}", scenario.name);
            continue;
        }
        assert_eq!(generated.sip_messages, messages.len(), "{}", scenario.name);
        let fe: Vec<&LogFile> = logs
            .iter()
            .filter(|l| l.format == Format::SipStack)
            .collect();
        assert_eq!(fe.len(), 1, "{}", scenario.name);
        assert_eq!(fe[0].entries.len(), messages.len(), "{}", scenario.name);
        let users: BTreeSet<&str> = messages.iter().map(|m| m.user).collect();
        let uccapi: BTreeSet<&str> = logs
            .iter()
            .filter(|l| l.format == Format::UccApi)
            .filter_map(|l| l.user)
            .collect();
        assert_eq!(uccapi, users, "{}", scenario.name);
        let sipe: Vec<&LogFile> = logs.iter().filter(|l| l.format == Format::Sipe).collect();
        assert_eq!(sipe.len(), 1, "{}", scenario.name);
        // a message's time is that of a packet of the capture (the one completing it)
        let packet_times: BTreeSet<i64> = generated.packets().map(|(t, _, _)| t.0).collect();
        for m in messages {
            assert!(packet_times.contains(&m.time_ns), "{}", scenario.name);
            // whole microseconds: what the capture files (µs resolution or finer) hold
            assert_eq!(m.time_ns % 1_000, 0, "{}", scenario.name);
        }
        // the clients' logs together hold every message once
        let mut seen = vec![0; messages.len()];
        for log in logs.iter().filter(|l| l.format == Format::UccApi) {
            for e in &log.entries {
                seen[e.message] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1), "{}", scenario.name);
        // times never go backwards in a file
        for log in &logs {
            assert!(
                log.entries.windows(2).all(|w| w[0].time_ns <= w[1].time_ns),
                "{}/{}",
                scenario.name,
                log.file_name
            );
        }
    }
}

/// Every record read back is the scenario's message: bytes, time (cut to the log's precision,
/// after the offset), direction, addresses the format states; nothing else is read.
#[test]
fn every_log_reads_back_to_the_scenarios_messages() {
    for (scenario, generated) in generate_all() {
        let messages = generated.messages();
        for log in generated.logs(&scenario) {
            let what = format!("{}/{}", scenario.name, log.file_name);
            assert_eq!(detect(&log.bytes), Detection::Log(log.format), "{what}");
            // read in small pieces, to cross the reader's chunk boundaries
            let input = Pieces {
                data: &log.bytes,
                at: 0,
                piece: 1000,
            };
            let opts = ReadOptions {
                utc_offset_secs: LOG_UTC_OFFSET_SECS,
                follow: false,
            };
            let mut reader = LogReader::new(input, log.format, opts);
            let mut n = 0;
            while let Some(record) = reader.next_record().unwrap() {
                let Record::Sip(rec) = record else {
                    panic!("{what}: a record that is not SIP");
                };
                let entry = log.entries.get(n).unwrap_or_else(|| {
                    panic!("{what}: more records than messages");
                });
                let m = &messages[entry.message];
                let at = format!("{what} record {} (line {})", n + 1, rec.line);
                assert!(
                    rec.message.as_ref() == m.bytes.as_slice(),
                    "{at}: bytes differ\n--- read\n{}\n--- written\n{}",
                    String::from_utf8_lossy(&rec.message),
                    String::from_utf8_lossy(&m.bytes)
                );
                assert!(!rec.content_length_fixed, "{at}");
                assert_eq!(rec.time_ns, Some(entry.time_ns), "{at}");
                let precision = if log.format == Format::Sipe {
                    1_000
                } else {
                    1_000_000
                };
                assert!(
                    (0..precision).contains(&(m.time_ns - entry.time_ns)),
                    "{at}: time"
                );
                assert_eq!(rec.direction, Some(entry.direction), "{at}");
                let from_client = match log.format {
                    Format::SipStack => entry.direction == Direction::Received,
                    Format::UccApi | Format::Sipe => entry.direction == Direction::Sent,
                };
                assert_eq!(from_client, m.from_client, "{at}: direction");
                // the formats state no transport but the top Via's: the same as the
                // capture's, except in the worked example (its Vias say TLS, as the documented
                // messages do; the capture is plain TCP to port 5061)
                let via = top_via_transport(&m.bytes);
                assert_eq!(rec.transport, via, "{at}: transport");
                if scenario.name != "worked-example" {
                    assert_eq!(via, Some(m.transport), "{at}: transport");
                }
                let ep = |a: std::net::SocketAddr| Endpoint {
                    host: Host::Ip(a.ip()),
                    port: Some(a.port()),
                };
                match log.format {
                    Format::SipStack => {
                        assert_eq!(rec.local, None, "{at}");
                        assert_eq!(rec.remote, Some(ep(m.client)), "{at}");
                        assert_eq!(rec.origin.machine.as_deref(), Some(FE_SERVER_NAME), "{at}");
                    }
                    Format::UccApi => {
                        assert_eq!(Some(m.user), log.user, "{at}");
                        assert_eq!(rec.local, Some(ep(m.client)), "{at}");
                        assert_eq!(rec.remote, Some(ep(m.server)), "{at}");
                    }
                    Format::Sipe => {
                        assert_eq!(Some(m.user), log.user, "{at}");
                        assert_eq!((rec.local, rec.remote), (None, None), "{at}");
                    }
                }
                n += 1;
            }
            assert_eq!(n, log.entries.len(), "{what}: records read");
            let stats = reader.stats();
            assert_eq!(stats.sip_messages, n as u64, "{what}");
            // Pidgin's `(HH:MM:SS) sipe: ` line before each block is a line outside the
            // record; the other formats have nothing outside their records
            let stray = if log.format == Format::Sipe {
                n as u64
            } else {
                0
            };
            assert_eq!(stats.stray_lines, stray, "{what}: {stats:?}");
            assert_eq!(
                (
                    stats.cut_records,
                    stats.not_sip,
                    stats.content_length_fixed,
                    stats.bad_times,
                    stats.other_records.total()
                ),
                (0, 0, 0, 0, 0),
                "{what}: {stats:?}"
            );
        }
    }
}

/// A reader that hands out at most `piece` bytes per read.
struct Pieces<'a> {
    data: &'a [u8],
    at: usize,
    piece: usize,
}

impl std::io::Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.piece).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The transport of the message's first `Via` header (`SIP/2.0/TCP …`).
fn top_via_transport(message: &[u8]) -> Option<Transport> {
    let text = std::str::from_utf8(message).ok()?;
    let head = text.split("\r\n\r\n").next()?;
    let value = head.split("\r\n").skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        let name = name.trim().to_ascii_lowercase();
        (name == "via" || name == "v").then_some(value.trim())
    })?;
    let proto = value.split_whitespace().next()?.rsplit('/').next()?;
    match proto.to_ascii_uppercase().as_str() {
        "TLS" => Some(Transport::Tls),
        "TCP" => Some(Transport::Tcp),
        "UDP" => Some(Transport::Udp),
        _ => None,
    }
}
