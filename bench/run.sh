#!/usr/bin/env bash
# wirecall's benchmark: builds the release binaries of bench/, measures on
# 127.0.0.1 and prints a markdown table.
#
#   RPC round trips (bench.add) at 1 connection x 1 in flight, 64 x 16
#   and 1000 x 1, against wirecall and a raw tokio-tungstenite echo
#   server, each in JSON and in Protobuf, the server pinned to CPU 0 and
#   the load generator to CPU 1: calls per second and calls per server
#   CPU-second (the work a server does per call, whichever side
#   saturates first), interleaved round by round (the machine is shared
#   and noisy), medians of the rounds; resident memory per idle
#   connection (connected and subscribed) at 10,000 connections; fan-out
#   to 10,000 subscribers of one channel, at increasing publication rates
#   until delivery falls behind, and back to back (deliveries per second).
#
# BENCH_PEERS=1 also builds, with the machine's Go and the module proxy,
# the Centrifuge Go library serving the same method in process
# (bench/peers/centrifuge) and Centrifugo v6.9.1 (`go install`) with its
# RPC proxied to an HTTP backend (bench/peers/centrifugo), and measures
# them beside wirecall in the RPC, idle and paced fan-out rows.
#
# Knobs (environment): BENCH_ROUNDS (5), BENCH_SECONDS (5, per RPC run),
# BENCH_CONNECTIONS (10000, idle and fan-out), BENCH_MESSAGES (100
# publications per fan-out round), BENCH_BYTES (100 bytes each),
# BENCH_RATES (the paced fan-out's steps, publications per second).
# Not a test: test.sh does not run it. Takes about five minutes after
# the build.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${BENCH_ROUNDS:-5}
seconds=${BENCH_SECONDS:-5}
connections=${BENCH_CONNECTIONS:-10000}
messages=${BENCH_MESSAGES:-100}
bytes=${BENCH_BYTES:-100}
rates=${BENCH_RATES:-5,10,20,50,100,150,200,300,500}

step() { printf '\n==> %s\n' "$*" >&2; }

step "build (release)"
cargo build --release --locked -p wirecall-bench >&2
bin=target/release
servers=(bench-server echo-server)
peers=${BENCH_PEERS:-0}
if [ "$peers" = 1 ]; then
    step "build the peers: the Centrifuge library, and Centrifugo v6.9.1 (go install)"
    (cd bench/peers && go build -o "../../$bin/centrifuge-peer" ./centrifuge \
        && go build -o "../../$bin/centrifugo-peer" ./centrifugo) >&2
    GOBIN="$PWD/$bin/peers" go install github.com/centrifugal/centrifugo/v6@v6.9.1 >&2
    servers+=(centrifuge-peer centrifugo-peer)
fi
# server_args SERVER: loadgen's arguments for the child SERVER.
server_args() {
    case $1 in
        centrifugo-peer) echo "--server-arg=$PWD/$bin/peers/centrifugo" ;;
    esac
}
# label SERVER: the name a server's rows carry.
label() {
    case $1 in
        bench-server) echo wirecall ;;
        echo-server) echo echo ;;
        centrifuge-peer) echo centrifuge ;;
        centrifugo-peer) echo centrifugo ;;
    esac
}
logdir=target/bench
mkdir -p "$logdir"
log="$logdir/run-$(date -u +%Y%m%dT%H%M%SZ).log"
: >"$log"

# Each side of an idle or fan-out run holds one descriptor per connection.
fd_note=""
if ! ulimit -n 65536 2>/dev/null; then
    hard=$(ulimit -Hn)
    if [ "$hard" != unlimited ] && ulimit -n "$hard" 2>/dev/null; then
        fd_note="ulimit -n 65536 refused; raised to the hard limit $hard"
    else
        fd_note="ulimit -n 65536 refused; left at $(ulimit -n)"
    fi
    echo "note: $fd_note" >&2
fi
needed=$((connections + 256))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$needed" ]; then
    echo "error: $connections connections need about $needed descriptors; ulimit -n is $(ulimit -n)" >&2
    exit 1
fi

