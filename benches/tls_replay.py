#!/usr/bin/env python3
"""Makes the TLS version of a large clear SIP-over-TCP capture, for benches/tls.sh.

usage: tls_replay.py CLEAR.pcap OUT.pcap --keylog FILE --cert server.crt --key server.key

captures/tls/replay.py does this for the small sample joins, with care for every detail (per
write records cut like the original segments, interleaved handshakes, a pause after every event
so that ACKs stay with their event). On the 100k-message benchmark capture (974 connections,
150k data segments, 10.x addresses it does not map) it would spend minutes in pauses alone, so
this is the lean version:

  1. Reads the clear capture (classic pcap, Ethernet, IPv4/TCP, as gen_sip_pcap.py writes it).
  2. For every original TCP connection, in the original order, opens a TCP connection on
     loopback between the mapped addresses (10.a.b.c -> 127.a.b.c, ports unchanged: all of
     127/8 is local on Linux) and runs a TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256 handshake over it
     with Python's ssl (the system OpenSSL) through memory BIOs, so that one process owns both
     ends. The client writes an NSS key log.
  3. Every original data segment, in the original order, becomes one SSL_write (one TLS record)
     sent with one send() (TCP_NODELAY); the other end reads it, decrypts it and checks it
     against the original bytes before the next segment goes.
  4. tcpdump (started and stopped here, `-i lo -U -B 65536`) records it. Not
     --immediate-mode: with it tcpdump is woken for every packet, the kernel hands it ring
     blocks holding a few packets each, and it lost 19 to 6,600 of the 224k packets here (the
     more so the slower the replay) even with 64 MiB of buffer; without it, none. The replay
     also waits whenever tcpdump's file is more than 8 MB behind it. It fails if the kernel
     dropped a packet, and the rewrite below fails unless every byte of every TLS stream
     (handshake and records) is in the recording, in order, without a gap.
  5. The recording is rewritten: addresses back to the clear capture's (127.a.b.c -> 10.a.b.c),
     IPv4 and TCP checksums recomputed (loopback leaves TCP checksums partial), and every packet
     retimed to the original time of what it carries, found from its TCP sequence number:
     the handshake packets get the connection's SYN time, a record gets the time of the
     original segment it encrypts, a pure ACK the time of the packet before it. So the SIP
     messages keep the clear capture's times (the report's durations and time-based expiries
     match); only the ACKs differ (the kernel's own, not the original ones).

The plaintext of the TLS capture is exactly the clear capture's TCP payload, in the same
segments; the record boundaries are the original segment boundaries (a SIP message split across
segments is split across records too). No third-party module.
"""
import argparse
import bisect
import gc
import os
import resource
import socket
import ssl
import struct
import subprocess
import sys
import time

SUITE = "ECDHE-RSA-AES128-GCM-SHA256"
SERVER_NAME = "fe01.example.com"
SYN, ACK, FIN, RST = 0x02, 0x10, 0x01, 0x04
# tcpdump gets -B 65536 (64 MiB of kernel buffer) and the replay can be faster than it on a
# busy machine: the replay checks every PACE_STEP bytes that the recording is at most PACE_SLACK
# bytes behind.
PACE_STEP = 1 << 20
PACE_SLACK = 8 << 20


def die(msg):
    print(f"tls_replay.py: {msg}", file=sys.stderr)
    sys.exit(1)


def to_lo(ip):
    """10.a.b.c -> 127.a.b.c (4 bytes in, 4 bytes out)."""
    if ip[0] != 10:
        die(f"address {socket.inet_ntoa(ip)} is not in 10/8 (only gen_sip_pcap.py captures are handled)")
    return b"\x7f" + ip[1:]


def from_lo(ip):
    return b"\x0a" + ip[1:]


def frames(data, path):
    """(time µs, frame offset, frame length) of every frame of a classic little-endian µs pcap."""
    if data[:4] != b"\xd4\xc3\xb2\xa1" or struct.unpack_from("<I", data, 20)[0] != 1:
        die(f"{path}: expected a little-endian microsecond pcap of Ethernet frames")
    off, end = 24, len(data)
    while off + 16 <= end:
        sec, us, incl, _ = struct.unpack_from("<IIII", data, off)
        yield sec * 1_000_000 + us, off + 16, incl
        off += 16 + incl


