# shellcheck shell=bash
# segctl in front of the lab, the agents' work, and the leak scenario (sourced after the other libs).

# lab_api_keys: one key per role the scenario needs, hashed into segctl's keys file; the keys themselves
# in $LAB_STATE/api-keys.env (0600) for the operator at the keyboard.
lab_api_keys() {
  local name role var key
  umask 077
  : >"$LAB_STATE/api-keys.env"
  printf '# The lab'\''s API keys (lab/demo.sh). name roles credential\n' >"$LAB_STATE/api-keys"
  for entry in "lab-operator operator LAB_OPERATOR_KEY" "lab-approver-1 approver LAB_APPROVER1_KEY" \
    "lab-approver-2 approver LAB_APPROVER2_KEY" "lab-auditor auditor LAB_AUDITOR_KEY" "lab-dashboard viewer LAB_VIEWER_KEY"; do
    read -r name role var <<<"$entry"
    key=$(openssl rand -hex 32)
    printf '%s=%s\n' "$var" "$key" >>"$LAB_STATE/api-keys.env"
    printf '%-16s %-10s sha256:%s\n' "$name" "$role" "$(printf %s "$key" | sha256sum | cut -d' ' -f1)" >>"$LAB_STATE/api-keys"
  done
  umask 022
  chmod 644 "$LAB_STATE/api-keys"
  set -a
  # shellcheck disable=SC1091
  . "$LAB_STATE/api-keys.env"
  set +a
}

# lab_segctl KEY_VARIABLE ARGS…: the operator CLI against the lab's API, as the holder of that key.
lab_segctl() {
  local key=$1; shift
  SEGCTL_URL=$LAB_MANAGEMENT_URL SEGCTL_API_KEY=${!key} "$SEGCTL" "$@"
}

# lab_policy_file: policies/lab.yaml, or a copy whose state paths point at this lab's own $LAB_STATE.
lab_policy_file() {
  if [ "$LAB_STATE" = "$LAB_DIR/.state" ]; then
    printf '%s' "$LAB_POLICY"
  else
    sed "s#lab/\.state/#$LAB_STATE/#g" "$LAB_POLICY" >"$LAB_STATE/policy.yaml"
    printf '%s' "$LAB_STATE/policy.yaml"
  fi
}

# lab_controller_start: segctl run in the controller namespace (from the repository root, where the
# policy's relative paths start), and a loopback forwarder on the host to its management listener.
lab_controller_start() {
  lab_segctl_start
  [ -n "$LAB_NS_CONTROLLER" ] || return 0   # a machine of its own: the listener is the host's already
  lab_start_daemon management-forward "$LAB_STATE/management-forward.log" \
    socat "TCP-LISTEN:$LAB_MANAGEMENT_PORT,bind=127.0.0.1,reuseaddr,fork" \
    "EXEC:ip netns exec $LAB_NS_CONTROLLER socat STDIO TCP\\:${LAB_MANAGEMENT_INNER//:/\\:}"
  lab_wait_for 15 "the management forwarder on 127.0.0.1:$LAB_MANAGEMENT_PORT" curl -fsS -o /dev/null "$LAB_MANAGEMENT_URL/healthz"
}

# lab_segctl_start [LOG]: segctl run, and wait for its management listener.
lab_segctl_start() {
  local policy log=${1:-$LAB_STATE/segctl.log}
  policy=$(lab_policy_file)
  (cd "$REPO_DIR" && "$SEGCTL" policy check "$policy" >/dev/null) || lab_die "$policy does not validate"
  (cd "$REPO_DIR" && lab_start_daemon segctl "$log" \
    "$LAB_DIR/tools/in-ns" "$LAB_NS_CONTROLLER" "$SEGCTL" run --policy "$policy")
  lab_wait_for 60 "segctl's management listener" lab_in "$LAB_NS_CONTROLLER" \
    curl -fsS -o /dev/null "http://$LAB_MANAGEMENT_INNER/healthz"
}

