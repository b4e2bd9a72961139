//! `--write-decrypted OUT.pcapng`: every frame as read, plus a Decryption Secrets Block with
//! the key log lines of every TLS session decrypted (RSA-derived master secrets written as
//! `CLIENT_RANDOM` lines), so the capture opens decrypted in Wireshark without the private key.
//!
//! The secrets are known only at the end, and readers want them before the packets they
//! decrypt; so the frames go to a scratch file of this run next to the output first, and the
//! output is the section header, the secrets, then the scratch file's blocks — written through
//! `export::Replacement` (a temporary name renamed over the output at the end), so a failure
//! never leaves a half-written file.

use crate::capture::Frame;
use crate::pipeline::MessageTap;
use crate::tls::TlsHandle;
use crate::transport::MsgContext;
use lyncscope_base::writer::{block, Interface, PcapNgWriter, TsResolution};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// What `--write-decrypted` wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecryptedSummary {
    /// The output file.
    pub path: String,
    /// Frames written.
    pub frames: u64,
    /// TLS sessions whose key log line the file carries.
    pub sessions: u64,
}

/// The `--write-decrypted` writer: a [`MessageTap`] that sees every frame.
pub struct DecryptedWriter {
    path: PathBuf,
    temp: PathBuf,
    frames: PcapNgWriter<BufWriter<File>>,
    /// Interface id per link type, in the order first seen.
    interfaces: Vec<(u32, u32)>,
    written: u64,
    error: Option<io::Error>,
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

impl DecryptedWriter {
    /// Starts writing frames for `path` (into a temporary file beside it).
    pub fn create(path: &Path) -> io::Result<Self> {
        // A scratch file of this run only: never one that exists (it could be the user's).
        let temp = sibling(path, &format!(".lyncscope-{}.frames", std::process::id()));
        let scratch = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&temp)?;
        let frames = PcapNgWriter::new(BufWriter::new(scratch))?;
        Ok(DecryptedWriter {
            path: path.to_path_buf(),
            temp,
            frames,
            interfaces: Vec::new(),
            written: 0,
            error: None,
        })
    }

    fn write(&mut self, frame: &Frame<'_>) -> io::Result<()> {
        let id = match self
            .interfaces
            .iter()
            .find(|(lt, _)| *lt == frame.link_type)
        {
            Some(&(_, id)) => id,
            None => {
                let id = self.frames.add_interface(
                    &Interface::new(frame.link_type).resolution(TsResolution::Nano),
                )?;
                self.interfaces.push((frame.link_type, id));
                id
            }
        };
        self.frames
            .write_packet(id, frame.timestamp, frame.data, frame.original_len)?;
        self.written += 1;
        Ok(())
    }

    /// Writes the output: the section, the secrets of every session `tls` decrypted, and the
    /// frames. The temporary files are removed whatever happens.
    pub fn finish(self, tls: &TlsHandle) -> io::Result<DecryptedSummary> {
        let DecryptedWriter {
            path,
            temp,
            frames,
            written,
            error,
            ..
        } = self;
        let result = (|| {
            if let Some(e) = error {
                return Err(e);
            }
            let mut inner = frames.into_inner();
            inner.flush()?;
            drop(inner);
            let (lines, _) = tls.session_lines();
            let mut text = String::new();
            for l in &lines {
                text.push_str(l);
                text.push('\n');
            }
            // The output replaces an old file only whole, at the end (see `Replacement`).
            let (replacement, file) = super::export::Replacement::create(&path)?;
            let mut out = PcapNgWriter::new(BufWriter::new(file))?;
            if !text.is_empty() {
                out.write_decryption_secrets(block::SECRETS_TLS_KEYLOG, text.as_bytes())?;
            }
            let mut blocks = BufReader::new(File::open(&temp)?);
            // Skip the temporary file's own section header: its total length is at 4..8.
            let mut head = [0u8; 8];
            blocks.read_exact(&mut head)?;
            let shb_len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
            io::copy(
                &mut (&mut blocks).take(u64::from(shb_len).saturating_sub(8)),
                &mut io::sink(),
            )?;
            io::copy(&mut blocks, out.get_mut())?;
            let mut file = out.into_inner();
            file.flush()?;
            drop(file);
            replacement.commit()?;
            Ok(DecryptedSummary {
                path: path.display().to_string(),
                frames: written,
                sessions: lines.len() as u64,
            })
        })();
        let _ = std::fs::remove_file(&temp);
        result
    }
}

impl MessageTap for DecryptedWriter {
    fn frame(&mut self, frame: &Frame<'_>) {
        if self.error.is_none() {
            if let Err(e) = self.write(frame) {
                self.error = Some(e);
            }
        }
    }

    fn message(&mut self, _: &MsgContext, _: &[u8]) {}
}
