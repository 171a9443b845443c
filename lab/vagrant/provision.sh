#!/usr/bin/env bash
# Provisions one machine of the Vagrant lab (see the Vagrantfile): provision.sh ROLE, as root, with the
# repository at /vagrant. Roles: switch, upstreams, agent (LAB_AGENT_CLIENT=<client id>), controller.
# The same lab scripts as the namespace lab do the work, with each role on a machine of its own
# (empty namespace names: lab_in runs commands right here). The controller runs the segctl published
# on the host beforehand:
#   dotnet publish src/SegmentController -c Release -r linux-x64 --self-contained -o artifacts/publish/linux-x64
set -euo pipefail
ROLE=${1:?usage: provision.sh switch|upstreams|agent|controller}
export LAB_DIR=/vagrant/lab REPO_DIR=/vagrant
export LAB_STATE=${LAB_STATE:-/vagrant/lab/.vagrant-state}
export LAB_NS_PREFIX="" LAB_AGENTS_PER_CLIENT=1
for lib in common topology pki snmp upstreams scenario; do
  # shellcheck source=/dev/null
  . "$LAB_DIR/lib/$lib.sh"
done
LAB_NS_SWITCH="" LAB_NS_CONTROLLER=""
lab_require_root

lab_install_packages

# The lab's secrets and PKI, made once by whichever machine comes first.
mkdir -p "$LAB_STATE"
exec 9>"$LAB_STATE/.lock"
flock 9
[ -f "$LAB_STATE/secrets.env" ] || lab_snmp_secrets
[ -f "$LAB_STATE/pki/ca.crt" ] || lab_pki_create
flock -u 9
lab_snmp_load_secrets

# lab_nics: the machine's lab NICs in the order the Vagrantfile declared them (the NAT NIC, the one
# holding the default route, excluded).
lab_nics() {
  local default
  default=$(ip -o route show default | awk '{print $5; exit}')
  for dev in /sys/class/net/*; do
    dev=${dev##*/}
    case $dev in lo | "$default" | br* | swp* | sw0 | span* | up-*) continue ;; esac
    [ -e "/sys/class/net/$dev/device" ] && printf '%s %s\n' "$(cat "/sys/class/net/$dev/ifindex")" "$dev"
  done | sort -n | awk '{print $2}'
}

rename() { ip link set "$1" down; ip link set "$1" name "$2"; ip link set "$2" up; }

line_of() { local l; for l in "${LAB_CLIENTS[@]}"; do [ "$(lab_client_field "$l" 1)" = "$1" ] && { printf '%s' "$l"; return 0; }; done; return 1; }

case $ROLE in
switch)
  mapfile -t nics < <(lab_nics)
  [ ${#nics[@]} -ge 5 ] || lab_die "the switch needs 5 lab NICs, has ${#nics[@]}"
  ip link show br0 >/dev/null 2>&1 || ip link add br0 type bridge vlan_filtering 1
  ip link set br0 up
  sysctl -qw net.ipv4.ip_forward=1
  i=0
  for line in "${LAB_CLIENTS[@]}"; do
    vlan=$(lab_client_field "$line" 2); prefix=$(lab_client_field "$line" 3); port=swp$(lab_client_field "$line" 6)
    [ -e "/sys/class/net/$port" ] || rename "${nics[$i]}" "$port"
    ip link set "$port" master br0 up
    bridge vlan del dev "$port" vid 1 2>/dev/null || true
    bridge vlan add dev "$port" vid "$vlan" pvid untagged
    bridge vlan add dev br0 vid "$vlan" self
    ip link show "br0.$vlan" >/dev/null 2>&1 || ip link add link br0 name "br0.$vlan" type vlan id "$vlan"
    ip addr replace "$prefix.254/24" dev "br0.$vlan"
    ip link set "br0.$vlan" up
    i=$((i + 1))
  done
  [ -e "/sys/class/net/$LAB_TRUNK_PORT" ] || rename "${nics[3]}" "$LAB_TRUNK_PORT"
  [ -e "/sys/class/net/$LAB_SPAN_SWITCH_SIDE" ] || rename "${nics[4]}" "$LAB_SPAN_SWITCH_SIDE"
  ip link set "$LAB_TRUNK_PORT" master br0 up
  bridge vlan del dev "$LAB_TRUNK_PORT" vid 1 2>/dev/null || true
  bridge vlan add dev "$LAB_TRUNK_PORT" vid "$LAB_MGMT_VLAN" pvid untagged
  bridge vlan add dev br0 vid "$LAB_MGMT_VLAN" self
  ip link show "br0.$LAB_MGMT_VLAN" >/dev/null 2>&1 || ip link add link br0 name "br0.$LAB_MGMT_VLAN" type vlan id "$LAB_MGMT_VLAN"
  ip addr replace "$LAB_SWITCH_ADDRESS/24" dev "br0.$LAB_MGMT_VLAN"
  ip link set "br0.$LAB_MGMT_VLAN" up
  # Client VLANs reach the management VLAN, never each other.
  for a in "${LAB_CLIENTS[@]}"; do
    for b in "${LAB_CLIENTS[@]}"; do
      [ "$a" = "$b" ] && continue
      ip rule add from "$(lab_client_field "$a" 3).0/24" to "$(lab_client_field "$b" 3).0/24" prohibit 2>/dev/null || true
    done
  done
  for line in "${LAB_CLIENTS[@]}"; do
    port=swp$(lab_client_field "$line" 6)
    tc qdisc show dev "$port" | grep -q clsact || lab_mirror_port "$port"
  done
  pkill -f "snmpd -f -Lo -C -c $LAB_STATE" 2>/dev/null || true
  pkill -f "snmpsimd --data-dir=$LAB_STATE" 2>/dev/null || true
  # The switch's SNMP state (generated tables, snmpd's persistent keys) is its own.
  mkdir -p "$LAB_STATE/switch"
  cp "$LAB_STATE/secrets.env" "$LAB_STATE/switch/secrets.env"
  LAB_STATE=$LAB_STATE/switch lab_snmp_start
  lab_info "switch: VLAN-filtering br0, SVIs, port mirror to $LAB_SPAN_SWITCH_SIDE, snmpd on $LAB_SWITCH_ADDRESS"
  ;;
upstreams)
  mapfile -t nics < <(lab_nics)
  nic=${nics[0]}
  ip link set "$nic" up
  for line in "${LAB_CLIENTS[@]}"; do ip addr replace "$(lab_client_field "$line" 5)/24" dev "$nic"; done
  ip addr replace "$LAB_SOC_ADDRESS/24" dev "$nic"
  pkill -f "$LAB_DIR/tools/upstream.py" 2>/dev/null || true
  for line in "${LAB_CLIENTS[@]}"; do
    id=$(lab_client_field "$line" 1)
    lab_start_daemon "upstream-$id" "$LAB_STATE/upstream-$id.err" "$LAB_PYTHON" "$LAB_DIR/tools/upstream.py" "$id" \
      "$(lab_client_field "$line" 5)" "$LAB_UPSTREAM_PORT" "$LAB_STATE/pki/upstream-$id.crt" "$LAB_STATE/pki/upstream-$id.key" "$LAB_STATE/upstream-$id.jsonl"
  done
  lab_start_daemon soc "$LAB_STATE/soc.err" "$LAB_PYTHON" "$LAB_DIR/tools/upstream.py" soc "$LAB_SOC_ADDRESS" \
    "$LAB_UPSTREAM_PORT" "$LAB_STATE/pki/soc.crt" "$LAB_STATE/pki/soc.key" "$LAB_STATE/soc.jsonl"
  lab_info "upstreams: the clients' HTTPS systems and the SOC receiver on $nic"
  ;;
agent)
  client=${LAB_AGENT_CLIENT:?LAB_AGENT_CLIENT=<client id>}
  line=$(line_of "$client") || lab_die "no client $client in lab/lib/common.sh"
  mapfile -t nics < <(lab_nics)
  nic=${nics[0]}
  ip link set "$nic" up
  ip addr replace "$(lab_client_field "$line" 3).11/24" dev "$nic"
  ip route replace 10.99.0.0/16 via "$(lab_client_field "$line" 3).254"
  grep -q " $(lab_client_field "$line" 4)\$" /etc/hosts || echo "$LAB_PROXY_ADDRESS $(lab_client_field "$line" 4)" >>/etc/hosts
  cp "$LAB_STATE/pki/ca.crt" /usr/local/share/ca-certificates/segctl-lab.crt
  update-ca-certificates >/dev/null
  lab_info "agent of $client: $(lab_client_field "$line" 3).11, https://$(lab_client_field "$line" 4):$LAB_PROXY_PORT through the proxy"
  ;;
