#!/usr/bin/env bash
# Starts a private PostgreSQL with TLS for the store's TLS tests (S22): its own CA, a server certificate
# for "localhost" (no IP SAN, so a host-name check can fail on 127.0.0.1), a client certificate, and a
# pg_hba that takes only TLS with a client certificate. Prints the variables the tests read; the caller
# evals them. Never touches the shared PostgreSQL. Usage: eval "$(bash .ci/pg-tls.sh start)"; ... stop.
set -euo pipefail
DIR=${PALISADE_PG_TLS_WORK:-/tmp/palisade-pgtls-ci}
PORT=${PALISADE_PG_TLS_PORT:-55432}
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)

if [ "${1:-}" = stop ]; then
  [ -d "$DIR/data" ] && su postgres -s /bin/sh -c "$BIN/pg_ctl -D '$DIR/data' -m fast stop" >/dev/null 2>&1 || true
  rm -rf "$DIR"
  exit 0
fi

bash "$0" stop
mkdir -p "$DIR/certs" && cd "$DIR/certs"
ca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$1" -keyout "$1.key" -out "$1.pem" 2>/dev/null; }
leaf() { # name CN extfile-line
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
}
ca ca && ca other-ca
leaf server localhost 'subjectAltName=DNS:localhost'
leaf client postgres 'extendedKeyUsage=clientAuth'
chmod 0600 ./*.key && chmod 0644 ./*.pem ./*.crt
chown -R postgres "$DIR"

su postgres -s /bin/sh -c "$BIN/initdb -D '$DIR/data' -A trust -U postgres" >/dev/null
cat >> "$DIR/data/postgresql.conf" <<CONF
port = $PORT
listen_addresses = '127.0.0.1,::1'
unix_socket_directories = '$DIR'
ssl = on
ssl_cert_file = '$DIR/certs/server.crt'
ssl_key_file = '$DIR/certs/server.key'
ssl_ca_file = '$DIR/certs/ca.pem'
CONF
cat > "$DIR/data/pg_hba.conf" <<HBA
local     all all                trust
hostssl   all pwuser 127.0.0.1/32 scram-sha-256 clientcert=verify-ca
hostssl   all pwuser ::1/128      scram-sha-256 clientcert=verify-ca
hostssl   all all    127.0.0.1/32 trust clientcert=verify-ca
hostssl   all all    ::1/128      trust clientcert=verify-ca
hostnossl all all    0.0.0.0/0    reject
hostnossl all all    ::/0         reject
HBA
su postgres -s /bin/sh -c "$BIN/pg_ctl -D '$DIR/data' -l '$DIR/log' -w start" >/dev/null
su postgres -s /bin/sh -c "$BIN/psql -h '$DIR' -p $PORT -q -c \"CREATE ROLE pwuser LOGIN PASSWORD 'pw-for-tls-tests' CREATEDB\"" >/dev/null
su postgres -s /bin/sh -c "$BIN/psql -h '$DIR' -p $PORT -q -c \"GRANT CREATE ON DATABASE postgres TO pwuser\"" >/dev/null
# The client key is read by the tests (root); keep it 0600.
chown root "$DIR/certs/client.key"
echo "export PALISADE_TEST_PG_TLS_URL=postgres://postgres@localhost:$PORT/postgres"
echo "export PALISADE_TEST_PG_TLS_DIR=$DIR/certs"
echo "export PALISADE_TEST_PG_TLS_PASSWORD=pwuser:pw-for-tls-tests"
