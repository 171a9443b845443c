#!/usr/bin/env bash
# Storage benchmark (not a test): evidence-store appends/s with per-batch durability and verify
# records/s, printed beside SQLite's own bulk-insert rate on the same disk as the reference; then the CPU each record
# handed over at a steady rate (as the proxy hands over access records) costs the store, per batch window.
# Usage: benchmarks/storage/run.sh [DIR] [RECORDS] [RATE=22000] [SECONDS=8]   (DIR defaults to the repository's artifacts dir: same disk as a deployment's store would be is your choice)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir=${1:-$repo/artifacts/bench-storage}
records=${2:-400000}
mkdir -p "$dir"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet run -c Release --project "$repo/benchmarks/storage/StorageBench/StorageBench.csproj" \
  --artifacts-path "${BENCH_ARTIFACTS:-/tmp/art-storage-bench}" -- "$dir" "$records" "${3:-22000}" "${4:-8}"
