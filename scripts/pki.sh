#!/usr/bin/env bash
# scripts/pki.sh - a development PKI for hoursd's mutual TLS, made with the openssl CLI.
#
# Usage: scripts/pki.sh DIR [TERMINAL_NUMBER ...]
#
# Makes in DIR (all keys EC P-256, mode 600):
#   ca.crt ca.key                 the dev CA (10 years)
#   server.crt server.key         CN=localhost, SAN DNS:localhost,IP:127.0.0.1, serverAuth
#   server-other.crt/.key         CN=platform.invalid, SAN DNS:platform.invalid only: a valid
#                                 certificate of this CA for another host (the name check)
#   term-T.crt term-T.key         CN=T, clientAuth, for each terminal number T
#                                 (default: 013800000001 013800000002 013800000003)
#   term-T.p12                    the timing terminal's certificate as the registration
#                                 answer delivers it: a PKCS#12 (OpenSSL 3 defaults) of
#                                 an RSA-2048 key and a certificate of the dev CA, CN=T,
#                                 password $P12_PASS (123456); its key and certificate
#                                 also as term-rsa-T.key and term-rsa-T.crt (PEM), for
#                                 termsim --no-register --sign-key
#   sign-rsa-T.crt/.key           a self-signed RSA-2048 record-signing certificate per terminal
#   sign-sm2-T.crt/.key           a self-signed SM2 (SM3) record-signing certificate per terminal
#                                 (the EC P-256 term-T certificate signs ECDSA records itself)
#   checkpoint.key checkpoint.pub hoursd's audit checkpoint key (EC P-256, audit.checkpoint_key)
#                                 and its public half, which `hoursctl audit verify --key` takes
#   rogue-ca.crt rogue-ca.key     another CA, trusted by nobody
#   rogue-013800000001.crt/.key   a client cert with a valid-looking CN signed by the rogue CA
#
# Idempotent: an existing certificate is kept as long as it and its key are
# there and it still verifies against its CA; anything else is (re)made.
# Does not depend on the system openssl.cnf.
set -euo pipefail

die() {
	echo "pki.sh: $*" >&2
	exit 1
}

