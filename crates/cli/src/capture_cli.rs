//! The command line's capture options: live capture (`-i`, `-f`, `-p`, `-B`, `-c`,
//! `--duration`, feature `live`), writing the SIP-carrying packets (`-w`, files and live), and
//! stopping cleanly on Ctrl-C / SIGTERM. Kept apart from `main.rs` so that the offline and
//! terminal-UI paths stay readable.

use crate::Failure;
#[cfg(not(feature = "live"))]
use crate::ReportFormat;
use clap::Args;
use lyncscope::output::sip_writer::SipWriter;
use lyncscope::output::WriteSummary;
use lyncscope_base::writer::TsResolution;
use signal_hook::iterator::Signals;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Reads the key logs again every quarter second while a live capture runs (a TLS client
/// writing SSLKEYLOGFILE adds a line per session it opens). Dropping or stopping the returned
/// guard ends the thread.
#[cfg(feature = "live")]
pub fn follow_keylogs(
    mut files: Vec<lyncscope::tls::KeylogFile>,
    tls: lyncscope::tls::TlsHandle,
) -> Follow {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = (!files.is_empty())
        .then(|| {
            std::thread::Builder::new()
                .name("keylog".into())
                .spawn(move || {
                    while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                        std::thread::sleep(std::time::Duration::from_millis(250));
                        for f in &mut files {
                            // A file that cannot be read now (rotated, not yet created) is
                            // read again next time.
                            let _ = f.poll(&tls);
                        }
                    }
                })
                .ok()
        })
        .flatten();
    Follow { stop, thread }
}

/// The key log follower's thread (see `follow_keylogs`).
#[cfg(feature = "live")]
pub struct Follow {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[cfg(feature = "live")]
impl Follow {
    /// Stops following and waits for the thread.
    pub fn stop(mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Printed when `-i` is used in a build without the `live` feature.
pub const NOT_BUILT: &str = "live capture (-i) is not in this build: rebuild with \
     `cargo build --release --features live` (needs libpcap-dev), or read a capture file instead";

#[derive(Args, Debug, Default)]
pub struct CaptureArgs {
    /// Live capture on an interface; repeatable; "any" captures on all (needs a build with the
    /// `live` feature).
    #[arg(short = 'i', long = "interface", value_name = "IF")]
    pub interface: Vec<String>,

    /// Live: capture filter (libpcap syntax); without it nothing is filtered. See the README
    /// for a SIP filter that keeps IP fragments and VLAN-tagged frames.
    #[arg(short = 'f', long = "filter", value_name = "BPF")]
    pub filter: Option<String>,

    /// Also write the packets that carried SIP (every fragment and segment) to FILE (pcap, or
    /// pcapng when several link types appear).
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,

    /// Stop after N packets.
    #[arg(short = 'c', long = "count", value_name = "N")]
    pub count: Option<u64>,

    /// Live: stop after SECS seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,

    /// Live: do not put the interfaces in promiscuous mode.
    #[arg(short = 'p', long = "no-promiscuous")]
    pub no_promiscuous: bool,

    /// Live: kernel capture buffer size in MiB (libpcap's default is 2).
    #[arg(short = 'B', long = "buffer-size", value_name = "MiB")]
    pub buffer_size: Option<u32>,

    /// The analysis' byte budget (512M, 2G, …; default 1G): beyond it the oldest finished
    /// dialogs are evicted, then new dialogs and message rows refused; both are counted.
    #[arg(long = "memory-limit", value_name = "SIZE", value_parser = parse_size)]
    pub memory_limit: Option<usize>,

    /// Threads for reading files into a report: 2 (the default on a machine with two cores or
    /// more) reads, decodes and reassembles on one and analyses on the other, and writes a JSON
    /// report on both; 1 does it all on one, for constrained hosts. The report is the same
    /// either way.
    #[arg(long = "threads", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

/// The smallest `--memory-limit`: below, even a small capture's dialogs would be refused.
const MIN_MEMORY_LIMIT: usize = 1 << 20;

/// A size in bytes: a number with an optional binary suffix K, M, G or T (`KiB`, `MB` and
/// `512m` are read alike, in powers of 1024).
fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, suffix) = t.split_at(digits);
    let number: usize = number
        .parse()
        .map_err(|_| format!("{text:?}: a size is a number with K, M, G or T (512M, 2G)"))?;
    let unit = suffix.trim().to_ascii_lowercase();
    let shift = match unit.trim_end_matches("ib").trim_end_matches('b') {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(format!("{text:?}: the unit is K, M, G or T (512M, 2G)")),
    };
    let bytes = number
        .checked_mul(1usize << shift)
        .ok_or_else(|| format!("{text:?}: too large"))?;
    if bytes < MIN_MEMORY_LIMIT {
        return Err(format!("{text:?}: at least 1M"));
    }
    Ok(bytes)
}

impl CaptureArgs {
    /// The analysis' bounds with `--memory-limit` applied.
    pub fn limits(&self) -> lyncscope::analysis::Limits {
        let mut limits = lyncscope::analysis::Limits::default();
        if let Some(bytes) = self.memory_limit {
            limits.memory = bytes;
        }
        limits
    }
}

impl CaptureArgs {
    /// Whether a run over files splits reading and analysis across two threads.
    pub fn split_threads(&self) -> bool {
        match self.threads {
            Some(n) => n >= 2,
            None => std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2),
        }
    }

