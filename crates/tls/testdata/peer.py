#!/usr/bin/env python3
"""TLS client+server on 127.0.0.1 that exchange a few SIP messages; used by make.sh.

Two independent real TLS stacks: Python's ssl module (the system OpenSSL) and tlslite-ng (pure
Python, for RC4 / 3DES, which this OpenSSL build no longer offers).

usage: peer.py STACK PORT NAME [options]   (see make.sh)
"""
import socket
import ssl
import sys
import threading
import argparse

HERE = __file__.rsplit("/", 1)[0] or "."


def sip_messages():
    """The exact messages; the Rust tests read sip_c2s.bin / sip_s2c.bin written from these."""
    sdp = ("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=session\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
           "m=audio 50000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n")
    def msg(start, body, ctype="application/sdp", cseq="1 INVITE"):
        return (f"{start}\r\nVia: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK-1\r\n"
                f"From: <sip:alice@contoso.com>;tag=a1\r\nTo: <sip:conf@contoso.com>\r\n"
                f"Call-ID: tls-test-1\r\nCSeq: {cseq}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body.encode())}\r\n\r\n{body}").encode()
    big = "".join(f"<line n=\"{i:05d}\">conference roster entry {i}</line>\n" for i in range(450))
    assert len(big) > 16384 + 2000, len(big)
    c2s = [msg("INVITE sip:conf@contoso.com SIP/2.0", sdp),
           msg("ACK sip:conf@contoso.com SIP/2.0", "", cseq="1 ACK"),
           msg("INFO sip:conf@contoso.com SIP/2.0", big, "application/xml", "2 INFO")]
    s2c = [msg("SIP/2.0 100 Trying", ""),
           msg("SIP/2.0 200 OK", sdp),
           msg("SIP/2.0 200 OK", big[:18000], "application/xml", "2 INFO")]
    return c2s, s2c


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        d = sock.recv(n - len(buf))
        if not d:
            raise RuntimeError(f"short read {len(buf)}/{n}")
        buf += d
    return buf


def conversation(sock, client):
    """Client: INVITE; server: 100, 200; client: ACK, big INFO; server: big 200."""
    c2s, s2c = sip_messages()
    if client:
        sock.sendall(c2s[0])
        got = recv_exact(sock, len(s2c[0]) + len(s2c[1]))
        assert got == s2c[0] + s2c[1]
        sock.sendall(c2s[1])
        sock.sendall(c2s[2])
        assert recv_exact(sock, len(s2c[2])) == s2c[2]
    else:
        assert recv_exact(sock, len(c2s[0])) == c2s[0]
        sock.sendall(s2c[0])
        sock.sendall(s2c[1])
        assert recv_exact(sock, len(c2s[1]) + len(c2s[2])) == c2s[1] + c2s[2]
        sock.sendall(s2c[2])


def run_openssl(a):
    versions = {"1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1,
                "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
    def ctx(side):
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if side == "server" else ssl.PROTOCOL_TLS_CLIENT)
        c.minimum_version = c.maximum_version = versions[a.version]
        if a.cipher:
            c.set_ciphers(a.cipher + ":@SECLEVEL=0")
        if a.no_ems:
            c.options |= 1  # SSL_OP_NO_EXTENDED_MASTER_SECRET
        if a.no_etm:
            c.options |= 1 << 19  # SSL_OP_NO_ENCRYPT_THEN_MAC
        if a.resume == "id":
            c.options |= ssl.OP_NO_TICKET
        if side == "server":
            c.load_cert_chain(f"{HERE}/{a.cert}.crt", f"{HERE}/{a.cert}.key")
        else:
            c.check_hostname = False
            c.verify_mode = ssl.CERT_NONE
            if a.keylog:
                c.keylog_filename = a.keylog
        return c
    sctx, cctx = ctx("server"), ctx("client")
    conns = 2 if a.resume else 1
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(2)
    def server():
        for _ in range(conns):
            s, _ = ls.accept()
            with sctx.wrap_socket(s, server_side=True) as t:
                conversation(t, False)
                try:
                    t.unwrap()
                except (ssl.SSLError, OSError):
                    pass
    th = threading.Thread(target=server)
    th.start()
    session = None
    for i in range(conns):
        s = socket.create_connection(("127.0.0.1", a.port))
        t = cctx.wrap_socket(s, session=session)
        conversation(t, True)
        if i == 1:
            assert t.session_reused, "second connection did not resume"
        session = t.session
        desc = f"{t.version()} {t.cipher()[0]} resumed={t.session_reused}"
        try:
            t.unwrap()
        except (ssl.SSLError, OSError):
            pass
        t.close()
    th.join()
    print(f"{a.name}: {desc}", file=sys.stderr)


def run_tlslite(a):
    from tlslite import TLSConnection, HandshakeSettings, X509CertChain, parsePEMKey
    cert = X509CertChain()
    cert.parsePemList(open(f"{HERE}/{a.cert}.crt").read())
    key = parsePEMKey(open(f"{HERE}/{a.cert}.key").read(), private=True)
    def settings():
        st = HandshakeSettings()
        v = {"1.0": (3, 1), "1.1": (3, 2), "1.2": (3, 3)}[a.version]
        st.minVersion = st.maxVersion = v
        st.cipherNames = [a.cipher]
        st.macNames = [a.mac]
        st.keyExchangeNames = ["rsa"]
        st.useExtendedMasterSecret = not a.no_ems
        st.useEncryptThenMAC = not a.no_etm
        return st
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(1)
    def server():
        s, _ = ls.accept()
        t = TLSConnection(s)
        t.handshakeServer(certChain=cert, privateKey=key, settings=settings())
        conversation(t, False)
        t.close()
    th = threading.Thread(target=server)
    th.start()
    t = TLSConnection(socket.create_connection(("127.0.0.1", a.port)))
    t.handshakeClientCert(settings=settings())
    conversation(t, True)
    print(f"{a.name}: {t.version} {t.getCipherName()} {t.getCipherImplementation()}", file=sys.stderr)
    t.close()
    th.join()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("stack", choices=["openssl", "tlslite", "messages"])
    p.add_argument("port", type=int, nargs="?", default=0)
    p.add_argument("name", nargs="?", default="")
    p.add_argument("--version", default="1.2")
    p.add_argument("--cipher")
    p.add_argument("--mac", default="sha")
    p.add_argument("--cert", default="rsa")
    p.add_argument("--keylog")
    p.add_argument("--no-ems", action="store_true")
    p.add_argument("--no-etm", action="store_true")
    p.add_argument("--resume", choices=["id", "ticket"])
    a = p.parse_args()
    if a.stack == "messages":
        c2s, s2c = sip_messages()
        open(f"{HERE}/sip_c2s.bin", "wb").write(b"".join(c2s))
        open(f"{HERE}/sip_s2c.bin", "wb").write(b"".join(s2c))
    elif a.stack == "openssl":
        run_openssl(a)
    else:
        run_tlslite(a)
