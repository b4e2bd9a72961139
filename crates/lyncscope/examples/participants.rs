//! Prints every participant of every conference in a capture with where their join stands
//! and, for a failed join, the step that failed and why — the library without the UI.
//!
//! ```text
//! cargo run -p lyncscope --example participants -- captures/av-mcu-rejected.pcapng
//! ```

use lyncscope::report::reason::reason;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: participants CAPTURE…");
        return ExitCode::from(2);
    }
    let done = match lyncscope::analyze(&paths, &lyncscope::Options::default()) {
        Ok(done) => done,
        Err(e) => {
            eprintln!("participants: {e}");
            return ExitCode::from(2);
        }
    };
    for w in &done.warnings {
        eprintln!("participants: warning: {w}");
    }
    // A reader that stops early (`| head`) ends the listing quietly.
    let mut out = std::io::stdout().lock();
    for c in done.analysis().conferences().list() {
        if writeln!(out, "conference {} (organizer {})", c.id, c.organizer).is_err() {
            return ExitCode::SUCCESS;
        }
        for p in &c.participants {
            let d = c.diagnose(p);
            let step = d.failed_step.map(|s| s.as_str()).unwrap_or("-");
            let mut line = format!("  {:<32} {:<13} {step}", p.uri, d.state.as_str());
            if let Some(why) = reason(&d, p) {
                line.push_str(&format!("\n    {why}"));
            }
            if writeln!(out, "{line}").is_err() {
                return ExitCode::SUCCESS;
            }
        }
    }
    ExitCode::SUCCESS
}