# Runs loadgen, keeps its output in the log, and prints its RESULT line
# (or nothing if it failed).
loadgen() {
    local out
    if out=$("$bin/loadgen" "$@" 2>&1); then
        printf '%s\n' "$out" | tee -a "$log" >&2
        printf '%s\n' "$out" | grep '^RESULT ' | tail -n 1
    else
        printf '%s\n' "$out" | tee -a "$log" >&2
        echo "loadgen $1 failed (see above)" >&2
    fi
}

# field KEY < RESULT lines: the values of KEY, one a line.
field() { grep -o "$1=[^ ]*" | cut -d= -f2; }
# median < numbers
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "n/a" }'; }

# The server on CPU 0, the load generator on CPU 1 (when there are two).
pin_loadgen=() pin_server=() pin_note="not pinned (one CPU)"
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
    pin_loadgen=(taskset -c 1) pin_server=(--server-cpus 0)
    pin_note="server pinned to CPU 0, load generator to CPU 1 (taskset)"
fi

results="$logdir/results.txt"
: >"$results"
shapes=("1 1" "64 16" "1000 1")
for round in $(seq 1 "$rounds"); do
    for shape in "${shapes[@]}"; do
        read -r c f <<<"$shape"
        for encoding in json protobuf; do
            for server in "${servers[@]}"; do
                label=$(label "$server")
                step "round $round/$rounds: rpc $label $encoding ${c}x$f"
                # shellcheck disable=SC2046 # server_args is one word or none
                "${pin_loadgen[@]}" "$bin/loadgen" rpc --server-bin "$bin/$server" $(server_args "$server") "${pin_server[@]}" \
                    --label "$label" --encoding "$encoding" --connections "$c" --in-flight "$f" \
                    --seconds "$seconds" 2>&1 | tee -a "$log" | grep '^RESULT ' >>"$results" || true
            done
        done
    done
done

# What metrics cost: wirecall at 64x16 JSON with Prometheus metrics on
# (--metrics) and off, interleaved.
for round in $(seq 1 "$rounds"); do
    for metrics in off on; do
        step "round $round/$rounds: rpc wirecall json 64x16, metrics $metrics"
        extra=()
        [ "$metrics" = on ] && extra=(--server-arg=--metrics)
        "${pin_loadgen[@]}" "$bin/loadgen" rpc --server-bin "$bin/bench-server" "${extra[@]}" "${pin_server[@]}" \
            --label "metrics-$metrics" --connections 64 --in-flight 16 \
            --seconds "$seconds" 2>&1 | tee -a "$log" | grep '^RESULT ' >>"$results" || true
    done
done

# The Rust client's own cost: the same calls on one connection, raw
# frames against wirecall_client::Client, interleaved.
for round in $(seq 1 "$rounds"); do
    for f in 1 64; do
        step "round $round/$rounds: rpc raw 1x$f and wirecall-client 1x$f"
        loadgen rpc --server-bin "$bin/bench-server" --label raw1 \
            --connections 1 --in-flight "$f" --seconds "$seconds" >>"$results" || true
        loadgen client --server-bin "$bin/bench-server" \
            --in-flight "$f" --seconds "$seconds" >>"$results" || true
    done
done

step "idle memory: $connections connections subscribed to bench:fan"
idle=$(loadgen idle --server-bin "$bin/bench-server" --connections "$connections" || true)
idle_peer="" idle_centrifugo=""
if [ "$peers" = 1 ]; then
    step "idle memory, the Centrifuge library: $connections connections subscribed to bench:fan"
    idle_peer=$(loadgen idle --server-bin "$bin/centrifuge-peer" --connections "$connections" || true)
    step "idle memory, Centrifugo: $connections connections subscribed to bench:fan"
    idle_centrifugo=$(loadgen idle --server-bin "$bin/centrifugo-peer" $(server_args centrifugo-peer) --connections "$connections" || true)
