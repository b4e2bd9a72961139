//! NSS key log and PEM key parsing.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut keys = lyncscope_tls::TlsKeys::new();
    keys.add_keylog(data);
    let _ = keys.add_rsa_key_pem(data);
});
