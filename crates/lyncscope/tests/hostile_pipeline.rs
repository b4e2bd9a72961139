//! The whole pipeline on hostile input: real frames from the sample captures with random bytes
//! changed, cut short or shuffled, and plain garbage on every link type. Nothing may panic
//! (debug builds also trap arithmetic overflow), and what comes out stays consistent.

use lyncscope::capture::{CaptureFiles, Frame};
use lyncscope::pipeline::Pipeline;
use lyncscope::report::{self, ReportInput};
use lyncscope::Timestamp;

struct Owned {
    link_type: u32,
    data: Vec<u8>,
}

fn sample_frames() -> Vec<Owned> {
    let dir = concat!(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."), "/captures");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("captures/")
        .filter_map(|e| e.ok().map(|e| e.path().to_string_lossy().to_string()))
        .filter(|p| p.ends_with(".pcap") || p.ends_with(".pcapng"))
        .collect();
    names.sort();
    let mut files = CaptureFiles::open(&names).expect("samples open");
    let mut out = Vec::new();
    while let Some(f) = files.next_frame() {
        out.push(Owned {
            link_type: f.link_type,
            data: f.data.to_vec(),
        });
    }
    out
}

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn run(frames: &[(u32, Vec<u8>)]) {
    let mut p = Pipeline::new(&lyncscope::Options::with_messages());
    for (i, (link_type, data)) in frames.iter().enumerate() {
        p.push(&Frame {
            number: i as u64 + 1,
            timestamp: Timestamp(i as i64 * 1_000_000),
            link_type: *link_type,
            data,
            original_len: data.len() as u32,
            source: 0,
        });
    }
    p.finish();
    let stats = p.stats();
    let a = p.analysis();
    assert_eq!(
        stats.analysis.sip_messages,
        stats.analysis.sip_requests + stats.analysis.sip_responses
    );
    assert!(a
        .messages()
        .iter()
        .all(|m| m.first_frame(a) <= m.frame() && m.frame() as usize <= frames.len()));
    for c in a.conferences().list() {
        for part in &c.participants {
            let _ = c.diagnose(part);
        }
    }
    // Both reports render whatever the input was.
    let input = ReportInput {
        hep: None,
        inputs: None,
        sources: &[],
        warnings: &[],
        messages: true,
        live: None,
        written: None,
        selection: None,
    };
    report::json::write(&mut std::io::sink(), &input, &stats, a).expect("json");
    report::text::write(&mut std::io::sink(), &input, &stats, a).expect("text");
    report::summary::write(&mut std::io::sink(), &input, &stats, a).expect("summary");
    report::csv::write(&mut std::io::sink(), &input, a).expect("csv");
    report::html::write(&mut std::io::sink(), &input, &stats, a).expect("html");
    let failed = report::select::Selection {
        failed: true,
        conference: None,
        user: Some("a".into()),
    };
    let selected = report::ReportInput {
        selection: Some(&failed),
        ..input
    };
    report::json::write(&mut std::io::sink(), &selected, &stats, a).expect("json, selected");
    report::html::write(&mut std::io::sink(), &selected, &stats, a).expect("html, selected");
}

#[test]
fn mutated_sample_frames() {
    let samples = sample_frames();
    assert!(samples.len() > 500);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..12 {
        let mut frames: Vec<(u32, Vec<u8>)> = samples
            .iter()
            .map(|f| (f.link_type, f.data.clone()))
            .collect();
        for (_, data) in frames.iter_mut() {
            match rng.below(6) {
                0 => {}
                1 => {
                    let cut = rng.below(data.len() + 1);
                    data.truncate(cut);
                }
                _ => {
                    for _ in 0..1 + rng.below(4 + round) {
                        if !data.is_empty() {
                            let at = rng.below(data.len());
                            data[at] = rng.next() as u8;
                        }
                    }
                }
            }
        }
        if round % 3 == 2 {
            // Reorder a window of frames: TCP out of order, fragments out of order.
            for i in (1..frames.len()).rev() {
                let j = i.saturating_sub(rng.below(8));
                frames.swap(i, j);
            }
        }
        run(&frames);
    }
}

#[test]
fn garbage_on_every_link_type() {
    let mut rng = Rng(42);
    let link_types = [
        0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 9, 104, 239, 147, 65535,
    ];
    let frames: Vec<(u32, Vec<u8>)> = (0..6000)
        .map(|i| {
            let len = rng.below(200);
            let mut data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            // Some frames start like IPv4/UDP to reach deeper layers.
            if i % 3 == 0 && data.len() > 28 {
                data[0] = 0x45;
                data[9] = [6, 17, 132, 1, 47, 4][rng.below(6)];
                data[6] &= 0x3f;
            }
            (link_types[rng.below(link_types.len())], data)
        })
        .collect();
    run(&frames);
}
