//! The `lyncscope` command: reads captures, runs the pipeline, prints a report.

mod capture_cli;
mod hep_cli;
mod tls_cli;

use clap::{Parser, ValueEnum};
use lyncscope::capture::CaptureError;
use lyncscope::inputs::{Following, Inputs};
use lyncscope::logs::LogOptions;
use lyncscope::output::decrypted::DecryptedWriter;
use lyncscope::pipeline::Pipeline;
use lyncscope::pipeline::{run_until, run_until_split};
use lyncscope::report::{self, ReportInput};
use lyncscope_base::writer::TsResolution;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

#[derive(Parser, Debug)]
#[command(
    name = "lyncscope",
    version,
    about = "SIP dissector that correlates Lync / Skype for Business conference joins",
    after_help = "Exit codes: 0 success (undecodable packets are counted, not fatal), \
                  1 runtime failure, 2 usage error or an input that is not a capture file."
)]
struct Cli {
    /// Capture file(s) (pcap, pcapng) and Lync logs (server SIPStack, client UCCAPI,
    /// pidgin-sipe), in any mix, each found by its content, optionally gzip-compressed; "-"
    /// reads a capture from standard input (also read when no file is named and standard input
    /// is a pipe or a redirected file).
    #[arg(value_name = "FILE")]
    files: Vec<String>,

    /// Follow logs still being written (like tail -f): the UI updates as lines come; headless
    /// (--report), until --duration, -c, Ctrl-C or SIGTERM.
    #[arg(long)]
    follow: bool,

    /// The logs' local time zone, as +HH:MM or -HH:MM from UTC (UCCAPI logs are written in
    /// the client's local time without a zone; sipe logs are UTC). Default: UTC.
    #[arg(
        long = "log-utc-offset",
        value_name = "±HH:MM",
        allow_hyphen_values = true
    )]
    log_utc_offset: Option<String>,

    /// Capture file to read (same as a FILE argument; repeatable).
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    read: Vec<String>,

    /// Live capture and -w options (capture_cli.rs).
    #[command(flatten)]
    capture: capture_cli::CaptureArgs,

    /// TLS key material and --write-decrypted (tls_cli.rs).
    #[command(flatten)]
    tls: tls_cli::TlsArgs,

    /// HEP collector and sender (hep_cli.rs).
    #[command(flatten)]
    hep: hep_cli::HepArgs,

    /// Print a report to standard output instead of opening the terminal UI: text, summary,
    /// json, csv, or html (`--report html OUT.html` writes the page to OUT.html; without a
    /// name ending in .html or .htm the page goes to standard output).
    #[arg(long, value_name = "FMT")]
    report: Option<ReportFormat>,

    /// The file of `--report html OUT.html` (the name after `html` is moved here).
    #[arg(long = "report-file", value_name = "OUT.html", hide = true)]
    report_file: Option<std::path::PathBuf>,

    /// With --report json: include the per-message list; with --report csv: one row per
    /// message instead of one per join.
    #[arg(long)]
    messages: bool,

    /// Reports and -w cover failed joins only (and failed dialogs outside conferences).
    #[arg(long)]
    failed: bool,

    /// Reports and -w cover one conference: its ID (from the focus URI) or its focus URI.
    #[arg(long, value_name = "ID")]
    conference: Option<String>,

    /// Reports and -w cover one user's joins: the AOR or its user part, case ignored
    /// (dave, dave@example.com, sip:dave@example.com).
    #[arg(long, value_name = "AOR")]
    user: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    Text,
    Json,
    Summary,
    Csv,
    Html,
}

/// What every report of the run shares beyond its input: the selection and the HTML file.
/// Set once from the command line, before any report is printed (the live and HEP runs print
/// through the same [`print_report`]).
struct ReportTarget {
    selection: lyncscope::report::select::Selection,
    html_file: Option<std::path::PathBuf>,
    /// Two threads or more (`--threads`): the JSON report is written on two.
    split: bool,
}

