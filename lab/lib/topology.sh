# shellcheck shell=bash
# The site in network namespaces (sourced after common.sh).
#
#   segl-ag-<client>-<n> (eth0 10.99.<vlan>.1n) ── swpN ┐
#                                                      ├ br<vlan> (SVI 10.99.<vlan>.254) ─┐  segl-sw: the access switch,
#                                                      ┘                                  ├─ routes the VLANs' SVIs to the
#   segl-ctl (sw0 10.99.0.1 = the proxy) ─────── swp24 ── br10  (SVI 10.99.0.2 = snmpd) ──┘  management VLAN; client↔client
#   segl-ctl span0 ◀── span-sw ◀── tc mirred (ingress+egress of every access port)              routing is prohibited
#   segl-ctl up-<client> (10.99.2x0.1) ── eth0 segl-up-<client> (10.99.2x0.10: the client's HTTPS system)
#   segl-ctl soc (10.99.250.1) ── eth0 segl-soc (10.99.250.10: the clients' SOC, receiving webhooks)
#
# The agents reach the client systems only through the proxy: the switch has no route to 10.99.2x0.0/24
# and the controller namespace does not forward.

# lab_agent_mac VLAN N: stable station MACs, so the switch's FDB (generated from the topology) is stable too.
lab_agent_mac() { printf '02:99:%02x:%02x:00:%02x' $(($1 / 100)) $(($1 % 100)) "$2"; }

lab_topology_up() {
  local sw=$LAB_NS_SWITCH ctl=$LAB_NS_CONTROLLER line
  ip netns add "$sw"
  ip netns add "$ctl"
  lab_in "$sw" sysctl -qw net.ipv4.ip_forward=1
  lab_in "$sw" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  lab_in "$ctl" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip -n "$sw" link set lo up
  ip -n "$ctl" link set lo up

  # Management VLAN: the trunk to the controller and the switch's own address (where snmpd answers).
  ip -n "$sw" link add "br$LAB_MGMT_VLAN" type bridge
  ip -n "$sw" link add "$LAB_TRUNK_PORT" type veth peer name sw0 netns "$ctl"
  ip -n "$sw" link set "$LAB_TRUNK_PORT" master "br$LAB_MGMT_VLAN" up
  ip -n "$sw" addr add "$LAB_SWITCH_ADDRESS/24" dev "br$LAB_MGMT_VLAN"
  ip -n "$sw" link set "br$LAB_MGMT_VLAN" up
  ip -n "$ctl" addr add "$LAB_PROXY_ADDRESS/24" dev sw0
  ip -n "$ctl" link set sw0 up

  # The SPAN port: a veth whose controller end (span0) has no address, as at a real site.
  ip -n "$sw" link add "$LAB_SPAN_SWITCH_SIDE" type veth peer name "$LAB_SPAN_CONTROLLER_SIDE" netns "$ctl"
  ip -n "$sw" link set "$LAB_SPAN_SWITCH_SIDE" up
  ip -n "$ctl" link set "$LAB_SPAN_CONTROLLER_SIDE" up
  lab_in "$ctl" sysctl -qw "net.ipv4.conf.$LAB_SPAN_CONTROLLER_SIDE.arp_ignore=8"

  local id vlan prefix address port n ns mac
  for line in "${LAB_CLIENTS[@]}"; do
    id=$(lab_client_field "$line" 1); vlan=$(lab_client_field "$line" 2); prefix=$(lab_client_field "$line" 3)
    address=$(lab_client_field "$line" 5); port=$(lab_client_field "$line" 6)
    ip -n "$sw" link add "br$vlan" type bridge
    ip -n "$sw" addr add "$prefix.254/24" dev "br$vlan"
    ip -n "$sw" link set "br$vlan" up
    ip -n "$ctl" route add "$prefix.0/24" via "$LAB_SWITCH_ADDRESS"
    for ((n = 1; n <= LAB_AGENTS_PER_CLIENT; n++)); do
      ns=$(lab_agent_ns "$id" "$n")
      mac=$(lab_agent_mac "$vlan" "$n")
      ip netns add "$ns"
      lab_in "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
      ip -n "$ns" link set lo up
      ip -n "$sw" link add "swp$((port + n - 1))" type veth peer name eth0 netns "$ns"
      ip -n "$sw" link set "swp$((port + n - 1))" master "br$vlan" up
      lab_mirror_port "swp$((port + n - 1))"
      ip -n "$ns" link set eth0 address "$mac" up
      ip -n "$ns" addr add "$prefix.1$n/24" dev eth0
      ip -n "$ns" route add default via "$prefix.254"
    done

    # The client's system, reachable from the controller only.
    ns=$(lab_upstream_ns "$id")
    local up_net=${address%.*}
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$ctl" link add "up-$id" type veth peer name eth0 netns "$ns"
    ip -n "$ctl" addr add "$up_net.1/24" dev "up-$id"
    ip -n "$ctl" link set "up-$id" up
    ip -n "$ns" addr add "$address/24" dev eth0
    ip -n "$ns" link set eth0 up
  done

  # The clients' security operations centre, where incident notices and kill-switch webhooks go.
  ns=$LAB_NS_PREFIX-soc
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ctl" link add soc type veth peer name eth0 netns "$ns"
  ip -n "$ctl" addr add "${LAB_SOC_ADDRESS%.*}.1/24" dev soc
  ip -n "$ctl" link set soc up
  ip -n "$ns" addr add "$LAB_SOC_ADDRESS/24" dev eth0
  ip -n "$ns" link set eth0 up

  # A layer-3 switch with an ACL: the client VLANs reach the management VLAN, never each other.
  local a b
  for a in "${LAB_CLIENTS[@]}"; do
    for b in "${LAB_CLIENTS[@]}"; do
      [ "$a" = "$b" ] && continue
      ip -n "$sw" rule add from "$(lab_client_field "$a" 3).0/24" to "$(lab_client_field "$b" 3).0/24" prohibit
    done
  done
}

# lab_mirror_port PORT: copy every frame the port receives and sends to the SPAN port (tc mirred).
# This kernel has neither matchall nor act_vlan, so a u32 match-everything filter does it and the
# mirrored frames are untagged; the leak is injected already tagged.
lab_mirror_port() {
  local port=$1
  lab_in "$LAB_NS_SWITCH" tc qdisc add dev "$port" clsact
  lab_in "$LAB_NS_SWITCH" tc filter add dev "$port" ingress protocol all u32 match u32 0 0 \
    action mirred egress mirror dev "$LAB_SPAN_SWITCH_SIDE"
  lab_in "$LAB_NS_SWITCH" tc filter add dev "$port" egress protocol all u32 match u32 0 0 \
    action mirred egress mirror dev "$LAB_SPAN_SWITCH_SIDE"
}

# lab_all_namespaces: every namespace the lab may have made (whether or not it exists now).
lab_all_namespaces() { ip netns list 2>/dev/null | awk '{print $1}' | grep "^$LAB_NS_PREFIX-" || true; }