controller)
  SEGCTL=/vagrant/artifacts/publish/linux-x64/segctl
  [ -x "$SEGCTL" ] || lab_die "publish segctl on the host first: dotnet publish src/SegmentController -c Release -r linux-x64 --self-contained -o artifacts/publish/linux-x64"
  mapfile -t nics < <(lab_nics)
  [ ${#nics[@]} -ge 3 ] || lab_die "the controller needs 3 lab NICs, has ${#nics[@]}"
  [ -e /sys/class/net/sw0 ] || rename "${nics[0]}" sw0
  [ -e "/sys/class/net/$LAB_SPAN_CONTROLLER_SIDE" ] || rename "${nics[1]}" "$LAB_SPAN_CONTROLLER_SIDE"
  [ -e /sys/class/net/up-lab ] || rename "${nics[2]}" up-lab
  ip addr replace "$LAB_PROXY_ADDRESS/24" dev sw0
  for line in "${LAB_CLIENTS[@]}"; do
    ip route replace "$(lab_client_field "$line" 3).0/24" via "$LAB_SWITCH_ADDRESS"
    ip addr replace "$(lab_client_field "$line" 5 | sed 's/\.[0-9]*$/.1/')/24" dev up-lab
  done
  ip addr replace "${LAB_SOC_ADDRESS%.*}.1/24" dev up-lab
  [ -f "$LAB_STATE/pki/store-signing.pem" ] || {
    openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out "$LAB_STATE/pki/store-signing.pem"
    chmod 600 "$LAB_STATE/pki/store-signing.pem"
  }
  [ -f "$LAB_STATE/api-keys" ] || lab_api_keys
  [ ! -f "$LAB_STATE/pids/segctl.pid" ] || kill "$(cat "$LAB_STATE/pids/segctl.pid")" 2>/dev/null || true
  export SEGCTL
  lab_controller_start
  nat=$(ip -o route show default | awk '{print $5; exit}')
  lab_start_daemon host-forward "$LAB_STATE/host-forward.log" socat \
    "TCP-LISTEN:9410,bind=$(ip -o -4 addr show "$nat" | awk '{print $4}' | cut -d/ -f1),reuseaddr,fork" "TCP:$LAB_MANAGEMENT_INNER"
  lab_info "segctl run: proxy https://$LAB_PROXY_ADDRESS:$LAB_PROXY_PORT, capture on $LAB_SPAN_CONTROLLER_SIDE;"
  lab_info "from the host: http://127.0.0.1:${LAB_HOST_MANAGEMENT_PORT:-9410}/metrics, API keys in lab/.vagrant-state/api-keys.env"
  ;;
*)
  lab_die "unknown role $ROLE (switch, upstreams, agent, controller)"
  ;;
esac