static TARGET: std::sync::OnceLock<ReportTarget> = std::sync::OnceLock::new();

/// `--report html OUT.html`: the name after `html` is the page's file when it ends in `.html`
/// or `.htm` (ASCII case ignored), so that a capture named next (`--report html x.pcapng`) is
/// never taken for the output; it is moved to the hidden `--report-file`.
fn html_file_argument(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut it = args.into_iter().peekable();
    while let Some(arg) = it.next() {
        let html =
            arg == "--report=html" || (arg == "--report" && it.peek().is_some_and(|v| v == "html"));
        if arg == "--" {
            out.push(arg);
            out.extend(it);
            break;
        }
        out.push(arg.clone());
        if !html {
            continue;
        }
        if arg == "--report" {
            out.extend(it.next());
        }
        let named = it.peek().and_then(|v| v.to_str()).is_some_and(|v| {
            let lower = v.to_ascii_lowercase();
            !v.starts_with('-') && (lower.ends_with(".html") || lower.ends_with(".htm"))
        });
        if named {
            out.push("--report-file".into());
            out.extend(it.next());
        }
    }
    out
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(html_file_argument(std::env::args_os().collect())) {
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
    let mut paths = cli.read.clone();
    paths.extend(cli.files.iter().cloned());
    let selection = lyncscope::report::select::Selection {
        failed: cli.failed,
        conference: cli.conference.clone(),
        user: cli.user.clone(),
    };
    if cli.report_file.is_some() && cli.report != Some(ReportFormat::Html) {
        return Err(Failure::usage("--report-file goes with --report html"));
    }
    if selection
        .user
        .as_deref()
        .is_some_and(|u| u.trim().is_empty())
        || selection
            .conference
            .as_deref()
            .is_some_and(|c| c.trim().is_empty())
    {
        return Err(Failure::usage(
            "--user and --conference want a value (an AOR or user name, a conference ID)",
        ));
    }
    let selecting = !selection.is_empty();
    let _ = TARGET.set(ReportTarget {
        selection,
        html_file: cli.report_file.clone(),
        split: cli.capture.split_threads(),
    });
    if cli.hep.listening() {
        return run_hep(&cli, &paths);
    }
    // Nothing named, standard input a pipe or a redirected file: read it, as `-` would.
    if paths.is_empty() && !cli.capture.live() && stdin_has_data() {
        paths.push("-".to_string());
    }
    cli.capture.validate(!paths.is_empty(), cli.follow)?;
    refuse_outputs_that_are_inputs(&cli.capture, &cli.tls, &paths, cli.report_file.as_deref())?;
    if cli.messages && !matches!(cli.report, Some(ReportFormat::Json | ReportFormat::Csv)) {
        return Err(Failure::usage(
            "--messages goes with --report json or --report csv",
        ));
    }
    if selecting && cli.capture.write.is_some() {
        if cli.capture.live() {
            return Err(Failure::usage(
                "-w with --failed, --conference or --user reads the capture files again at the                  end: it needs files, not a live capture",
            ));
        }
        if paths.iter().any(|p| p == "-") {
            return Err(Failure::usage(
                "-w with --failed, --conference or --user reads the inputs again at the end:                  standard input cannot be read twice, save the capture to a file first",
            ));
        }
    }
    let tls = cli.tls.load()?;
    for w in &tls.warnings {
        eprintln!("lyncscope: warning: {w}");
    }
    // Live capture: the terminal UI when standard output is a terminal and no report was
    // asked for; else headless, with the report at the end.
    if cli.capture.live() {
        if cli.report.is_none() && io::stdout().is_terminal() && !selecting {
            if cli.hep.send.is_some() {
                return Err(Failure::usage(
                    "--hep-send with -i runs headless: add --report text or --report json",
                ));
            }
            let outcome = capture_cli::run_live_tui(&cli.capture, tls);
            report_peak_rss();
            return outcome;
        }
        let format = cli.report.unwrap_or(ReportFormat::Text);
        let hep_send = cli.hep.sender()?;
        // The HTML report draws the joins' messages: they are kept.
        let messages = cli.messages || format == ReportFormat::Html;
        return capture_cli::run_live(&cli.capture, format, messages, tls, hep_send);
    }
    if paths.is_empty() {
        return Err(Failure::usage(
            "no input: give a capture file (lyncscope FILE.pcapng) or - for standard input; see --help",
        ));
    }

    let log_options = LogOptions {
        utc_offset_secs: match cli.log_utc_offset.as_deref() {
            Some(text) => parse_utc_offset(text).ok_or_else(|| {
                Failure::usage(format!(
                    "--log-utc-offset {text}: give the offset as +HH:MM or -HH:MM (e.g. +01:00)"
                ))
            })?,
            None => 0,
        },
        follow: cli.follow,
    };
    let mut files = Inputs::open(&paths, &log_options)?;
    if cli.follow && !files.has_logs() {
        return Err(Failure::usage(
            "--follow follows logs: give at least one log file",
        ));
    }
    // -w with a selection: which joins are selected is known at the end, so the frames of the
    // selected dialogs' messages are written then, from the capture files read again (the
    // same rule as the UI's `w`); a log's messages have no frames to write.
    let selected_write = match cli.capture.write.as_deref() {
        Some(path) if selecting => {
            if files.has_logs() {
                return Err(Failure::usage(
                    "-w with --failed, --conference or --user writes captured frames: give                      capture files only (a log's messages have no frames)",
                ));
            }
            Some(path.to_path_buf())
        }
        _ => None,
    };
    // Reading files, every key is known up front (or comes in a pcapng's secrets block before
    // the packets it opens): what has no key now has none at all.
    tls.handle.set_final(true);
    // Without --report, a terminal gets the UI and anything else (a pipe, a file) the text
    // report. Options that only make sense for a run to the end (-w, -c) keep the report.
    // The selection flags select what a report covers (the UI filters with `f`).
    let wants_run = cli.capture.write.is_some()
        || cli.capture.count.is_some()
        || cli.tls.write_decrypted.is_some()
        || cli.hep.send.is_some()
        || selecting;
    let format = match cli.report {
        Some(f) => f,
        None if io::stdout().is_terminal() && !wants_run => {
            let outcome = lyncscope_tui::run(files, &paths, tls.handle.clone());
            report_peak_rss();
            return outcome.map_err(|message| Failure { code: 1, message });
        }
        None => ReportFormat::Text,
    };
    let mut output = capture_cli::Output::create(
        cli.capture
            .write
            .as_deref()
            .filter(|_| selected_write.is_none()),
        TsResolution::Nano,
    )?;
    if let Some(o) = output.as_mut() {
        o.writer.name_inputs(files.names());
    }
    // Ctrl-C / SIGTERM: stop reading, report what was read.
    let stop = capture_cli::termination_flag();
    let mut pipeline = Pipeline::new(&lyncscope::Options {
        // The HTML report draws the joins' messages; -w with a selection finds their frames.
        keep_messages: cli.messages || format == ReportFormat::Html || selected_write.is_some(),
        // Several inputs may have seen the same message (both ends' logs, a log and a
        // capture): it is one message with every origin.
        merge_copies: paths.len() > 1,
        limits: cli.capture.limits(),
        ..lyncscope::Options::default()
    })
    .with_tls(tls.handle.clone());
    let mut decrypted = match cli.tls.write_decrypted.as_deref() {
        Some(path) => Some(DecryptedWriter::create(path).map_err(|e| Failure {
            code: 1,
            message: format!("--write-decrypted {}: {e}", path.display()),
        })?),
        None => None,
    };
    let mut warnings = Vec::new();
    let mut interrupted = false;
    let count = cli.capture.count;
    let keep_going = |read: u64| {
        if count.is_some_and(|c| read >= c) {
            return false;
        }
        interrupted = read.is_multiple_of(4096) && stop.load(Ordering::Relaxed);
        !interrupted
    };
    let mut hep_send = cli.hep.sender()?;
    let mut hep_tap = hep_send.as_mut().map(|(_, t)| t);
    let deadline = cli
        .capture
        .duration
        .map(|s| std::time::Instant::now() + std::time::Duration::from_secs_f64(s));
    let stop_following =
        || stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| std::time::Instant::now() >= d);
    let following = files.following();
    let mut followed = Following::new(&mut files, stop_following);
    let mut taps = (
        (output.as_mut().map(|o| &mut o.writer), &mut decrypted),
        &mut hep_tap,
    );
    // Following a growing log stays on one thread: a batch would hold its messages back.
    let read = if following {
        run_until(&mut followed, &mut pipeline, &mut taps, keep_going)
    } else if cli.capture.split_threads() {
        run_until_split(&mut files, &mut pipeline, &mut taps, keep_going)
    } else {
        run_until(&mut files, &mut pipeline, &mut taps, keep_going)
    };
    // A pipe interrupted while it waited for its writer ends like a file: the loop saw its
    // end, not the flag.
    interrupted |= stop.load(Ordering::Relaxed);
    let mut hep_summary = lyncscope::report::HepSummary::default();
    let sending = hep_send.is_some();
    hep_cli::close_sender(hep_send, &mut hep_summary);
    if interrupted {
        warnings.push(format!(
            "interrupted after {read} packets; the report covers those"
        ));
    }
    warnings.splice(0..0, files.warnings().iter().map(|w| w.to_string()));
    // An output that could not be written (a full disk) does not undo the analysis: the report
    // is printed, then the run fails with the error that names the file.
    let mut write_failed = None;
    let mut written = output
        .map(capture_cli::Output::close)
        .transpose()
        .unwrap_or_else(|f| {
            write_failed = Some(f);
            None
        });
    if let Some(path) = &selected_write {
        match write_selected(path, &paths, &pipeline) {
            Ok(summary) => written = Some(summary),
            Err(f) => write_failed = Some(f),
        }
    }
    if let Some(d) = decrypted {
        let path = cli.tls.write_decrypted.as_deref().unwrap_or(Path::new("-"));
        match d.finish(pipeline.tls()) {
            Ok(done) => eprintln!(
                "lyncscope: wrote {} frames and the secrets of {} TLS sessions to {}",
                done.frames, done.sessions, done.path
            ),
            Err(e) => {
                write_failed.get_or_insert(Failure {
                    code: 1,
                    message: format!("--write-decrypted {}: {e}", path.display()),
                });
            }
        }
    }
    if let Some(w) = written.as_ref().and_then(capture_cli::write_warning) {
        warnings.push(w);
    }
    for w in &warnings {
        eprintln!("lyncscope: warning: {w}");
    }

    let input = ReportInput {
        hep: sending.then_some(&hep_summary),
        sources: files.names(),
        warnings: &warnings,
        messages: cli.messages,
        live: None,
        written: written.as_ref(),
        inputs: Some(&files),
        selection: None,
    };
    let printed = print_report(format, &input, &pipeline);
    // The analysis is freed by the process exit; walking it to free it piece by piece would
    // only add time.
    std::mem::forget(pipeline);
    printed?;
    write_failed.map_or(Ok(()), Err)
}