def tcp_fields(data, o, n):
    """(ip offset, ihl, tcp offset, payload offset, payload end) of an IPv4/TCP frame, or None."""
    if n < 34 or data[o + 12:o + 14] != b"\x08\x00" or data[o + 23] != 6:
        return None
    ip = o + 14
    ihl = (data[ip] & 15) * 4
    total = struct.unpack_from(">H", data, ip + 2)[0]
    tcp = ip + ihl
    pay = tcp + (data[tcp + 12] >> 4) * 4
    return ip, ihl, tcp, pay, ip + total


def read_clear(path):
    """The connections and the events of the clear capture, in its order.

    conns: list of (client (ip4, port), server (ip4, port), SYN time µs);
    events: ("c", conn) for a SYN, ("d", conn, is_c2s, payload memoryview, time µs) for data.
    """
    data = open(path, "rb").read()
    view = memoryview(data)
    conns, by_key, events, isn, nxt = [], {}, [], {}, {}
    for us, o, n in frames(data, path):
        f = tcp_fields(data, o, n)
        if f is None:
            continue
        ip, _, tcp, pay, end = f
        src, dst = bytes(data[ip + 12:ip + 16]), bytes(data[ip + 16:ip + 20])
        sport, dport, seq = struct.unpack_from(">HHI", data, tcp)
        flags = data[tcp + 13]
        a, b = (src, sport), (dst, dport)
        key = (a, b) if a < b else (b, a)
        if flags & (FIN | RST):
            die(f"{path}: FIN/RST not handled (gen_sip_pcap.py keeps its connections open)")
        if flags & SYN:
            if not flags & ACK:
                if key in by_key:
                    die(f"{path}: connection opened twice")
                by_key[key] = len(conns)
                conns.append((a, b, us))
                events.append(("c", len(conns) - 1))
            isn[(a, b)] = seq + 1
            nxt[(a, b)] = 0
            continue
        if end <= pay:
            continue
        if key not in by_key:
            die(f"{path}: data of a connection whose SYN is not in the capture")
        rel = (seq - isn[(a, b)]) & 0xFFFFFFFF
        if rel != nxt[(a, b)]:
            die(f"{path}: out-of-order or retransmitted segment (not handled)")
        nxt[(a, b)] = rel + end - pay
        c = by_key[key]
        events.append(("d", c, a == conns[c][0], view[pay:end], us))
    return conns, events


class Side:
    """One end of a replayed connection: its socket and its TLS object over memory BIOs."""

    def __init__(self, sock, ctx, server):
        self.sock, self.inc, self.out = sock, ssl.MemoryBIO(), ssl.MemoryBIO()
        kw = {} if server else {"server_hostname": SERVER_NAME}
        self.obj = ctx.wrap_bio(self.inc, self.out, server_side=server, **kw)
        self.sent = 0  # bytes this side has put in its TCP stream
        self.ends, self.times = [], []  # per send(): stream offset after it, original time


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        d = sock.recv(n - len(buf))
        if not d:
            raise RuntimeError(f"connection closed after {len(buf)}/{n} bytes")
        buf += d
    return buf


def send(src, dst, ct, us):
    """Puts ciphertext on src's socket in one send() and hands it to dst's TLS object."""
    src.sock.sendall(ct)
    src.sent += len(ct)
    src.ends.append(src.sent)
    src.times.append(us)
    dst.inc.write(recv_exact(dst.sock, len(ct)))


def handshake(c, s, us):
    sides, done = {"c": c, "s": s}, {"c": False, "s": False}
    turn, idle = "c", 0
    while not (done["c"] and done["s"] and idle >= 2):
        me, peer = sides[turn], sides["s" if turn == "c" else "c"]
        if not done[turn]:
            try:
                me.obj.do_handshake()
                done[turn] = True
            except ssl.SSLWantReadError:
                pass
        out = me.out.read()
        if out:
            send(me, peer, out, us)
            idle = 0
        else:
            idle += 1
        turn = "s" if turn == "c" else "c"
    cipher = c.obj.cipher()[0]
    if c.obj.version() != "TLSv1.2" or cipher != SUITE:
        die(f"negotiated {c.obj.version()} {cipher}, expected TLSv1.2 {SUITE}")


