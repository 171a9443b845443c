#!/usr/bin/env bash
# Bare YARP vs segctl's inline proxy (enforcement + access records serialized), same upstream, same
# certificate, same load generator (wrk); then kill-switch timing over N trips under load.
# Usage: benchmarks/proxy/run.sh [duration=10s] [connections=32] [trips=100]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v wrk >/dev/null || apt-get install -y wrk
dotnet run -c Release --project "$here/SegmentController.Proxy.Benchmarks" --artifacts-path /tmp/art-proxy-bench -- "${1:-10s}" "${2:-32}" "${3:-100}"
