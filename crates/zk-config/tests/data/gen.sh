#!/bin/sh
# Regenerates the TLS fixtures of zk-config's tests (in tls/ beside this
# script) with this machine's
# keytool (JDK) and openssl, so the tests themselves need neither. The
# files are committed; rerun this only to change them.
#
# Certificates are valid for ~100 years, except expired.p12 (2000-2001)
# and notyet.p12 (from 2090). Every store password is "password".
set -eu
mkdir -p "$(dirname "$0")/tls"
cd "$(dirname "$0")/tls"
P=password
V=36500
rm -f ./*.p12 ./*.jks ./*.pem ./*.crt ./*.csr ./*.txt
KT="keytool -noprompt -storepass $P -keypass $P"

# The CA, and a second CA nobody trusts.
$KT -genkeypair -alias ca -keyalg EC -groupname secp256r1 -dname "CN=zk-test-ca,O=zk-rs,C=US" \
    -ext bc:c -validity $V -keystore ca.p12 -storetype PKCS12
$KT -exportcert -rfc -alias ca -keystore ca.p12 -file ca.pem
$KT -genkeypair -alias rogue -keyalg EC -groupname secp256r1 -dname "CN=rogue-ca,O=elsewhere" \
    -ext bc:c -validity $V -keystore rogue-ca.p12 -storetype PKCS12

# sign NAME CA_STORE CA_ALIAS DNAME KEYALG EXTRA-GENCERT-ARGS...: NAME.p12
# (keytool PKCS12, key entry with chain [leaf, CA]), NAME.crt
sign() {
    name=$1 castore=$2 caalias=$3 dname=$4 keyalg=$5
    shift 5
    if [ "$keyalg" = RSA ]; then alg="-keyalg RSA -keysize 2048"; else alg="-keyalg EC -groupname secp256r1"; fi
    # shellcheck disable=SC2086
    $KT -genkeypair -alias "$name" $alg -dname "$dname" -validity $V -keystore "$name.p12" -storetype PKCS12
    $KT -certreq -alias "$name" -keystore "$name.p12" -file "$name.csr"
    $KT -gencert -alias "$caalias" -keystore "$castore" -infile "$name.csr" -outfile "$name.crt" -rfc "$@"
    $KT -exportcert -rfc -alias "$caalias" -keystore "$castore" -file "$name.ca.tmp"
    cat "$name.crt" "$name.ca.tmp" > "$name.chain.tmp"
    $KT -importcert -alias "$name" -file "$name.chain.tmp" -keystore "$name.p12"
    rm -f "$name.csr" "$name.ca.tmp" "$name.chain.tmp"
}

sign server ca.p12 ca "CN=localhost,OU=server,O=zk-rs,C=US" EC -validity $V \
    -ext san=ip:127.0.0.1,dns:localhost -ext eku=serverAuth,clientAuth
sign server-rsa ca.p12 ca "CN=localhost,OU=server-rsa,O=zk-rs,C=US" RSA -validity $V \
    -ext san=ip:127.0.0.1,dns:localhost -ext eku=serverAuth,clientAuth
sign cnonly ca.p12 ca "CN=localhost,OU=cn-only,O=zk-rs,C=US" EC -validity $V
sign client ca.p12 ca "CN=client,OU=clients,O=zk-rs,C=US" EC -validity $V \
    -ext san=ip:127.0.0.1 -ext eku=clientAuth,serverAuth
sign untrusted rogue-ca.p12 rogue "CN=client,OU=clients,O=zk-rs,C=US" EC -validity $V \
    -ext san=ip:127.0.0.1 -ext eku=clientAuth,serverAuth
sign expired ca.p12 ca "CN=localhost,OU=expired,O=zk-rs,C=US" EC -startdate 2000/01/01 -validity 365 \
    -ext san=ip:127.0.0.1,dns:localhost
sign notyet ca.p12 ca "CN=localhost,OU=notyet,O=zk-rs,C=US" EC -startdate 2090/01/01 -validity 365 \
    -ext san=ip:127.0.0.1,dns:localhost
sign dn ca.p12 ca 'CN=Doe\, John+UID=jdoe,OU=a\+b,O=q\"x,L=Zürich,ST=x,C=DE,EMAILADDRESS=doe@example.com,DC=example,DC=com' EC \
    -validity $V

# Trust stores: keytool -importcert (trusted-certificate entries only).
$KT -importcert -alias ca -file ca.pem -keystore truststore.p12 -storetype PKCS12
$KT -importcert -alias ca -file ca.pem -keystore truststore.jks -storetype JKS
cp ca.pem truststore.pem

# The same key stores as JKS.
for name in server client; do
    $KT -importkeystore -srckeystore $name.p12 -srcstoretype PKCS12 -srcstorepass $P \
        -destkeystore $name.jks -deststoretype JKS -deststorepass $P -destkeypass $P
done

# PEM key stores: PKCS#8 key, then the chain (3.8's PEMFileLoader layout),
# plain and encrypted (PBES2 AES-256, as openssl pkcs8 -topk8 writes).
for name in server client; do
    openssl pkcs12 -in $name.p12 -passin pass:$P -nocerts -nodes 2>/dev/null \
        | openssl pkcs8 -topk8 -nocrypt -out $name.key.tmp
    openssl pkcs8 -topk8 -in $name.key.tmp -v2 aes-256-cbc -passout pass:$P -out $name.enckey.tmp
    cat $name.key.tmp $name.crt ca.pem > $name.pem
    cat $name.enckey.tmp $name.crt ca.pem > $name-encrypted.pem
    rm -f $name.key.tmp $name.enckey.tmp
done

# PKCS12 with the pre-JDK 9 algorithms: as JDK 8's keytool wrote them
# (key PBE-SHA1-3DES, certificates PBE-SHA1-RC2-40, HMAC-SHA1), and as
# openssl writes with 3DES throughout.
$KT -importkeystore -J-Dkeystore.pkcs12.legacy -srckeystore server.p12 -srcstoretype PKCS12 \
    -srcstorepass $P -destkeystore legacy-jdk8.p12 -deststoretype PKCS12 -deststorepass $P
$KT -importkeystore -J-Dkeystore.pkcs12.legacy -srckeystore truststore.p12 -srcstoretype PKCS12 \
    -srcstorepass $P -destkeystore truststore-jdk8.p12 -deststoretype PKCS12 -deststorepass $P
openssl pkcs12 -in server.p12 -passin pass:$P -nodes 2>/dev/null > legacy.tmp
openssl pkcs12 -export -in legacy.tmp -passout pass:$P -name server \
    -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 -out legacy-3des.p12
rm -f legacy.tmp

# An RSA key in PKCS#1 ("RSA PRIVATE KEY") form, beyond what 3.8 reads.
openssl pkcs12 -in server-rsa.p12 -passin pass:$P -nocerts -nodes 2>/dev/null \
    | openssl rsa -traditional -out rsa.key.tmp 2>/dev/null
cat rsa.key.tmp server-rsa.crt ca.pem > server-rsa-pkcs1.pem
rm -f rsa.key.tmp

# A self-signed keytool certificate (no CA), and a trust store of it: the
# "each node trusts the others' certificates" setup.
$KT -genkeypair -alias selfsigned -keyalg EC -groupname secp256r1 \
    -dname "CN=localhost,OU=self-signed,O=zk-rs" -ext san=ip:127.0.0.1 -validity $V \
    -keystore selfsigned.p12 -storetype PKCS12
$KT -exportcert -rfc -alias selfsigned -keystore selfsigned.p12 -file selfsigned.crt
$KT -importcert -alias selfsigned -file selfsigned.crt -keystore selfsigned-trust.jks -storetype JKS

# A JKS whose key password differs from the store password (3.8 cannot
# use it either).
$KT -importkeystore -srckeystore server.p12 -srcstoretype PKCS12 -srcstorepass $P \
    -destkeystore keypass.jks -deststoretype JKS -deststorepass $P -destkeypass otherpass

# What Java's X500Principal.getName() says, for the subject_dn tests.
cat > PrintDn.java.tmp <<'JAVA'
import java.io.FileInputStream;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
public class PrintDn {
    public static void main(String[] args) throws Exception {
        CertificateFactory f = CertificateFactory.getInstance("X.509");
        for (String a : args) {
            try (FileInputStream in = new FileInputStream(a)) {
                X509Certificate c = (X509Certificate) f.generateCertificate(in);
                System.out.println(a + "\t" + c.getSubjectX500Principal().getName());
            }
        }
    }
}
JAVA
mv PrintDn.java.tmp PrintDn.java
java PrintDn.java ca.pem server.crt client.crt dn.crt cnonly.crt > subject-dn.txt
rm -f PrintDn.java rogue-ca.p12

# Version 1 certificates (kazoo's harness makes them): their own script,
# which also runs alone.
sh ../gen-v1.sh
