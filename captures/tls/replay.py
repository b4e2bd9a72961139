#!/usr/bin/env python3
"""Replays the TCP conversations of a clear lyncscope sample capture over real TLS on loopback.

usage: replay.py PROFILE OUT.pcap [--keylog FILE] [--sources A.pcapng [B.pcapng]]
       replay.py writes SRC.pcapng            (prints the writes of a clear capture; a check)

What it does (see README.md):
  1. Reads the clear capture(s) (pcap or pcapng, Ethernet/IPv4/TCP; a small reader below, no
     third-party module), reassembles every TCP connection (the SYN sender is the client) and
     cuts each direction into the writes of the original: consecutive segments up to the one
     with PSH. Every write keeps its original time; all writes of all connections are kept in
     their global order.
  2. For every original connection opens a TCP connection on loopback between the mapped
     addresses (192.0.2.N -> 127.0.0.N, 198.51.100.10 -> 127.0.0.10, ports unchanged) and runs a
     real TLS handshake over it with Python's ssl module (the system OpenSSL) driven through
     memory BIOs, so that one process owns both ends and decides when every flight goes on the
     wire (that is what lets the interleaved profile put two handshakes segment by segment
     side by side). Then it sends the same bytes in the same global order: each write is one
     SSL_write (one TLS record, the writes are < 16 KiB) whose ciphertext is put on the wire in
     chunks of at most 1460 bytes, one TCP segment each (TCP_NODELAY), like the original MSS;
     the receiving end decrypts it and checks it against the original bytes before the next
     write starts.
  3. tcpdump (started and stopped here) records loopback. Afterwards the capture is retimed:
     every packet gets the original time of the event it belongs to (the connection's SYN time
     for the TCP + TLS handshake, the write's time for its segments) plus its real offset
     within that event (microseconds on loopback), so the SIP messages carry the times of the
     clear capture and the conference report keeps its durations. TCP checksums, left partial
     by loopback's checksum offload, are recomputed. Nothing else in the packets is touched.
"""
import argparse
import bisect
import gc
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MAIN_CAPTURES = os.environ.get("CLEAR_CAPTURES", os.path.join(HERE, ".."))
SERVER_NAME = "fe01.example.com"
CHUNK = 1460  # bytes per TCP segment, the MSS of the clear captures
SERVER_IP = "127.0.0.10"


def map_ip(ip):
    """192.0.2.N -> 127.0.0.N, 198.51.100.10 -> 127.0.0.10 (the last octet is kept)."""
    a, b, c, d = ip.split(".")
    if (a, b, c) in (("192", "0", "2"), ("198", "51", "100")):
        return f"127.0.0.{d}"
    raise ValueError(f"no loopback mapping for {ip}")


# ---------------------------------------------------------------- capture reading

