#!/usr/bin/env bash
# SNMP benchmark (not a test): prints figures and ratios, asserts nothing.
#  1. `segctl snmp inventory` of a 48-port Q-BRIDGE switch with 2,000 FDB entries vs snmpbulkwalk of
#     the same columns at the same effective max-repetitions (both ask and get $maxrep rows per column
#     per request: snmpsimd's answer limit is raised to fit), against the same snmpsimd agent (target ≤ 0.8×).
#  2. 100 switches (100 data files, one snmpsimd) polled concurrently by `segctl snmp check` vs one
#     switch (target < 2×), beside net-snmp doing the same work (100 chains of snmpbulkwalk at once).
#  0. First, what the agent costs: one column of 2,000 rows walked with small and with very large
#     GETBULK answers. When the time hardly moves, the agent's cost is per binding, not per PDU, and
#     walking columns together (fewer PDUs) cannot make a client faster against it.
# Usage: benchmarks/snmp/run.sh [RUNS]   (needs root for snmpsimd's privilege drop; installs snmp, snmpsim)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
runs=${1:-3}
maxrep=25
export MIBS='' DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

for pkg in snmp snmpsim tcpdump; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || { apt-get update -qq; apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null; }
done

work=$(mktemp -d /tmp/segctl-snmp-bench.XXXXXX)
sim_pid=
cleanup() { [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# segctl as a site runs it: published for linux-x64 with ReadyToRun code (README, "Run it under
# systemd"); SEGCTL_BENCH_BUILD=jit measures the plain `dotnet build` output instead.
if [ "${SEGCTL_BENCH_BUILD:-published}" = jit ]; then
  echo "==> building segctl (Release, JIT)"
  dotnet build "$repo/src/SegmentController" -c Release --artifacts-path "$work/art" -nologo -v quiet -clp:NoSummary >/dev/null
  segctl=("$work/art/bin/SegmentController/release/segctl")
else
  echo "==> publishing segctl (Release, linux-x64, ReadyToRun)"
  dotnet publish "$repo/src/SegmentController" -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true \
    -o "$work/pub" --artifacts-path "$work/art" -nologo -v quiet -clp:NoSummary >/dev/null
  segctl=("$work/pub/segctl")
fi

mkdir -p "$work/data" "$work/cache"
python3 "$repo/benchmarks/snmp/gen_data.py" "$work/data" bench 2000
python3 "$repo/benchmarks/snmp/gen_data.py" "$work/data" sw 48 100
chmod -R a+rwX "$work"
# The columns `segctl snmp inventory --profile qbridge` reads.
columns=(
  1.3.6.1.2.1.2.2.1.2 1.3.6.1.2.1.2.2.1.7 1.3.6.1.2.1.2.2.1.8 1.3.6.1.2.1.31.1.1.1.1 1.3.6.1.2.1.31.1.1.1.18
  1.3.6.1.2.1.17.1.4.1.2 1.3.6.1.2.1.17.7.1.4.5.1.1 1.3.6.1.2.1.17.7.1.4.3.1.1 1.3.6.1.2.1.17.7.1.4.3.1.2
  1.3.6.1.2.1.17.7.1.4.3.1.4 1.3.6.1.2.1.17.7.1.4.2.1.3 1.3.6.1.2.1.17.7.1.4.2.1.4 1.3.6.1.2.1.17.7.1.4.2.1.5
  1.3.6.1.2.1.17.7.1.2.2.1.2 1.3.6.1.2.1.17.7.1.2.2.1.3
)

# The same effective max-repetitions on both sides: segctl asks $maxrep rows of every column of a table in
# one GETBULK (up to 8 columns), snmpbulkwalk $maxrep rows of one column. snmpsimd would cut an answer at
# 64 bindings (8 rows of 8 columns); allowing $maxrep rows of every column keeps it from truncating either.
maxvarbinds=$((maxrep * ${#columns[@]}))
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
snmpsimd --data-dir="$work/data" --cache-dir="$work/cache" --agent-udpv4-endpoint="127.0.0.1:$port" \
  --process-user=nobody --process-group=nogroup --logging-method=null --max-varbinds="$maxvarbinds" >/dev/null 2>&1 &
sim_pid=$!
for _ in $(seq 1 120); do snmpget -v2c -c bench -t 1 -r 0 "127.0.0.1:$port" 1.3.6.1.2.1.1.1.0 >/dev/null 2>&1 && break; sleep 0.5; done
snmpget -v2c -c sw100 -t 5 -r 0 "127.0.0.1:$port" 1.3.6.1.2.1.1.1.0 >/dev/null  # index every file before timing

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# net-snmp reading what `segctl snmp inventory` reads: one snmpbulkwalk per column.
walk_columns() { for c in "${columns[@]}"; do snmpbulkwalk -v2c -c bench -On -Cr$maxrep "127.0.0.1:$port" "$c"; done; }

echo "==> 0. the agent: one column of 2,000 rows by snmpbulkwalk, small and very large answers (median of $runs)"
small=() large=()
for _ in $(seq 1 "$runs"); do
  t0=$(now); snmpbulkwalk -v2c -c bench -On -Cr10 "127.0.0.1:$port" 1.3.6.1.2.1.17.7.1.2.2.1.2 >/dev/null; t1=$(now); small+=("$(echo "$t1 - $t0" | bc -l)")
  t0=$(now); snmpbulkwalk -v2c -c bench -On -Cr"$maxvarbinds" "127.0.0.1:$port" 1.3.6.1.2.1.17.7.1.2.2.1.2 >/dev/null; t1=$(now); large+=("$(echo "$t1 - $t0" | bc -l)")
done
s10=$(printf '%s\n' "${small[@]}" | median); sbig=$(printf '%s\n' "${large[@]}" | median)
printf '10 bindings per answer (201 PDUs):    %7.3f s\n' "$s10"
printf '%s bindings per answer (%s PDUs):   %7.3f s  (%.0f µs per binding: the agent'"'"'s cost is per binding)\n' "$maxvarbinds" "$(( (2000 + maxvarbinds) / maxvarbinds ))" "$sbig" "$(echo "$sbig * 1000000 / 2000" | bc -l)"

echo "==> 1. inventory of one 48-port switch with 2,000 FDB entries (max-repetitions $maxrep on both sides, agent answers up to $maxvarbinds bindings, median of $runs)"
ours=() theirs=()
for _ in $(seq 1 "$runs"); do
  t0=$(now); "${segctl[@]}" snmp inventory --target "127.0.0.1:$port" --community bench --max-repetitions $maxrep --json > "$work/inventory.json" 2>"$work/inventory.err"; t1=$(now)
  ours+=("$(echo "$t1 - $t0" | bc -l)")
  t0=$(now); walk_columns >/dev/null; t1=$(now)
  theirs+=("$(echo "$t1 - $t0" | bc -l)")
done
o=$(printf '%s\n' "${ours[@]}" | median); t=$(printf '%s\n' "${theirs[@]}" | median)
fdb=$(python3 -c "import json; print(len(json.load(open('$work/inventory.json'))['fdb']))")
printf 'segctl snmp inventory:           %7.3f s  (%s FDB entries)\n' "$o" "$fdb"
printf 'snmpbulkwalk, %2d columns:        %7.3f s\n' "${#columns[@]}" "$t"
printf 'ratio segctl/snmpbulkwalk:       %7.2f   (target <= 0.80)\n' "$(echo "$o / $t" | bc -l)"
# Requests each sends for the same inventory, counted on the wire (loopback, the agent's port).
requests() { # command...
  tcpdump -i lo -n -w "$work/requests.pcap" "udp and dst port $port" >/dev/null 2>&1 & local dump=$!
  sleep 1
  "$@" >/dev/null 2>&1
  sleep 0.5; kill "$dump"; wait "$dump" 2>/dev/null || true
  tcpdump -r "$work/requests.pcap" -n 2>/dev/null | wc -l
}
ours_pdus=$(requests "${segctl[@]}" snmp inventory --target "127.0.0.1:$port" --community bench --max-repetitions $maxrep --json)
theirs_pdus=$(requests walk_columns)
printf 'requests on the wire:            %7d segctl, %d snmpbulkwalk (%.2f)\n' "$ours_pdus" "$theirs_pdus" "$(echo "$ours_pdus / $theirs_pdus" | bc -l)"
starts=()
for _ in $(seq 1 "$runs"); do t0=$(now); "${segctl[@]}" --version >/dev/null; t1=$(now); starts+=("$(echo "$t1 - $t0" | bc -l)"); done
st=$(printf '%s\n' "${starts[@]}" | median)
printf 'of which segctl start-up:        %7.3f s  (segctl --version)\n' "$st"

policy() { # $1 = number of switches
  printf 'site: {id: bench, name: Benchmark}\ncontroller:\n  management: {listen: ["127.0.0.1:9410"]}\nswitches:\n'
  for i in $(seq 1 "$1"); do
    printf '  - name: sw%03d\n    address: 127.0.0.1\n    port: %s\n    profile: qbridge\n    snmp: {version: v2c, community: {env: BENCH_COMMUNITY_%03d}}\n    max_repetitions: %s\n    timeout: 10s\n    retries: 1\n' "$i" "$port" "$i" "$maxrep"
  done
  printf 'clients:\n  - id: alpha\n    name: Alpha\n    contract_end: 2030-01-01\n    segments:\n      - name: lan\n        vlans: [10]\n        subnets: [10.10.0.0/24]\n'
}
for i in $(seq 1 100); do export "BENCH_COMMUNITY_$(printf %03d "$i")=sw$(printf %03d "$i")"; done
policy 1 > "$work/one.yaml"; policy 100 > "$work/hundred.yaml"

echo "==> 2. 100 switches (48 ports, 48 FDB entries each) polled concurrently vs one (median of $runs)"
one=() hundred=()
for _ in $(seq 1 "$runs"); do
  t0=$(now); "${segctl[@]}" snmp check --policy "$work/one.yaml" > "$work/one.out" 2>/dev/null || [ $? -eq 1 ]; t1=$(now); one+=("$(echo "$t1 - $t0" | bc -l)")
  t0=$(now); "${segctl[@]}" snmp check --policy "$work/hundred.yaml" > "$work/hundred.out" 2>/dev/null || [ $? -eq 1 ]; t1=$(now); hundred+=("$(echo "$t1 - $t0" | bc -l)")
done
a=$(printf '%s\n' "${one[@]}" | median); b=$(printf '%s\n' "${hundred[@]}" | median)
reached=$(grep -c ' ports, ' "$work/hundred.out" || true)
printf 'segctl snmp check, 1 switch:     %7.3f s\n' "$a"
printf 'segctl snmp check, 100 switches: %7.3f s  (%s answered)\n' "$b" "$reached"
printf 'ratio 100/1:                     %7.2f   (target < 2)\n' "$(echo "$b / $a" | bc -l)"

# The same work by net-snmp: per switch, one snmpbulkwalk after another over the inventory's columns;
# the 100 switches' chains all at once.
chain() { for c in "${columns[@]}"; do snmpbulkwalk -v2c -c "$1" -On -Cr$maxrep "127.0.0.1:$port" "$c" >/dev/null; done; }
ref_one=() ref_hundred=()
for _ in $(seq 1 "$runs"); do
  t0=$(now); chain sw001; t1=$(now); ref_one+=("$(echo "$t1 - $t0" | bc -l)")
  t0=$(now)
  chains=()
  for i in $(seq 1 100); do chain "sw$(printf %03d "$i")" & chains+=($!); done
  wait "${chains[@]}"
  t1=$(now); ref_hundred+=("$(echo "$t1 - $t0" | bc -l)")
done
ra=$(printf '%s\n' "${ref_one[@]}" | median); rb=$(printf '%s\n' "${ref_hundred[@]}" | median)
printf 'net-snmp, 1 switch:              %7.3f s\n' "$ra"
printf 'net-snmp, 100 switches at once:  %7.3f s  (ratio 100/1 %.2f)\n' "$rb" "$(echo "$rb / $ra" | bc -l)"
printf 'segctl/net-snmp, 100 switches:   %7.2f\n' "$(echo "$b / $rb" | bc -l)"
