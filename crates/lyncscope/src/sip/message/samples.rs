//! Messages the tests of several submodules start from.

pub(super) const INVITE: &[u8] =
    b"INVITE sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP SIP/2.0\r\n\
Via: SIP/2.0/TLS 192.0.2.22:50622;branch=z9hG4bKb1b2b3b4\r\n\
Max-Forwards: 70\r\n\
From: <sip:bob@example.com>;tag=6f5e4d3c2b;epid=7d6c5b4a39\r\n\
To: <sip:alice@example.com;gruu;opaque=app:conf:focus:id:JL3GPNYP>\r\n\
Call-ID: b7e2d1c0f9a84b3c9d2e1f0a9b8c7d6e\r\n\
CSeq: 1 INVITE\r\n\
Content-Type: application/cccp+xml\r\n\
Content-Length: 5\r\n\
\r\n\
hello";

pub(super) const SEED: &[u8] = b"INVITE sip:a@b;opaque=app:conf:focus:id:X SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1, SIP/2.0/UDP g\r\nFrom: \"A;<b>\" <sip:a@b>;tag=\"x;y\"\r\nTo: <sip:b@c>\r\ni: id\r\nCSeq: 1 INVITE\r\nSubject: a\r\n b\r\nContent-Length: 4\r\n\r\nbody";
