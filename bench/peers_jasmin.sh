#!/usr/bin/env bash
# Jasmin (0.11.0, see below) with its SMPP server up, for bench/smpp.py: the set-up of
# ../shared/bench-peers/jasmin.sh (Redis + RabbitMQ on their own ports, jasmind, smpp_sim.py on
# :2776 behind an SMPP client connector `sim`, a user bench/bench, a default MT route to `sim`),
# without its HTTP load. Jasmin's SMPP server listens on 127.0.0.1:2775; the user `bench` may bind
# there since a Jasmin user's smpps_cred allows `bind` by default (jasmin/routing/jasminApi.py,
# SmppsCredential) and its smpps_throughput quota is None (unlimited).
#
# Prints `READY <count file>` once the connector is bound (the count file holds the number of
# submit_sm that reached smpp_sim.py), then keeps everything up until stdin closes or TERM,
# and stops what it started. Env: PEERS_DIR, WORK (/tmp/bench-jasmin-smpp), JASMIN_VENV.
. "${PEERS_DIR:-/work/shared/bench-peers}/common.sh"

WORK="${WORK:-/tmp/bench-jasmin-smpp}"
VENV="${JASMIN_VENV:-/tmp/jasmin-venv-0.11.0}"
# 0.11.0, not 0.11.1 (what jasmin.sh installs): 0.11.1 fails in its handler of every submit_sm_resp
# ("'SubmitSM' object has no attribute 'response'", jookies/jasmin issues 1236 and 1237;
# see tests/integration/smpp/jasmin.py) and logs an ERROR per message, which would slow its side.
JASMIN_VERSION="${JASMIN_VERSION:-0.11.0}"
PY="${PYTHON:-python3}"
# Own ports, so that Redis/RabbitMQ services already running on the standard ports are left alone.
REDIS_PORT="${REDIS_PORT:-16379}" AMQP_PORT="${AMQP_PORT:-15673}" RMQ_DIST_PORT="${RMQ_DIST_PORT:-25673}" EPMD_PORT="${EPMD_PORT:-14369}"
RMQ_ENV=(HOME="$WORK/rmq" RABBITMQ_NODENAME=rabbit@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
         RABBITMQ_NODE_PORT=$AMQP_PORT RABBITMQ_DIST_PORT=$RMQ_DIST_PORT ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT=$EPMD_PORT
         RABBITMQ_MNESIA_BASE="$WORK/rmq/mnesia" RABBITMQ_LOG_BASE="$WORK/rmq/log"
         RABBITMQ_ENABLED_PLUGINS_FILE="$WORK/rmq/enabled_plugins" RABBITMQ_CONFIG_FILE="$WORK/rmq/rabbitmq"
         RABBITMQ_PID_FILE="$WORK/rmq/rabbit.pid")
rabbitmqctl() { env "${RMQ_ENV[@]}" /usr/lib/rabbitmq/bin/rabbitmqctl -n rabbit@localhost "$@"; }

apt_install wrk redis-server rabbitmq-server curl || exit 1
if ! "$VENV/bin/python" -c "import jasmin" 2>/dev/null; then
    log "creating $VENV and installing jasmin==$JASMIN_VERSION from PyPI"
    "$PY" -m venv "$VENV" && "$VENV/bin/pip" install -q "jasmin==$JASMIN_VERSION" || { echo "jasmin: pip install failed"; exit 1; }
fi
SPEC=$(ls "$VENV"/lib/python3*/site-packages/txamqp/specs/standard/amqp0-9-1.stripped.xml 2>/dev/null | head -1)
[ -n "$SPEC" ] || { echo "jasmin: txamqp AMQP 0-9-1 spec not found in $VENV"; exit 1; }

for p in $EPMD_PORT $AMQP_PORT $RMQ_DIST_PORT $REDIS_PORT 1401 2775 2776 8988 8989 8990 14000; do
    port_free "$p" || { echo "jasmin: port $p already in use on 127.0.0.1; stop whatever runs there"; exit 1; }
done

RMQ_STARTED=0
cleanup() {
    [ -n "${JASMIND_PID:-}" ] && stop_pid "$JASMIND_PID" 20
    [ "$RMQ_STARTED" = 1 ] && rabbitmqctl stop >/dev/null 2>&1
    stop_all
}
trap cleanup EXIT INT TERM

