#!/usr/bin/env bash
# A provider site on one machine, with segctl in front of it, and the story of a leak (README, first
# command). Run as root: ./lab/demo.sh (from a user's shell: sudo ./lab/demo.sh)
#
#  1. installs the Debian packages it needs (lab/apt-packages.txt) and builds segctl;
#  2. brings the site up in network namespaces (lab/lib/topology.sh): an access switch with one bridge
#     per client VLAN, a tc mirror of every access port to a SPAN veth, snmpd (SNMPv3 authPriv,
#     SHA-256/AES) controlling the real port links with snmpsimd serving its VLAN tables, three agents
#     per client, each client's HTTPS system, and `segctl run --policy policies/lab.yaml` in front;
#  3. plays the scenario and narrates it: agents working through the proxy; a leak (802.1Q-tagged
#     cross-client traffic) replayed onto the SPAN port; the finding, the incident, the trip and its
#     stage timings; the client's agents refused and its switch ports really down; a restart of segctl
#     that shuts again a port brought up meanwhile; an audit over the leak (fail) and one after it
#     (pass); the restore by two approvers; the outcome in lab/out/scenario.json;
#  4. leaves the site running and prints the URLs and keys. lab/down.sh removes everything.
#
# Running it again first takes the previous lab down. segctl is built only when its build output is
# older than a source file. The host-side management port is 9410, or the next free one when something
# else holds 9410. Environment (none needed):
#   LAB_NS_PREFIX=segl        the namespaces' prefix (letters and digits): PREFIX-sw, PREFIX-ctl, …
#   LAB_MANAGEMENT_PORT=9410  the API's port on the host's loopback; one given must be free
#   LAB_STATE=lab/.state      the lab's state (keys, logs, store); LAB_OUT=lab/out its results
#                             (lab/.state-PREFIX and lab/out-PREFIX for a prefix not segl)
#   SEGCTL=PATH               another segctl executable (no build)
# A second lab beside the first (another checkout's, say) takes its own prefix and port, and lab/down.sh
# with the same environment takes down that lab alone:
#   LAB_NS_PREFIX=segl2 LAB_MANAGEMENT_PORT=9420 ./lab/demo.sh
# A prefix whose namespaces another lab made is refused, not taken over.
set -euo pipefail
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for lib in common topology pki snmp upstreams scenario; do
  # shellcheck source=/dev/null
  . "$LAB_DIR/lib/$lib.sh"
done
lab_require_root
lab_check_names
if other=$(lab_namespaces_of_another_lab); then
  lab_die "the $LAB_NS_PREFIX-* network namespaces are the lab of $other (its lab/down.sh takes them down); for a lab beside it give this one its own prefix and port, e.g. $(lab_sudo)LAB_NS_PREFIX=segl2 LAB_MANAGEMENT_PORT=9420 $0"
fi

lab_say "Preparing: Debian packages and the segctl build"
lab_install_packages
command -v dotnet >/dev/null || lab_die "the .NET SDK (dotnet) is needed to build segctl; see README.md, Prerequisites"
if [ -n "${SEGCTL:-}" ]; then
  [ -x "$SEGCTL" ] || lab_die "SEGCTL=$SEGCTL is not an executable"
else
  SEGCTL=$REPO_DIR/artifacts/bin/SegmentController/release/segctl
fi
if [ "$SEGCTL" = "$REPO_DIR/artifacts/bin/SegmentController/release/segctl" ]; then
  if stale=$(lab_segctl_stale); then
    lab_info "building segctl ($stale is newer than the build)"
    build_log=$(mktemp)
    (cd "$REPO_DIR" && dotnet build src/SegmentController -c Release -v q -nologo -clp:ErrorsOnly) >"$build_log" 2>&1 \
      || { cat "$build_log" >&2; rm -f "$build_log"; lab_die "the segctl build failed"; }
    rm -f "$build_log"
  else
    lab_info "segctl build up to date with the sources"
  fi
fi
lab_info "segctl $("$SEGCTL" --version)"

if [ -n "$(lab_all_namespaces)" ] || [ -d "$LAB_STATE" ]; then
  lab_info "a lab is up already: taking it down first"
  "$LAB_DIR/down.sh" >/dev/null
fi
lab_choose_management_port
mkdir -p "$LAB_STATE" "$LAB_OUT"
chmod 755 "$LAB_STATE"

lab_say "Bringing up the site ($LAB_NS_PREFIX-* network namespaces)"
lab_claim_namespaces
lab_pki_create
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$LAB_STATE/pki/store-signing.pem"
chmod 600 "$LAB_STATE/pki/store-signing.pem"
lab_topology_up
lab_info "switch $LAB_NS_SWITCH: VLANs $(for l in "${LAB_CLIENTS[@]}"; do printf '%s ' "$(lab_client_field "$l" 2)"; done)+ management $LAB_MGMT_VLAN, access ports mirrored to $LAB_SPAN_SWITCH_SIDE"
lab_snmp_secrets
lab_snmp_start
lab_info "snmpd on $LAB_SWITCH_ADDRESS (SNMPv3 authPriv SHA-256/AES, user segctl): $(lab_snmpget 1.3.6.1.2.1.1.5.0 | sed 's/.*STRING: //')"
lab_upstreams_start
lab_info "client systems: $(for l in "${LAB_CLIENTS[@]}"; do printf 'https://%s ' "$(lab_client_field "$l" 4)"; done)"
lab_api_keys
lab_controller_start
lab_info "segctl run: proxy https://$LAB_PROXY_ADDRESS:$LAB_PROXY_PORT, capture on $LAB_SPAN_CONTROLLER_SIDE, API $LAB_MANAGEMENT_URL"

lab_scenario

lab_say "The site is still running"
cat <<EOF
   Operator API   $LAB_MANAGEMENT_URL/api/v1/status   (OpenAPI: $LAB_MANAGEMENT_URL/api/v1/openapi.json)
   Metrics        $LAB_MANAGEMENT_URL/metrics
   Health         $LAB_MANAGEMENT_URL/healthz
   API keys       $LAB_STATE/api-keys.env (operator, two approvers, auditor, viewer); for example:
                    set -a; . $LAB_STATE/api-keys.env; set +a
                    SEGCTL_URL=$LAB_MANAGEMENT_URL SEGCTL_API_KEY=\$LAB_OPERATOR_KEY $SEGCTL status
   An agent       ip netns exec $(lab_agent_ns assistring 1) curl --cacert $LAB_STATE/pki/ca.crt \\
                    --resolve crm.assistring.lab:$LAB_PROXY_PORT:$LAB_PROXY_ADDRESS https://crm.assistring.lab:$LAB_PROXY_PORT/
   Logs           $LAB_STATE/segctl.log, evidence store $LAB_STATE/segctl.db
   Outcome        $LAB_OUT/scenario.json
   Take it down   $(lab_sudo)$(lab_env_prefix)./lab/down.sh
EOF
