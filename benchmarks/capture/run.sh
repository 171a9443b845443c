#!/usr/bin/env bash
# Capture benchmark (not a test): segctl pcap analyze vs tcpdump's raw libpcap read vs tshark, on the
# same 2-million-frame pcap (IMIX sizes, 64 VLANs, thousands of flows). Prints frames/s and ratios,
# and peak memory for two file sizes (steady memory means the larger file needs no more).
# Usage: benchmarks/capture/run.sh [FRAMES]     (default 2000000)
set -euo pipefail
cd "$(dirname "$0")/../.."
FRAMES="${1:-2000000}"
WORK="$(mktemp -d /tmp/segctl-capture-bench.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

need() { command -v "$1" >/dev/null 2>&1 || { echo "installing $2"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null; }; }
need tcpdump tcpdump
need tshark tshark
need python3 python3

ART=/tmp/art-capture-bench
dotnet build src/SegmentController -c Release --artifacts-path "$ART" -v q -nologo >/dev/null
SEGCTL="$ART/bin/SegmentController/release/segctl"

echo "building $FRAMES-frame pcap..."
python3 benchmarks/capture/make-pcap.py "$FRAMES" "$WORK/bench.pcap" "$WORK/policy.yaml"
python3 benchmarks/capture/make-pcap.py "$((FRAMES / 4))" "$WORK/small.pcap" "$WORK/policy.yaml"
ls -l "$WORK/bench.pcap" | awk '{printf "pcap: %.0f MB\n", $5/1048576}'
cat "$WORK/bench.pcap" >/dev/null   # warm the page cache so every tool reads from memory

# Runs a command, prints "seconds max_rss_kb".
measure() {
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >/dev/null 2>"$WORK/stderr" || [ $? -eq 1 ] || { cat "$WORK/stderr"; exit 1; }
  tail -1 "$WORK/time"   # time prefixes a "non-zero status" line when segctl finds violations
}

best() { # best of 3 wall-clock runs
  local best_s="" rss=""
  for _ in 1 2 3; do
    read -r s m < <(measure "$@")
    if [ -z "$best_s" ] || awk "BEGIN{exit !($s < $best_s)}"; then best_s=$s; rss=$m; fi
  done
  echo "$best_s $rss"
}

read -r seg_s seg_rss < <(best "$SEGCTL" pcap analyze "$WORK/bench.pcap" --policy "$WORK/policy.yaml")
read -r tcp_s tcp_rss < <(best tcpdump -r "$WORK/bench.pcap" -w /dev/null)
read -r tsh_s tsh_rss < <(measure tshark -r "$WORK/bench.pcap" -q -z conv,ip)
read -r small_s small_rss < <(measure "$SEGCTL" pcap analyze "$WORK/small.pcap" --policy "$WORK/policy.yaml")
{ "$SEGCTL" pcap analyze "$WORK/bench.pcap" --policy "$WORK/policy.yaml" || true; } | tail -1

awk -v n="$FRAMES" -v seg="$seg_s" -v tcp="$tcp_s" -v tsh="$tsh_s" -v segm="$seg_rss" -v smallm="$small_rss" -v tcpm="$tcp_rss" -v tshm="$tsh_rss" 'BEGIN {
  printf "%-28s %10s %14s %12s\n", "tool", "seconds", "frames/s", "max RSS MB"
  printf "%-28s %10.2f %14.0f %12.0f\n", "segctl pcap analyze", seg, n/seg, segm/1024
  printf "%-28s %10.2f %14.0f %12.0f\n", "tcpdump -r -w /dev/null", tcp, n/tcp, tcpm/1024
  printf "%-28s %10.2f %14.0f %12.0f\n", "tshark -q -z conv,ip", tsh, n/tsh, tshm/1024
  printf "segctl vs tcpdump: %.2fx (target >= 0.8x)\n", tcp/seg
  printf "segctl vs tshark:  %.1fx (target >= 50x)\n", tsh/seg
  printf "segctl max RSS: %.0f MB on %d frames, %.0f MB on %d frames\n", smallm/1024, n/4, segm/1024, n
}'
