#!/usr/bin/env bash
# Live capture benchmark (not a test): does `segctl capture live` keep up with 500,000 frames/s?
# Builds two network namespaces joined by a veth pair, replays the capture benchmark's IMIX pcap
# (802.1Q-tagged, 64 VLANs, thousands of flows) from one end with `tcpreplay --pps RATE` for about
# DURATION seconds while segctl captures the other end, then prints what was sent, what the capture
# interface received, what libpcap and the kernel dropped, and what the controller counted.
# Usage: benchmarks/capture/live.sh [RATE] [DURATION] [BUFFER_MIB] [SNAPLEN] [SENDERS]   (default 500000 10 256 256 2)
# One tcpreplay tops out near 400,000 frames/s on one core of this machine, so SENDERS processes replay
# side by side onto the same veth, each at RATE/SENDERS (each its own copy of the file, so flows differ
# only by interleaving).
# RATE "topspeed" replays as fast as tcpreplay can. The replay lasts DURATION seconds (tcpreplay
# --duration), whatever rate the sender really achieves; the capture runs DURATION + 8 s so it starts
# before the first frame and drains its ring after the last.
# Needs root (namespaces, raw sockets). Everything it creates is removed on exit, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/../.."
RATE="${1:-500000}"
DURATION="${2:-10}"
BUFFER_MIB="${3:-256}"
SNAPLEN="${4:-256}"
SENDERS="${5:-2}"
ID="$$"
NS_SEND="segbl-send-$ID"
NS_CAP="segbl-cap-$ID"
IF_SEND="sbs$ID"
IF_CAP="sbc$ID"
WORK="$(mktemp -d /tmp/segctl-live-bench.XXXXXX)"
SEGCTL_PID=""

