#!/bin/sh
# Regenerates the TLS versions of the sample conference joins (captures/tls/*) with a real TLS
# stack on loopback, and tshark's list of the SIP messages in each (*.sip.tsv), checked against
# the clear capture. See README.md.
#
# Needs root (tcpdump on lo, binding 127.0.0.N:5060), and:
#   python3 (3.11.7 here) whose ssl module uses the system OpenSSL (3.0.19, 27 Jan 2026, Debian 12
#   build), the openssl command (same version), tcpdump 4.99.3 / libpcap 1.10.3, and tshark /
#   editcap 4.0.17 (`DEBIAN_FRONTEND=noninteractive apt-get install -y tshark`; editcap makes
#   the pcapng with the Decryption Secrets Block, tshark the cross-check).
# No third-party Python module: replay.py reads pcap/pcapng itself.
#
# Not byte-for-byte reproducible: every run has new TLS randoms, ECDHE shares and TCP initial
# sequence numbers (the packet times are the clear capture's, see replay.py). What is stable:
# the plaintext (equal to the clear capture's TCP payloads), the segmentation, the handshake
# shapes, and hence the *.sip.tsv lists up to frame numbers. server.key / server.crt are made
# once and kept (delete them to make new ones, then every capture changes).
#
# The keys and key logs here are throwaway test material, committed on purpose.
set -eu
cd "$(dirname "$0")"
CLEAR=..
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "tools: $(openssl version); $(python3 --version); python ssl: $(python3 -c 'import ssl; print(ssl.OPENSSL_VERSION)');" \
     "$(tcpdump --version 2>&1 | head -1); $(tshark --version | head -1)"

[ -f server.key ] || openssl req -x509 -newkey rsa:2048 -nodes -keyout server.key -out server.crt \
    -days 36500 -subj /CN=fe01.example.com -addext subjectAltName=DNS:fe01.example.com 2>/dev/null

# Python's ssl cannot choose the TLS 1.3 suites; OpenSSL's configuration can.
suites() { # file suite
  printf 'openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\nsystem_default = sd\n[sd]\nCiphersuites = %s\n' "$2" > "$1"
}
suites "$tmp/aes128.cnf" TLS_AES_128_GCM_SHA256
suites "$tmp/chacha.cnf" TLS_CHACHA20_POLY1305_SHA256

mkdir -p check
rm -f ./*.pcap ./*.pcapng ./*.keylog ./*.sip.tsv check/*.keylog
# RSA key exchange: server.key decrypts them. The client's key log goes to check/ only (a test
# can compare the master secret it derives from server.key with OpenSSL's).
python3 replay.py tls12-rsa-cbc-ems join-tls12-rsa-cbc-ems.pcap --keylog check/join-tls12-rsa-cbc-ems.keylog
python3 replay.py tls12-rsa-gcm-noems join-tls12-rsa-gcm-noems.pcap --keylog check/join-tls12-rsa-gcm-noems.keylog
python3 replay.py tls12-rsa-resumed join-tls12-rsa-resumed.pcap --keylog check/join-tls12-rsa-resumed.keylog
python3 replay.py tls12-rsa-resumed-ticket join-tls12-rsa-resumed-ticket.pcap --keylog check/join-tls12-rsa-resumed-ticket.keylog
# Forward secrecy: the key log is the only way in.
python3 replay.py tls12-ecdhe join-tls12-ecdhe.pcap --keylog join-tls12-ecdhe.keylog
OPENSSL_CONF=$tmp/aes128.cnf python3 replay.py tls13 join-tls13.pcap --keylog join-tls13.keylog
# The same TLS 1.3 capture with its key log inside (pcapng Decryption Secrets Block).
editcap --inject-secrets tls,join-tls13.keylog join-tls13.pcap join-tls13-dsb.pcapng
# Two joins at once: conference-join over TLS 1.2 ECDHE and av-mcu-rejected over TLS 1.3
# ChaCha20, each connection's handshake interleaved flight by flight with its counterpart's.
OPENSSL_CONF=$tmp/chacha.cnf python3 replay.py interleaved join-tls-interleaved.pcap \
    --keylog join-tls-interleaved.keylog --sources "$CLEAR/conference-join.pcapng" "$CLEAR/av-mcu-rejected.pcapng"
# Its clear twin (same replay without TLS): what lyncscope must report for the interleaved one.
python3 replay.py interleaved-clear join-interleaved-clear.pcap \
    --sources "$CLEAR/conference-join.pcapng" "$CLEAR/av-mcu-rejected.pcapng"

# tshark's SIP messages, compared with the clear capture's; then tshark's decrypted bytes,
# compared with the clear TCP payload. SIP on 5060 is not TLS to tshark: decode-as TLS, and SIP inside it.
python3 siplist.py list "$CLEAR/conference-join.pcapng" > conference-join.sip.tsv
python3 siplist.py list "$CLEAR/av-mcu-rejected.pcapng" > av-mcu-rejected.sip.tsv
python3 siplist.py list join-interleaved-clear.pcap > join-interleaved-clear.sip.tsv
da="-d tcp.port==5060,tls -d tls.port==5060,sip"
rsa="uat:rsa_keys:\"$PWD/server.key\",\"\""
fail=0
tsv() { # capture clear-list(s) -- tshark options
  cap=$1; shift; clears=""
  while [ "$1" != -- ]; do clears="$clears $1"; shift; done; shift
  python3 siplist.py list "$cap" $da "$@" > "${cap%.*}.sip.tsv"
  printf '%s: ' "$cap"
  python3 siplist.py bytes "$cap" "$(echo $clears | sed "s|[^ ]*|$CLEAR/&|g; s|\.sip\.tsv|.pcapng|g; s| |,|g")" $da "$@" \
    || { echo "$cap: DIFFERENT BYTES" >&2; fail=1; }
  set -- $clears
  printf '%s: ' "$cap"
  python3 siplist.py compare "$1" "${cap%.*}.sip.tsv" ${2:-} || { echo "$cap: DIFFERENT" >&2; fail=1; }
}
for c in join-tls12-rsa-cbc-ems join-tls12-rsa-gcm-noems join-tls12-rsa-resumed join-tls12-rsa-resumed-ticket; do
  tsv $c.pcap conference-join.sip.tsv -- -o "$rsa"
done
tsv join-tls12-ecdhe.pcap conference-join.sip.tsv -- -o tls.keylog_file:join-tls12-ecdhe.keylog
tsv join-tls13.pcap conference-join.sip.tsv -- -o tls.keylog_file:join-tls13.keylog
tsv join-tls13-dsb.pcapng conference-join.sip.tsv --
tsv join-tls-interleaved.pcap conference-join.sip.tsv av-mcu-rejected.sip.tsv -- -o tls.keylog_file:join-tls-interleaved.keylog
printf 'join-interleaved-clear.pcap: '
python3 siplist.py compare conference-join.sip.tsv join-interleaved-clear.sip.tsv av-mcu-rejected.sip.tsv || fail=1
ls -l ./*.pcap ./*.pcapng ./*.keylog check/*.keylog
exit $fail