    pub fn live(&self) -> bool {
        !self.interface.is_empty()
    }

    /// Usage errors: options that need `-i`, `-i` together with files, bad values, `-i` in a
    /// build without `live`.
    pub fn validate(&self, has_files: bool, following: bool) -> Result<(), Failure> {
        if self.live() {
            if !cfg!(feature = "live") {
                return Err(Failure::usage(NOT_BUILT));
            }
            if has_files {
                return Err(Failure::usage(
                    "read files or capture live (-i), not both in one run",
                ));
            }
        } else {
            let live_only = [
                (self.filter.is_some(), "-f"),
                (self.duration.is_some() && !following, "--duration"),
                (self.no_promiscuous, "-p"),
                (self.buffer_size.is_some(), "-B"),
            ];
            if let Some((_, flag)) = live_only.iter().find(|(set, _)| *set) {
                return Err(Failure::usage(format!(
                    "{flag} goes with live capture (-i IF)"
                )));
            }
        }
        if let Some(d) = self.duration {
            if !(d.is_finite() && d > 0.0 && d < 1e9) {
                return Err(Failure::usage(
                    "--duration wants a number of seconds above 0",
                ));
            }
        }
        if self.count == Some(0) {
            return Err(Failure::usage("-c wants a number of packets above 0"));
        }
        if matches!(self.buffer_size, Some(0) | Some(2048..)) {
            return Err(Failure::usage("-B wants a size in MiB from 1 to 2047"));
        }
        if self.write.as_deref() == Some(Path::new("-")) {
            return Err(Failure::usage(
                "-w writes to a file, not standard output (the report goes there)",
            ));
        }
        Ok(())
    }
}

/// Signals closer together than this are one. `timeout -s INT` signals its child and then the
/// whole process group, and a terminal's Ctrl-C reaches every member of a pipeline, so one
/// request to stop can arrive twice at once; a user who presses Ctrl-C again because the run
/// hangs does so well after this.
const ONE_SIGNAL: Duration = Duration::from_millis(500);

/// Ctrl-C (SIGINT) and SIGTERM set the returned flag: the run stops reading, finishes the
/// analysis, prints the report and closes `-w`. A second signal ends the process at once
/// (exit code 130), in case something hangs; one that follows the first within [`ONE_SIGNAL`]
/// is the same request and is ignored.
pub fn termination_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let signals = [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM];
    // The signals are taken by a thread (signal-hook's self-pipe), which can look at the clock;
    // a signal handler could not.
    let watcher = Signals::new(signals).and_then(|mut incoming| {
        let set = Arc::clone(&flag);
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let mut first: Option<Instant> = None;
                for _ in incoming.forever() {
                    match first {
                        None => {
                            first = Some(Instant::now());
                            set.store(true, Ordering::SeqCst);
                            // A pipe or FIFO whose writer keeps it open would otherwise hold
                            // the run in its read until the writer closes.
                            lyncscope::capture::interrupt_reads();
                        }
                        Some(at) if at.elapsed() < ONE_SIGNAL => {}
                        Some(_) => signal_hook::low_level::exit(130),
                    }
                }
            })
    });
    if watcher.is_err() {
        // No thread: the flag alone, without a forced exit. Registration fails only for
        // forbidden signals, never these; without it the default action (terminate) stays,
        // which is still correct.
        for signal in signals {
            let _ = signal_hook::flag::register(signal, Arc::clone(&flag));
        }
    }
    flag
}

