#!/bin/sh
# Regenerates the test captures of crates/tls/testdata with real TLS stacks on 127.0.0.1.
# Needs (as root): tcpdump, openssl, python3, and `pip install tlslite-ng==0.8.2` (RC4 / 3DES:
# the distribution's OpenSSL 3 is built without them). Made with OpenSSL 3.0.19 (27 Jan 2026,
# Debian 12 build, also used by Python 3's ssl module) and tlslite-ng 0.8.2.
# Keys and key logs here are throwaway test material, committed on purpose.
set -eu
cd "$(dirname "$0")"
PORT=${PORT:-15061}

[ -f rsa.key ] || openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.crt -days 36500 -subj /CN=fe.contoso.com 2>/dev/null
[ -f rsa_other.key ] || openssl genrsa -out rsa_other.key 2048 2>/dev/null
[ -f ec.key ] || { openssl ecparam -name prime256v1 -genkey -noout -out ec.key; openssl req -x509 -new -key ec.key -out ec.crt -days 36500 -subj /CN=fe.contoso.com; }
# PKCS#8 copy of the RSA key (the loader accepts both forms).
openssl pkcs8 -topk8 -nocrypt -in rsa.key -out rsa_pkcs8.key
python3 peer.py messages

capture() { # name, then the command that makes the traffic
  name=$1; shift
  rm -f "$name.pcap" "$name.keylog"
  tcpdump -i lo -U -s 0 -w "$name.pcap" "tcp port $PORT" 2>/dev/null &
  tp=$!
  sleep 1
  rc=0; "$@" || rc=$?
  sleep 1
  kill "$tp"; wait "$tp" || true
  [ "$rc" = 0 ] || { echo "$name failed" >&2; exit 1; }
  PORT=$((PORT + 1))
}

py() { # name stack [peer options]: Python ssl / tlslite-ng on both ends
  name=$1; stack=$2; shift 2
  capture "$name" python3 peer.py "$stack" "$PORT" "$name" "$@"
}

# RSA key exchange (decrypted with rsa.key only; a key log is written for the tshark cross-check).
py tls12_rsa_aes128_sha_ems openssl --version 1.2 --cipher AES128-SHA --keylog tls12_rsa_aes128_sha_ems.keylog
py tls12_rsa_aes128_sha_noems_noetm openssl --version 1.2 --cipher AES128-SHA --no-ems --no-etm
py tls10_rsa_aes128_sha openssl --version 1.0 --cipher AES128-SHA --no-etm
py tls10_rsa_aes256_sha_etm openssl --version 1.0 --cipher AES256-SHA
py tls11_rsa_aes256_sha openssl --version 1.1 --cipher AES256-SHA --no-etm --no-ems
py tls12_rsa_aes256_sha256 openssl --version 1.2 --cipher AES256-SHA256 --no-etm
py tls12_rsa_aes128_gcm_noems openssl --version 1.2 --cipher AES128-GCM-SHA256 --no-ems
py tls12_rsa_aes256_gcm_sha384 openssl --version 1.2 --cipher AES256-GCM-SHA384
py tls12_rsa_resume_id openssl --version 1.2 --cipher AES128-GCM-SHA256 --resume id
py tls12_rsa_resume_ticket openssl --version 1.2 --cipher AES256-SHA256 --resume ticket
# tlslite-ng (independent implementation): RC4 and 3DES of the Lync 2010 era.
py tls10_rsa_rc4_sha tlslite --version 1.0 --cipher rc4 --mac sha --no-ems --no-etm
py tls12_rsa_rc4_md5 tlslite --version 1.2 --cipher rc4 --mac md5
py tls10_rsa_3des_sha tlslite --version 1.0 --cipher 3des --mac sha --no-etm
py tls12_rsa_3des_sha_ems_etm tlslite --version 1.2 --cipher 3des --mac sha
# Forward-secret suites: key log only.
py tls12_ecdhe_rsa_aes128_gcm openssl --version 1.2 --cipher ECDHE-RSA-AES128-GCM-SHA256 --keylog tls12_ecdhe_rsa_aes128_gcm.keylog
py tls12_ecdhe_rsa_chacha20 openssl --version 1.2 --cipher ECDHE-RSA-CHACHA20-POLY1305 --keylog tls12_ecdhe_rsa_chacha20.keylog
py tls12_ecdhe_ecdsa_aes256_sha384 openssl --version 1.2 --cipher ECDHE-ECDSA-AES256-SHA384 --cert ec --keylog tls12_ecdhe_ecdsa_aes256_sha384.keylog
py tls12_ecdhe_ecdsa_chacha20 openssl --version 1.2 --cipher ECDHE-ECDSA-CHACHA20-POLY1305 --cert ec --keylog tls12_ecdhe_ecdsa_chacha20.keylog

# TLS 1.3 with openssl s_server / s_client (Python's ssl cannot pick a TLS 1.3 suite).
s13() { # name suite
  name=$1; suite=$2
  rm -f "$name.keylog" "$name.server_out"
  (sleep 2; cat sip_s2c.bin; sleep 3) | openssl s_server -quiet -naccept 1 -accept "$PORT" \
      -cert rsa.crt -key rsa.key -tls1_3 -ciphersuites "$suite" -num_tickets 0 > "$name.server_out" 2>/dev/null &
  sp=$!
  sleep 1
  (cat sip_c2s.bin; sleep 4) | openssl s_client -quiet -nocommands -connect "127.0.0.1:$PORT" -tls1_3 \
      -ciphersuites "$suite" -keylogfile "$name.keylog" > "$name.client_out" 2>/dev/null || true
  wait "$sp" || true
  cmp "$name.server_out" sip_c2s.bin && cmp "$name.client_out" sip_s2c.bin
  rm -f "$name.server_out" "$name.client_out"
}
capture tls13_aes128_gcm s13 tls13_aes128_gcm TLS_AES_128_GCM_SHA256
capture tls13_aes256_gcm s13 tls13_aes256_gcm TLS_AES_256_GCM_SHA384
capture tls13_chacha20 s13 tls13_chacha20 TLS_CHACHA20_POLY1305_SHA256

# TLS 1.2 resumption with s_client -sess_out / -sess_in (RSA key only; by session id: -no_ticket).
sres() { # name extra-server-option
  name=$1; extra=$2
  rm -f "$name.sess"
  # The server sends nothing here (its stdin is shared by both connections, an EOF would end
  # the second one early): only client→server data is compared.
  sleep 12 | openssl s_server -quiet -naccept 2 -accept "$PORT" \
      -cert rsa.crt -key rsa.key -tls1_2 -cipher AES128-SHA256 $extra > /dev/null 2>&1 &
  sp=$!
  sleep 1
  (cat sip_c2s.bin; sleep 2) | openssl s_client -quiet -nocommands -connect "127.0.0.1:$PORT" -sess_out "$name.sess" > "$name.out1" 2>/dev/null || true
  (cat sip_c2s.bin; sleep 2) | openssl s_client -quiet -nocommands -connect "127.0.0.1:$PORT" -sess_in "$name.sess" > "$name.out2" 2>/dev/null || true
  wait "$sp" || true
  rm -f "$name.sess" "$name.out1" "$name.out2"
}
capture tls12_sclient_resume_id sres tls12_sclient_resume_id -no_ticket
capture tls12_sclient_resume_ticket sres tls12_sclient_resume_ticket ""
ls -la *.pcap