/// `-w` with a selection: writes the frames that carried the selected dialogs' messages, read
/// again from the capture files (`paths`).
fn write_selected(
    path: &Path,
    paths: &[String],
    pipeline: &Pipeline,
) -> Result<lyncscope::output::WriteSummary, Failure> {
    use lyncscope::output::export::{self, ExportError, MessageSpan};
    use lyncscope::source::Origin;
    let a = pipeline.analysis();
    let selection = TARGET.get().map(|t| &t.selection);
    let set = selection.map(|s| s.dialogs(a));
    let spans: Vec<MessageSpan> = a
        .messages()
        .iter()
        .filter(|m| matches!(m.origin(a), Origin::Capture { .. }))
        .filter(|m| {
            m.dialog()
                .is_some_and(|d| set.as_ref().is_none_or(|s| s.contains(d)))
        })
        .map(|m| MessageSpan::of(a, m))
        .collect();
    let failure = |e: String| Failure {
        code: 1,
        message: format!("-w {}: {e}", path.display()),
    };
    let exported = match export::write_file(paths, &spans, &path.to_string_lossy()) {
        Ok(e) => e,
        // Nothing selected: an empty capture file says so truthfully.
        Err(ExportError::Empty) => {
            let file = std::fs::File::create(path).map_err(|e| failure(e.to_string()))?;
            lyncscope_base::writer::PcapWriter::new(file, 1, TsResolution::Micro)
                .and_then(|mut w| w.flush())
                .map_err(|e| failure(e.to_string()))?;
            export::Exported {
                frames: 0,
                pcapng: false,
            }
        }
        Err(e) => return Err(failure(e.to_string())),
    };
    Ok(lyncscope::output::WriteSummary {
        path: path.display().to_string(),
        stats: lyncscope::output::sip_writer::SipWriterStats {
            packets_written: exported.frames as u64,
            messages: spans.len() as u64,
            packets_lost: 0,
            messages_cut: a.stats().messages_not_listed,
            pcapng: exported.pcapng,
        },
    })
}

