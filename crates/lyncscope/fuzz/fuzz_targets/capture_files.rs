//! The capture readers (pcap in both byte orders and resolutions, pcapng, gzip of either):
//! `CaptureFiles` over a file holding the fuzz input, read to the end.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lyncscope::capture::CaptureFiles;
use std::sync::OnceLock;

/// One file per fuzzing process, rewritten for every input (`CaptureFiles` reads paths).
fn path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            std::path::PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("lyncscope-fuzz-capture-{}", std::process::id()))
            .to_string_lossy()
            .into_owned()
    })
}

fuzz_target!(|data: &[u8]| {
    let path = path();
    if std::fs::write(path, data).is_err() {
        return;
    }
    // The first bytes as input detection sees them (decompressed when gzip).
    let _ = lyncscope::capture::peek(path, 64);
    let Ok(mut files) = CaptureFiles::open(&[path.to_string()]) else {
        return;
    };
    let mut frames = 0u64;
    let mut bytes = 0usize;
    while let Some(frame) = files.next_frame() {
        frames += 1;
        bytes += frame.data.len();
        assert_eq!(
            frame.number, frames,
            "frames are numbered from 1 without gaps"
        );
        let _ = files.take_secrets();
    }
    let _ = files.take_secrets();
    let _ = (
        files.warnings(),
        files.secrets_dropped(),
        files.bytes_read(),
        bytes,
    );
    assert!(files.warnings().len() <= 1, "one warning per input at most");
});