/// The `-w` file, open.
pub struct Output {
    pub path: PathBuf,
    pub writer: SipWriter<File>,
}

impl Output {
    pub fn create(path: Option<&Path>, resolution: TsResolution) -> Result<Option<Self>, Failure> {
        let Some(path) = path else {
            return Ok(None);
        };
        let writer = SipWriter::create(path, resolution).map_err(|e| Failure {
            code: 1,
            message: format!("{}: {e}", path.display()),
        })?;
        Ok(Some(Output {
            path: path.to_owned(),
            writer,
        }))
    }

    /// Flushes the file; returns what was written, for the report.
    pub fn close(mut self) -> Result<WriteSummary, Failure> {
        let summary = WriteSummary {
            path: self.path.display().to_string(),
            stats: self.writer.stats(),
        };
        self.writer.finish().map_err(|e| Failure {
            code: 1,
            message: format!("writing {}: {e}", self.path.display()),
        })?;
        Ok(summary)
    }
}

/// A warning for the report when `-w` could not write every packet of every message.
pub fn write_warning(w: &WriteSummary) -> Option<String> {
    let s = &w.stats;
    (s.packets_lost > 0 || s.messages_cut > 0).then(|| {
        format!(
            "{}: {} SIP messages lack packets in the file ({} packets had left the -w buffer \
             before their message completed)",
            w.path, s.messages_cut, s.packets_lost
        )
    })
}

#[cfg(feature = "live")]
pub use live::{run_live, run_live_tui};

/// A live capture's interfaces and libpcap's counters at its end.
pub type Captured = (Vec<String>, lyncscope::capture::LiveStats);

/// The HEP collector headless, read with the live capture when `-i` is given (feature
/// `live`): every input into `pipeline` until `stop`; the inputs read live and, with `-i`, the
/// interfaces and libpcap's counters.
pub fn collect_hep(
    args: &CaptureArgs,
    tls: &mut crate::tls_cli::Loaded,
    feed: lyncscope_tui::live::HepFeed,
    stop: &crate::hep_cli::Stop<'_>,
    first_number: u64,
    pipeline: &mut lyncscope::pipeline::Pipeline,
    tap: &mut impl lyncscope::pipeline::MessageTap,
) -> Result<(u64, Option<Captured>), Failure> {
    #[cfg(feature = "live")]
    if args.live() {
        // Key logs still being written (a client's SSLKEYLOGFILE) are read as they grow.
        let follow = follow_keylogs(std::mem::take(&mut tls.followers), tls.handle.clone());
        let cap = live::open(args)?;
        let names = live::announce(args, &cap);
        let stopper = cap.stopper();
        let both = lyncscope_tui::live::Both::new(feed, cap);
        let read = crate::hep_cli::collect(both, stop, first_number, pipeline, tap);
        follow.stop();
        return Ok((read, Some((names, stopper.stats()))));
    }
    let _ = (args, tls);
    Ok((
        crate::hep_cli::collect(feed, stop, first_number, pipeline, tap),
        None,
    ))
}

