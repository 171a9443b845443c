#!/usr/bin/env bash
# Bare YARP vs segctl's inline proxy (same routes, same upstream, same certificate), segctl with enforcement,
# the controller's own proxy metrics (prometheus-net, a registry per target) and finding pipeline, and access
# records to its SQLite evidence store (and, to split the cost, to memory). HTTP/1.1 under wrk (saturation and
# two fixed loads), HTTP/2 under h2load (saturation, the same three targets); then kill-switch timing over N
# trips under load, seen from outside the proxy, with four downloads and an agent's WebSocket in flight at each
# trip. h2load adds 20 rounds of three 2 s runs to the default run, after a warm-up of 2 to 5 passes of three
# 3 s runs: under 3 minutes, on top of the 11 or so the rest takes on 2 cores.
# Usage: benchmarks/proxy/run.sh [round duration=2s] [connections=32] [trips=100] [rounds=30]
# (h2load runs two thirds as many rounds, at least 3, with a quarter as many connections, 4 streams on each.)
# SEGCTL_BENCH_ONLY=h2 runs the HTTP/2 rounds alone (about 3 minutes), SEGCTL_BENCH_ONLY=trips the kill timing
# alone after a warm-up of the segctl target; SEGCTL_BENCH_STORE_RECORDS=N gives the
# SQLite store N access records before the first phase, as a site's store holds years of them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v h2load >/dev/null || missing+=(nghttp2-client)
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
fi
dotnet run -c Release --project "$here/SegmentController.Proxy.Benchmarks" --artifacts-path /tmp/art-proxy-bench -- "${1:-2s}" "${2:-32}" "${3:-100}" "${4:-30}"
