#!/usr/bin/env bash
# CI, Docker stage (issue 20), run by .ci/run before the tests: builds the real Dockerfile, brings
# the real deploy/compose.yaml up and sends an SMS through it end to end.
# The machine has no registry and no internet, only the Debian and PyPI mirrors
# (/work/shared/recipes/docker-in-ci.md), so the images compose.yaml names are stand-ins built
# here from Debian packages under the same tags (.ci/standins/) and kept between runs as one
# `docker save` tarball. Stand-ins rather than the machine's own PostgreSQL and Redis through
# network_mode: host: compose.yaml then runs unchanged, service names, healthchecks,
# depends_on order and the proxy's upstreams included, and nothing collides with the
# test suite's databases or ports.
# Idempotent: everything it starts it stops (dockerd by PID, the compose project with its
# volumes); run it again and it reuses the cached images.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
stamp() { echo "[docker.sh +$(($(date +%s) - started))s] $*"; }

CACHE=${SIMRELAY_CI_CACHE:-/var/cache/simrelay-ci}/docker
PROJECT=simrelay-ci
HTTPS_PORT=18443
mkdir -p "$CACHE"
# Debian's client, not another docker binary that may sit earlier on the PATH.
export PATH=/usr/bin:/usr/sbin:$PATH

apt_install() {
    apt-get install -y -q "$@" >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null && apt-get install -y -q "$@" >/dev/null; }
}
if [ ! -x /usr/sbin/dockerd ] || [ ! -x /usr/sbin/debootstrap ] || [ ! -x /usr/bin/docker-compose ]; then
    stamp "installing docker.io, debootstrap, docker-compose"
    apt_install docker.io debootstrap docker-compose
fi

dockerd_pid=""
compose_up=""
compose() {
    docker-compose -p "$PROJECT" -f deploy/compose.yaml -f .ci/compose.ci.yaml "$@"
}
finish() {
    status=$?
    if [ -n "$compose_up" ]; then
        if [ "$status" != 0 ]; then
            compose ps || true
            compose logs --no-color --tail 40 || true
        fi
        compose down -v --remove-orphans >/dev/null 2>&1 || true
    fi
    if [ -n "$dockerd_pid" ]; then
        kill "$dockerd_pid" 2>/dev/null || true
        for _ in $(seq 1 30); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 1; done
    fi
    stamp "done, status $status"
}
trap finish EXIT

if ! docker info >/dev/null 2>&1; then
    stamp "starting dockerd"
    dockerd >"$CACHE/dockerd.log" 2>&1 &
    dockerd_pid=$!
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null
fi

