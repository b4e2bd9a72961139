#!/usr/bin/env python3
"""Builds the seed corpora under corpus/<target>/ from the sample captures, logs and texts of
the repository (and the public captures at $PUBLIC_CAPTURES, default
/work/shared/captures/public, when present). Needs editcap (Wireshark) for the capture
seeds. Run from crates/lyncscope/fuzz:

    python3 tools/make_seeds.py
"""
import gzip
import hashlib
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import pcap2frames  # noqa: E402

FUZZ = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
ROOT = os.path.abspath(os.path.join(FUZZ, "..", "..", ".."))
CAPS = os.path.join(ROOT, "captures")
PUBLIC = os.environ.get("PUBLIC_CAPTURES", "/work/shared/captures/public")
MAX_SEED = 16 * 1024


def put(target, name, data):
    d = os.path.join(FUZZ, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if not data:
        return
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def editcap(src, packets, fmt=None):
    """The first `packets` packets of `src` (in its own format, or `fmt`), as bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        args = ["editcap", "-r"]
        if fmt:
            args += ["-F", fmt]
        args += [src, out, f"1-{packets}"]
        subprocess.run(args, check=True, capture_output=True)
        return open(out, "rb").read()


def trimmed(src, fmt=None, budget=MAX_SEED):
    """The longest prefix (in packets) of `src` that fits `budget` bytes."""
    best = None
    for n in (40, 24, 12, 6, 3, 1):
        try:
            data = editcap(src, n, fmt)
        except subprocess.CalledProcessError:
            # A block editcap cannot write (a Decryption Secrets Block): a raw prefix.
            return open(src, "rb").read()[:budget]
        if len(data) <= budget:
            return data
        best = data
    return best[:budget]


def frames_seed(src, budget=MAX_SEED):
    with tempfile.TemporaryDirectory() as tmp:
        pcap = os.path.join(tmp, "x.pcap")
        for n in (40, 24, 12, 6, 3, 1):
            try:
                data = editcap(src, n, "pcap")
            except subprocess.CalledProcessError:
                return None  # several link types: not expressible as classic pcap
            open(pcap, "wb").write(data)
            enc = pcap2frames.encode(pcap2frames.read_pcap(pcap))
            if len(enc) <= budget:
                return enc
        return enc[:budget]


def captures():
    own = [
        "worked-example.pcapng",
        "join-udp-fragments.pcap",
        "av-mcu-rejected.pcapng",
        "focus-c3p-failure.pcapng",
        "conference-join.pcapng",
        "tls/join-tls13-dsb.pcapng",
        "tls/join-tls13.pcap",
        "tls/join-interleaved-clear.pcap",
    ]
    public = [
        "nextcaller__to-tag.pcap",
        "zeek__sip-junk-before-request.pcap",
        "zeek__invalid-content-length.pcap",
        "heplify__sip_sctp.pcap",
        "heplify__sip_ipv6_udp.pcap",
        "heplify__ipip0.pcap",
        "heplify__sip_tcp_websocket.pcap",
        "heplify__sip_ipv4_tcp_retrans.pcap",
        "heplify__erspan_sip_ipv4_udp.pcapng",
        "ndpi__gre_sip.pcapng",
        "arkime__gtp-iphone.pcap",
        "sngrep__ipv6frag.pcap",
        "sngrep__ipip.pcap",
        "suricata-verify__sip_compact_form.pcap",
        "wswiki__MSCML.pcap",
        "wswiki__metasploit-sip-invite-spoof.pcap",
        "wswiki__mka-windows-xp-tracert.pcap",
    ]
    out = [os.path.join(CAPS, p) for p in own]
    if os.path.isdir(PUBLIC):
        out += [os.path.join(PUBLIC, p) for p in public if os.path.exists(os.path.join(PUBLIC, p))]
    return out


def capture_seeds():
    caps = captures()
    for path in caps:
        base = os.path.basename(path)
        data = trimmed(path)
        put("capture_files", base, data)
        for t in ("net_decode", "pipeline"):
            enc = frames_seed(path)
            if enc:
                put(t, base + ".frames", enc)
    # Other encodings of one capture: gzip, nanosecond pcap, big-endian-free variants.
    sample = os.path.join(CAPS, "worked-example.pcapng")
    put("capture_files", "worked-example.pcapng.gz", gzip.compress(trimmed(sample, budget=8192)))
    put("capture_files", "worked-example.nsec.pcap", trimmed(sample, "nseclibpcap", 8192))
    put("capture_files", "worked-example.modified.pcap", trimmed(sample, "modlibpcap", 8192))


def messages():
    """(label, text with CRLF) of every message of the worked example."""
    text = open(os.path.join(ROOT, "crates/synth/src/worked_example.txt")).read()
    out = []
    for block in re.split(r"^=== ", text, flags=re.M)[1:]:
        label, _, body = block.partition("\n")
        out.append((label.split()[0], body.rstrip("\n").replace("\n", "\r\n").encode()))
    return out


def protocol_blocks():
    text = open(os.path.join(ROOT, "docs/protocol.md")).read()
    return [b for b in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)]


def body_of(msg):
    head, _, body = msg.partition(b"\r\n\r\n")
    m = re.search(rb"^(?:Content-Type|c):\s*(.*?)\r?$", head, flags=re.M | re.I)
    return (m.group(1).decode() if m else ""), body


def sip_seeds():
    msgs = messages()
    for label, msg in msgs:
        put("sip_framing", "we-" + label, msg)
        ct, body = body_of(msg)
        ctl = ct.lower()
        if not body:
            continue
        if "cccp" in ctl:
            put("body_c3p", "we-" + label, body)
        elif "conference-info" in ctl:
            put("body_conference_info", "we-" + label, body)
        elif "conf-invite" in ctl:
            put("body_conf_invite", "we-" + label, body)
        elif "sdp" in ctl:
            put("body_sdp", "we-" + label, body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        elif "multipart" in ctl:
            put("body_multipart", "we-" + label, ct.encode() + b"\n" + body)
    # Several messages in one datagram / stream.
    put("sip_framing", "we-all", b"\r\n".join(m for _, m in msgs[:6]))
    # Roster updates: a full document then partial ones, NUL-separated.
    infos = [body_of(m)[1] for _, m in msgs if "conference-info" in body_of(m)[0].lower()]
    if len(infos) > 1:
        put("body_conference_info", "we-sequence", b"\0".join(infos[:4]))
    for i, block in enumerate(protocol_blocks()):
        b = block.replace("\n", "\r\n").encode()
        if re.match(r"^([A-Z]+ \S+ SIP/2\.0|SIP/2\.0 \d{3})", block):
            put("sip_framing", f"protocol-{i}", b)
        s = block.lstrip()
        if s.startswith("<request") or s.startswith("<response"):
            put("body_c3p", f"protocol-{i}", block.encode())
        elif s.startswith("<conference-info"):
            put("body_conference_info", f"protocol-{i}", block.encode())
        elif s.startswith("<Conferencing"):
            put("body_conf_invite", f"protocol-{i}", block.encode())
        elif s.startswith("v=0"):
            put("body_sdp", f"protocol-{i}", b)
    # ms-diagnostics values from the texts and the logs.
    seen = set()
    texts = [m for _, m in msgs] + [b.encode() for b in protocol_blocks()]
    for root, _, files in os.walk(os.path.join(CAPS, "logs")):
        texts += [open(os.path.join(root, f), "rb").read() for f in files if f.endswith(".log")]
    for t in texts:
        for v in re.findall(rb"^ms-(?:client-)?diagnostics(?:-public)?:\s*(.*?)\r?$", t, flags=re.M | re.I):
            if v not in seen:
                seen.add(v)
                put("body_diagnostics", hashlib.sha1(v).hexdigest()[:12], v)
    # XML bodies found in the logs (every scenario's C3P, conference-info and invitations).
    targets = {"request": "body_c3p", "response": "body_c3p",
               "conference-info": "body_conference_info", "Conferencing": "body_conf_invite"}
    for t in texts:
        for m in re.finditer(rb"<(request|response|conference-info|Conferencing)\b.*?</\1>", t, flags=re.S):
            doc = m.group(0)
            key = hashlib.sha1(doc).hexdigest()[:12]
            if key not in seen:
                seen.add(key)
                put(targets[m.group(1).decode()], "log-" + key, doc)
    for i, v in enumerate([
        b'7008;reason="Error parsing SDP";source="fe01.example.com";appName="InboundRouting"',
        b'1034.2;reason="Previous hop federated peer did not report diagnostic information";Domain="x"',
        b'52001;reason="Client side general processing error.";CallId="a";FromUri="sip:a@b";ToUri="sip:c@d";MediaType="audio";WebRTC="false"',
        b"4005 ; reason = unquoted ; source=fe01",
    ]):
        put("body_diagnostics", f"hand-{i}", v)
    # Hand-written extra seeds for the shapes the samples lack.
    put("body_multipart", "alternative",
        b"multipart/alternative;boundary=\"b1\"\n--b1\r\nContent-Type: application/sdp\r\n"
        b"Content-Disposition: session; handling=optional; ms-proxy-2007fallback\r\n\r\n"
        b"v=0\r\no=- 0 0 IN IP4 192.0.2.1\r\ns=session\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
        b"m=audio 5000 RTP/AVP 0\r\n\r\n--b1\r\nContent-Type: application/sdp\r\n"
        b"Content-ID: <x@y>\r\n\r\nv=0\r\nm=audio 5002 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:abc\r\n\r\n--b1--\r\n")
    put("body_sdp", "ice",
        b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=session\r\nc=IN IP4 192.0.2.1\r\nb=CT:99980\r\nt=0 0\r\n"
        b"a=x-mediabw:main-video send=8000;recv=8000\r\nm=audio 50010 RTP/SAVP 114 9 0 8 101\r\n"
        b"a=ice-ufrag:abcd\r\na=ice-pwd:efghijklmnopqrstuvwxyz12\r\n"
        b"a=candidate:1 1 UDP 2130706431 192.0.2.1 50010 typ host\r\n"
        b"a=candidate:2 1 tcp-act 1684798463 198.51.100.1 50020 typ srflx raddr 192.0.2.1 rport 50020\r\n"
        b"a=x-candidate:1 1 UDP 0.9 192.0.2.1 50010\r\n"
        b"a=cryptoscale:1 client AES_CM_128_HMAC_SHA1_80 inline:abc|2^31|1:1\r\n"
        b"a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:def|2^31\r\na=rtcp:50011\r\n"
        b"a=rtpmap:114 x-msrta/16000\r\na=sendrecv\r\na=x-ssrc-range:1-100\r\n"
        b"a=remote-candidates:1 192.0.2.9 5000\r\n"
        b"m=video 0 RTP/AVP 34\r\na=label:main-video\r\na=inactive\r\n")


def log_seeds():
    for root, _, files in sorted(os.walk(os.path.join(CAPS, "logs"))):
        scenario = os.path.basename(root)
        if scenario not in ("worked-example", "focus-c3p-failure", "av-mcu-rejected"):
            continue
        for f in sorted(files):
            if not f.endswith(".log"):
                continue
            data = open(os.path.join(root, f), "rb").read()
            put("log_sources", f"{scenario}-{f}", data[:MAX_SEED])
    put("log_sources", "uccapi.log.gz",
        gzip.compress(open(os.path.join(CAPS, "logs/worked-example/alice.uccapi.log"), "rb").read()))


def main():
    capture_seeds()
    sip_seeds()
    log_seeds()
    # tcp_reassembly takes `arbitrary` structures: it starts from the empty input.
    os.makedirs(os.path.join(FUZZ, "corpus", "tcp_reassembly"), exist_ok=True)
    for t in sorted(os.listdir(os.path.join(FUZZ, "corpus"))):
        d = os.path.join(FUZZ, "corpus", t)
        files = os.listdir(d)
        print(f"{t}: {len(files)} seeds, {sum(os.path.getsize(os.path.join(d, f)) for f in files)} bytes")


if __name__ == "__main__":
    main()
