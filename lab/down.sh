#!/usr/bin/env bash
# Removes everything lab/demo.sh made: its processes (by the pids it recorded, and whatever still runs
# inside the lab's namespaces), the lab's $LAB_NS_PREFIX-* namespaces (segl-* by default; with them every
# veth, bridge and mirror), and its state directory ($LAB_STATE, lab/.state by default). Safe to run when
# nothing is up. lab/out (the last scenario's results) is kept. Another lab beside this one (its own
# LAB_NS_PREFIX, lab/demo.sh) is left alone, and so are namespaces of this prefix another checkout's lab
# made: only the lab whose state directory made them takes them down.
set -u
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$LAB_DIR/lib/common.sh"
# shellcheck source=lib/topology.sh
. "$LAB_DIR/lib/topology.sh"
lab_require_root
lab_check_names

stop_pids() { # pid…: TERM to all at once, then KILL whatever still runs after 5 s
  local pid i alive
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null; done
  for ((i = 0; i < 50; i++)); do
    alive=""
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive+=" $pid"; done
    [ -z "$alive" ] && return 0
    sleep 0.1
  done
  for pid in $alive; do kill -KILL "$pid" 2>/dev/null; done
}

if other=$(lab_namespaces_of_another_lab); then
  # This lab is down already: its namespaces are gone and another lab made the prefix's anew, so the
  # pids it recorded are not its processes any more.
  rm -rf "$LAB_STATE"
  echo "lab: down ($LAB_STATE removed); the $LAB_NS_PREFIX-* namespaces are the lab of $other and were left alone"
  exit 0
fi

# segctl first, so it does not see its witnesses vanish and trip on the way down.
if [ -f "$LAB_STATE/pids/segctl.pid" ]; then stop_pids "$(cat "$LAB_STATE/pids/segctl.pid")"; fi
pids=()
if [ -d "$LAB_STATE/pids" ]; then
  for f in "$LAB_STATE"/pids/*.pid; do
    [ -e "$f" ] && pids+=("$(cat "$f")")
  done
fi
for ns in $(lab_all_namespaces); do
  for pid in $(ip netns pids "$ns" 2>/dev/null); do pids+=("$pid"); done
done
[ ${#pids[@]} -eq 0 ] || stop_pids "${pids[@]}"
for ns in $(lab_all_namespaces); do
  ip netns del "$ns" 2>/dev/null || true
done
rm -rf "$LAB_STATE"
remaining=$(lab_all_namespaces)
if [ -n "$remaining" ]; then
  echo "lab/down.sh: could not remove: $remaining" >&2
  exit 1
fi
lab_release_namespaces
echo "lab: down (no $LAB_NS_PREFIX-* namespaces, no lab processes, $LAB_STATE removed)"