/// Standard input is a pipe, a socket or a redirected file — something to read — rather than
/// a terminal (the usage error says what to give) or a device such as `/dev/null`.
fn stdin_has_data() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::FileTypeExt;
    if io::stdin().is_terminal() {
        return false;
    }
    io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .and_then(|f| f.metadata())
        .is_ok_and(|m| {
            let t = m.file_type();
            t.is_fifo() || t.is_socket() || t.is_file()
        })
}

/// Refuses an output (`-w`, `--write-decrypted`) that is an input: `-w x.pcapng x.pcapng` would
/// read an emptied file and leave nothing of the capture. The same file by device and inode,
/// so that a symlink, a `../` path or a hard link is caught, and before anything is opened for
/// writing or read.
fn refuse_outputs_that_are_inputs(
    capture: &capture_cli::CaptureArgs,
    tls: &tls_cli::TlsArgs,
    paths: &[String],
    html: Option<&Path>,
) -> Result<(), Failure> {
    use lyncscope::output::export::{same_file, same_file_metadata};
    let outputs = [
        ("-w", capture.write.as_deref()),
        ("--write-decrypted", tls.write_decrypted.as_deref()),
        ("--report html", html),
    ];
    let captures = paths
        .iter()
        .filter(|p| *p != "-")
        .map(|p| (Path::new(p.as_str()), ""));
    let keylogs = tls.keylogs.iter().map(|p| (p.as_path(), " (--tls-keylog)"));
    let keys = tls.keys.iter().map(|p| (p.as_path(), " (--tls-key)"));
    let inputs: Vec<(&Path, &str)> = captures.chain(keylogs).chain(keys).collect();
    // `- < x.pcapng`: standard input may be a file too.
    let stdin = match paths.iter().any(|p| p == "-") {
        true => {
            use std::os::fd::AsFd;
            io::stdin()
                .as_fd()
                .try_clone_to_owned()
                .map(std::fs::File::from)
                .and_then(|f| f.metadata())
                .ok()
        }
        false => None,
    };
    for (flag, output) in outputs {
        let Some(output) = output else { continue };
        if let Some((input, what)) = inputs.iter().find(|(input, _)| same_file(output, input)) {
            return Err(Failure::usage(format!(
                "{flag} {} is the input {}{what}: write to another file (it would destroy the input)",
                output.display(),
                input.display()
            )));
        }
        let out_meta = std::fs::metadata(output).ok();
        if let (Some(o), Some(i)) = (&out_meta, &stdin) {
            if i.is_file() && same_file_metadata(o, i) {
                return Err(Failure::usage(format!(
                    "{flag} {} is the file standard input reads: write to another file (it \
                     would destroy the input)",
                    output.display()
                )));
            }
        }
    }
    Ok(())
}

