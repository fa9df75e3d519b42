#!/usr/bin/env bash
# Microsoft's Python Graph SDK (msgraph-sdk, azure-identity) against the emulator, with
# nothing changed but the base URL. Installs the SDK into target/sdk-check-venv.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$root/target}
venv=$target_dir/sdk-check-venv
if ! "$venv/bin/python3" -c 'import msgraph, azure.identity' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/python3" -m pip install -q msgraph-sdk==1.65.0 azure-identity==1.27.0
fi
cargo build --locked -q -p graph-emulator
emulator=$target_dir/debug/graph-emulator
spec="workflows=3,tasks=3,customTasks=2,users=8,inProgress=0.5,requests=4,seed=4"
seed=$(mktemp)
"$emulator" --generate "$spec" --print-seed > "$seed"
port_file=$(mktemp)
"$emulator" --port 0 --seed "$seed" --page-size 2 > "$port_file" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$seed" "$port_file"' EXIT
for _ in $(seq 100); do grep -q listening "$port_file" && break; sleep 0.05; done
url=$(awk '{print $NF}' "$port_file")
IDENTITY_ENDPOINT="$url/msi/token" IDENTITY_HEADER=local-dev \
  "$venv/bin/python3" "$root/emulator/sdk-check/check.py" "$url" "$seed" 2> >(grep -v -e '^Unclosed' -e 'client_session' -e 'connector' >&2)
