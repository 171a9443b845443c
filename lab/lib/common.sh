# shellcheck shell=bash
# Shared names, addresses and helpers for the lab scripts (sourced; never run directly).
# Every name the lab creates starts with "$LAB_NS_PREFIX-" ("segl-" unless told otherwise: namespaces)
# or lives in a namespace that does, so lab/down.sh can find and remove all of it. Addresses are
# 10.99.0.0/16 only, inside those namespaces.

LAB_DIR=${LAB_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
REPO_DIR=${REPO_DIR:-$(cd "$LAB_DIR/.." && pwd)}
LAB_POLICY=${LAB_POLICY:-$REPO_DIR/policies/lab.yaml}
LAB_PYTHON=${LAB_PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}

# Several labs can run side by side (two checkouts, or the tests beside a newcomer's): each has its own
# namespace prefix (LAB_NS_PREFIX), host-side management port (LAB_MANAGEMENT_PORT), state directory
# (LAB_STATE) and results (LAB_OUT). Without them, the defaults: segl-* namespaces, 127.0.0.1:9410,
# lab/.state and lab/out; a lab of another prefix keeps its state in lab/.state-PREFIX and its results in
# lab/out-PREFIX, so two labs of one checkout never share them.
LAB_NS_PREFIX=${LAB_NS_PREFIX:-segl}
lab_default_suffix() { [ "$LAB_NS_PREFIX" = segl ] || printf -- '-%s' "$LAB_NS_PREFIX"; }
# Absolute: the state directory names the lab that owns a set of namespaces (lab_owner).
LAB_STATE=$(realpath -m "${LAB_STATE:-$LAB_DIR/.state$(lab_default_suffix)}")
LAB_OUT=${LAB_OUT:-$LAB_DIR/out$(lab_default_suffix)}
LAB_NS_SWITCH=$LAB_NS_PREFIX-sw
LAB_NS_CONTROLLER=$LAB_NS_PREFIX-ctl

# The topology, one line per client: id vlan client-subnet-prefix upstream-host upstream-address first-port.
# It must agree with policies/lab.yaml (the test reads both).
LAB_CLIENTS=(
  "assistring 110 10.99.110 crm.assistring.lab 10.99.210.10 1"
  "ibex 120 10.99.120 desk.ibex.lab 10.99.220.10 4"
  "northwind 130 10.99.130 billing.northwind.lab 10.99.230.10 7"
)
LAB_AGENTS_PER_CLIENT=${LAB_AGENTS_PER_CLIENT:-3}
LAB_MGMT_VLAN=10
LAB_PROXY_ADDRESS=10.99.0.1
LAB_SWITCH_ADDRESS=10.99.0.2
LAB_PROXY_PORT=8443
LAB_UPSTREAM_PORT=8443
# segctl's management listener inside the controller namespace (policies/lab.yaml), and the port on the
# host's loopback that lab/demo.sh forwards to it so the API and /metrics are reachable from the host.
LAB_MANAGEMENT_INNER=127.0.0.1:9410
LAB_MANAGEMENT_PORT_GIVEN=${LAB_MANAGEMENT_PORT:-}
LAB_MANAGEMENT_PORT=${LAB_MANAGEMENT_PORT:-9410}
LAB_MANAGEMENT_URL=http://127.0.0.1:$LAB_MANAGEMENT_PORT
LAB_TRUNK_PORT=swp24
LAB_SPAN_SWITCH_SIDE=span-sw
LAB_SPAN_CONTROLLER_SIDE=span0
LAB_SNMPSIM_PORT=1161
LAB_SOC_ADDRESS=10.99.250.10

lab_say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
lab_info() { printf '   %s\n' "$*"; }
lab_die() { printf 'lab: %s\n' "$*" >&2; exit 2; }

# lab_client_field LINE N: the Nth (1-based) field of a LAB_CLIENTS line.
lab_client_field() { local -a f; read -r -a f <<<"$1"; printf '%s' "${f[$(($2 - 1))]}"; }

lab_agent_ns() { printf '%s-ag-%s-%s' "$LAB_NS_PREFIX" "$1" "$2"; }   # client, agent number
lab_upstream_ns() { printf '%s-up-%s' "$LAB_NS_PREFIX" "$1"; }

# lab_in NS CMD…: run a command inside a lab namespace; with NS empty, right here (the Vagrant VMs,
# where each role has a machine of its own).
lab_in() { local ns=$1; shift; if [ -n "$ns" ]; then ip netns exec "$ns" "$@"; else "$@"; fi; }

# lab_segctl_stale: prints the first source file newer than segctl's build output (each project's
# sources against its own assembly in the executable's folder) and succeeds; fails when the build is up
# to date. Nothing built yet counts as stale.
lab_segctl_stale() {
  local bin=$REPO_DIR/artifacts/bin/SegmentController/release project name dll newer f
  if [ ! -x "$bin/segctl" ] || [ ! -f "$bin/segctl.dll" ]; then printf 'no build'; return 0; fi
  for project in "$REPO_DIR"/src/*/; do
    name=$(basename "$project")
    dll=$bin/$name.dll
    [ "$name" = SegmentController ] && dll=$bin/segctl.dll
    if [ ! -f "$dll" ]; then printf '%s' "${dll#"$REPO_DIR"/}"; return 0; fi
    newer=$(find "$project" \( -name bin -o -name obj \) -prune -o -type f -newer "$dll" -print -quit)
    if [ -n "$newer" ]; then printf '%s' "${newer#"$REPO_DIR"/}"; return 0; fi
  done
  for f in Directory.Build.props Directory.Packages.props global.json; do
    if [ "$REPO_DIR/$f" -nt "$bin/segctl.dll" ]; then printf '%s' "$f"; return 0; fi
  done
  return 1
}

# lab_port_busy PORT: something listens on 127.0.0.1:PORT.
lab_port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# lab_check_names: LAB_NS_PREFIX and LAB_MANAGEMENT_PORT are usable (lab/demo.sh and lab/down.sh).
# The prefix has no "-", so "PREFIX-" begins the names of this lab's namespaces and of no other lab's
# (a lab "segl" and a lab "segl-b" would share "segl-b-sw" as far as "segl-*" goes).
lab_check_names() {
  [[ $LAB_NS_PREFIX =~ ^[a-z][a-z0-9]{0,11}$ ]] \
    || lab_die "LAB_NS_PREFIX='$LAB_NS_PREFIX' is not a namespace prefix: 1 to 12 lower-case letters and digits, a letter first (the lab's namespaces are PREFIX-sw, PREFIX-ctl, ...)"
  [[ $LAB_MANAGEMENT_PORT =~ ^[1-9][0-9]{0,4}$ ]] && [ "$LAB_MANAGEMENT_PORT" -le 65535 ] \
    || lab_die "LAB_MANAGEMENT_PORT='$LAB_MANAGEMENT_PORT' is not a TCP port (1 to 65535)"
}

# The lab that owns the namespaces of a prefix: its state directory, written in
# $LAB_OWNERS/PREFIX when it makes them (under /run, which goes with them at a reboot). A lab whose
# prefix is another checkout's leaves that lab alone: lab/demo.sh refuses, lab/down.sh skips them.
LAB_OWNERS=${LAB_OWNERS:-/run/segctl-lab}
lab_owner() { cat "$LAB_OWNERS/$LAB_NS_PREFIX" 2>/dev/null || true; }
lab_claim_namespaces() { mkdir -p "$LAB_OWNERS" && printf '%s\n' "$LAB_STATE" >"$LAB_OWNERS/$LAB_NS_PREFIX"; }
lab_release_namespaces() { rm -f "$LAB_OWNERS/$LAB_NS_PREFIX"; }
# lab_namespaces_of_another_lab: succeeds, printing its state directory, when this prefix's namespaces
# exist and another lab (another state directory) made them. Namespaces no lab claimed (made before
# labs recorded their owner) count as this lab's.
lab_namespaces_of_another_lab() {
  local owner
  owner=$(lab_owner)
  [ -n "$owner" ] && [ "$owner" != "$LAB_STATE" ] && [ -n "$(lab_all_namespaces)" ] || return 1
  printf '%s' "$owner"
}

# lab_env_prefix: the environment that names this lab to lab/down.sh, as typed before the command
# ("" for the default lab).
# lab_sudo: "sudo " when the lab was started with sudo (a command it prints is then run the same way),
# nothing when it runs as root itself (a root shell may have no sudo at all).
lab_sudo() {
  if [ -n "${SUDO_USER:-}" ]; then printf 'sudo '; fi
}

lab_env_prefix() {
  local env=""
  [ "$LAB_NS_PREFIX" = segl ] || env+="LAB_NS_PREFIX=$LAB_NS_PREFIX "
  [ "$LAB_STATE" = "$(realpath -m "$LAB_DIR/.state$(lab_default_suffix)")" ] || env+="LAB_STATE=$LAB_STATE "
  printf '%s' "$env"
}

# lab_choose_management_port: keep LAB_MANAGEMENT_PORT when it is free; when it was given and is taken,
# stop (the demo must not talk to whatever holds it, another lab's API perhaps); when it was not given,
# the next free port after it (another service may hold 9410), so the demo does not fail on a busy machine.
lab_choose_management_port() {
  local port=$LAB_MANAGEMENT_PORT
  if [ -n "${LAB_MANAGEMENT_PORT_GIVEN:-}" ]; then
    if lab_port_busy "$port"; then
      lab_die "LAB_MANAGEMENT_PORT=$port: something already listens on 127.0.0.1:$port (another lab's API?); give a free port"
    fi
    return 0
  fi
  while lab_port_busy "$port"; do
    port=$((port + 1))
    [ "$port" -lt $((LAB_MANAGEMENT_PORT + 100)) ] || lab_die "no free port from $LAB_MANAGEMENT_PORT to $port on 127.0.0.1 for the management forwarder"
  done
  if [ "$port" != "$LAB_MANAGEMENT_PORT" ]; then
    lab_info "127.0.0.1:$LAB_MANAGEMENT_PORT is in use: the management API will be on 127.0.0.1:$port"
  fi
  LAB_MANAGEMENT_PORT=$port
  LAB_MANAGEMENT_URL=http://127.0.0.1:$port
}

lab_require_root() { [ "$(id -u)" = 0 ] || lab_die "run as root (sudo $0)"; }

# lab_install_packages: the Debian packages of lab/apt-packages.txt that are missing (apt-get update
# first only when the package lists do not know one of them).
lab_install_packages() {
  local package missing=()
  while read -r package; do
    case $package in '' | '#'*) continue ;; esac
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done <"$LAB_DIR/apt-packages.txt"
  [ ${#missing[@]} -gt 0 ] || return 0
  lab_info "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; }
}

# lab_wait_for SECONDS DESCRIPTION CMD…: retry CMD until it succeeds or the time is up.
lab_wait_for() {
  local seconds=$1 what=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then lab_die "timed out after ${seconds}s waiting for $what"; fi
    sleep 0.2
  done
}

# lab_start_daemon NAME LOGFILE CMD…: start a background process, remember its pid in $LAB_STATE/pids/NAME.
lab_start_daemon() {
  local name=$1 log=$2; shift 2
  mkdir -p "$LAB_STATE/pids"
  setsid "$@" >"$log" 2>&1 < /dev/null &
  echo $! >"$LAB_STATE/pids/$name.pid"
}