/// Prints the report to standard output.
fn print_report(
    format: ReportFormat,
    input: &ReportInput<'_>,
    pipeline: &Pipeline,
) -> Result<(), Failure> {
    let target = TARGET.get();
    let input = &ReportInput {
        selection: input.selection.or(target.map(|t| &t.selection)),
        ..*input
    };
    let stats = pipeline.stats();
    let a = pipeline.analysis();
    if let (ReportFormat::Html, Some(path)) = (format, target.and_then(|t| t.html_file.as_ref())) {
        // Inputs were refused as outputs before the run; the library checks again.
        let sources: Vec<String> = input.sources.to_vec();
        return match report::html::write_file(path, &sources, input, &stats, a) {
            Ok(bounds) => {
                eprintln!(
                    "lyncscope: wrote the HTML report to {}{}",
                    path.display(),
                    if bounds == report::html::PageBounds::default() {
                        ""
                    } else {
                        " (bounded: the page says what it leaves out)"
                    }
                );
                report_peak_rss();
                Ok(())
            }
            Err(e) => Err(Failure {
                code: 1,
                message: format!("--report html {}: {e}", path.display()),
            }),
        };
    }
    let stdout = io::stdout();
    let mut out = BufWriter::new(PipeWatch {
        inner: stdout.lock(),
        broken: false,
    });
    let written = match format {
        ReportFormat::Json if target.is_some_and(|t| t.split) => {
            report::json::write_split(&mut out, input, &stats, a)
        }
        ReportFormat::Json => report::json::write(&mut out, input, &stats, a),
        ReportFormat::Text => report::text::write(&mut out, input, &stats, a),
        ReportFormat::Summary => report::summary::write(&mut out, input, &stats, a),
        ReportFormat::Csv => report::csv::write(&mut out, input, a),
        ReportFormat::Html => report::html::write(&mut out, input, &stats, a).map(|_| ()),
    }
    .and_then(|()| out.flush());
    match written {
        // A reader that stops early (`| head`) is not an error. The JSON writer wraps the
        // error in serde_json's, which hides its kind: the watch saw it on the way.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe || out.get_ref().broken => Ok(()),
        Err(e) => Err(Failure {
            code: 1,
            message: format!("writing the report: {e}"),
        }),
        Ok(()) => {
            report_peak_rss();
            Ok(())
        }
    }
}

