#!/usr/bin/env bash
# The soak: the tasks server (release build) under an hour of mixed load
# from this machine's loopback (`loadgen soak`: 10,000 connections that
# churn, recover, call RPCs; slow clients; bad frames; publications into
# a few hot channels and many cold ones). Every 10 s it samples the
# server's RSS, open file descriptors, connections and subscriptions (the
# API's `info`), then prints a table, draws target/soak/<run>/soak.png and
# says PASS or FAIL:
#   - RSS within 10 % of its median after the warm-up, and neither RSS nor
#     open fds creeping up (the last third of the hour against the first);
#   - fds, connections and subscriptions back to their baseline after the
#     load (connections churn, so fds swing with them during it);
#   - no panic in the server's log.
# bench/soak_verdict.py judges a run directory again on its own.
# Not a test: test.sh does not run it. Knobs: SOAK_SECONDS (3600),
# SOAK_CONNECTIONS (10000), SOAK_WARMUP (600 s), SOAK_SETTLE (60 s after
# the load).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${SOAK_SECONDS:-3600}
connections=${SOAK_CONNECTIONS:-10000}
warmup=${SOAK_WARMUP:-600}
settle=${SOAK_SETTLE:-60}
secret=soak-secret
key=soak-key

cargo build --release --locked -p tasks -p wirecall-bench >&2
run="target/soak/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$run"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
target/release/tasks serve --bind "127.0.0.1:$port" --secret "$secret" --api-key "$key" \
    --log warn >"$run/server.out" 2>"$run/server.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
    sleep 0.1
done

# sample T: one CSV line: seconds, RSS KiB, fds, connections, subscriptions.
sample() {
    local rss fds info
    rss=$(awk '/VmRSS/ { print $2 }' "/proc/$server/status")
    fds=$(ls "/proc/$server/fd" | wc -l)
    info=$(curl -sf -X POST -H "X-API-Key: $key" "http://127.0.0.1:$port/api/info" || echo '{}')
    python3 -c 'import json, sys
n = (json.loads(sys.argv[1]).get("result") or {}).get("nodes") or [{}]
print(sys.argv[2], sys.argv[3], sys.argv[4], n[0].get("num_clients", -1), n[0].get("num_subs", -1), sep=",")' \
        "$info" "$1" "$rss" "$fds"
}
echo "t,rss_kib,fds,connections,subscriptions" >"$run/samples.csv"
started=$(date +%s)
# The baseline, before any load.
sample 0 >>"$run/samples.csv"
sleep 10
(
    while [ ! -e "$run/stop" ]; do
        sample $(( $(date +%s) - started )) >>"$run/samples.csv"
        sleep 10
    done
) &
sampler=$!

echo "soak: $connections connections for $seconds s against 127.0.0.1:$port; output in $run" >&2
target/release/loadgen soak --url "ws://127.0.0.1:$port/connection/websocket" \
    --api-url "http://127.0.0.1:$port/api" --api-key "$key" --secret "$secret" \
    --connections "$connections" --seconds "$seconds" | tee "$run/load.log" >&2
echo "$(( $(date +%s) - started ))" >"$run/load_ended"
echo "$seconds" >"$run/load_seconds"
sleep "$settle"
touch "$run/stop"
wait "$sampler"
kill -TERM "$server"
wait "$server" || true

python3 bench/soak_verdict.py "$run" "$warmup"

# The plot, with matplotlib from a venv of its own (pinned).
venv=target/soak/venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check matplotlib==3.10.8
fi
"$venv/bin/python" - "$run" <<'PY'
import csv, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
run = sys.argv[1]
rows = [dict((k, int(v)) for k, v in r.items()) for r in csv.DictReader(open(f"{run}/samples.csv"))]
t = [r["t"] / 60 for r in rows]
fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
for ax, (key, label) in zip(axes.flat, [("rss_kib", "RSS (MiB)"), ("fds", "open fds"), ("connections", "connections"), ("subscriptions", "subscriptions")]):
    values = [r[key] / 1024 if key == "rss_kib" else r[key] for r in rows]
    ax.plot(t, values)
    ax.set_title(label)
    ax.set_xlabel("minutes")
fig.suptitle("wirecall soak: tasks server under mixed load")
fig.tight_layout()
fig.savefig(f"{run}/soak.png", dpi=90)
print(f"plot: {run}/soak.png")
PY
test "$(cat "$run/verdict")" = PASS
