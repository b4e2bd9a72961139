#!/usr/bin/env python3
"""The SIP messages tshark finds in a capture, one line per message, and their comparison.

usage: siplist.py list CAPTURE [tshark options...] > NAME.sip.tsv
       siplist.py compare CLEAR.sip.tsv TLS.sip.tsv [CLEAR2.sip.tsv]
       siplist.py bytes TLS-CAPTURE CLEAR-CAPTURE[,CLEAR2] [tshark options...]

`list` runs `tshark -r CAPTURE -Y sip -T json --no-duplicate-keys -J "frame ip tcp sip"` with the
given options (key material, `-d` decode-as) and prints, per SIP message in frame order (two
messages in one frame give two lines, in their order in the frame):
    frame  time (epoch, µs)  tcp.stream  src  sport  dst  dport  method  status  call_id  cseq
`method` is the request method or empty, `status` the response code or empty.

`compare` checks that the TLS list holds the same messages as the clear list(s): per TCP
connection (the client port, which the replay keeps) the same (src port, dst port, method,
status, Call-ID, CSeq) in the same order, and for a single source the same global order too.
It prints the largest time difference and exits non-zero on any other difference.

`bytes` compares the application data tshark decrypts (`-z follow,tls,raw`) with the TCP payload
of the clear capture(s) (`-z follow,tcp,raw`), connection by connection (matched by client
port), both directions, byte for byte.
"""
import json
import subprocess
import sys

COLS = ["frame", "time", "stream", "src", "sport", "dst", "dport", "method", "status", "call_id",
        "cseq"]


def first(v):
    return v[0] if isinstance(v, list) else v


def listing(capture, opts):
    out = subprocess.run(["tshark", "-r", capture, *opts, "-Y", "sip", "-T", "json",
                          "--no-duplicate-keys", "-J", "frame ip tcp sip"],
                         check=True, capture_output=True, text=True).stdout
    rows = []
    for pkt in json.loads(out):
        l = pkt["_source"]["layers"]
        fr, ip, tcp = l["frame"], l["ip"], l["tcp"]
        sips = l["sip"] if isinstance(l["sip"], list) else [l["sip"]]
        for s in sips:
            hdr = s.get("sip.msg_hdr_tree", {})
            if "sip.Request-Line" in s:
                method, status = s["sip.Request-Line"].split(" ", 1)[0], ""
            elif "sip.Status-Line" in s:
                method, status = "", s["sip.Status-Line"].split(" ")[1]
            else:
                continue  # a continuation tshark could not frame
            t = first(fr["frame.time_epoch"])
            sec, _, frac = t.partition(".")
            rows.append([first(fr["frame.number"]), f"{sec}.{(frac + '000000')[:6]}",
                         first(tcp["tcp.stream"]), first(ip["ip.src"]), first(tcp["tcp.srcport"]),
                         first(ip["ip.dst"]), first(tcp["tcp.dstport"]), method, status,
                         first(hdr.get("sip.Call-ID", "")), first(hdr.get("sip.CSeq", ""))])
    return rows


def load(path):
    rows = [l.rstrip("\n").split("\t") for l in open(path) if not l.startswith("#")]
    return [dict(zip(COLS, r)) for r in rows if r != [""]]


def key(r):
    return (r["sport"], r["dport"], r["method"], r["status"], r["call_id"], r["cseq"])


def conn(r):
    return r["sport"] if r["dport"] in ("5060", "5061") else r["dport"]


def compare(clears, tls):
    ok = True
    clear = [r for c in clears for r in c]
    by = lambda rows: {p: [key(r) for r in rows if conn(r) == p] for p in {conn(r) for r in rows}}
    a, b = by(clear), by(tls)
    for p in sorted(set(a) | set(b)):
        if a.get(p) != b.get(p):
            ok = False
            print(f"connection with client port {p}: {len(a.get(p, []))} clear messages, "
                  f"{len(b.get(p, []))} over TLS, not the same", file=sys.stderr)
    if len(clears) == 1 and [key(r) for r in clear] != [key(r) for r in tls]:
        ok = False
        print("global order differs", file=sys.stderr)
    if ok and len(clears) == 1:
        dt = max(abs(float(x["time"]) - float(y["time"])) for x, y in zip(clear, tls))
        print(f"{len(tls)} messages, same order; largest time difference {dt * 1e6:.0f} µs")
    elif ok:
        print(f"{len(tls)} messages, same per connection")
    return ok


def follow(capture, proto, opts):
    """{client port: sorted pair of the two directions' bytes} as tshark follows them."""
    syns = subprocess.run(["tshark", "-r", capture, *opts, "-Y", "tcp.flags.syn==1 && tcp.flags.ack==0",
                           "-T", "fields", "-e", "tcp.stream", "-e", "tcp.srcport"],
                          check=True, capture_output=True, text=True).stdout.split()
    ports = dict(zip(syns[0::2], syns[1::2]))
    zs = [a for st in ports for a in ("-z", f"follow,{proto},raw,{st}")]
    out = subprocess.run(["tshark", "-r", capture, *opts, "-q", *zs],
                         check=True, capture_output=True, text=True).stdout
    res, cur, st = {}, None, None
    for line in out.splitlines() + ["="]:
        if line.startswith("="):
            if cur is not None:
                res[ports[st]] = tuple(sorted(bytes.fromhex("".join(cur[k])) for k in (0, 1)))
            cur = None
        elif line.startswith("Filter: tcp.stream eq "):
            st, cur = line.split()[-1], ([], [])
        elif cur is not None and line and not line.startswith(("Follow:", "Node ")):
            cur[1 if line.startswith("\t") else 0].append(line.strip())
    return res


def same_bytes(tls_cap, clear_caps, opts):
    clear = {}
    for c in clear_caps:
        clear.update(follow(c, "tcp", []))
    tls = follow(tls_cap, "tls", opts)
    ok = clear == tls
    n = sum(len(a) + len(b) for a, b in tls.values())
    print(f"decrypted bytes {'equal' if ok else 'DIFFERENT'} to the clear TCP payload"
          f" ({len(tls)} connections, {n} bytes)")
    return ok


if __name__ == "__main__":
    if sys.argv[1] == "list":
        print("#" + "\t".join(COLS))
        for r in listing(sys.argv[2], sys.argv[3:]):
            print("\t".join(r))
    elif sys.argv[1] == "compare":
        clears = [load(p) for p in sys.argv[2:3] + sys.argv[4:]]
        sys.exit(0 if compare(clears, load(sys.argv[3])) else 1)
    elif sys.argv[1] == "bytes":
        sys.exit(0 if same_bytes(sys.argv[2], sys.argv[3].split(","), sys.argv[4:]) else 1)
    else:
        sys.exit(__doc__)
