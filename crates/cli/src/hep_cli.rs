//! The command line's HEP options: `--hep-listen` (a collector of capture agents, run like a
//! live capture: headless with the report at the end, stopped by `-c`, `--duration`, Ctrl-C
//! or SIGTERM and drained so nothing received is lost; after files, and with `-i`, into one
//! pipeline) and `--hep-send` (every SIP message lyncscope completes goes to an existing
//! Homer).

use crate::Failure;
use clap::Args;
use lyncscope::hep::HepTap;
use lyncscope::pipeline::{MessageTap, Pipeline};
use lyncscope::report::HepSummary;
use lyncscope_hep::{ListenSpec, Listener, ListenerConfig, SendSpec, Sender, SenderConfig};
use lyncscope_tui::live::{LiveFeed, LiveSource, SourceState, StopAt};
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args, Debug, Default)]
pub struct HepArgs {
    /// Receive SIP from HEP capture agents (v1, v2, v3) on udp:ADDR:PORT or tcp:ADDR:PORT;
    /// repeatable; an explicit address (no default to every interface). Files given are read
    /// first; with -i, the capture and the agents feed one analysis.
    #[arg(long = "hep-listen", value_name = "PROTO:ADDR:PORT")]
    pub listen: Vec<String>,

    /// Accept only HEP packets with this auth key (compared in constant time); with
    /// --hep-send, the key sent.
    #[arg(long = "hep-password", value_name = "KEY")]
    pub password: Option<String>,

    /// Send every SIP message lyncscope completes as HEP3 to udp:HOST:PORT or tcp:HOST:PORT
    /// (a Homer / heplify-server collector).
    #[arg(long = "hep-send", value_name = "PROTO:HOST:PORT")]
    pub send: Option<String>,

    /// With --hep-send: the capture agent id sent (HEP chunk 0x000c).
    #[arg(long = "hep-node-id", value_name = "ID", default_value_t = 2001)]
    pub node_id: u32,

    /// With --hep-send: the capture agent name sent (HEP chunk 0x0013).
    #[arg(long = "hep-node-name", value_name = "NAME")]
    pub node_name: Option<String>,
}

impl HepArgs {
    pub fn listening(&self) -> bool {
        !self.listen.is_empty()
    }

    /// The `--hep-send` tap, started; `None` without the option.
    pub fn sender(&self) -> Result<Option<(String, HepTap)>, Failure> {
        let Some(to) = self.send.as_deref() else {
            if self.node_name.is_some() {
                return Err(Failure::usage("--hep-node-name goes with --hep-send"));
            }
            return Ok(None);
        };
        let spec = SendSpec::from_str(to).map_err(|e| {
            Failure::usage(format!(
                "--hep-send {to}: {e} (udp:HOST:PORT or tcp:HOST:PORT)"
            ))
        })?;
        let sender = Sender::start(spec, SenderConfig::default()).map_err(|e| Failure {
            code: 1,
            message: format!("--hep-send {to}: {e}"),
        })?;
        Ok(Some((
            to.to_string(),
            HepTap::new(
                sender,
                self.node_id,
                self.node_name.clone(),
                self.password.clone(),
            ),
        )))
    }
}

/// Closes the `--hep-send` tap (flushing for at most two seconds) into the summary.
pub fn close_sender(tap: Option<(String, HepTap)>, summary: &mut HepSummary) {
    if let Some((to, tap)) = tap {
        let stats = tap.close(Duration::from_secs(2));
        summary.sent = Some((to, stats));
    }
}

/// What stops a collector run.
pub struct Stop<'a> {
    pub count: Option<u64>,
    pub duration: Option<f64>,
    pub flag: &'a std::sync::atomic::AtomicBool,
}

/// Binds the `--hep-listen` endpoints; the listener, printed on standard error with the UDP
/// receive buffers the kernel granted.
pub fn listen(args: &HepArgs) -> Result<Listener, Failure> {
    let specs = args
        .listen
        .iter()
        .map(|l| {
            ListenSpec::from_str(l).map_err(|e| {
                Failure::usage(format!(
                    "--hep-listen {l}: {e} (udp:ADDR:PORT or tcp:ADDR:PORT with an explicit address)"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let config = ListenerConfig {
        password: args.password.clone().map(String::into_bytes),
        ..ListenerConfig::default()
    };
    Listener::bind(&specs, config).map_err(|e| Failure {
        code: 1,
        message: format!("--hep-listen: {e}"),
    })
}

/// The line that says where the collector listens (the tests wait for it).
pub fn announce(listener: &Listener) {
    let names: Vec<String> = listener
        .local_specs()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let buffers: Vec<String> = listener
        .udp_recv_buffers()
        .iter()
        .map(|(_, n)| format!("{} KiB", n / 1024))
        .collect();
    let buffers = if buffers.is_empty() {
        String::new()
    } else {
        // Linux grants at most net.core.rmem_max (and reports twice what it keeps for data).
        format!(" (UDP receive buffer {})", buffers.join(", "))
    };
    eprintln!(
        "lyncscope: listening for HEP on {}{buffers}",
        names.join(", ")
    );
}

/// Runs the collector (with a live capture when `feed` is `live::Both`) until `stop`, pushing
/// every input through `pipeline` (and `tap`), numbered on from `first_number`; then drains
/// what was received. Returns the messages and frames read live.
pub fn collect<F: LiveFeed>(
    feed: F,
    stop: &Stop<'_>,
    first_number: u64,
    pipeline: &mut Pipeline,
    tap: &mut impl MessageTap,
) -> u64 {
    let started = Instant::now();
    let state = Arc::new(SourceState::default());
    let mut source = LiveSource::new(
        feed,
        StopAt {
            count: stop.count,
            duration: stop.duration.map(Duration::from_secs_f64),
        },
        move || started.elapsed(),
        state,
    );
    let mut read = 0u64;
    loop {
        if stop.flag.load(Ordering::SeqCst) {
            // Stop listening; what the sockets already hold is still delivered.
            source.stop("signal".into());
        }
        let Some(mut batch) = source.next_batch() else {
            break;
        };
        batch.offset_numbers(first_number);
        for input in batch.inputs() {
            pipeline.push_input_tapped(&input, tap);
        }
        read += batch.len() as u64;
        source.recycle(batch);
    }
    pipeline.finish_tapped(tap);
    read
}