# lab_segctl_stop: stops segctl (SIGTERM, as systemd would) and waits for it to exit.
lab_segctl_stop() {
  local pid i
  pid=$(cat "$LAB_STATE/pids/segctl.pid")
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

# lab_agent_request CLIENT N [HOST]: one HTTPS request from an agent through the proxy to HOST (its
# own client's system by default). Prints "CODE" or "refused (curl's error)".
lab_agent_request() {
  local client=$1 n=$2 host=${3:-} out
  [ -n "$host" ] || host=$(lab_client_host "$client")
  if out=$(lab_in "$(lab_agent_ns "$client" "$n")" curl -sS -m 5 --cacert "$LAB_STATE/pki/ca.crt" \
    --resolve "$host:$LAB_PROXY_PORT:$LAB_PROXY_ADDRESS" -o /dev/null -w '%{http_code}' \
    "https://$host:$LAB_PROXY_PORT/cases/$RANDOM" 2>"$LAB_STATE/curl.err"); then
    printf '%s' "$out"
  else
    # "curl: (7) Failed to connect to … after 0 ms: Couldn't connect to server" → "refused (7: Couldn't connect to server)"
    sed -n 's/^curl: (\([0-9]*\)) .*: \([^:]*\)$/refused (\1: \2)/p; s/^curl: (\([0-9]*\)) \([^:]*\)$/refused (\1: \2)/p' "$LAB_STATE/curl.err" | head -1
  fi
}

lab_client_line() {
  local line
  for line in "${LAB_CLIENTS[@]}"; do
    if [ "$(lab_client_field "$line" 1)" = "$1" ]; then printf '%s' "$line"; return 0; fi
  done
  lab_die "no client $1 in the lab topology"
}
lab_client_host() { lab_client_field "$(lab_client_line "$1")" 4; }

# lab_agents_start: every agent works: a request through the proxy every second or so, logged with its
# time and outcome (the mirror of this traffic is what keeps the SPAN port from falling silent).
lab_agents_start() {
  local line id n host
  for line in "${LAB_CLIENTS[@]}"; do
    id=$(lab_client_field "$line" 1); host=$(lab_client_field "$line" 4)
    for ((n = 1; n <= LAB_AGENTS_PER_CLIENT; n++)); do
      lab_start_daemon "agent-$id-$n" "$LAB_STATE/agent-$id-$n.log" ip netns exec "$(lab_agent_ns "$id" "$n")" bash -c '
        while :; do
          code=$(curl -sS -m 5 --cacert "$0" --resolve "$1:$2:$3" -o /dev/null -w "%{http_code}" "https://$1:$2/work" 2>/dev/null) || code=refused
          printf "%s %s\n" "$(date +%s.%N)" "$code"
          sleep 0.$((RANDOM % 5 + 5))
        done' "$LAB_STATE/pki/ca.crt" "$host" "$LAB_PROXY_PORT" "$LAB_PROXY_ADDRESS"
    done
  done
}

# lab_json FILE EXPRESSION: evaluate a Python expression over the JSON document in FILE (as `d`).
lab_json() { "$LAB_PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); r=eval(sys.argv[2]); print(r if isinstance(r,str) else json.dumps(r))' "$1" "$2"; }

lab_status_json() { lab_segctl LAB_VIEWER_KEY status --json >"$LAB_STATE/status.json" 2>/dev/null || true; }

lab_ports_of() { # CLIENT: the switch ports of the client's agents
  local port n; port=$(lab_client_field "$(lab_client_line "$1")" 6)
  for ((n = 0; n < LAB_AGENTS_PER_CLIENT; n++)); do printf 'swp%s ' $((port + n)); done
}

lab_scenario() {
  local line id n victim other t_leak deadline suspended incident

  lab_say "1. Agents at work: every request goes through segctl's proxy"
  lab_agents_start
  for line in "${LAB_CLIENTS[@]}"; do
    id=$(lab_client_field "$line" 1)
    lab_info "$(printf '%-11s agents → https://%-22s %s' "$id" "$(lab_client_field "$line" 4)" \
      "$(for ((n = 1; n <= LAB_AGENTS_PER_CLIENT; n++)); do printf '%s ' "$(lab_agent_request "$id" "$n")"; done)")"
  done
  sleep 3
  lab_status_json
  lab_info "segctl status:"
  lab_segctl LAB_VIEWER_KEY status | sed 's/^/     /' || true

  victim=assistring other=ibex
  local vline oline
  vline=$(lab_client_line $victim); oline=$(lab_client_line $other)
  lab_say "2. A leak: $victim's agent talks straight to an $other agent (802.1Q VLAN $(lab_client_field "$vline" 2))"
  lab_info "a forgotten inter-VLAN route puts $(lab_client_field "$vline" 3).11 → $(lab_client_field "$oline" 3).11:445 on the wire;"
  lab_info "the SPAN port sees it (tcpreplay onto $LAB_SPAN_SWITCH_SIDE in $LAB_NS_SWITCH)"
  "$LAB_PYTHON" "$LAB_DIR/tools/leak.py" "$LAB_STATE/leak.pcap" \
    "$(lab_agent_mac "$(lab_client_field "$vline" 2)" 1)" "$(lab_client_field "$vline" 3).11" \
    "$(lab_agent_mac "$(lab_client_field "$oline" 2)" 1)" "$(lab_client_field "$oline" 3).11" "$(lab_client_field "$vline" 2)"
  t_leak=$(date +%s.%N)
  lab_in "$LAB_NS_SWITCH" tcpreplay -q -i "$LAB_SPAN_SWITCH_SIDE" "$LAB_STATE/leak.pcap" >/dev/null 2>&1 \
    || lab_die "tcpreplay could not inject the leak"

  deadline=$((SECONDS + 30))
  until lab_status_json && [ "$(lab_json "$LAB_STATE/status.json" "str(sum(c['state']=='suspended' for c in d['clients']))")" -ge 1 ]; do
    [ $SECONDS -lt $deadline ] || lab_die "segctl did not suspend anyone within 30 s of the leak (see $LAB_STATE/segctl.log)"
    sleep 0.1
  done
  sleep 2   # let the trip's last stages (ports, webhooks) finish before reading them back
  lab_status_json
  suspended=$(lab_json "$LAB_STATE/status.json" "' '.join(c['id'] for c in d['clients'] if c['state']=='suspended')")

  lab_say "3. segctl's answer"
  lab_json "$LAB_STATE/status.json" "'\n'.join(sorted({'   finding: %s (%s) %s' % (f['rule'], f['severity'], f.get('summary', '')) for c in d['clients'] for f in c['recent_findings'] if f['rule'] in ('cross-client-flow','vlan-subnet-mismatch')}))"
  lab_segctl LAB_VIEWER_KEY incidents --json >"$LAB_STATE/incidents.json" 2>/dev/null || true
  incident=$(lab_json "$LAB_STATE/incidents.json" "next((i['id'] for i in d['incidents'] if '$victim' in i['clients']), '')")
  lab_info "incident $incident: $(lab_json "$LAB_STATE/incidents.json" "next((i['nature'] + '; detected ' + i['detected_at'] + ', notice due by ' + i['notice_due_at'] for i in d['incidents'] if i['id']=='$incident'), '')")"
  for id in $suspended; do
    lab_info "$id suspended ($(lab_json "$LAB_STATE/status.json" "next(c['suspension']['trigger'] + ', ' + c['suspension'].get('rule','') for c in d['clients'] if c['id']=='$id')")); kill-switch stages:"
    lab_json "$LAB_STATE/status.json" "'\n'.join('     %-22s %9.3f ms  %s' % (s['stage'], s['seconds']*1000, 'ok' if s['succeeded'] else 'FAILED ' + s.get('detail','')) for c in d['clients'] if c['id']=='$id' for s in c['suspension']['stages'])"
  done
  local detect_ms
  detect_ms=$(lab_json "$LAB_STATE/status.json" "'%.0f' % ((__import__('datetime').datetime.fromisoformat(next(c['suspension']['tripped_at'] for c in d['clients'] if c['id']=='$victim').replace('Z','+00:00')).timestamp() - $t_leak) * 1000)")
  lab_info "from the leak on the wire to the trip: $detect_ms ms"

  lab_say "4. Checked from outside segctl"
  sleep 1
  local refused_line port_line
  for ((n = 1; n <= LAB_AGENTS_PER_CLIENT; n++)); do refused_line+="$(lab_agent_request $victim "$n"); "; done
  lab_info "$victim's agents now: $refused_line"
  lab_info "northwind's agents (untouched): $(for ((n = 1; n <= LAB_AGENTS_PER_CLIENT; n++)); do printf '%s ' "$(lab_agent_request northwind "$n")"; done)"
  for port in $(lab_ports_of $victim); do port_line+="$port $(lab_port_oper_status "$port"); "; done
  lab_info "the switch (net-snmp snmpget, ifOperStatus): $port_line"
  lab_info "and the kernel: $(for port in $(lab_ports_of $victim); do ip -n "$LAB_NS_SWITCH" -o link show "$port" | grep -o 'state [A-Z]*' | sed "s/^/$port /"; done | paste -sd' ')"
  sleep 2
  local tripped_epoch acked_epoch seen_after seen_persisting notices
  # The trip is acknowledged once it is durable and the proxy's local stages (gate, requests in flight,
  # pooled upstream connections) have run; from then on nothing may pass.
  tripped_epoch=$(lab_json "$LAB_STATE/status.json" "str(__import__('datetime').datetime.fromisoformat(next(c['suspension']['tripped_at'] for c in d['clients'] if c['id']=='$victim').replace('Z','+00:00')).timestamp())")
  acked_epoch=$(lab_json "$LAB_STATE/status.json" "str($tripped_epoch + sum(s['seconds'] for c in d['clients'] if c['id']=='$victim' for s in c['suspension']['stages'] if s['stage'] in ('persist', 'gate', 'inflight', 'upstream-pool')))")
  seen_after=$("$LAB_PYTHON" -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if l.strip() and json.loads(l)["t"] > float(sys.argv[2])))' "$LAB_STATE/upstream-$victim.jsonl" "$acked_epoch")
  seen_persisting=$("$LAB_PYTHON" -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if l.strip() and float(sys.argv[2]) < json.loads(l)["t"] <= float(sys.argv[3])))' "$LAB_STATE/upstream-$victim.jsonl" "$tripped_epoch" "$acked_epoch")
  lab_info "requests $victim's CRM received after the trip was acknowledged: $seen_after"
  lab_info "(between the trip and its acknowledgement: $seen_persisting)"
  notices=$("$LAB_PYTHON" -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if l.strip() and json.loads(l)["path"] == "/notice/" + sys.argv[2] and json.loads(l).get("signature_valid")))' "$LAB_STATE/soc.jsonl" "$victim")
  lab_info "signed incident notices the $victim SOC received: $notices"
  cp "$LAB_STATE/status.json" "$LAB_STATE/status-tripped.json"

  lab_say "5. segctl restarts while $victim is suspended; meanwhile someone brings swp1 back up"
  local port_while_down port_after_restart state_after_restart
  lab_segctl_stop
  ip -n "$LAB_NS_SWITCH" link set swp1 up
  deadline=$((SECONDS + 15))   # snmpd caches its interface table for a few seconds
  until [ "$(lab_port_oper_status swp1)" = up ] || [ $SECONDS -ge $deadline ]; do sleep 0.5; done
  port_while_down=$(lab_port_oper_status swp1)
  lab_info "segctl stopped; swp1 brought up by hand: the switch says $port_while_down ($(ip -n "$LAB_NS_SWITCH" -o link show swp1 | grep -o 'state [A-Z]*'))"
  lab_segctl_start "$LAB_STATE/segctl-restarted.log"
  deadline=$((SECONDS + 20))
  until [ "$(lab_port_oper_status swp1)" = down ] || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
  port_after_restart=$(lab_port_oper_status swp1)
  lab_status_json
  state_after_restart=$(lab_json "$LAB_STATE/status.json" "next(c['state'] for c in d['clients'] if c['id']=='$victim')")
  lab_info "segctl started again: $victim $state_after_restart; swp1 $port_after_restart again ($(ip -n "$LAB_NS_SWITCH" -o link show swp1 | grep -o 'state [A-Z]*'))"
  grep -h 'shut again' "$LAB_STATE/segctl-restarted.log" | sed 's/^.*\] Suspension/   segctl: suspension/' | head -1 || true

  lab_say "6. The auditor's view: an audit over the window that holds the leak, then one after it"
  local audit_failed audit_passed
  lab_segctl LAB_AUDITOR_KEY audit run --json >"$LAB_STATE/audit-1.json" 2>/dev/null || true
  audit_failed=$(lab_json "$LAB_STATE/audit-1.json" "d['id'] + ' ' + d['result']")
  lab_info "audit ${audit_failed% *}: ${audit_failed#* }"
  lab_json "$LAB_STATE/audit-1.json" "'\n'.join('     %-11s %-13s %s' % (c['client'], c['outcome'], '; '.join(x['name'] if isinstance(x, dict) else str(x) for x in c['failing_checks'] + c['missing_evidence'])) for c in d['clients'])"
  lab_info "(a failed audit suspends its clients; assistring and ibex already are, and stay so)"
  lab_segctl LAB_AUDITOR_KEY audit run --json >"$LAB_STATE/audit-2.json" 2>/dev/null || true
  audit_passed=$(lab_json "$LAB_STATE/audit-2.json" "d['id'] + ' ' + d['result']")
  lab_info "audit ${audit_passed% *}, evidence since the first: ${audit_passed#* }"
  lab_json "$LAB_STATE/audit-2.json" "'\n'.join('     %-11s %-13s %s' % (c['client'], c['outcome'], '; '.join(x['name'] if isinstance(x, dict) else str(x) for x in c['failing_checks'] + c['missing_evidence'])) for c in d['clients'])"

  lab_say "7. The restore: an operator asks, a second approver agrees"
  local restore_ids=""
  for id in $suspended; do
    local rid
    rid=$(lab_json "$LAB_STATE/status.json" "next(c['suspension']['id'] for c in d['clients'] if c['id']=='$id')")
    lab_segctl LAB_APPROVER1_KEY restore "$id" --reason "lab: inter-VLAN route removed, leak contained" | sed 's/^/   approver 1: /' || true
    lab_segctl LAB_APPROVER2_KEY approve "$rid" --reason "lab: checked the route table and the capture" | sed 's/^/   approver 2: /' \
      || lab_die "the second approval of $id's restore failed"
    restore_ids+="$rid "
  done
  # The restore brings the ports up one after another: wait for every one of them, not the first alone.
  deadline=$((SECONDS + 20))
  local port all_up
  while :; do
    all_up=1
    for port in $(lab_ports_of $victim); do
      [ "$(lab_port_oper_status "$port")" = up ] || { all_up=0; break; }
    done
    if [ $all_up = 1 ] || [ $SECONDS -ge $deadline ]; then break; fi
    sleep 0.2
  done
  local restored_ports="" restored_agents=""
  for port in $(lab_ports_of $victim); do restored_ports+="$port $(lab_port_oper_status "$port"); "; done
  deadline=$((SECONDS + 15))
  until [ "$(lab_agent_request $victim 1)" = 200 ] || [ $SECONDS -ge $deadline ]; do sleep 0.3; done
  for ((n = 1; n <= LAB_AGENTS_PER_CLIENT; n++)); do restored_agents+="$(lab_agent_request $victim "$n") "; done
  lab_info "switch ports: $restored_ports"
  lab_info "$victim's agents: $restored_agents"
  lab_status_json

  VICTIM=$victim SUSPENDED=$suspended INCIDENT=$incident T_LEAK=$t_leak DETECT_MS=$detect_ms SEEN_AFTER=$seen_after SEEN_PERSISTING=$seen_persisting \
    REFUSED=$refused_line PORTS_TRIPPED=$port_line NOTICES=$notices RESTORE_IDS=$restore_ids \
    PORTS_RESTORED=$restored_ports AGENTS_RESTORED=$restored_agents AUDIT_FAILED=$audit_failed AUDIT_PASSED=$audit_passed \
    PORT_WHILE_DOWN=$port_while_down PORT_AFTER_RESTART=$port_after_restart STATE_AFTER_RESTART=$state_after_restart \
    "$LAB_PYTHON" - "$LAB_STATE/status-tripped.json" "$LAB_STATE/status.json" "$LAB_OUT/scenario.json" <<'PY'
