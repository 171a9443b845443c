#!/usr/bin/env bash
# Runs every test of SegmentController, as CI does (as root): installs the Debian packages the tests
# need when they are missing (tests/apt-packages.txt), restores NuGet packages, builds the solution in
# Release with warnings as errors, runs every test project, and prints one summary line. For each
# failed test it prints the message and the stack frames with file:line; the full console log and a
# trx file per project are in artifacts/test-results.
# Exit status: 0 when every test passed, non-zero otherwise.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
results="$repo/artifacts/test-results"

log() { printf '==> %s\n' "$*"; }

install_packages() {
  local wanted=() missing=() pkg
  mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' tests/apt-packages.txt | grep -v '^$')
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    log "Debian packages: all ${#wanted[@]} present"
    return
  fi
  log "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

require_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "tests/run.sh: run as root (CI does): it installs missing Debian packages, and the tests create network namespaces, capture on interfaces and run the lab" >&2
    exit 2
  fi
}

require_root
command -v dotnet >/dev/null || { echo "tests/run.sh: the .NET SDK (dotnet) is required; see README.md" >&2; exit 2; }
install_packages

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
log "Restoring NuGet packages"
dotnet restore SegmentController.sln --verbosity quiet
log "Building (Release, warnings as errors)"
dotnet build SegmentController.sln -c Release --no-restore --verbosity quiet -nologo -clp:NoSummary

rm -rf "$results"
mkdir -p "$results"
passed=0 failed=0 skipped=0 status=0
for project in tests/*/*.csproj; do
  name=$(basename "$project" .csproj)
  grep -q 'Microsoft.NET.Test.Sdk' "$project" || continue
  log "Testing $name"
  set +e
  dotnet test "$project" -c Release --no-build --nologo \
    --blame-hang-timeout 8m \
    --logger "console;verbosity=normal" \
    --logger "trx;LogFileName=$name.trx" \
    --results-directory "$results" 2>&1 | tee "$results/$name.log" | awk -f tests/explain-failures.awk
  code=${PIPESTATUS[0]}
  set -e
  # The trx results file carries the counts whatever the console logger's verbosity.
  trx="$results/$name.trx"
  counters=$(grep -o '<Counters [^>]*>' "$trx" 2>/dev/null | head -n 1 || true)
  if [ -z "$counters" ]; then
    echo "tests/run.sh: $name produced no test results (exit $code)" >&2
    status=1
    continue
  fi
  count() { sed -E "s/.* $1=\"([0-9]+)\".*/\1/" <<<"$counters"; }
  total=$(count total) p=$(count passed) executed=$(count executed)
  f=$(( $(count failed) + $(count error) + $(count timeout) + $(count aborted) ))
  s=$((total - executed))
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
  echo "    $name: $p passed, $f failed, $s skipped"
  [ "$code" -eq 0 ] || status=1
done

echo
if [ "$skipped" -ne 0 ]; then
  echo "tests/run.sh: $skipped test(s) skipped; skipped tests are defects here" >&2
  status=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] || status=1
exit "$status"