# --- stand-in images -------------------------------------------------------------------------
BASE=python:3.11-slim
STANDINS="postgres:16 redis:7 caddy:2"
# A change to a stand-in's files or to the base's package list makes a new tarball.
base_packages=python3,python3-venv,python3-pip,ca-certificates
key=$( (echo "$base_packages"; cat .ci/standins/*) | sha256sum | cut -c1-16)
tarball=$CACHE/standins-$key.tar
missing() {
    for image in "$BASE" $STANDINS; do
        docker image inspect "$image" >/dev/null 2>&1 || { echo "$image"; return; }
    done
}
if [ -n "$(missing)" ] && [ -s "$tarball" ]; then
    stamp "loading stand-ins from $tarball"
    docker load -q -i "$tarball" >/dev/null
fi
if [ -n "$(missing)" ]; then
    if ! docker image inspect "$BASE" >/dev/null 2>&1; then
        stamp "building the stand-in $BASE with debootstrap"
        root=$(mktemp -d)
        debootstrap --variant=minbase --include="$base_packages" bookworm "$root" \
            http://deb.debian.org/debian >"$CACHE/debootstrap.log" 2>&1
        # Package downloads pass a TLS-intercepting proxy: trust its CA inside the images too.
        cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
        chroot "$root" update-ca-certificates >/dev/null
        tar -C "$root" -c . | docker import - "$BASE" >/dev/null
        rm -rf "$root"
    fi
    for image in $STANDINS; do
        name=${image%%:*}
        stamp "building the stand-in $image"
        docker build -q --network host -f ".ci/standins/$name.Dockerfile" -t "$image" .ci/standins >/dev/null
    done
fi
if [ ! -s "$tarball" ]; then
    stamp "saving the stand-ins to $tarball"
    rm -f "$CACHE"/standins-*.tar
    docker save -o "$tarball.tmp" "$BASE" $STANDINS && mv "$tarball.tmp" "$tarball"
fi

# --- the image, unchanged ----------------------------------------------------------------------
stamp "building simrelay:latest"
docker build -q --network host -t simrelay:latest . >/dev/null
stamp "simrelay's layers above the base: $(docker history simrelay:latest --format '{{.Size}}' | grep -v '^0B$' | head -n -1 | tr '\n' ' ')"
# What a pull downloads of them: the layers ship gzipped, and /opt/venv is nearly all of it.
venv_gz=$(docker run --rm --entrypoint tar simrelay:latest -C / -cf - opt/venv | gzip -6 | wc -c)
stamp "the image: $(docker image inspect -f '{{.Size}}' simrelay:latest) bytes on this stand-in base; /opt/venv gzipped: $venv_gz bytes"

# --- the cluster ---------------------------------------------------------------------------------
POSTGRES_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
SIMRELAY_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
export POSTGRES_PASSWORD SIMRELAY_SECRET_KEY
export SIMRELAY_SITE=localhost SIMRELAY_PUBLIC_URL=https://localhost:$HTTPS_PORT
export SIMRELAY_BIND=127.0.0.1 SIMRELAY_HTTP_PORT=18080 SIMRELAY_HTTPS_PORT=$HTTPS_PORT
compose down -v --remove-orphans >/dev/null 2>&1 || true  # what a killed run left behind
compose_up=1
stamp "compose up"
compose up -d --no-build
# 1.29's `ps -q` takes no filter: ask each container for its state.
for service in node1 node2; do
    for _ in $(seq 1 60); do
        state=$(docker inspect -f '{{.State.Health.Status}}' "$(compose ps -q "$service")")
        [ "$state" = healthy ] && break
        sleep 1
    done
    [ "$state" = healthy ] || { echo "$service is $state"; exit 1; }
done
migrate_exit=$(docker inspect -f '{{.State.ExitCode}}' "$(compose ps -q migrate)")
[ "$migrate_exit" = 0 ] || { echo "migrate exited $migrate_exit"; exit 1; }

# Through the proxy with TLS checked against Caddy's own local CA, not with -k.
ca=$(mktemp)
for _ in $(seq 1 30); do
    docker cp "$(compose ps -q proxy):/data/caddy/pki/authorities/local/root.crt" "$ca" 2>/dev/null && break
    sleep 1
done
https() { curl -sS --fail-with-body --cacert "$ca" --resolve "localhost:$HTTPS_PORT:127.0.0.1" "$@"; }
for _ in $(seq 1 30); do https -o /dev/null "https://localhost:$HTTPS_PORT/readyz" 2>/dev/null && break; sleep 1; done
https "https://localhost:$HTTPS_PORT/readyz"
echo

stamp "smoke: account, key, webhook, device on node2"
EMAIL=ci@example.com
compose exec -T node1 simrelay account create "$EMAIL" --password "ci-password-$RANDOM" >/dev/null
token=$(compose exec -T node1 simrelay key create "$EMAIL" --json |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
# The webhook receiver lives in node2: one JSON body per line in /tmp/hooks.jsonl.
compose exec -d -T node2 python3 -c '
import http.server
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open("/tmp/hooks.jsonl", "ab") as out:
            out.write(body + b"\n")
        self.send_response(204)
        self.end_headers()
http.server.HTTPServer(("0.0.0.0", 9000), Hook).serve_forever()
'
compose exec -T node1 simrelay webhook add "$EMAIL" http://node2:9000/hook --events sms.status >/dev/null
code=$(compose exec -T node1 simrelay device pair "$EMAIL" --json |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["code"].replace(" ", ""))')
compose exec -d -T node2 sh -c \
    "simrelay device simulate --url http://127.0.0.1:8000 --code $code --send-ms 20..50 >/tmp/sim.log 2>&1"
# An account without a device is refused a send (1004): wait for the phone's link.
for _ in $(seq 1 30); do
    compose exec -T node2 grep -q connected /tmp/sim.log 2>/dev/null && break
    sleep 1
done
compose exec -T node2 grep connected /tmp/sim.log

stamp "smoke: one SMS through the proxy, one sent on node1, the device on node2 delivers both"
H="Authorization: Bearer $token"
via_proxy=$(https "https://localhost:$HTTPS_PORT/v1/sms/send" -H "$H" \
    -d '{"message": "through the proxy", "phone_number": "+79990001122"}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
on_node1=$(compose exec -T node1 python3 -c '
import json, sys, urllib.request
request = urllib.request.Request(
    "http://127.0.0.1:8000/v1/sms/send",
    data=json.dumps({"message": "on node1", "phone_number": "+79990001133"}).encode(),
    headers={"Authorization": "Bearer " + sys.argv[1], "Content-Type": "application/json"},
)
print(json.load(urllib.request.urlopen(request, timeout=10))["id"])
' "$token")
for id in $via_proxy $on_node1; do
    status=""
    for _ in $(seq 1 60); do
        status=$(https "https://localhost:$HTTPS_PORT/v1/sms/get" -H "$H" -d "{\"id\": \"$id\"}" |
            python3 -c 'import json, sys; print(json.load(sys.stdin)["status"])')
        [ "$status" = 4 ] && break
        sleep 1
    done
    [ "$status" = 4 ] || { echo "SMS $id ended in status $status, not 4 (delivered)"; compose exec -T node2 cat /tmp/sim.log; exit 1; }
done
stamp "smoke: both delivered; waiting for their webhooks"
for _ in $(seq 1 30); do
    if compose exec -T node2 python3 -c '
import json, sys
events = [json.loads(line) for line in open("/tmp/hooks.jsonl")]
delivered = {e["data"]["id"] for e in events if e["event"] == "sms.status" and e["data"]["status"] == 4}
sys.exit(0 if set(sys.argv[1:]) <= delivered else 1)
' "$via_proxy" "$on_node1" 2>/dev/null; then
        stamp "smoke passed: 2 SMS delivered by a device on node2, both status-4 webhooks received"
        exit 0
    fi
    sleep 1
done
echo "no status-4 webhook for $via_proxy and $on_node1"
compose exec -T node2 cat /tmp/hooks.jsonl || true
exit 1
