#!/bin/sh
# X.509 version 1 fixtures (tls/v1-*): certificates without extensions,
# as kazoo's test harness makes them with pyOpenSSL and as Java (so 3.8)
# accepts them. gen.sh runs this last; it can also run alone, reusing
# tls/ca.p12, so the other fixtures keep their keys.
#
# v1-client.pem    CN=client-v1 by the trusted CA (key, cert, CA: a PEM key store)
# v1-server.pem    CN=localhost by the trusted CA, an RSA key
# v1-untrusted.pem by a CA nobody trusts
# v1-impostor.pem  by a CA with the trusted CA's name but another key
# v1-expired.pem   by the trusted CA, valid 2000-2001
# v1-notyet.pem    by the trusted CA, valid from 2090
set -eu
cd "$(dirname "$0")/tls"
P=password
V=36500
rm -f v1-*
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

openssl pkcs12 -in ca.p12 -passin pass:$P -nocerts -nodes 2>/dev/null \
    | openssl pkcs8 -topk8 -nocrypt -out "$T/ca.key"
cp ca.pem "$T/ca.pem"
# Self-signed CAs (openssl req -x509 adds v3 CA extensions by default).
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days $V \
    -subj "/CN=rogue-v1-ca/O=elsewhere" -keyout "$T/ca-rogue.key" -out "$T/ca-rogue.pem" 2>/dev/null
# The impostor: the trusted CA's certificate re-signed with a new key, so
# its subject is the same bytes (keytool's PrintableStrings).
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ca-impostor.key"
openssl x509 -in ca.pem -signkey "$T/ca-impostor.key" -days $V -out "$T/ca-impostor.pem" 2>/dev/null

# v1 NAME CA SUBJECT KEYSPEC [START END]: v1-NAME.pem and v1-NAME.crt.
# `openssl x509 -req` without -extfile writes no extensions, so version
# 1 (OpenSSL 3.0; later versions may add key identifiers, hence the
# check); `openssl ca` without an extensions section likewise, with
# explicit dates.
v1() {
    name=$1 ca=$2 subject=$3 keyspec=$4
    openssl req -new -newkey "$keyspec" -nodes -subj "$subject" \
        -keyout "$T/$name.key" -out "$T/$name.csr" 2>/dev/null
    if [ $# -eq 4 ]; then
        openssl x509 -req -in "$T/$name.csr" -CA "$T/$ca.pem" -CAkey "$T/$ca.key" \
            -CAcreateserial -CAserial "$T/serial" -sha256 -days $V -out "v1-$name.crt" 2>/dev/null
    else
        mkdir -p "$T/db"
        : > "$T/db/index.txt"
        [ -f "$T/db/serial" ] || echo 1000 > "$T/db/serial"
        printf '[ca]\ndefault_ca=d\n[d]\ndatabase=%s/index.txt\nnew_certs_dir=%s\nserial=%s/serial\ndefault_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\norganizationName=optional\n' \
            "$T/db" "$T/db" "$T/db" > "$T/db/ca.cnf"
        openssl ca -batch -notext -preserveDN -config "$T/db/ca.cnf" -cert "$T/$ca.pem" \
            -keyfile "$T/$ca.key" -startdate "$5" -enddate "$6" -in "$T/$name.csr" \
            -out "v1-$name.crt" 2>/dev/null
    fi
    openssl x509 -in "v1-$name.crt" -noout -text | grep -q 'Version: 1 (0x0)' \
        || { echo "v1-$name.crt is not a version 1 certificate" >&2; exit 1; }
    cat "$T/$name.key" "v1-$name.crt" "$T/$ca.pem" > "v1-$name.pem"
}

v1 client ca "/O=zk-rs/OU=clients/CN=client-v1" ec:"$T/ca.pem"
v1 server ca "/O=zk-rs/OU=server/CN=localhost" rsa:2048
v1 untrusted ca-rogue "/O=zk-rs/OU=clients/CN=client-v1" ec:"$T/ca.pem"
v1 impostor ca-impostor "/O=zk-rs/OU=clients/CN=client-v1" ec:"$T/ca.pem"
v1 expired ca "/O=zk-rs/OU=expired/CN=client-v1" ec:"$T/ca.pem" 20000101000000Z 20010101000000Z
v1 notyet ca "/O=zk-rs/OU=notyet/CN=client-v1" ec:"$T/ca.pem" 20900101000000Z 20910101000000Z