def wait_for_tcpdump(raw, size, tp):
    """Waits until tcpdump's file holds `size` bytes: back-pressure, so that its kernel buffer
    never fills up (the file holds more than the TLS bytes sent: headers)."""
    deadline = time.time() + 30
    while os.path.getsize(raw) < size:
        if tp.poll() is not None or time.time() > deadline:
            die("tcpdump stopped writing")
        time.sleep(0.002)


def start_tcpdump(raw, servers):
    hosts = " or ".join(f"host {socket.inet_ntoa(ip)}" for ip in sorted(servers))
    tp = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "-B", "65536", "-n", "-s", "0",
                           "-w", raw, f"tcp and ({hosts})"], stderr=subprocess.PIPE, text=True)
    line = tp.stderr.readline()
    if "listening" not in line:
        die(f"tcpdump did not start: {line.strip()} (root needed)")
    time.sleep(0.3)
    return tp


def replay(clear, raw, keylog, cert, key):
    t0 = time.time()
    conns, events = read_clear(clear)
    ndata = sum(1 for e in events if e[0] == "d")
    print(f"  {clear}: {len(conns)} connections, {ndata} data segments ({time.time() - t0:.1f} s)",
          file=sys.stderr)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * len(conns) + 64
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(need, soft), hard), hard))

    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for ctx in (sctx, cctx):
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(SUITE)
    sctx.load_cert_chain(cert, key)
    cctx.check_hostname = False
    cctx.verify_mode = ssl.CERT_NONE
    if os.path.exists(keylog):
        os.remove(keylog)
    cctx.keylog_filename = keylog

    servers = {to_lo(b[0]) for _, b, _ in conns}
    listeners = {}
    for _, (ip, port), _ in conns:
        addr = (socket.inet_ntoa(to_lo(ip)), port)
        if addr not in listeners:
            ls = socket.socket()
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                ls.bind(addr)
            except OSError as e:
                die(f"cannot listen on {addr[0]}:{addr[1]}: {e}")
            ls.listen(64)
            listeners[addr] = ls

    tp = start_tcpdump(raw, servers)
    live = []  # (client Side, server Side) per connection
    sent = checked = 0
    try:
        t1 = time.time()
        for ev in events:
            if ev[0] == "c":
                (cip, cport), (sip_, sport), us = conns[ev[1]]
                caddr = (socket.inet_ntoa(to_lo(cip)), cport)
                saddr = (socket.inet_ntoa(to_lo(sip_)), sport)
                cs = socket.socket()
                cs.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                cs.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                try:
                    cs.bind(caddr)
                except OSError as e:
                    die(f"cannot bind {caddr[0]}:{caddr[1]}: {e}")
                cs.connect(saddr)
                ss, peer = listeners[saddr].accept()
                if peer != caddr:
                    die(f"accepted {peer}, expected {caddr}")
                ss.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                c, s = Side(cs, cctx, False), Side(ss, sctx, True)
                handshake(c, s, us)
                live.append((c, s))
                continue
            _, k, c2s, payload, us = ev
            src, dst = live[k] if c2s else live[k][::-1]
            src.obj.write(payload)
            ct = src.out.read()
            send(src, dst, ct, us)
            sent += len(ct)
            if sent - checked > PACE_STEP:
                checked = sent
                wait_for_tcpdump(raw, sent - PACE_SLACK, tp)
            got = dst.obj.read(len(payload))
            if got != payload:
                die("decrypted bytes differ from the original segment")
        print(f"  replayed in {time.time() - t1:.1f} s", file=sys.stderr)
        time.sleep(1.0)  # the last ACKs, and tcpdump's buffer
    finally:
        tp.terminate()
        _, err = tp.communicate()
    dropped = [line for line in err.splitlines() if "dropped by kernel" in line]
    print("  tcpdump: " + "; ".join(line.strip() for line in err.splitlines() if "packets" in line),
          file=sys.stderr)
    if not dropped or not dropped[0].strip().startswith("0 "):
        die("tcpdump dropped packets (or did not say): the TLS capture is incomplete")

    # Stream offsets -> original times, per mapped (src, sport, dst, dport).
    timeline = {}
    for ((cip, cport), (sip_, sport), syn), (c, s) in zip(conns, live):
        ca, sa = (to_lo(cip), cport), (to_lo(sip_), sport)
        timeline[(ca, sa)] = (c.ends, c.times, syn)
        timeline[(sa, ca)] = (s.ends, s.times, syn)
    for c, s in live:
        for side in (c, s):
            side.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            side.sock.close()
    for ls in listeners.values():
        ls.close()
    return timeline  # the contexts go with this frame (see main)