/// Standard output, remembering whether a write met a closed pipe, whatever error wraps it
/// later.
struct PipeWatch<W> {
    inner: W,
    broken: bool,
}

impl<W: Write> PipeWatch<W> {
    fn watch<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &result {
            self.broken |= e.kind() == io::ErrorKind::BrokenPipe;
        }
        result
    }
}

impl<W: Write> Write for PipeWatch<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = self.inner.write(buf);
        self.watch(result)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let result = self.inner.write_all(buf);
        self.watch(result)
    }

    fn flush(&mut self) -> io::Result<()> {
        let result = self.inner.flush();
        self.watch(result)
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

/// `+HH:MM`, `-HH:MM` (or `+HH`, `Z`) as seconds east of UTC.
fn parse_utc_offset(text: &str) -> Option<i32> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("z") || t == "0" {
        return Some(0);
    }
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1, t.get(1..)?),
        b'-' => (-1, t.get(1..)?),
        _ => return None,
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => (rest.get(..2)?, rest.get(2..)?),
        None => (rest, "0"),
    };
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && (0..60).contains(&m)).then_some(sign * (h * 3600 + m * 60))
}

/// `--hep-listen`: a collector run, like a live capture; after the files given, and together
/// with `-i` (feature `live`), into one pipeline.
fn run_hep(cli: &Cli, paths: &[String]) -> Result<(), Failure> {
    if !paths.is_empty() && cli.capture.live() {
        return Err(Failure::usage(
            "read files or capture live (-i), not both in one run",
        ));
    }
    if cli.capture.live() && !cfg!(feature = "live") {
        return Err(Failure::usage(capture_cli::NOT_BUILT));
    }
    if cli.capture.write.is_some() || cli.tls.write_decrypted.is_some() {
        return Err(Failure::usage(
            "-w and --write-decrypted are not available with --hep-listen (HEP brings \
             messages, not frames)",
        ));
    }
    if cli.follow {
        return Err(Failure::usage(
            "--follow is not available with --hep-listen: the collector already runs until stopped",
        ));
    }
    if !cli.capture.live() {
        for (set, flag) in [
            (cli.capture.filter.is_some(), "-f"),
            (cli.capture.no_promiscuous, "-p"),
            (cli.capture.buffer_size.is_some(), "-B"),
        ] {
            if set {
                return Err(Failure::usage(format!(
                    "{flag} goes with live capture (-i IF)"
                )));
            }
        }
    }
    if cli.messages && !matches!(cli.report, Some(ReportFormat::Json | ReportFormat::Csv)) {
        return Err(Failure::usage(
            "--messages goes with --report json or --report csv",
        ));
    }
    let mut tls = cli.tls.load()?;
    for w in &tls.warnings {
        eprintln!("lyncscope: warning: {w}");
    }
    let mut files = match paths.is_empty() {
        true => None,
        false => {
            let log_options = LogOptions {
                utc_offset_secs: match cli.log_utc_offset.as_deref() {
                    Some(text) => parse_utc_offset(text).ok_or_else(|| {
                        Failure::usage(format!(
                            "--log-utc-offset {text}: give the offset as +HH:MM or -HH:MM (e.g. +01:00)"
                        ))
                    })?,
                    None => 0,
                },
                follow: false,
            };
            Some(Inputs::open(paths, &log_options)?)
        }
    };
    // Files are read whole, before the collector's messages (numbered on from theirs): every
    // key for their TLS is known by then, as when files are read alone.
    if files.is_some() {
        tls.handle.set_final(true);
    }
    // Signals first: a SIGTERM right after the collector started stops it cleanly.
    let stop = capture_cli::termination_flag();
    let listener = hep_cli::listen(&cli.hep)?;
    hep_cli::announce(&listener);
    let (feed, hep) = lyncscope_tui::live::HepFeed::new(listener);
    let stop_at = lyncscope_tui::live::StopAt {
        count: cli.capture.count,
        duration: cli.capture.duration.map(std::time::Duration::from_secs_f64),
    };
    let selecting = TARGET.get().is_some_and(|t| !t.selection.is_empty());
    if cli.report.is_none() && io::stdout().is_terminal() && !selecting {
        if cli.hep.send.is_some() {
            return Err(Failure::usage(
                "--hep-send with --hep-listen runs headless: add --report text or --report json",
            ));
        }
        // The terminal UI, updated as messages arrive; `q` ends it.
        let outcome =
            capture_cli::run_hep_tui(&cli.capture, feed, &hep, files, stop_at, stop, tls)?;
        report_peak_rss();
        eprintln!(
            "lyncscope: {} packets and messages, {} SIP messages",
            outcome.packets, outcome.sip_messages
        );
        for w in &outcome.errors {
            eprintln!("lyncscope: warning: {w}");
        }
        return outcome.ui.map_err(|message| Failure { code: 1, message });
    }
    let mut pipeline = Pipeline::new(&lyncscope::Options {
        keep_messages: cli.messages || cli.report == Some(ReportFormat::Html),
        // The same hop seen by two agents, or by an agent and a file, is one message.
        merge_copies: true,
        limits: cli.capture.limits(),
        ..lyncscope::Options::default()
    })
    .with_tls(tls.handle.clone());
    let mut hep_send = cli.hep.sender()?;
    let mut hep_tap = hep_send.as_mut().map(|(_, t)| t);
    let mut first_number = 0;
    if let Some(f) = files.as_mut() {
        first_number = run_until(f, &mut pipeline, &mut hep_tap, |_| true);
        eprintln!(
            "lyncscope: read {first_number} frames and messages from {}",
            f.names().join(", ")
        );
    }
    let hep_stop = hep_cli::Stop {
        count: cli.capture.count,
        duration: cli.capture.duration,
        flag: &stop,
    };
    let (read, live) = capture_cli::collect_hep(
        &cli.capture,
        &mut tls,
        feed,
        &hep_stop,
        first_number,
        &mut pipeline,
        &mut hep_tap,
    )?;
    let mut summary = hep.summary();
    hep_cli::close_sender(hep_send, &mut summary);
    eprintln!(
        "lyncscope: {} SIP messages received over HEP{}",
        summary.received.as_ref().map_or(0, |r| r.packets_delivered),
        live.as_ref()
            .map(|(names, _)| format!(", {read} frames and messages with {}", names.join(", ")))
            .unwrap_or_default()
    );
    let mut sources: Vec<String> = files
        .as_ref()
        .map(|f| f.names().to_vec())
        .unwrap_or_default();
    if let Some((names, _)) = &live {
        sources.extend(names.iter().cloned());
    }
    sources.extend(summary.listeners.iter().cloned());
    let mut warnings: Vec<String> = files
        .as_ref()
        .map(|f| f.warnings().iter().map(|w| w.to_string()).collect())
        .unwrap_or_default();
    if let Some((_, stats)) = &live {
        if stats.dropped() > 0 {
            warnings.push(format!(
                "{} packets were dropped before lyncscope could read them (kernel buffer full or \
                 interface drops): raise -B or narrow -f",
                stats.dropped()
            ));
        }
    }
    for w in &warnings {
        eprintln!("lyncscope: warning: {w}");
    }
    let input = ReportInput {
        sources: &sources,
        warnings: &warnings,
        messages: cli.messages,
        live: live.as_ref().map(|(_, s)| s),
        written: None,
        inputs: files.as_ref(),
        hep: Some(&summary),
        selection: None,
    };
    print_report(cli.report.unwrap_or(ReportFormat::Text), &input, &pipeline)
}

