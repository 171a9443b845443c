#!/usr/bin/env bash
# Bare YARP vs segctl's inline proxy (same routes, same upstream, same certificate, same load generator:
# wrk), segctl with enforcement and access records to its SQLite evidence store (and, to split the cost,
# to memory); then kill-switch timing over N trips under load, seen from outside the proxy.
# Usage: benchmarks/proxy/run.sh [round duration=2s] [connections=32] [trips=100] [rounds=30]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if ! command -v wrk >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
dotnet run -c Release --project "$here/SegmentController.Proxy.Benchmarks" --artifacts-path /tmp/art-proxy-bench -- "${1:-2s}" "${2:-32}" "${3:-100}" "${4:-30}"
