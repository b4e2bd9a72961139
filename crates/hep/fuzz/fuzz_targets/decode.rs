#![no_main]
//! Any bytes, as a datagram: decode must not panic, and whatever decodes must
//! re-encode (v3 only) into something that decodes again.

use libfuzzer_sys::fuzz_target;
use lyncscope_hep::{decode, encode_v3, HepOut, HepVersion};

fuzz_target!(|data: &[u8]| {
    let Ok(p) = decode(data) else { return };
    if p.meta.version != HepVersion::V3 || p.payload_compressed {
        return;
    }
    let out = HepOut {
        ip_protocol: p.meta.ip_protocol,
        src_ip: p.meta.src_ip,
        dst_ip: p.meta.dst_ip,
        src_port: p.meta.src_port,
        dst_port: p.meta.dst_port,
        ts_sec: p.meta.ts_sec,
        ts_usec: p.meta.ts_usec,
        proto_type: p.meta.proto_type,
        node_id: p.meta.node_id,
        password: p.auth_key,
        correlation_id: p.correlation_id,
        vlan: p.meta.vlan,
        node_name: p.node_name,
        payload: p.payload,
    };
    let mut buf = Vec::new();
    // Re-encoding adds the optional chunks the input may have left out, so a
    // packet near 64 KiB may no longer fit.
    let Ok(n) = encode_v3(&out, &mut buf) else { return };
    let q = decode(&buf).expect("own encoding decodes");
    assert_eq!(n, buf.len());
    assert_eq!(q.meta, p.meta);
    assert_eq!(q.payload, p.payload);
});