/// The terminal UI on the HEP collector (after `files`; with the live capture when `-i` is
/// given, feature `live`). The capture is opened before the terminal changes.
pub fn run_hep_tui(
    args: &CaptureArgs,
    feed: lyncscope_tui::live::HepFeed,
    hep: &lyncscope_tui::live::HepShared,
    files: Option<lyncscope::inputs::Inputs>,
    stop_at: lyncscope_tui::live::StopAt,
    quit: Arc<AtomicBool>,
    tls: crate::tls_cli::Loaded,
) -> Result<lyncscope_tui::live::LiveOutcome<()>, Failure> {
    use lyncscope_tui::live::{run_hep, HepRun};
    #[cfg(feature = "live")]
    if args.live() {
        let follow = follow_keylogs(tls.followers, tls.handle.clone());
        let cap = live::open(args)?;
        let names: Vec<String> = cap.interfaces().iter().map(|i| i.name.clone()).collect();
        let stopper = cap.stopper();
        let both = lyncscope_tui::live::Both::new(feed, cap);
        let run = HepRun {
            capture: Some((&stopper, names)),
            files,
        };
        let outcome = run_hep(both, hep, run, stop_at, quit, tls.handle);
        follow.stop();
        return Ok(outcome);
    }
    let _ = args;
    let run = HepRun {
        capture: None,
        files,
    };
    Ok(run_hep(feed, hep, run, stop_at, quit, tls.handle))
}

#[cfg(feature = "live")]
mod live {
    use super::follow_keylogs;
    use super::{termination_flag, write_warning, CaptureArgs, Output};
    use crate::tls_cli::Loaded;
    use crate::{print_report, Failure, ReportFormat};
    use lyncscope::capture::live::{LiveCapture, LiveConfig, LiveError, Recv, SNAPLEN};
    use lyncscope::pipeline::Pipeline;
    use lyncscope::report::ReportInput;
    use lyncscope_base::writer::TsResolution;
    use lyncscope_tui::live::StopAt;