fi
# Fan-out at increasing publication rates, every server the same way:
# each publishes at a fixed pace for a few seconds per step (the peers:
# the Centrifuge library in process, Centrifugo through its HTTP API),
# until a step is not delivered in full within a second of its end. The
# CPU shares of that step say which side was the limit.
fanout_paced=()
for server in "${servers[@]}"; do
    [ "$server" = echo-server ] && continue
    step "fan-out at increasing rates, $(label "$server"): $connections subscribers, $bytes-byte publications"
    # shellcheck disable=SC2046 # server_args is one word or none
    fanout_paced+=("$(label "$server") $(loadgen fanout --server-bin "$bin/$server" $(server_args "$server") "${pin_server[@]}" \
        --subscribers "$connections" --bytes "$bytes" --rates "$rates" --step-seconds 3 || true)")
done
step "fan-out: $connections subscribers, $messages publications of $bytes bytes per round"
fanout=$(loadgen fanout --server-bin "$bin/bench-server" --subscribers "$connections" \
    --messages "$messages" --bytes "$bytes" --rounds 3 || true)

# The Redis broker: publications per second against the memory broker (in
# one run, interleaved), the same fan-out spread over two nodes on one
# Redis, and resubscribing after a Redis restart. redis-server comes from
# Debian's package (test.sh installs it).
redis_note=""
publishes="" resubscribed="" fanout_redis="" growth_capped="" growth_open=""
if command -v redis-server >/dev/null 2>&1; then
    step "brokers: publications per second, memory vs Redis, 64 publishers"
    publishes=$("$bin/broker-bench" publish --seconds "$seconds" --rounds 3 2>&1 | tee -a "$log" | grep '^RESULT' || true)
    step "stream state: memory after 200,000 random channels, with and without a ceiling"
    growth_capped=$("$bin/broker-bench" growth --channels 200000 --ceiling 1000 2>&1 | tee -a "$log" | grep '^RESULT' || true)
    growth_open=$("$bin/broker-bench" growth --channels 200000 --ceiling 0 2>&1 | tee -a "$log" | grep '^RESULT' || true)
    step "resubscribe: $connections channels after a Redis restart"
    resubscribed=$("$bin/broker-bench" resubscribe --channels "$connections" --rounds 3 2>&1 | tee -a "$log" | grep '^RESULT' || true)
    step "fan-out over two nodes on one Redis: $connections subscribers"
    redis_dir=$(mktemp -d)
    redis_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$redis_dir" >/dev/null &
    redis_pid=$!
    for _ in $(seq 1 100); do
        redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
        sleep 0.05
    done
    fanout_redis=$(loadgen fanout --server-bin "$bin/bench-server" \
        --server-arg=--redis --server-arg="redis://127.0.0.1:$redis_port" --nodes 2 \
        --subscribers "$connections" --messages "$messages" --bytes "$bytes" --rounds 3 || true)
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
    rm -rf "$redis_dir"
else
    redis_note="redis-server is not installed: the Redis rows were not measured"
    echo "note: $redis_note" >&2
fi

# stat LABEL C F KEY [ENCODING]: median of KEY over the rounds.
stat() {
    grep "^RESULT rpc label=$1 encoding=${5:-json} connections=$2 in_flight=$3 " "$results" | field "$4" | median
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
verdict() { awk -v r="$1" 'BEGIN { print (r + 0 >= 0.7 ? "met" : "MISSED") }'; }

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
mem=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
echo
echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores of $cpu, $mem, Linux $(uname -r);"
echo "RPC: medians of $rounds interleaved rounds of $seconds s (after 1 s warm-up each); $pin_note."
[ -n "$fd_note" ] && echo "($fd_note.)"
echo
echo "| Benchmark | Result | p50 µs | p99 µs | Target |"
echo "|---|---|---|---|---|"
for shape in "${shapes[@]}"; do
    read -r c f <<<"$shape"
    for encoding in json protobuf; do
        w=$(stat wirecall "$c" "$f" calls_per_cpu_s "$encoding")
        e=$(stat echo "$c" "$f" calls_per_cpu_s "$encoding")
        r=$(ratio "$w" "$e")
        target=""
        [ "$shape $encoding" = "64 16 json" ] && target="≥ 0.70: $(verdict "$r")"
        for server in "${servers[@]}"; do
            label=$(label "$server")
            case $label in
                wirecall) name="wirecall (\`bench.add\`)" ;;
                echo) name="raw tokio-tungstenite echo" ;;
                centrifuge) name="Centrifuge Go library, in-process RPC handler" ;;
                centrifugo) name="Centrifugo v6.9.1, RPC proxied to an HTTP backend (both processes' CPU)" ;;
            esac
            echo "| RPC ${c}×$f $encoding, $name | $(stat "$label" "$c" "$f" calls_per_s "$encoding") calls/s, $(stat "$label" "$c" "$f" calls_per_cpu_s "$encoding") per server CPU-second | $(stat "$label" "$c" "$f" p50_us "$encoding") | $(stat "$label" "$c" "$f" p99_us "$encoding") | |"
        done
        echo "| RPC ${c}×$f $encoding, wirecall / echo per server CPU-second | $r | | | $target |"
        if [ "$peers" = 1 ]; then
            echo "| RPC ${c}×$f $encoding, wirecall / Centrifuge library per server CPU-second | $(ratio "$w" "$(stat centrifuge "$c" "$f" calls_per_cpu_s "$encoding")") | | | |"
            echo "| RPC ${c}×$f $encoding, wirecall / Centrifugo per server CPU-second | $(ratio "$w" "$(stat centrifugo "$c" "$f" calls_per_cpu_s "$encoding")") | | | |"
        fi
    done
