#!/bin/sh
# Like the official image: redis-server without a config file listens on every interface with
# protected mode off (the container's network is the boundary), in /data.
set -eu
cd /tmp
if [ "${1:-}" = redis-server ]; then
    shift
    exec redis-server --bind '* -::*' --protected-mode no "$@"
fi
exec "$@"
