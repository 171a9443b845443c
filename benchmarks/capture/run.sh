#!/usr/bin/env bash
# Capture benchmark (not a test): segctl pcap analyze vs tcpdump's raw libpcap read vs tshark, on the
# same 2-million-frame pcap (IMIX sizes, 64 VLANs, thousands of flows). Prints frames/s and ratios,
# and peak memory for two file sizes (steady memory means the larger file needs no more).
# Every figure is a whole command on the same file, start-up included: what an engineer waits for.
# segctl is measured twice: as `dotnet build -c Release` leaves it (JIT at start-up) and published
# ReadyToRun (`dotnet publish -p:PublishReadyToRun=true`, precompiled start-up). An in-process
# profile (CaptureBench) then splits the analysis into file reading, decoding and the full analyzer.
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
dotnet publish src/SegmentController -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true \
  -o "$WORK/r2r" --artifacts-path "$ART-r2r" -v q -nologo >/dev/null
SEGCTL_R2R="$WORK/r2r/segctl"
dotnet build benchmarks/capture/CaptureBench -c Release --artifacts-path "$ART" -v q -nologo >/dev/null
PROFILE="$ART/bin/CaptureBench/release/SegmentController.Benchmarks"

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

python3 benchmarks/capture/make-pcap.py 100 "$WORK/tiny.pcap" "$WORK/tiny-policy.yaml"
read -r seg_s seg_rss < <(best "$SEGCTL" pcap analyze "$WORK/bench.pcap" --policy "$WORK/policy.yaml")
read -r r2r_s r2r_rss < <(best "$SEGCTL_R2R" pcap analyze "$WORK/bench.pcap" --policy "$WORK/policy.yaml")
read -r start_s _ < <(best "$SEGCTL" pcap analyze "$WORK/tiny.pcap" --policy "$WORK/policy.yaml")
read -r r2r_start_s _ < <(best "$SEGCTL_R2R" pcap analyze "$WORK/tiny.pcap" --policy "$WORK/policy.yaml")
read -r tcp_s tcp_rss < <(best tcpdump -r "$WORK/bench.pcap" -w /dev/null)
read -r tsh_s tsh_rss < <(best tshark -r "$WORK/bench.pcap" -q -z conv,ip)
read -r small_s small_rss < <(measure "$SEGCTL" pcap analyze "$WORK/small.pcap" --policy "$WORK/policy.yaml")
{ "$SEGCTL" pcap analyze "$WORK/bench.pcap" --policy "$WORK/policy.yaml" || true; } | tail -1

awk -v n="$FRAMES" -v seg="$seg_s" -v r2r="$r2r_s" -v tcp="$tcp_s" -v tsh="$tsh_s" -v segm="$seg_rss" -v r2rm="$r2r_rss" -v smallm="$small_rss" -v tcpm="$tcp_rss" -v tshm="$tsh_rss" -v st="$start_s" -v rst="$r2r_start_s" 'BEGIN {
  printf "%-36s %10s %14s %12s\n", "tool", "seconds", "frames/s", "max RSS MB"
  printf "%-36s %10.2f %14.0f %12.0f\n", "segctl pcap analyze (build)", seg, n/seg, segm/1024
  printf "%-36s %10.2f %14.0f %12.0f\n", "segctl pcap analyze (ReadyToRun)", r2r, n/r2r, r2rm/1024
  printf "%-36s %10.2f %14.0f %12.0f\n", "tcpdump -r -w /dev/null", tcp, n/tcp, tcpm/1024
  printf "%-36s %10.2f %14.0f %12.0f\n", "tshark -q -z conv,ip", tsh, n/tsh, tshm/1024
  printf "segctl start-up and policy load (100-frame file): %.2f s build, %.2f s ReadyToRun\n", st, rst
  printf "segctl vs tcpdump: %.2fx build, %.2fx ReadyToRun (target >= 0.8x)\n", tcp/seg, tcp/r2r
  printf "segctl vs tshark:  %.1fx build, %.1fx ReadyToRun (target >= 50x)\n", tsh/seg, tsh/r2r
  printf "segctl max RSS: %.0f MB on %d frames, %.0f MB on %d frames\n", smallm/1024, n/4, segm/1024, n
}'
echo "in-process profile (best of 3 after a first cold run; CPU time as well, the machine may be shared):"
"$PROFILE" "$WORK/bench.pcap" "$WORK/policy.yaml" 1 read+decode+ | sed 's/^/  cold: /'
"$PROFILE" "$WORK/bench.pcap" "$WORK/policy.yaml" 3 | sed 's/^/  warm: /'
