//! Prints what the message store holds for a capture (raw bytes, compressed bytes), for the
//! memory figures in the README: `cargo run --release --example store_usage FILE`.
use lyncscope::capture::CaptureFiles;
use lyncscope::pipeline::Pipeline;

fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    let mut files = match CaptureFiles::open(&paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let started = std::time::Instant::now();
    let mut p = Pipeline::new(&lyncscope::Options {
        keep_messages: true,
        message_store: true,
        ..lyncscope::Options::default()
    });
    lyncscope::pipeline::run(&mut files, &mut p);
    let a = p.analysis();
    if let Some(s) = a.store() {
        let (raw, compressed, held) = s.usage();
        println!(
            "{} messages: {:.1} MB of SIP compressed to {:.1} MB ({:.1}×); the store holds {:.1} MB \
             of process memory; {:.2} s",
            s.len(),
            raw as f64 / 1e6,
            compressed as f64 / 1e6,
            raw as f64 / compressed.max(1) as f64,
            held as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
    }
    println!(
        "message records: {} × {} bytes = {:.1} MB (capacity {})",
        a.messages().len(),
        std::mem::size_of::<lyncscope::analysis::MessageRecord>(),
        std::mem::size_of_val(a.messages()) as f64 / 1e6,
        a.messages().len()
    );
}
