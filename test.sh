#!/usr/bin/env bash
# Runs every check and test of wirecall, installing first whatever a fresh
# machine lacks. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n==> %s\n' "$*"; }

require_rust_components() {
    # rustfmt and clippy ship with the machine's toolchain; say so plainly
    # if they are missing instead of failing halfway.
    for tool in rustfmt clippy-driver; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            rustup component add rustfmt clippy
            break
        fi
    done
}

require_redis() {
    # The multi-node tests start their own redis-server processes (free
    # ports, temporary directories); Debian's package provides the binary.
    if ! command -v redis-server >/dev/null 2>&1; then
        step "installing redis-server (apt)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    fi
}

require_rust_components
require_redis

step "format"
cargo fmt --all -- --check
cargo fmt --manifest-path tests/fuzz/Cargo.toml -- --check

step "the tasks example's committed clients are current (generate-clients --check)"
# Before anything builds tasks-clients, whose build script would rewrite them.
cargo build --locked -q -p tasks
target/debug/tasks generate-clients --all --check --output examples/tasks/clients/generated

step "the tasks example's Rust client links none of the service (cargo tree)"
# It is built from the generated module alone: no handlers, no server.
if cargo tree --locked -q -p tasks-rust-client -e normal --prefix none \
    | grep -E '^(tasks-service|wirecall-server) '; then
    echo "tasks-rust-client depends on the service's code (above)" >&2
    exit 1
fi

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "the library packages build as published (cargo package)"
# Packs each library crate as crates.io would receive it and builds the
# packed copy (nothing is uploaded): a file the build needs but the package
# leaves out, or a dependency cycle, fails here. --allow-dirty: what is
# checked is the package's contents, not whether they are committed yet.
# Cargo unpacks the packed crates from a temporary registry into its own
# cache and reuses an unpacked copy of the same name and version from an
# earlier run instead of the fresh one, and it takes a registry crate's
# compiled artifacts for unchanged (registry crates never change): remove
# both first. The verify builds have a target directory of their own, so
# this costs the workspace's own builds nothing.
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/wirecall-{macros,core,server,client}-[0-9]*
rm -rf target/package-verify/debug/.fingerprint/wirecall-*
cargo package --quiet --allow-dirty --target-dir target/package-verify \
    -p wirecall-macros -p wirecall-core -p wirecall-server -p wirecall-client

step "tests"
cargo test --workspace --locked
# OpenTelemetry is a feature of its own (its exporter's crates stay out of
# the other builds): its test runs with it on.
cargo test --locked -p wirecall-server --features otel --test otel

step "examples"
cargo run --locked -q -p wirecall-client --example quickstart

step "official SDKs (JSON and Protobuf) and the generated clients against a live server (Python, TypeScript, Go, Java)"
cargo build --locked -p wirecall-tests --bins -p tasks
# Generated first: tests/sdk/go's module refers to the generated Go client.
target/debug/fixture-clients target/clients/fixture >/dev/null
bash tests/sdk/install.sh
bash tests/sdk/clients.sh
WIRECALL_FIXTURE="$PWD/target/debug/sdk-fixture" bash tests/sdk/run.sh

step "the tasks page in headless Chromium (bundle current, tsc, browser test)"
bash examples/tasks/web/check.sh

step "fuzz targets build and run briefly (tests/fuzz; the long runs are in README)"
# Nightly and cargo-fuzz (from crates.io) build the targets; each then runs
# for a few seconds from the committed seeds, so they keep building and
# nothing obvious crashes. New inputs go to target/, not the repository.
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --version 0.13.2 --quiet
fi
for target in fast_rpc command protobuf jwt channel api; do
    mkdir -p "target/fuzz-corpus/$target"
    log="target/fuzz-$target.log"
    if ! (cd tests/fuzz && cargo +nightly fuzz run --sanitizer none "$target" \
        "../../target/fuzz-corpus/$target" "seeds/$target" -- -max_total_time=5 >"../../$log" 2>&1); then
        tail -n 40 "$log"
        echo "fuzz target $target failed; the crashing input is under tests/fuzz/artifacts/$target" >&2
        exit 1
    fi
    echo "$target: $(grep -E '^Done' "$log")"
done

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

step "all checks passed"