(($# >= 1)) || die "usage: $0 DIR [TERMINAL_NUMBER ...]"
DIR=$1
shift
TERMS=("$@")
((${#TERMS[@]} > 0)) || TERMS=(013800000001 013800000002 013800000003)
for t in "${TERMS[@]}"; do
	[[ $t =~ ^[0-9]{1,20}$ ]] || die "terminal number must be 1-20 digits: '$t'"
done

command -v openssl >/dev/null || die "openssl not found (run scripts/deps.sh)"
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
DAYS=3650
# 6-12 ASCII characters: the registration answer's password field is 12 bytes.
P12_PASS=123456

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
CNF=$TMP/openssl.cnf
cat >"$CNF" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[server_other]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:platform.invalid
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

newkey() { # $1 = output file, $2 = rsa for RSA-2048 (default EC P-256)
	local alg=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256)
	[[ ${2:-} == rsa ]] && alg=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048)
	(umask 077 && openssl genpkey "${alg[@]}" -out "$1" 2>/dev/null) ||
		die "cannot make key $1"
	chmod 600 "$1"
}

# valid NAME CA_NAME PURPOSE: NAME.crt and NAME.key exist and NAME.crt verifies against CA_NAME.crt.
valid() {
	[[ -s $DIR/$1.crt && -s $DIR/$1.key && -s $DIR/$2.crt ]] &&
		openssl verify -purpose "$3" -CAfile "$DIR/$2.crt" "$DIR/$1.crt" >/dev/null 2>&1
}

# make_ca NAME CN
make_ca() {
	if [[ -s $DIR/$1.crt && -s $DIR/$1.key ]]; then
		return 0
	fi
	newkey "$TMP/$1.key"
	openssl req -config "$CNF" -new -x509 -key "$TMP/$1.key" -subj "/CN=$2" -days "$DAYS" \
		-sha256 -set_serial "0x$(openssl rand -hex 16)" -extensions ca \
		-out "$TMP/$1.crt" || die "cannot make $1.crt"
	mv -f "$TMP/$1.key" "$DIR/$1.key"
	mv -f "$TMP/$1.crt" "$DIR/$1.crt"
	chmod 644 "$DIR/$1.crt"
	echo "pki.sh: made $DIR/$1.crt" >&2
}

# make_leaf NAME CN CA_NAME EXTENSIONS(server|client) [rsa]
make_leaf() {
	local purpose=sslclient
	[[ $4 == server* ]] && purpose=sslserver
	if valid "$1" "$3" "$purpose"; then
		return 0
	fi
	newkey "$TMP/$1.key" "${5:-}"
	openssl req -config "$CNF" -new -key "$TMP/$1.key" -subj "/CN=$2" -out "$TMP/$1.csr" ||
		die "cannot make $1.csr"
	openssl x509 -req -in "$TMP/$1.csr" -CA "$DIR/$3.crt" -CAkey "$DIR/$3.key" \
		-set_serial "0x$(openssl rand -hex 16)" -days "$DAYS" -sha256 \
		-extfile "$CNF" -extensions "$4" -out "$TMP/$1.crt" 2>/dev/null ||
		die "cannot sign $1.crt"
	mv -f "$TMP/$1.key" "$DIR/$1.key"
	mv -f "$TMP/$1.crt" "$DIR/$1.crt"
	chmod 644 "$DIR/$1.crt"
	echo "pki.sh: made $DIR/$1.crt" >&2
}

make_ca ca "hoursd development CA"
make_leaf server localhost ca server
make_leaf server-other platform.invalid ca server_other
for t in "${TERMS[@]}"; do
	make_leaf "term-$t" "$t" ca client
done

# make_p12 T: term-T.p12 from term-rsa-T.key/.crt, remade when it does not open with
# the password or holds another certificate than term-rsa-T.crt.
make_p12() {
	local p12=$DIR/term-$1.p12 crt=$DIR/term-rsa-$1.crt
	make_leaf "term-rsa-$1" "$1" ca client rsa
	if [[ -s $p12 ]] && openssl pkcs12 -in "$p12" -passin "pass:$P12_PASS" -nokeys \
		-clcerts 2>/dev/null | openssl x509 2>/dev/null | cmp -s - <(openssl x509 -in "$crt"); then
		return 0
	fi
	(umask 077 && openssl pkcs12 -export -inkey "$DIR/term-rsa-$1.key" -in "$crt" \
		-name "$1" -passout "pass:$P12_PASS" -out "$TMP/term-$1.p12") ||
		die "cannot make term-$1.p12"
	mv -f "$TMP/term-$1.p12" "$p12"
	chmod 600 "$p12"
	echo "pki.sh: made $p12" >&2
}
for t in "${TERMS[@]}"; do
	make_p12 "$t"
done
# make_signer NAME ALGORITHM(rsa|sm2): a self-signed record-signing certificate.
# hoursd pins it by digest in the registry, so no CA is needed.
make_signer() {
	if [[ -s $DIR/$1.crt && -s $DIR/$1.key ]]; then
		return 0
	fi
	local digest=(-sha256)
	if [[ $2 == rsa ]]; then
		(umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
			-out "$TMP/$1.key" 2>/dev/null) || die "cannot make key $1"
	else
		(umask 077 && openssl genpkey -algorithm SM2 -out "$TMP/$1.key" 2>/dev/null) ||
			die "cannot make key $1"
		digest=(-sm3 -sigopt distid:1234567812345678)
	fi
	openssl req -config "$CNF" -new -x509 -key "$TMP/$1.key" -subj "/CN=$1" -days "$DAYS" \
		"${digest[@]}" -set_serial "0x$(openssl rand -hex 16)" -out "$TMP/$1.crt" ||
		die "cannot make $1.crt"
	mv -f "$TMP/$1.key" "$DIR/$1.key"
	mv -f "$TMP/$1.crt" "$DIR/$1.crt"
	chmod 600 "$DIR/$1.key"
	chmod 644 "$DIR/$1.crt"
	echo "pki.sh: made $DIR/$1.crt" >&2
}
for t in "${TERMS[@]}"; do
	make_signer "sign-rsa-$t" rsa
	make_signer "sign-sm2-$t" sm2
done

make_ca rogue-ca "hoursd rogue CA"
make_leaf rogue-013800000001 013800000001 rogue-ca client

# The audit checkpoint key (docs/audit.md): no certificate, its public half beside it.
if [[ ! -s $DIR/checkpoint.key || ! -s $DIR/checkpoint.pub ]]; then
	(umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$TMP/checkpoint.key" 2>/dev/null) || die "cannot make checkpoint.key"
	openssl pkey -in "$TMP/checkpoint.key" -pubout -out "$TMP/checkpoint.pub" 2>/dev/null ||
		die "cannot make checkpoint.pub"
	mv -f "$TMP/checkpoint.key" "$DIR/checkpoint.key"
	mv -f "$TMP/checkpoint.pub" "$DIR/checkpoint.pub"
	chmod 600 "$DIR/checkpoint.key"
	chmod 644 "$DIR/checkpoint.pub"
	echo "pki.sh: made $DIR/checkpoint.key" >&2
fi