rm -rf "$WORK"; mkdir -p "$WORK/rmq" "$WORK/etc/jasmin/store" "$WORK/var/log/jasmin"
echo '[].' >"$WORK/rmq/enabled_plugins"

# --- supporting services ---------------------------------------------------------
epmd -address 127.0.0.1 -port "$EPMD_PORT" >"$WORK/epmd.out" 2>&1 & track $!
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --daemonize no >"$WORK/redis.out" 2>&1 & track $!
env "${RMQ_ENV[@]}" /usr/lib/rabbitmq/bin/rabbitmq-server >"$WORK/rabbitmq.out" 2>&1 & track $!
RMQ_STARTED=1
wait_port "$REDIS_PORT" 20 || { echo "jasmin: redis did not start"; exit 1; }
for ((n = 0; n < 30; n++)); do rabbitmqctl --timeout 60 await_startup >"$WORK/rmq-await.out" 2>&1 && break; sleep 2; done
[ $n -lt 30 ] || { echo "jasmin: rabbitmq did not start"; tail "$WORK/rmq-await.out" "$WORK/rabbitmq.out"; exit 1; }
"$PY" "$PEERS_DIR/smpp_sim.py" --port 2776 --count-file "$WORK/smpp.count" >"$WORK/smpp_sim.out" 2>&1 & track $!

# --- jasmind -----------------------------------------------------------------------
# Everything binds to 127.0.0.1; per-message logging is turned down to WARNING (as for Kannel).
cat >"$WORK/etc/jasmin/jasmin.cfg" <<CFG
[smpp-server]
bind = 127.0.0.1
port = 2775
log_level = WARNING
[smpp-server-pb]
bind = 127.0.0.1
[client-management]
bind = 127.0.0.1
log_level = WARNING
[service-smppclient]
log_level = WARNING
[sm-listener]
log_level = WARNING
[dlr]
log_level = WARNING
[router]
bind = 127.0.0.1
log_level = WARNING
[jcli]
bind = 127.0.0.1
port = 8990
[http-api]
bind = 127.0.0.1
port = 1401
log_level = WARNING
access_log = /dev/null
[amqp-broker]
host = 127.0.0.1
port = $AMQP_PORT
spec = $SPEC
log_level = WARNING
[redis-client]
host = 127.0.0.1
port = $REDIS_PORT
log_level = WARNING
CFG
# The PyPI wheel lacks Jasmin's resource/amqp0-9-1.xml: 'spec' above points at txamqp's copy.
ROOT_PATH="$WORK" "$VENV/bin/jasmind.py" -c "$WORK/etc/jasmin/jasmin.cfg" >"$WORK/jasmind.out" 2>&1 &
JASMIND_PID=$!
wait_port 8990 30 && wait_port 1401 10 || { echo "jasmin: jasmind did not start"; tail -30 "$WORK/jasmind.out"; exit 1; }

"$PY" "$PEERS_DIR/jcli.py" >"$WORK/jcli.out" 2>&1 <<'JCLI' || { echo "jasmin: jCli setup failed"; tail -30 "$WORK/jcli.out"; exit 1; }
smppccm -a
cid sim
host 127.0.0.1
port 2776
username bench
password bench
submit_throughput 0
loglevel 30
ok
smppccm -1 sim
group -a
gid bench
ok
user -a
uid bench
gid bench
username bench
password bench
ok
mtrouter -a
type defaultroute
connector smppc(sim)
rate 0.00
ok
JCLI
for ((n = 0; n < 50; n++)); do grep -q BOUND_TRX <("$PY" "$PEERS_DIR/jcli.py" <<<'smppccm -l' 2>/dev/null) && break; sleep 0.2; done
grep -q BOUND_TRX <("$PY" "$PEERS_DIR/jcli.py" <<<'smppccm -l' 2>/dev/null) || { echo "jasmin: connector sim did not bind"; exit 1; }

echo "READY $WORK/smpp.count"
# A background job's stdin would be /dev/null: hand it ours explicitly, and `wait` so that
# TERM runs the trap at once.
exec 3<&0
cat <&3 >/dev/null &
wait $!