done
metrics_on=$(stat metrics-on 64 16 calls_per_cpu_s)
metrics_off=$(stat metrics-off 64 16 calls_per_cpu_s)
echo "| RPC 64×16 json, wirecall with Prometheus metrics off / on | $metrics_off / $metrics_on per server CPU-second | $(stat metrics-off 64 16 p50_us) / $(stat metrics-on 64 16 p50_us) | $(stat metrics-off 64 16 p99_us) / $(stat metrics-on 64 16 p99_us) | |"
echo "| RPC 64×16 json, metrics on / off per server CPU-second | $(ratio "$metrics_on" "$metrics_off") | | | ≥ 0.97 |"
# client_stat F KEY: median of KEY over the wirecall-client rounds.
client_stat() {
    grep "^RESULT client connections=1 in_flight=$1 " "$results" | field "$2" | median
}
for f in 1 64; do
    raw=$(stat raw1 1 "$f" calls_per_s)
    via=$(client_stat "$f" calls_per_s)
    echo "| Rust client 1×$f: raw frames | $raw calls/s | $(stat raw1 1 "$f" p50_us) | $(stat raw1 1 "$f" p99_us) | |"
    echo "| Rust client 1×$f: \`wirecall_client::Client\` | $via calls/s | $(client_stat "$f" p50_us) | $(client_stat "$f" p99_us) | |"
    echo "| Rust client 1×$f: client / raw | $(ratio "$via" "$raw") | | | |"
done
per_conn=$(printf '%s\n' "$idle" | field per_conn_bytes)
marginal=$(printf '%s\n' "$idle" | field marginal_bytes)
if [ -n "$per_conn" ]; then
    kib=$(awk -v b="$per_conn" 'BEGIN { printf "%.1f", b / 1024 }')
    mkib=$(awk -v b="$marginal" 'BEGIN { printf "%.1f", b / 1024 }')
    met=$(awk -v b="$per_conn" 'BEGIN { print (b <= 6144 ? "met" : "MISSED") }')
    echo "| Idle memory per connection, $connections connected + subscribed (VmRSS after − before, ÷ N) | $kib KiB ($mkib KiB marginal from N/10 to N) | | | ≤ 6 KiB: $met |"
else
    echo "| Idle memory per connection, $connections connected + subscribed | failed | | | ≤ 6 KiB |"
fi
# idle_row NAME RESULT: a peer's idle memory per connection.
idle_row() {
    local conn marginal
    conn=$(printf '%s\n' "$2" | field per_conn_bytes)
    marginal=$(printf '%s\n' "$2" | field marginal_bytes)
    echo "| Idle memory per connection, $1, $connections connected + subscribed | $(awk -v b="${conn:-0}" 'BEGIN { printf "%.1f", b / 1024 }') KiB ($(awk -v b="${marginal:-0}" 'BEGIN { printf "%.1f", b / 1024 }') KiB marginal) | | | |"
}
if [ "$peers" = 1 ]; then
    idle_row "the Centrifuge library" "$idle_peer"
    idle_row "Centrifugo (with its backend, default settings)" "$idle_centrifugo"
