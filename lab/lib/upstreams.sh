# shellcheck shell=bash
# The clients' systems (sourced after common.sh and topology.sh): one HTTPS server per client in its
# own namespace, logging every request to $LAB_STATE/upstream-<client>.jsonl.

lab_upstreams_start() {
  local line id address
  for line in "${LAB_CLIENTS[@]}"; do
    id=$(lab_client_field "$line" 1); address=$(lab_client_field "$line" 5)
    : >"$LAB_STATE/upstream-$id.jsonl"
    lab_start_daemon "upstream-$id" "$LAB_STATE/upstream-$id.err" \
      ip netns exec "$(lab_upstream_ns "$id")" "$LAB_PYTHON" "$LAB_DIR/tools/upstream.py" "$id" "$address" \
      "$LAB_UPSTREAM_PORT" "$LAB_STATE/pki/upstream-$id.crt" "$LAB_STATE/pki/upstream-$id.key" "$LAB_STATE/upstream-$id.jsonl"
  done
  : >"$LAB_STATE/soc.jsonl"
  lab_start_daemon soc "$LAB_STATE/soc.err" ip netns exec "$LAB_NS_PREFIX-soc" "$LAB_PYTHON" "$LAB_DIR/tools/upstream.py" \
    soc "$LAB_SOC_ADDRESS" "$LAB_UPSTREAM_PORT" "$LAB_STATE/pki/soc.crt" "$LAB_STATE/pki/soc.key" "$LAB_STATE/soc.jsonl"
  lab_wait_for 15 "the SOC receiver" lab_in "$LAB_NS_CONTROLLER" bash -c "exec 3<>/dev/tcp/$LAB_SOC_ADDRESS/$LAB_UPSTREAM_PORT"
  for line in "${LAB_CLIENTS[@]}"; do
    id=$(lab_client_field "$line" 1); address=$(lab_client_field "$line" 5)
    lab_wait_for 15 "the $id upstream" lab_in "$LAB_NS_CONTROLLER" bash -c "exec 3<>/dev/tcp/$address/$LAB_UPSTREAM_PORT"
  done
}