def checksum(b):
    """RFC 1071 (sum of 16-bit words mod 0xffff, through a big integer: fast in Python)."""
    if len(b) & 1:
        b += b"\0"
    v = int.from_bytes(b, "big")
    r = v % 0xFFFF
    if r == 0 and v:
        r = 0xFFFF
    return ~r & 0xFFFF


def retime(raw, out, timeline):
    data = open(raw, "rb").read()
    if len(data) < 24:
        die(f"{raw}: empty recording")
    isn, got, prev, n, chunks = {}, {}, None, 0, [data[:24]]
    with open(out, "wb") as w:
        for t, o, incl in frames(data, raw):
            f = tcp_fields(data, o, incl)
            if f is None:
                die(f"{raw}: a frame that is not IPv4/TCP")
            ip, ihl, tcp, pay, end = f
            if end != o + incl:
                die(f"{raw}: truncated or padded frame")
            a = (data[ip + 12:ip + 16], struct.unpack_from(">H", data, tcp)[0])
            b = (data[ip + 16:ip + 20], struct.unpack_from(">H", data, tcp + 2)[0])
            if (a, b) not in timeline:
                die(f"{raw}: a packet of an unknown connection")
            ends, times, syn = timeline[(a, b)]
            seq, flags = struct.unpack_from(">I", data, tcp + 4)[0], data[tcp + 13]
            if flags & SYN:
                isn[(a, b)] = seq + 1
                got[(a, b)] = 0
                new = syn
            elif end > pay:
                if (a, b) not in isn:
                    die(f"{raw}: data of a connection whose SYN was not recorded")
                rel = (seq - isn[(a, b)]) & 0xFFFFFFFF
                if rel > got[(a, b)]:
                    die(f"{raw}: {got[(a, b)]}..{rel}: bytes of a TLS stream missing from the recording")
                got[(a, b)] = max(got[(a, b)], rel + end - pay)
                i = bisect.bisect_right(ends, rel)
                if i >= len(times):
                    die(f"{raw}: data beyond what was sent")
                new = times[i]
            else:
                new = syn if prev is None else prev
            new = new if prev is None else max(new, prev)
            prev = new
            fr = bytearray(data[o:o + incl])
            io, to = ip - o, tcp - o
            fr[io + 12:io + 16] = from_lo(fr[io + 12:io + 16])
            fr[io + 16:io + 20] = from_lo(fr[io + 16:io + 20])
            fr[io + 10:io + 12] = b"\0\0"
            fr[io + 10:io + 12] = struct.pack(">H", checksum(bytes(fr[io:io + ihl])))
            fr[to + 16:to + 18] = b"\0\0"
            pseudo = bytes(fr[io + 12:io + 20]) + struct.pack(">BBH", 0, 6, end - tcp)
            fr[to + 16:to + 18] = struct.pack(">H", checksum(pseudo + bytes(fr[to:])))
            chunks.append(struct.pack("<IIII", new // 1_000_000, new % 1_000_000, incl, incl))
            chunks.append(fr)
            n += 1
            if len(chunks) > 20000:
                w.write(b"".join(chunks))
                chunks = []
        w.write(b"".join(chunks))
    for key, (ends, _, _) in timeline.items():
        if got.get(key, 0) != (ends[-1] if ends else 0):
            die(f"{raw}: a TLS stream was not recorded to its end")
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("clear")
    ap.add_argument("out")
    ap.add_argument("--keylog", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    a = ap.parse_args()
    raw = a.out + ".raw"
    t0 = time.time()
    timeline = replay(a.clear, raw, a.keylog, a.cert, a.key)
    gc.collect()  # Python's ssl buffers the key log until its context is freed
    t1 = time.time()
    n = retime(raw, a.out, timeline)
    os.remove(raw)
    lines = sum(1 for line in open(a.keylog) if line.startswith("CLIENT_RANDOM "))
    print(f"  retimed {n} packets in {time.time() - t1:.1f} s; key log: {lines} CLIENT_RANDOM lines;"
          f" {time.time() - t0:.1f} s in all", file=sys.stderr)
    if lines != len(timeline) // 2:
        die(f"{a.keylog}: {lines} key log lines for {len(timeline) // 2} connections")


if __name__ == "__main__":
    main()