    /// Why a headless live capture stopped.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum StopReason {
        /// SIGINT or SIGTERM.
        Signal,
        /// `-c` or `--duration` was reached.
        Limit,
    }
    use std::io::{IsTerminal, Write};
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};

    /// Opens the capture the options describe; errors are one line with the fix.
    pub(super) fn open(args: &CaptureArgs) -> Result<LiveCapture, Failure> {
        let config = LiveConfig {
            interfaces: args.interface.clone(),
            filter: args.filter.clone(),
            snaplen: SNAPLEN,
            promiscuous: !args.no_promiscuous,
            buffer_size: args.buffer_size.map(|mib| (mib as i32) * 1024 * 1024),
            ..LiveConfig::default()
        };
        LiveCapture::open(&config).map_err(|e| {
            let code = match e {
                // An interface that does not exist or a filter that does not compile is a
                // usage error; missing permissions and libpcap failures are runtime failures.
                LiveError::NoSuchInterface { .. } | LiveError::BadFilter { .. } => 2,
                LiveError::PermissionDenied { .. } | LiveError::Other { .. } => 1,
            };
            Failure {
                code,
                message: e.to_string(),
            }
        })
    }

    /// Says on standard error what is captured; the interfaces' names.
    pub(super) fn announce(args: &CaptureArgs, cap: &LiveCapture) -> Vec<String> {
        for i in cap.interfaces() {
            eprintln!(
                "lyncscope: capturing on {} ({}), snapshot length {SNAPLEN}{}",
                i.name,
                i.link_name,
                args.filter
                    .as_deref()
                    .map(|f| format!(", filter \"{f}\""))
                    .unwrap_or_default()
            );
        }
        cap.interfaces().iter().map(|i| i.name.clone()).collect()
    }

    /// The terminal UI on a live capture. The capture is opened first, so that permission,
    /// interface and filter errors are printed as one line before the terminal changes; then
    /// the UI runs until `q`, Ctrl-C or SIGTERM (`-c` and `--duration` stop the capture and
    /// leave the UI open). On quit the capture is drained, `-w` closed, and what happened is
    /// printed once the terminal is back.
    pub fn run_live_tui(args: &CaptureArgs, tls: Loaded) -> Result<(), Failure> {
        // Signals first: a SIGTERM right after the capture started quits the UI cleanly.
        let quit = termination_flag();
        let follow = follow_keylogs(tls.followers, tls.handle.clone());
        let cap = open(args)?;
        // After the capture opened, so that a capture that cannot start leaves no empty file.
        let mut output = Output::create(args.write.as_deref(), TsResolution::Micro)?;
        if let Some(o) = output.as_mut() {
            for i in cap.interfaces() {
                o.writer.declare_interface(i.link_type, &i.name);
            }
        }
        let names: Vec<String> = cap.interfaces().iter().map(|i| i.name.clone()).collect();
        let (path, writer) = match output {
            Some(o) => (Some(o.path), Some(o.writer)),
            None => (None, None),
        };
        let stop_at = StopAt {
            count: args.count,
            duration: args.duration.map(Duration::from_secs_f64),
        };
        let outcome = lyncscope_tui::live::run_live(cap, stop_at, writer, quit, tls.handle);
        follow.stop();

        // The terminal is back.
        let mut warnings = outcome.errors.clone();
        if outcome.stats.dropped() > 0 {
            warnings.push(format!(
                "{} packets were dropped before lyncscope could read them (kernel buffer full or \
                 interface drops): raise -B or narrow -f",
                outcome.stats.dropped()
            ));
        }
        // A -w file that could not be written is reported after what the capture saw.
        let mut write_failed = None;
        let written = match (path, outcome.tap) {
            (Some(path), Some(writer)) => Output { path, writer }
                .close()
                .map_err(|f| write_failed = Some(f))
                .ok(),
            (Some(path), None) => {
                warnings.push(format!(
                    "{}: the file was not finished (internal error)",
                    path.display()
                ));
                None
            }
            (None, _) => None,
        };
        if let Some(w) = written.as_ref().and_then(write_warning) {
            warnings.push(w);
        }
        eprintln!(
            "lyncscope: {}: {} packets, {} SIP messages{}",
            names.join(", "),
            outcome.packets,
            outcome.sip_messages,
            written
                .as_ref()
                .map(|w| format!(
                    "; {} packets of {} SIP messages written to {}",
                    w.stats.packets_written, w.stats.messages, w.path
                ))
                .unwrap_or_default()
        );
        for w in &warnings {
            eprintln!("lyncscope: warning: {w}");
        }
        outcome.ui.map_err(|message| Failure { code: 1, message })?;
        match outcome.errors.first() {
            Some(message) => Err(Failure {
                code: 1,
                message: message.clone(),
            }),
            None => write_failed.map_or(Ok(()), Err),
        }
    }

    /// Captures until `-c`, `--duration`, Ctrl-C or SIGTERM, then prints the report.
    pub fn run_live(
        args: &CaptureArgs,
        format: ReportFormat,
        messages: bool,
        tls: Loaded,
        hep_send: Option<(String, lyncscope::hep::HepTap)>,
    ) -> Result<(), Failure> {
        let mut hep_send = hep_send;
        // Signals first: a Ctrl-C right after the capture started must not kill it.
        let stop = termination_flag();
        let follow = follow_keylogs(tls.followers, tls.handle.clone());
        let cap = open(args)?;
        // After the capture opened, so that a capture that cannot start leaves no empty file.
        let mut output = Output::create(args.write.as_deref(), TsResolution::Micro)?;
        let mut cap = cap;
        announce(args, &cap);
        for i in cap.interfaces() {
            if let Some(o) = output.as_mut() {
                o.writer.declare_interface(i.link_type, &i.name);
            }
        }

        let mut pipeline = Pipeline::new(&lyncscope::Options {
            keep_messages: messages,
            limits: args.limits(),
            ..lyncscope::Options::default()
        })
        .with_tls(tls.handle.clone());
        let started = Instant::now();
        let deadline = args
            .duration
            .map(|secs| started + Duration::from_secs_f64(secs));
        let mut status = Status::new(std::io::stderr().is_terminal());
        let mut pushed = 0u64;
        let mut stopping = false;
        let mut stopped_by = None;
        loop {
            if !stopping {
                let why = if stop.load(Ordering::SeqCst) {
                    Some(StopReason::Signal)
                } else if deadline.is_some_and(|d| Instant::now() >= d)
                    || args.count.is_some_and(|c| pushed >= c)
                {
                    Some(StopReason::Limit)
                } else {
                    None
                };
                if let Some(why) = why {
                    stopped_by = Some(why);
                    cap.stop();
                    stopping = true;
                }
            }
            match cap.recv_timeout(Duration::from_millis(50)) {
                Recv::Batch(batch) => {
                    for frame in batch.frames() {
                        if args.count.is_some_and(|c| pushed >= c) {
                            // -c N: exactly N packets, the rest of the batch is not used.
                            break;
                        }
                        let mut hep = hep_send.as_mut().map(|(_, t)| t);
                        match output.as_mut() {
                            Some(o) => pipeline.push_tapped(&frame, &mut (&mut o.writer, &mut hep)),
                            None => pipeline.push_tapped(&frame, &mut hep),
                        }
                        pushed += 1;
                    }
                }
                Recv::Idle => {}
                Recv::Ended => break,
            }
            status.tick(&pipeline, &cap);
        }
        status.clear();
        {
            let mut hep = hep_send.as_mut().map(|(_, t)| t);
            match output.as_mut() {
                Some(o) => pipeline.finish_tapped(&mut (&mut o.writer, &mut hep)),
                None => pipeline.finish_tapped(&mut hep),
            }
        }
        follow.stop();
        let mut hep_summary = lyncscope::report::HepSummary::default();
        let sending = hep_send.is_some();
        crate::hep_cli::close_sender(hep_send, &mut hep_summary);

        let live = cap.stats();
        let mut warnings: Vec<String> = cap.errors().to_vec();
        if stopped_by == Some(StopReason::Signal) {
            eprintln!(
                "lyncscope: stopped by signal after {pushed} packets; the report covers them all"
            );
        }
        if live.dropped() > 0 {
            warnings.push(format!(
                "{} packets were dropped before lyncscope could read them (kernel buffer full or \
                 interface drops): raise -B or narrow -f",
                live.dropped()
            ));
        }
        // A -w file that could not be written (a full disk) does not undo the capture: the
        // report is printed, then the run fails with the error that names the file.
        let mut write_failed = None;
        let written = output.map(Output::close).transpose().unwrap_or_else(|f| {
            write_failed = Some(f);
            None
        });
        if let Some(w) = written.as_ref().and_then(write_warning) {
            warnings.push(w);
        }
        for w in &warnings {
            eprintln!("lyncscope: warning: {w}");
        }
        let sources: Vec<String> = cap.interfaces().iter().map(|i| i.name.clone()).collect();
        let failed = cap.errors().first().cloned();
        drop(cap);
        let input = ReportInput {
            hep: sending.then_some(&hep_summary),
            inputs: None,
            sources: &sources,
            warnings: &warnings,
            messages,
            live: Some(&live),
            written: written.as_ref(),
            selection: None,
        };
        print_report(format, &input, &pipeline)?;
        match failed {
            Some(message) => Err(Failure { code: 1, message }),
            None => write_failed.map_or(Ok(()), Err),
        }
    }

    /// A one-line status on a terminal's standard error, refreshed every second: packets, SIP
    /// messages, kernel drops, rate.
    struct Status {
        on: bool,
        last: Instant,
        last_packets: u64,
        shown: bool,
    }

    impl Status {
        fn new(on: bool) -> Self {
            Status {
                on,
                last: Instant::now(),
                last_packets: 0,
                shown: false,
            }
        }

        fn tick(&mut self, pipeline: &Pipeline, cap: &LiveCapture) {
            if !self.on || self.last.elapsed() < Duration::from_secs(1) {
                return;
            }
            let stats = pipeline.stats();
            let secs = self.last.elapsed().as_secs_f64();
            let rate = (stats.packets - self.last_packets) as f64 / secs;
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\r\x1b[Klyncscope: {} packets, {} SIP messages, {} dropped, {:.0} packets/s",
                stats.packets,
                stats.analysis.sip_messages,
                cap.stats().dropped(),
                rate
            );
            let _ = err.flush();
            self.last = Instant::now();
            self.last_packets = stats.packets;
            self.shown = true;
        }

        fn clear(&mut self) {
            if self.shown {
                eprint!("\r\x1b[K");
            }
        }
    }
}