def read_capture(path):
    """Yields (time in microseconds, link type, frame bytes) of a pcap or pcapng file."""
    data = open(path, "rb").read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic[0] in (0xd4, 0x4d) else ">"
        nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        linktype = struct.unpack(e + "I", data[20:24])[0]
        off = 24
        while off + 16 <= len(data):
            sec, frac, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
            us = sec * 1_000_000 + (frac // 1000 if nano else frac)
            yield us, linktype, data[off + 16:off + 16 + incl]
            off += 16 + incl
        return
    if magic != b"\x0a\x0d\x0d\x0a":
        raise ValueError(f"{path}: not a pcap or pcapng file")
    off, e, ifaces = 0, "<", []
    while off + 12 <= len(data):
        if data[off:off + 4] == b"\x0a\x0d\x0d\x0a":
            e = "<" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            ifaces = []
        btype, blen = struct.unpack(e + "II", data[off:off + 8])
        body = data[off + 8:off + blen - 4]
        if btype == 1:  # Interface Description Block: link type and if_tsresol
            linktype = struct.unpack(e + "H", body[:2])[0]
            resol, o = 6, 8
            while o + 4 <= len(body):
                code, olen = struct.unpack(e + "HH", body[o:o + 4])
                if code == 0:
                    break
                if code == 9:
                    r = body[o + 4]
                    if r & 0x80:
                        raise ValueError("binary if_tsresol not handled")
                    resol = r
                o += 4 + (olen + 3) // 4 * 4
            ifaces.append((linktype, 10 ** resol))
        elif btype == 6:  # Enhanced Packet Block
            iid, hi, lo, incl = struct.unpack(e + "IIII", body[:16])
            linktype, units = ifaces[iid]
            t = (hi << 32) | lo
            yield t * 1_000_000 // units, linktype, body[20:20 + incl]
        off += blen


def tcp_segments(path):
    """(index, time µs, src, sport, dst, dport, flags, seq, payload) of every IPv4 TCP frame."""
    for i, (us, linktype, frame) in enumerate(read_capture(path)):
        if linktype != 1:
            raise ValueError(f"{path}: link type {linktype}, only Ethernet is handled")
        et, o = struct.unpack(">H", frame[12:14])[0], 14
        while et == 0x8100:
            et, o = struct.unpack(">H", frame[o + 2:o + 4])[0], o + 4
        if et != 0x0800:
            continue
        ip = frame[o:]
        ihl, total, proto = (ip[0] & 15) * 4, struct.unpack(">H", ip[2:4])[0], ip[9]
        if proto != 6:
            continue
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        tcp = ip[ihl:total]
        sport, dport, seq = struct.unpack(">HHI", tcp[:8])
        doff, flags = (tcp[12] >> 4) * 4, tcp[13]
        yield i, us, src, sport, dst, dport, flags, seq, bytes(tcp[doff:])


SYN, ACK, PSH, FIN, RST = 0x02, 0x10, 0x08, 0x01, 0x04


def conversations(path):
    """The connections and the global list of events of a clear capture.

    Returns (start µs, conns, events): conns is a list of dicts (client, server, syn time),
    events a list of ("connect", time, frame index, conn) and ("write", time, frame index, conn,
    "c2s"|"s2c", bytes, [(time, size) of each segment]) in the original order.
    """
    conns, by_key, events, pending = [], {}, [], {}
    start = None
    for i, us, src, sport, dst, dport, flags, seq, payload in tcp_segments(path):
        start = us if start is None else start
        key = frozenset([(src, sport), (dst, dport)])
        if flags & SYN and not flags & ACK:
            if key in by_key:
                raise ValueError(f"{path}: connection {src}:{sport} opened twice")
            by_key[key] = len(conns)
            conns.append({"client": (src, sport), "server": (dst, dport), "syn_us": us,
                          "isn": {"c2s": seq + 1}, "next": {}})
            events.append(["connect", us, i, len(conns) - 1])
            continue
        if key not in by_key:
            raise ValueError(f"{path}: segment of a connection whose SYN is not in the capture")
        c = by_key[key]
        conn = conns[c]
        d = "c2s" if (src, sport) == conn["client"] else "s2c"
        if flags & SYN:  # SYN-ACK
            conn["isn"]["s2c"] = seq + 1
            continue
        if flags & (FIN | RST):
            raise ValueError(f"{path}: FIN/RST not handled (the samples keep their connections open)")
        if not payload:
            continue
        rel = (seq - conn["isn"][d]) & 0xffffffff
        nxt = conn["next"].get(d, 0)
        if rel != nxt:
            raise ValueError(f"{path}: frame {i + 1}: out of order or retransmitted segment")
        conn["next"][d] = nxt + len(payload)
        w = pending.get((c, d))
        if w is None:
            w = pending[(c, d)] = ["write", us, i, c, d, b"", []]
            events.append(w)
        w[5] += payload
        w[6].append((us, len(payload)))  # time and size of each segment of the write
        if flags & PSH:
            del pending[(c, d)]
    if pending:
        raise ValueError(f"{path}: a write without PSH at the end")
    events.sort(key=lambda ev: (ev[1], ev[2]))
    return start, conns, events


# ---------------------------------------------------------------- TLS profiles

PROFILES = {
    # name: per join: dict(version, cipher (TLS <= 1.2 suite), no_ems, no_etm, resume)
    "clear": [dict(tls=False)],
    "tls12-rsa-cbc-ems": [dict(version="1.2", cipher="AES128-SHA", no_etm=True)],
    "tls12-rsa-gcm-noems": [dict(version="1.2", cipher="AES128-GCM-SHA256", no_ems=True)],
    "tls12-rsa-resumed": [dict(version="1.2", cipher="AES256-SHA256", no_etm=True, resume="id")],
    "tls12-rsa-resumed-ticket": [dict(version="1.2", cipher="AES128-GCM-SHA256", resume="ticket")],
    "tls12-ecdhe": [dict(version="1.2", cipher="ECDHE-RSA-AES128-GCM-SHA256")],
    # TLS 1.3 suites come from OPENSSL_CONF (make.sh): Python's ssl cannot choose them.
    "tls13": [dict(version="1.3")],
    # Two joins at once, every handshake of one interleaved flight by flight with the other's.
    "interleaved": [dict(version="1.2", cipher="ECDHE-RSA-AES256-GCM-SHA384"),
                    dict(version="1.3")],
    # Its clear twin: the same two joins on the same timeline, no TLS (the expected report).
    "interleaved-clear": [dict(tls=False), dict(tls=False)],
}

VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def contexts(p, keylog):
    def ctx(server):
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
        c.minimum_version = c.maximum_version = VERSIONS[p["version"]]
        if p.get("cipher"):
            c.set_ciphers(p["cipher"] + ":@SECLEVEL=0")
        if p.get("no_ems"):
            c.options |= 1  # SSL_OP_NO_EXTENDED_MASTER_SECRET (not exported by Python 3.11)
        if p.get("no_etm"):
            c.options |= 1 << 19  # SSL_OP_NO_ENCRYPT_THEN_MAC (Schannel never offers it)
        if p.get("resume") == "id":
            c.options |= ssl.OP_NO_TICKET
        if server:
            c.load_cert_chain(os.path.join(HERE, "server.crt"), os.path.join(HERE, "server.key"))
        else:
            c.check_hostname = False
            c.verify_mode = ssl.CERT_NONE
            if keylog:
                c.keylog_filename = keylog
        return c
    return ctx(True), ctx(False)


# ---------------------------------------------------------------- the replay

def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        d = sock.recv(n - len(buf))
        if not d:
            raise RuntimeError(f"connection closed after {len(buf)}/{n} bytes")
        buf += d
    return bytes(buf)


class Side:
    def __init__(self, sock, obj=None):
        self.sock, self.obj = sock, obj
        if obj is not None:
            self.inc, self.out = obj._in, obj._out

    def wire(self, data, sizes=()):
        """Puts data on the wire, one TCP segment per send (TCP_NODELAY): first in chunks of the
        given sizes (those of the original segments), the rest in chunks of at most CHUNK."""
        k = 0
        for n in sizes[:-1]:
            self.sock.sendall(data[k:k + n])
            k += n
        for k in range(k, len(data), CHUNK):
            self.sock.sendall(data[k:k + CHUNK])


class Conn:
    """One replayed connection: both ends, in this process."""

    def __init__(self, join, orig, listeners, tls, sessions, idx):
        self.join, self.orig, self.idx = join, orig, idx
        cip, cport = orig["client"]
        sip_, sport = orig["server"]
        self.caddr, self.saddr = (map_ip(cip), cport), (map_ip(sip_), sport)
        self.tls, self.sessions = tls, sessions
        self.done = {"c": False, "s": False}

    def connect(self, listeners):
        cs = socket.socket()
        cs.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        cs.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cs.bind(self.caddr)
        cs.connect(self.saddr)
        ss, peer = listeners[self.saddr].accept()
        assert peer == self.caddr, (peer, self.caddr)
        ss.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.socks = (cs, ss)
        if not self.tls:
            self.c, self.s = Side(cs), Side(ss)
            return
        sctx, cctx = self.tls["ctx"]
        def bio_obj(ctx, server, **kw):
            i, o = ssl.MemoryBIO(), ssl.MemoryBIO()
            obj = ctx.wrap_bio(i, o, server_side=server, **kw)
            obj._in, obj._out = i, o
            return obj
        session = None
        if self.tls["p"].get("resume") and self.sessions:
            session = self.sessions[0]
        cobj = bio_obj(cctx, False, server_hostname=SERVER_NAME, session=session)
        sobj = bio_obj(sctx, True)
        self.c, self.s = Side(cs, cobj), Side(ss, sobj)

    def handshake_steps(self):
        """Generator: one TLS flight put on the wire (and read by the peer) per step."""
        if not self.tls:
            return
        sides = {"c": self.c, "s": self.s}
        turn, idle = "c", 0
        while True:
            me, peer = sides[turn], sides["s" if turn == "c" else "c"]
            if not self.done[turn]:
                try:
                    me.obj.do_handshake()
                    self.done[turn] = True
                except ssl.SSLWantReadError:
                    pass
            out = me.out.read()
            if out:
                me.wire(out)
                peer.inc.write(recv_exact(peer.sock, len(out)))
                idle = 0
                yield
            else:
                idle += 1
            if self.done["c"] and self.done["s"] and idle >= 2:
                break
            turn = "s" if turn == "c" else "c"
        c = self.c.obj
        self.desc = f"{c.version()} {c.cipher()[0]} resumed={c.session_reused}"
        if self.tls["p"].get("resume"):
            if self.sessions:
                assert c.session_reused, f"connection {self.idx} did not resume"
            else:
                self.sessions.append(c.session)

    def write(self, direction, data, sizes):
        src, dst = (self.c, self.s) if direction == "c2s" else (self.s, self.c)
        if not self.tls:
            src.wire(data, sizes)
            got = recv_exact(dst.sock, len(data))
        else:
            assert len(data) <= 16384
            src.obj.write(data)
            ct = src.out.read()
            src.wire(ct, sizes)  # the record: header, then as the original segments
            dst.inc.write(recv_exact(dst.sock, len(ct)))
            got = b""
            while len(got) < len(data):
                try:
                    got += dst.obj.read(len(data) - len(got))
                except ssl.SSLWantReadError:
                    raise RuntimeError("record did not decrypt to the whole write")
        assert got == data, "plaintext differs"


def start_tcpdump(raw):
    tp = subprocess.Popen(["tcpdump", "-i", "lo", "--immediate-mode", "-U", "-n", "-s", "0", "-w", raw,
                           f"tcp and host {SERVER_IP}"], stderr=subprocess.PIPE, text=True)
    line = tp.stderr.readline()
    if "listening" not in line:
        raise RuntimeError(f"tcpdump: {line}")
    time.sleep(0.3)
    return tp


def replay(profile, out, keylog, sources):
    joins = PROFILES[profile]
    assert len(sources) == len(joins), f"{profile} needs {len(joins)} source capture(s)"
    # The events of every join on one timeline: the first source's absolute times, the others
    # shifted so that they start at the same instant.
    timeline, alljoins, base = [], [], None
    for j, (src, p) in enumerate(zip(sources, joins)):
        start, conns, events = conversations(src)
        base = start if base is None else base
        shift = base - start
        tls = None
        if p.get("tls", True):
            kl = None
            if keylog:
                kl = f"{keylog}.part{j}"
                if os.path.exists(kl):
                    os.remove(kl)
            tls = {"p": p, "ctx": contexts(p, kl), "keylog": kl}
        sessions = []
        cs = [Conn(j, o, None, tls, sessions, k) for k, o in enumerate(conns)]
        alljoins.append((src, cs, shift))
        for ev in events:
            timeline.append((ev[1] + shift, j, ev[2], ev))
    timeline.sort(key=lambda t: (t[0], t[1], t[2]))
    # Interleaved profile: the k-th connection of every join is opened and handshaken at the
    # earliest of their SYN times, flight by flight in turn.
    groups = []
    if len(joins) > 1:
        firsts = {}
        for t, j, _, ev in timeline:
            if ev[0] == "connect":
                firsts.setdefault(ev[3], []).append((t, j))
        merged = []
        for t, j, i, ev in timeline:
            if ev[0] != "connect":
                merged.append((t, j, i, ev))
            elif firsts[ev[3]][0][1] == j:
                members = [(jj, ev[3]) for _, jj in firsts[ev[3]]]
                merged.append((t, j, i, ["group", ev[1], i, members]))
        timeline = merged
    listeners = {}
    for _, cs, _ in alljoins:
        for c in cs:
            if c.saddr not in listeners:
                ls = socket.socket()
                ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                ls.bind(c.saddr)
                ls.listen(16)
                listeners[c.saddr] = ls
    raw = out + ".raw"
    tp = start_tcpdump(raw)
    log = []  # (wall-clock µs just before the event, original µs, original segment times)
    try:
        for t, j, _, ev in timeline:
            # a short pause between events: the pure ACKs of one event stay in its window
            time.sleep(0.002)
            segs = [u + alljoins[j][2] for u, _ in ev[6]] if ev[0] == "write" else None
            log.append((time.time_ns() // 1000, t, segs))
            if ev[0] == "connect":
                conn = alljoins[j][1][ev[3]]
                conn.connect(listeners)
                for _ in conn.handshake_steps():
                    pass
            elif ev[0] == "group":
                members = [alljoins[jj][1][k] for jj, k in ev[3]]
                for m in members:
                    m.connect(listeners)
                steps = [m.handshake_steps() for m in members]
                while steps:  # one flight of each handshake in turn
                    for s in list(steps):
                        try:
                            next(s)
                        except StopIteration:
                            steps.remove(s)
            else:
                alljoins[j][1][ev[3]].write(ev[4], ev[5], [n for _, n in ev[6]])
        time.sleep(1.5)  # let tcpdump drain its ring buffer
    finally:
        tp.terminate()
        tp.wait()
        for _, cs, _ in alljoins:
            for c in cs:
                for s in getattr(c, "socks", ()):
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    s.close()
        for ls in listeners.values():
            ls.close()
    for src, cs, _ in alljoins:
        for c in cs:
            print(f"  {os.path.basename(src)} {c.caddr[0]}:{c.caddr[1]} -> {c.saddr[0]}:{c.saddr[1]}"
                  f" {getattr(c, 'desc', 'clear')}", file=sys.stderr)
    # Python's ssl writes the key log through a buffered BIO, flushed when the context goes.
    for _, cs, _ in alljoins:
        for c in cs:
            c.c = c.s = c.tls = None
    alljoins = None
    gc.collect()
    if keylog:
        parts = [f"{keylog}.part{j}" for j in range(len(joins))]
        with open(keylog, "w") as f:
            for pth in parts:
                if os.path.exists(pth):
                    f.write(open(pth).read())
                    os.remove(pth)
    retime(raw, out, log)
    os.remove(raw)


# ---------------------------------------------------------------- retiming

def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f">{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def fix_tcp_checksum(frame):
    f = bytearray(frame)
    o = 14
    ihl, total = (f[o] & 15) * 4, struct.unpack(">H", f[o + 2:o + 4])[0]
    tcp = o + ihl
    f[tcp + 16:tcp + 18] = b"\0\0"
    pseudo = bytes(f[o + 12:o + 20]) + struct.pack(">BBH", 0, 6, total - ihl)
    f[tcp + 16:tcp + 18] = struct.pack(">H", checksum(pseudo + bytes(f[tcp:o + total])))
    return bytes(f)


def retime(raw, out, log):
    data = open(raw, "rb").read()
    assert data[:4] == b"\xd4\xc3\xb2\xa1", "expected a little-endian microsecond pcap from tcpdump"
    hdr, off, pkts = data[:24], 24, []
    while off + 16 <= len(data):
        sec, us, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        pkts.append([sec * 1_000_000 + us, data[off + 16:off + 16 + incl], orig])
        off += 16 + incl
    starts = [l[0] for l in log]
    res, prev, seen = bytearray(hdr), None, {}
    for t, frame, orig in pkts:
        i = bisect.bisect_right(starts, t) - 1
        if i < 0:
            raise RuntimeError("a packet before the first event")
        _, otime, segs = log[i]
        tcp = 14 + (frame[14] & 15) * 4
        payload = len(frame) > tcp + (frame[tcp + 12] >> 4) * 4
        w = seen.setdefault(i, {"n": 0, "anchor": None})
        if segs is None:
            # connection event (TCP and TLS handshake): the SYN at the original SYN time, the
            # rest at their real offsets from it, kept before the next event
            if w["anchor"] is None:
                w["anchor"] = t
            new = otime + (t - w["anchor"])
            if i + 1 < len(log):
                new = min(new, log[i + 1][1] - 1)
        elif payload:
            # k-th segment of a write: the time of the k-th segment of the original write (a
            # record a bit longer than the write may need one more segment: 1 µs later)
            k = w["n"]
            w["n"] += 1
            new = segs[k] if k < len(segs) else segs[-1] + (k - len(segs) + 1)
        else:
            new = prev + 1 if prev is not None else otime  # pure ACK
        if prev is not None:
            new = max(new, prev + 1)
        prev = new
        frame = fix_tcp_checksum(frame)
        res += struct.pack("<IIII", new // 1_000_000, new % 1_000_000, len(frame), orig) + frame
    open(out, "wb").write(res)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "writes":
        start, conns, events = conversations(sys.argv[2])
        for c, o in enumerate(conns):
            print(f"connection {c}: {o['client']} -> {o['server']}")
        for ev in events:
            if ev[0] == "write":
                print(f"{(ev[1] - start) / 1e6:10.6f} conn {ev[3]} {ev[4]} {len(ev[5])} bytes")
        sys.exit(0)
    ap = argparse.ArgumentParser()
    ap.add_argument("profile", choices=sorted(PROFILES))
    ap.add_argument("out")
    ap.add_argument("--keylog")
    ap.add_argument("--sources", nargs="+",
                    default=[os.path.join(MAIN_CAPTURES, "conference-join.pcapng")])
    a = ap.parse_args()
    print(f"{a.out}: profile {a.profile}", file=sys.stderr)
    replay(a.profile, a.out, a.keylog, a.sources)
