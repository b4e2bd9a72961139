//! The `lyncscope` command: reads captures, runs the pipeline, prints a report.

use clap::{Parser, ValueEnum};
use lyncscope::capture::{CaptureError, CaptureFiles};
use lyncscope::pipeline::Pipeline;
use lyncscope::report::{self, ReportInput};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "lyncscope",
    version,
    about = "SIP dissector that correlates Lync / Skype for Business conference joins",
    after_help = "Exit codes: 0 success (undecodable packets are counted, not fatal), \
                  1 runtime failure, 2 usage error or an input that is not a capture file."
)]
struct Cli {
    /// Capture file(s): pcap or pcapng, optionally gzip-compressed; "-" reads standard input.
    #[arg(value_name = "FILE")]
    files: Vec<String>,

    /// Capture file to read (same as a FILE argument; repeatable).
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    read: Vec<String>,

    /// Live capture on an interface (needs a build with the `live` feature).
    #[arg(short = 'i', long = "interface", value_name = "IF")]
    interface: Vec<String>,

    /// Print a report to standard output instead of opening the terminal UI.
    #[arg(long, value_name = "FMT")]
    report: Option<ReportFormat>,

    /// With --report json: include the per-message list.
    #[arg(long)]
    messages: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { code, message }) => {
            eprintln!("lyncscope: {message}");
            ExitCode::from(code)
        }
    }
}

struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
}

impl From<CaptureError> for Failure {
    fn from(e: CaptureError) -> Self {
        Failure::usage(e.to_string())
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    if !cli.interface.is_empty() {
        return Err(Failure::usage(
            "live capture (-i) is not in this build: rebuild with `cargo build --release --features live` \
             (needs libpcap-dev), or read a capture file instead",
        ));
    }
    let mut paths = cli.read;
    paths.extend(cli.files);
    if paths.is_empty() {
        return Err(Failure::usage(
            "no input: give a capture file (lyncscope FILE.pcapng) or - for standard input; see --help",
        ));
    }
    if cli.messages && cli.report != Some(ReportFormat::Json) {
        return Err(Failure::usage("--messages goes with --report json"));
    }
    let mut files = CaptureFiles::open(&paths)?;
    // Without --report, a terminal gets the UI and anything else (a pipe, a file) the text
    // report.
    let format = match cli.report {
        Some(f) => f,
        None if io::stdout().is_terminal() => {
            let outcome = lyncscope::tui::run(files, &paths);
            report_peak_rss();
            return outcome.map_err(|message| Failure { code: 1, message });
        }
        None => ReportFormat::Text,
    };
    let mut pipeline = Pipeline::new(cli.messages);
    while let Some(frame) = files.next_frame() {
        pipeline.push(&frame);
    }
    pipeline.finish();
    for w in files.warnings() {
        eprintln!("lyncscope: warning: {w}");
    }

    let input = ReportInput {
        sources: files.source_names(),
        warnings: files.warnings(),
        messages: cli.messages,
    };
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let stats = pipeline.stats();
    let written = match format {
        ReportFormat::Json => report::json::write(&mut out, &input, &stats, pipeline.analysis()),
        ReportFormat::Text => report::text::write(&mut out, &input, &stats, pipeline.analysis()),
    }
    .and_then(|()| out.flush());
    match written {
        // A reader that stops early (`| head`) is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure {
            code: 1,
            message: format!("writing the report: {e}"),
        }),
        Ok(()) => {
            report_peak_rss();
            // The analysis is freed by the process exit; walking it to free it piece by piece
            // would only add time.
            std::mem::forget(pipeline);
            Ok(())
        }
    }
}

/// With `LYNCSCOPE_PEAK_RSS=1`, prints the process's peak resident set (Linux) to stderr; the
/// benchmark reads it.
fn report_peak_rss() {
    if std::env::var_os("LYNCSCOPE_PEAK_RSS").is_none() {
        return;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:")) {
        let kb: u64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        eprintln!("lyncscope: peak RSS {:.1} MB", kb as f64 / 1024.0);
    }
}
