//! The command line's TLS options: key material (`--tls-keylog`, `--tls-key`) loaded into the
//! pipeline's TLS layer, and `--write-decrypted`. Key material is never printed: errors name the
//! file, never its content.

use crate::Failure;
use clap::Args;
use lyncscope::tls::{KeylogFile, TlsHandle};
use std::path::PathBuf;

#[derive(Args, Debug, Default)]
pub struct TlsArgs {
    /// NSS key log (SSLKEYLOGFILE) for SIP over TLS; repeatable. In a live capture the file is
    /// read again as it grows.
    #[arg(long = "tls-keylog", value_name = "FILE")]
    pub keylogs: Vec<PathBuf>,

    /// RSA private key of a TLS server (PEM, PKCS#1 or PKCS#8) for RSA key exchanges;
    /// repeatable: each handshake is tried against every key.
    #[arg(long = "tls-key", value_name = "FILE")]
    pub keys: Vec<PathBuf>,

    /// Write every frame as read to OUT.pcapng with the key log lines of every TLS session
    /// decrypted embedded (a Decryption Secrets Block): it opens decrypted in Wireshark.
    #[arg(long = "write-decrypted", value_name = "OUT.pcapng")]
    pub write_decrypted: Option<PathBuf>,
}

/// The key material loaded, and the key logs to read again as they grow (live capture).
pub struct Loaded {
    pub handle: TlsHandle,
    #[cfg_attr(not(feature = "live"), allow(dead_code))]
    pub followers: Vec<KeylogFile>,
    pub warnings: Vec<String>,
}

impl TlsArgs {
    /// Reads every key log and key. A file that cannot be read, or a key that does not parse,
    /// is a usage error (exit 2) naming the file.
    pub fn load(&self) -> Result<Loaded, Failure> {
        let handle = TlsHandle::default();
        let mut warnings = Vec::new();
        for path in &self.keys {
            let pem = std::fs::read(path)
                .map_err(|e| Failure::usage(format!("--tls-key {}: {e}", path.display())))?;
            handle.add_rsa_key_pem(&pem).map_err(|e| {
                Failure::usage(format!(
                    "--tls-key {}: not an RSA private key in PEM (PKCS#1 or PKCS#8): {e:?}",
                    path.display()
                ))
            })?;
        }
        let mut followers = Vec::new();
        for path in &self.keylogs {
            let mut file = KeylogFile::new(path.clone());
            let got = file
                .poll(&handle)
                .map_err(|e| Failure::usage(format!("--tls-keylog {}: {e}", path.display())))?;
            if got.bad_lines > 0 {
                warnings.push(format!(
                    "--tls-keylog {}: {} lines are not key log lines (ignored)",
                    path.display(),
                    got.bad_lines
                ));
            }
            followers.push(file);
        }
        Ok(Loaded {
            handle,
            followers,
            warnings,
        })
    }
}