import json, os, sys
tripped, after, out = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
e = os.environ
victim = next(c for c in tripped["clients"] if c["id"] == e["VICTIM"])
pairs = lambda text: dict(p.split(" ", 1) for p in text.strip("; ").split("; ") if p)
doc = {
    "client": e["VICTIM"],
    "suspended_clients": e["SUSPENDED"].split(),
    "incident_id": e["INCIDENT"],
    "leak_injected_at": float(e["T_LEAK"]),
    "tripped_at": victim["suspension"]["tripped_at"],
    "trigger": victim["suspension"]["trigger"],
    "rule": victim["suspension"].get("rule"),
    "leak_to_trip_ms": float(e["DETECT_MS"]),
    "stages": [{"stage": s["stage"], "seconds": s["seconds"], "succeeded": s["succeeded"]} for s in victim["suspension"]["stages"]],
    "upstream_requests_after_ack": int(e["SEEN_AFTER"]),
    "upstream_requests_before_ack": int(e["SEEN_PERSISTING"]),
    "agents_after_trip": [a for a in e["REFUSED"].strip("; ").split("; ") if a],
    "port_oper_status_after_trip": pairs(e["PORTS_TRIPPED"]),
    "signed_notices_received": int(e["NOTICES"]),
    "restart": {"port_brought_up_while_down": e["PORT_WHILE_DOWN"], "port_after_restart": e["PORT_AFTER_RESTART"], "client_state_after_restart": e["STATE_AFTER_RESTART"]},
    "audit_over_the_leak": dict(zip(("id", "result"), e["AUDIT_FAILED"].split())),
    "audit_after_the_leak": dict(zip(("id", "result"), e["AUDIT_PASSED"].split())),
    "restore_ids": e["RESTORE_IDS"].split(),
    "port_oper_status_after_restore": pairs(e["PORTS_RESTORED"]),
    "agents_after_restore": e["AGENTS_RESTORED"].split(),
    "state_after_restore": {c["id"]: c["state"] for c in after["clients"]},
}
with open(out, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
PY
  lab_info "outcome written to $LAB_OUT/scenario.json"
}
