# shellcheck shell=bash
# The lab CA and its certificates (sourced after common.sh): openssl, ECDSA P-256, under $LAB_STATE/pki.
#   ca.crt/ca.key                the lab CA (agents and the proxy trust it)
#   proxy.crt/proxy.key          what agents see at https://10.99.0.1:8443 (SANs: the proxy address and every upstream host)
#   upstream-<client>.crt/.key   each client's system (SANs: its host name and address)
#   soc.crt/soc.key              the clients' SOC webhook receiver

lab_pki_issue() { # name subject-cn san
  local dir=$1 name=$2 cn=$3 san=$4
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "/O=SegmentController lab/CN=$cn" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n' "$san" >"$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null
  rm -f "$dir/$name.csr" "$dir/$name.ext"
  chmod 600 "$dir/$name.key"
}

lab_pki_create() {
  local dir=$LAB_STATE/pki line id host address hosts=""
  mkdir -p "$dir"
  chmod 700 "$dir"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -sha256 \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" -subj "/O=SegmentController lab/CN=SegmentController lab CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  chmod 600 "$dir/ca.key"
  for line in "${LAB_CLIENTS[@]}"; do
    id=$(lab_client_field "$line" 1); host=$(lab_client_field "$line" 4); address=$(lab_client_field "$line" 5)
    hosts+=",DNS:$host"
    lab_pki_issue "$dir" "upstream-$id" "$host" "DNS:$host,IP:$address"
  done
  lab_pki_issue "$dir" soc "soc.lab" "DNS:soc.lab,IP:$LAB_SOC_ADDRESS"
  lab_pki_issue "$dir" proxy "segctl proxy (lab)" "IP:$LAB_PROXY_ADDRESS$hosts"
}