cleanup() {
  if [ -n "$SEGCTL_PID" ] && kill -0 "$SEGCTL_PID" 2>/dev/null; then kill "$SEGCTL_PID" 2>/dev/null || true; wait "$SEGCTL_PID" 2>/dev/null || true; fi
  ip netns del "$NS_SEND" 2>/dev/null || true
  ip netns del "$NS_CAP" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

[ "$(id -u)" -eq 0 ] || { echo "live.sh needs root (network namespaces, packet sockets)" >&2; exit 2; }
need() { command -v "$1" >/dev/null 2>&1 || { echo "installing $2"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null; }; }
need tcpreplay tcpreplay
need python3 python3
need ip iproute2

ART=/tmp/art-capture-bench
dotnet build src/SegmentController -c Release --artifacts-path "$ART" -v q -nologo >/dev/null
SEGCTL="$ART/bin/SegmentController/release/segctl"

# One pass of the file is 1 s at RATE; tcpreplay loops it until DURATION is up.
if [ "$RATE" = topspeed ]; then FRAMES=500000; PACE=(--topspeed); else FRAMES=$((RATE / SENDERS)); PACE=(--pps "$FRAMES" --pps-multi 50); fi
python3 benchmarks/capture/make-pcap.py "$FRAMES" "$WORK/live.pcap" "$WORK/policy.yaml"
sed -i "s/interfaces: \[\]/interfaces: [{name: $IF_CAP, snaplen: $SNAPLEN, buffer_mib: $BUFFER_MIB}]/" "$WORK/policy.yaml"
grep -q "name: $IF_CAP" "$WORK/policy.yaml" || { echo "could not set the capture interface in the policy" >&2; exit 2; }

ip netns add "$NS_SEND"
ip netns add "$NS_CAP"
ip link add "$IF_SEND" netns "$NS_SEND" type veth peer name "$IF_CAP" netns "$NS_CAP"
for ns in "$NS_SEND" "$NS_CAP"; do
  # Our own IPv6 chatter would be captured and counted too: keep the wire to the replayed frames.
  ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip -n "$NS_SEND" link set "$IF_SEND" up
ip -n "$NS_CAP" link set "$IF_CAP" up
ip -n "$NS_SEND" link set lo up
ip -n "$NS_CAP" link set lo up

rx_packets() { ip netns exec "$NS_CAP" cat "/sys/class/net/$IF_CAP/statistics/rx_packets"; }
rx_dropped() { ip netns exec "$NS_CAP" cat "/sys/class/net/$IF_CAP/statistics/rx_dropped"; }
RX0=$(rx_packets); RXD0=$(rx_dropped)

ip netns exec "$NS_CAP" /usr/bin/time -o "$WORK/segctl.time" -f "%U %S" \
  "$SEGCTL" capture live --interface "$IF_CAP" --policy "$WORK/policy.yaml" --seconds "$((DURATION + 8))" --json \
  >"$WORK/segctl.json" 2>"$WORK/segctl.err" &
SEGCTL_PID=$!

# Capture is open once libpcap's packet socket exists on the interface; replaying earlier would lose frames.
for _ in $(seq 1 100); do
  if ip netns exec "$NS_CAP" ss -0 -a 2>/dev/null | grep -q "$IF_CAP"; then break; fi
  sleep 0.1
done
sleep 1

echo "replaying at $RATE frames/s for $DURATION s from $SENDERS senders (buffer ${BUFFER_MIB} MiB, snaplen $SNAPLEN)..."
senders=()
for n in $(seq 1 "$SENDERS"); do
  ip netns exec "$NS_SEND" /usr/bin/time -o "$WORK/tcpreplay.$n.time" -f "%U %S" tcpreplay --preload-pcap "${PACE[@]}" --loop 1000 --duration "$DURATION" -i "$IF_SEND" "$WORK/live.pcap" >"$WORK/tcpreplay.$n.out" 2>&1 &
  senders+=($!)
done
for n in $(seq 1 "$SENDERS"); do
  wait "${senders[$((n - 1))]}" || { cat "$WORK/tcpreplay.$n.out"; exit 1; }
done
RX1=$(rx_packets); RXD1=$(rx_dropped)

set +e
wait "$SEGCTL_PID"
STATUS=$?
set -e
SEGCTL_PID=""
if [ "$STATUS" -ge 2 ]; then echo "segctl exited with $STATUS" >&2; cat "$WORK/segctl.err" "$WORK/segctl.json" >&2; exit 1; fi

SENT=$(cat "$WORK"/tcpreplay.*.out | awk '/Successful packets:/ {n += $3} END {print n}')
FAILED=$(cat "$WORK"/tcpreplay.*.out | awk '/Failed packets:/ {n += $3} END {print n}')
RATED=$(cat "$WORK"/tcpreplay.*.out | awk '/Rated:/ {for (i = 1; i <= NF; i++) if ($i ~ /pps/) {n += $(i-1); break}} END {printf "%.0f", n}')
read -r COUNTED RECEIVED DROPPED IFDROPPED < <(python3 - "$WORK/segctl.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
i = d["interfaces"][0]
print(d["packets"], i["received"], i["dropped"], i["interface_dropped"])
PY
)

printf '%-40s %12s\n' "frames sent (tcpreplay)" "$SENT"
printf '%-40s %12s\n' "tcpreplay send failures" "$FAILED"
printf '%-40s %12s\n' "achieved send rate (frames/s)" "$RATED"
printf '%-40s %12s\n' "received by the capture veth (kernel)" "$((RX1 - RX0))"
printf '%-40s %12s\n' "dropped by the capture veth (kernel)" "$((RXD1 - RXD0))"
printf '%-40s %12s\n' "libpcap received" "$RECEIVED"
printf '%-40s %12s\n' "libpcap dropped (ring full)" "$DROPPED"
printf '%-40s %12s\n' "interface dropped" "$IFDROPPED"
printf '%-40s %12s\n' "frames the controller analysed" "$COUNTED"
# CPU the capture process used over the whole run (start-up and idle included): what the rate cost it.
read -r CPU_USER CPU_SYS < <(grep -v "status" "$WORK/segctl.time" | tail -1)
read -r TX_USER TX_SYS < <(cat "$WORK"/tcpreplay.*.time | grep -v status | awk '{u += $1; s += $2} END {print u, s}')
printf '%-40s %12s\n' "segctl CPU seconds (user+sys)" "$(awk -v u="$CPU_USER" -v s="$CPU_SYS" 'BEGIN{printf "%.2f", u+s}')"
printf '%-40s %12s\n' "tcpreplay CPU seconds (user+sys)" "$(awk -v u="$TX_USER" -v s="$TX_SYS" 'BEGIN{printf "%.2f", u+s}')"
printf '%-40s %12s\n' "segctl CPU per analysed frame (ns)" "$(awk -v u="$CPU_USER" -v s="$CPU_SYS" -v n="$COUNTED" 'BEGIN{printf "%.0f", n ? (u+s)*1e9/n : 0}')"
LOST=$((SENT - COUNTED))
echo "frames lost between sender and controller: $LOST ($(awk -v l="$LOST" -v s="$SENT" 'BEGIN{printf "%.4f", s ? 100*l/s : 0}')%)"
if [ "$LOST" -eq 0 ] && [ "$DROPPED" -eq 0 ] && [ "$IFDROPPED" -eq 0 ]; then echo "zero drops at $RATED frames/s"; else echo "DROPS at $RATED frames/s"; fi
