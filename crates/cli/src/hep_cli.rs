//! The command line's HEP options: `--hep-listen` (a collector of capture agents, run like a
//! live capture: headless with the report at the end, stopped by `-c`, `--duration`, Ctrl-C
//! or SIGTERM and drained so nothing received is lost) and `--hep-send` (every SIP message
//! lyncscope completes goes to an existing Homer).

use crate::Failure;
use clap::Args;
use lyncscope::hep::{message_of, Agents, HepTap};
use lyncscope::pipeline::{MessageTap, Pipeline};
use lyncscope::report::HepSummary;
use lyncscope::source::Input;
use lyncscope_hep::{
    ListenSpec, Listener, ListenerConfig, RecvError, SendSpec, Sender, SenderConfig,
};
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[derive(Args, Debug, Default)]
pub struct HepArgs {
    /// Receive SIP from HEP capture agents (v1, v2, v3) on udp:ADDR:PORT or tcp:ADDR:PORT;
    /// repeatable; an explicit address (no default to every interface).
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

/// Binds the `--hep-listen` endpoints; the listener and a title naming them.
pub fn listen(args: &HepArgs) -> Result<(Listener, String), Failure> {
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
    let listener = Listener::bind(&specs, config).map_err(|e| Failure {
        code: 1,
        message: format!("--hep-listen: {e}"),
    })?;
    let names: Vec<String> = listener
        .local_specs()
        .iter()
        .map(|s| s.to_string())
        .collect();
    Ok((listener, format!("HEP: {}", names.join(", "))))
}

/// The UI's batches from a listener: what arrived within a tenth of a second (an empty batch
/// when nothing did, which the loader skips), until the listener is closed.
pub fn batches(
    listener: Listener,
) -> impl FnMut() -> Option<lyncscope_tui::loader::FrameBatch> + Send + 'static {
    let mut number = 0u64;
    move || {
        let mut batch = lyncscope_tui::loader::FrameBatch::default();
        let until = Instant::now() + Duration::from_millis(100);
        while batch.len() < 2048 {
            let left = until.saturating_duration_since(Instant::now());
            match listener.recv_timeout(left.max(Duration::from_millis(1))) {
                Ok(p) => {
                    number += 1;
                    batch.push_input(&Input::Message(message_of(&p, number)));
                }
                Err(RecvError::Timeout) => break,
                Err(RecvError::Closed) => return (!batch.is_empty()).then_some(batch),
            }
            if Instant::now() >= until {
                break;
            }
        }
        Some(batch)
    }
}

/// Runs the collector until `stop`, pushing every SIP message through `pipeline` (and `tap`);
/// then drains what was received. Returns the summary for the report and the messages read.
pub fn collect(
    args: &HepArgs,
    stop: &Stop<'_>,
    pipeline: &mut Pipeline,
    tap: &mut impl MessageTap,
) -> Result<(HepSummary, u64), Failure> {
    let (listener, _) = listen(args)?;
    let listeners: Vec<String> = listener
        .local_specs()
        .iter()
        .map(|s| s.to_string())
        .collect();
    eprintln!("lyncscope: listening for HEP on {}", listeners.join(", "));
    let started = Instant::now();
    let deadline = stop.duration.map(|s| started + Duration::from_secs_f64(s));
    let mut agents = Agents::default();
    let mut number = 0u64;
    let mut stopping = false;
    loop {
        if !stopping
            && (stop.flag.load(Ordering::SeqCst)
                || deadline.is_some_and(|d| Instant::now() >= d)
                || stop.count.is_some_and(|c| number >= c))
        {
            // Stop listening; what the sockets already hold is still delivered.
            listener.stop();
            stopping = true;
        }
        match listener.recv_timeout(Duration::from_millis(50)) {
            Ok(p) => {
                if stop.count.is_some_and(|c| number >= c) {
                    continue; // -c N: exactly N messages; the rest is drained unused
                }
                agents.note(&p);
                number += 1;
                let m = message_of(&p, number);
                pipeline.push_input_tapped(&Input::Message(m), tap);
            }
            Err(RecvError::Timeout) => {}
            Err(RecvError::Closed) => break,
        }
    }
    pipeline.finish_tapped(tap);
    Ok((
        HepSummary {
            listeners,
            received: Some(listener.stats()),
            kernel_drops: listener.udp_kernel_drops(),
            agents: agents
                .list()
                .map(|(id, n, a, c)| (id, n.map(str::to_string), a, c))
                .collect(),
            sent: None,
        },
        number,
    ))
}
