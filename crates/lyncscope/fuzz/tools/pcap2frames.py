#!/usr/bin/env python3
"""Turns a classic pcap into the frame sequence encoding of the fuzz targets `net_decode` and
`pipeline` (see src/lib.rs). pcapng: convert first (`editcap -F pcap in.pcapng out.pcap`).

    pcap2frames.py IN.pcap OUT [MAX_FRAMES]
"""
import struct
import sys

LINK_TYPES = [1, 113, 276, 101, 228, 229, 12, 14, 0, 108, 9, 50, 104, 239]


def read_pcap(path):
    data = open(path, "rb").read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise SystemExit(f"{path}: not a classic pcap")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    link = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(e + "IIII", data[off : off + 16])
        off += 16
        pkt = data[off : off + incl]
        off += incl
        ns = sec * 1_000_000_000 + (frac if nano else frac * 1000)
        yield link, ns, pkt


def encode(frames):
    out = bytearray()
    prev = None
    for link, ns, pkt in frames:
        if link in LINK_TYPES:
            out.append(LINK_TYPES.index(link))
        else:
            out.append(14)
            out += struct.pack(">I", link)
        dt_ms = 0 if prev is None else (ns - prev) // 1_000_000
        prev = ns
        if dt_ms < 0:
            dt = 0x8000 | min(-dt_ms, 0x7FFF)
        else:
            dt = min(dt_ms, 0x7FFF)
        pkt = pkt[:0xFFFF]
        out += struct.pack(">HH", dt, len(pkt))
        out += pkt
    return bytes(out)


def main():
    src, dst = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 30
    frames = list(read_pcap(src))[:limit]
    open(dst, "wb").write(encode(frames))


if __name__ == "__main__":
    main()
