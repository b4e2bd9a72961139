//! Cross-check with `../shared/tools/gen_sip_pcap.py`, the shared generator of Lync-style
//! traffic (the one the benchmark uses): for small UDP, TCP and mixed captures, lyncscope's
//! counts equal the generator's manifest — SIP messages, requests per method, responses per
//! status, dialogs, conferences, participants — and every participant ends joined or left.
//! Skipped, saying so, when python3 or `../shared` is not available.

use lyncscope::analysis::StartKind;
use lyncscope::capture::CaptureFiles;
use lyncscope::pipeline::Pipeline;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn generate(transport: &str, dir: &Path) -> Option<(String, serde_json::Value)> {
    let tool = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join("../shared/tools/gen_sip_pcap.py");
    if !tool.exists() {
        return None;
    }
    let out = dir.join(format!("gen-{transport}.pcap"));
    let status = Command::new("python3")
        .arg(&tool)
        .args([
            "--messages",
            "4000",
            "--seed",
            "7",
            "--transport",
            transport,
            "--out",
        ])
        .arg(&out)
        .status()
        .ok()?;
    if !status.success() {
        return None;
    }
    let manifest = std::fs::read(out.with_extension("pcap.json")).ok()?;
    Some((
        out.to_string_lossy().to_string(),
        serde_json::from_slice(&manifest).ok()?,
    ))
}

#[test]
fn counts_equal_the_generators_manifest() {
    let dir = std::env::temp_dir().join(format!("lyncscope-gen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for transport in ["udp", "tcp", "mixed"] {
        let Some((file, manifest)) = generate(transport, &dir) else {
            eprintln!("SKIPPED: python3 or ../shared/tools/gen_sip_pcap.py not available");
            return;
        };
        let mut files = CaptureFiles::open(&[file]).expect("opens");
        let mut p = Pipeline::new(&lyncscope::Options::with_messages());
        lyncscope::pipeline::run(&mut files, &mut p);
        let a = p.analysis();
        let stats = p.stats();
        let n = |k: &str| manifest[k].as_u64().unwrap_or(u64::MAX);
        assert_eq!(
            stats.analysis.sip_messages,
            n("sip_messages"),
            "{transport}: SIP messages"
        );
        assert_eq!(
            a.dialogs().len() as u64,
            n("dialogs"),
            "{transport}: dialogs"
        );
        assert_eq!(
            a.conferences().list().len() as u64,
            n("conferences"),
            "{transport}: conferences"
        );
        let participants: usize = a
            .conferences()
            .list()
            .iter()
            .map(|c| c.participants.len())
            .sum();
        assert_eq!(
            participants as u64,
            n("participants"),
            "{transport}: participants"
        );
        assert_eq!(stats.transport.incomplete_messages, 0, "{transport}");
        assert_eq!(stats.net.fragments_expired, 0, "{transport}");

        let mut requests: BTreeMap<String, u64> = BTreeMap::new();
        let mut responses: BTreeMap<String, u64> = BTreeMap::new();
        for m in a.messages() {
            match m.start() {
                StartKind::Request(s) => {
                    *requests.entry(a.symbols.name(s).to_string()).or_default() += 1
                }
                StartKind::Response(s) => *responses.entry(s.to_string()).or_default() += 1,
            }
        }
        let as_map = |v: &serde_json::Value| -> BTreeMap<String, u64> {
            v.as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(
            requests,
            as_map(&manifest["requests"]),
            "{transport}: requests by method"
        );
        assert_eq!(
            responses,
            as_map(&manifest["responses"]),
            "{transport}: responses by status"
        );

        for c in a.conferences().list() {
            for p in &c.participants {
                let d = c.diagnose(p);
                let (state, failed, reason) = (
                    d.state,
                    d.failed_step,
                    lyncscope::report::reason::reason(&d, p),
                );
                assert!(
                    matches!(state.as_str(), "joined" | "left"),
                    "{transport}: {} in {}: {} {failed:?} {reason:?}",
                    p.uri,
                    c.id,
                    state.as_str()
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