fi
# fanout_row LABEL RESULT: deliveries/s, latency and the delivered share.
fanout_row() {
    local rate delivered expected share
    rate=$(printf '%s\n' "$2" | field deliveries_per_s)
    delivered=$(printf '%s\n' "$2" | field delivered)
    expected=$(printf '%s\n' "$2" | field expected)
    share=$(awk -v d="${delivered:-0}" -v e="${expected:-0}" 'BEGIN { if (e > 0) printf "%.2f %%", d * 100 / e; else print "n/a" }')
    echo "| $1 | ${rate:-failed} deliveries/s, $share delivered | $(printf '%s\n' "$2" | field p50_us) | $(printf '%s\n' "$2" | field p99_us) | 100 % delivered |"
}
fanout_row "Fan-out, $connections subscribers of one channel on one node in memory, $messages × $bytes-byte publications (median of 3)" "$fanout"
# paced_row LABEL RESULT: the highest rate delivered in full.
paced_row() {
    local name
    case $1 in
        wirecall) name="wirecall" ;;
        centrifuge) name="the Centrifuge library (publishing in process)" ;;
        centrifugo) name="Centrifugo (publishing through its HTTP API)" ;;
    esac
    local result="${2#* }"
    local max per_s last server loadgen
    max=$(printf '%s\n' "$result" | field max_rate)
    last=$(printf '%s\n' "$result" | field last_rate)
    per_s=$(printf '%s\n' "$result" | field deliveries_per_s)
    server=$(printf '%s\n' "$result" | field last_server_cpu | awk '{ printf "%.0f", $1 * 100 }')
    loadgen=$(printf '%s\n' "$result" | field last_loadgen_cpu | awk '{ printf "%.0f", $1 * 100 }')
    echo "| Fan-out at increasing rates, $name: highest rate delivered in full to $connections subscribers (steps $rates per second, 3 s each) | ${max:-failed} publications/s = ${per_s:-0} deliveries/s (at ${last:-?}/s: server CPU ${server:-?} %, load generator ${loadgen:-?} %) | $(printf '%s\n' "$result" | field p50_us) | $(printf '%s\n' "$result" | field p99_us) | |"
}
for paced in "${fanout_paced[@]}"; do
    paced_row "${paced%% *}" "$paced"
done
if [ -z "$redis_note" ]; then
    fanout_row "Fan-out, the same $connections subscribers spread over two nodes on one Redis" "$fanout_redis"
    # publish_row BROKER HISTORY LABEL
    publish_row() {
        local line
        line=$(printf '%s\n' "$publishes" | grep "broker=$1 history=$2 " || true)
        echo "| Publish, 64 concurrent publishers, $3 | $(printf '%s\n' "$line" | field per_s) publications/s ($(printf '%s\n' "$line" | field us_per_publish) µs each) | $(printf '%s\n' "$line" | field p50_us) | $(printf '%s\n' "$line" | field p99_us) | |"
    }
    publish_row memory true "memory broker, with history"
    publish_row redis true "Redis broker, with history"
    publish_row memory false "memory broker, no history"
    publish_row redis false "Redis broker, no history"
    # growth_row RESULT LABEL
    growth_row() {
        local mib
        mib=$(printf '%s\n' "$1" | field rss_growth_bytes | awk '{ printf "%.1f", $1 / 1048576 }')
        echo "| Stream state after 200,000 random channels read (memory broker), $2 | $(printf '%s\n' "$1" | field streams) streams kept, VmRSS +$mib MiB | | | bounded |"
    }
    growth_row "$growth_capped" "history_max_channels 1000"
    growth_row "$growth_open" "no ceiling"
    echo "| Resubscribe $connections channels after a Redis restart (from Redis answering to all subscribed again, median of 3) | $(printf '%s\n' "$resubscribed" | field median_ms) ms | | | |"
else
    echo
    echo "($redis_note.)"
fi
echo
echo "Full output: $log" >&2