#[cfg(test)]
mod tests {
    use super::html_file_argument;

    fn moved(args: &[&str]) -> Vec<String> {
        html_file_argument(args.iter().map(Into::into).collect())
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn only_a_name_ending_in_html_after_report_html_is_the_page() {
        assert_eq!(
            moved(&["lyncscope", "--report", "html", "out.html", "x.pcap"]),
            [
                "lyncscope",
                "--report",
                "html",
                "--report-file",
                "out.html",
                "x.pcap"
            ]
        );
        assert_eq!(
            moved(&["lyncscope", "--report=html", "OUT.HTM", "x.pcap"]),
            [
                "lyncscope",
                "--report=html",
                "--report-file",
                "OUT.HTM",
                "x.pcap"
            ]
        );
        // A capture after `html` is an input, never the output.
        assert_eq!(
            moved(&["lyncscope", "--report", "html", "x.pcap"]),
            ["lyncscope", "--report", "html", "x.pcap"]
        );
        assert_eq!(
            moved(&["lyncscope", "--report", "json", "a.html"]),
            ["lyncscope", "--report", "json", "a.html"]
        );
        assert_eq!(
            moved(&["lyncscope", "--", "--report", "html", "a.html"]),
            ["lyncscope", "--", "--report", "html", "a.html"]
        );
        assert_eq!(
            moved(&["lyncscope", "--report", "html", "--failed"]),
            ["lyncscope", "--report", "html", "--failed"]
        );
    }
}