/// Placeholder so that `main.rs` reads the same in both builds: without `live`, `validate`
/// has already refused `-i`.
#[cfg(not(feature = "live"))]
pub fn run_live(
    _: &CaptureArgs,
    _: ReportFormat,
    _: bool,
    _: crate::tls_cli::Loaded,
    _: Option<(String, lyncscope::hep::HepTap)>,
) -> Result<(), Failure> {
    Err(Failure::usage(NOT_BUILT))
}

/// Placeholder, as [`run_live`].
#[cfg(not(feature = "live"))]
pub fn run_live_tui(_: &CaptureArgs, _: crate::tls_cli::Loaded) -> Result<(), Failure> {
    Err(Failure::usage(NOT_BUILT))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cli;
    use clap::Parser;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("lyncscope").chain(args.iter().copied()))
            .expect("parses")
    }

    #[test]
    fn live_options_parse() {
        let cli = parse(&[
            "-i",
            "eth0",
            "-i",
            "any",
            "-f",
            "udp port 5060",
            "-w",
            "out.pcap",
            "-c",
            "100",
            "--duration",
            "2.5",
            "-p",
            "-B",
            "64",
        ]);
        let c = &cli.capture;
        assert_eq!(c.interface, ["eth0", "any"]);
        assert_eq!(c.filter.as_deref(), Some("udp port 5060"));
        assert_eq!(c.write.as_deref(), Some(Path::new("out.pcap")));
        assert_eq!((c.count, c.duration), (Some(100), Some(2.5)));
        assert!(c.no_promiscuous);
        assert_eq!(c.buffer_size, Some(64));
        let long = parse(&[
            "--interface",
            "lo",
            "--filter",
            "tcp",
            "--write",
            "x",
            "--count",
            "1",
            "--no-promiscuous",
            "--buffer-size",
            "8",
        ]);
        assert_eq!(long.capture.interface, ["lo"]);
        assert!(long.capture.no_promiscuous);
    }

    #[test]
    fn validation() {
        let ok = |args: &[&str], files: bool| parse(args).capture.validate(files, false);
        let usage = |args: &[&str], files: bool| match ok(args, files) {
            Err(f) => {
                assert_eq!(f.code, 2, "{args:?}");
                f.message
            }
            Ok(()) => panic!("{args:?} accepted"),
        };
        assert!(usage(&["-f", "udp"], true).contains("-f goes with live capture"));
        assert!(usage(&["--duration", "3"], true).contains("--duration"));
        assert!(usage(&["-p"], true).contains("-p"));
        assert!(usage(&["-B", "4"], true).contains("-B"));
        assert!(ok(&["-w", "x.pcap", "-c", "5"], true).is_ok());
        assert!(usage(&["-w", "-"], true).contains("standard output"));
        if cfg!(feature = "live") {
            assert!(ok(&["-i", "lo", "--duration", "1"], false).is_ok());
            assert!(usage(&["-i", "lo"], true).contains("not both"));
            assert!(usage(&["-i", "lo", "--duration", "0"], false).contains("above 0"));
            assert!(usage(&["-i", "lo", "-c", "0"], false).contains("above 0"));
            assert!(usage(&["-i", "lo", "-B", "0"], false).contains("MiB"));
        } else {
            assert_eq!(usage(&["-i", "lo"], false), NOT_BUILT);
        }
    }
}

#[cfg(test)]
mod size_tests {
    use super::parse_size;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("256mb"), Ok(256 << 20));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert!(parse_size("1K").is_err(), "below 1M");
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("M").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
