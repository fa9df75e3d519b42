#!/usr/bin/env bash
# Builds what Azure runs: dist/resume-handler.zip, a Functions app root with host.json, one
# folder per function (function.json only) and the release binary `resume-handler` (0755).
#
# The binary must run on the Functions Linux image without needing a newer glibc than it
# has, so it is linked against glibc 2.28 with cargo-zigbuild and the zig toolchain, both
# installed from PyPI into target/package-venv (no network needed beyond the registries).
# With a musl target installed (rustup target add x86_64-unknown-linux-musl), a static
# binary works too: PACKAGE_TARGET=x86_64-unknown-linux-musl infra/package.sh.
#
# Usage: infra/package.sh            → dist/resume-handler.zip (and dist/app/, for azd)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

BIN=resume-handler
TARGET=${PACKAGE_TARGET:-x86_64-unknown-linux-gnu.2.28}
target_dir=${CARGO_TARGET_DIR:-$root/target}
dist=$root/dist
app=$dist/app
zip=$dist/$BIN.zip

if [[ "$TARGET" == *musl* ]]; then
  cargo build --release --locked -p resume-handler --bin "$BIN" --target "$TARGET"
  built=$target_dir/$TARGET/release/$BIN
else
  venv=$target_dir/package-venv
  if [ ! -x "$venv/bin/cargo-zigbuild" ] || ! "$venv/bin/python3" -c 'import ziglang' 2>/dev/null; then
    echo "installing cargo-zigbuild and ziglang into $venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q cargo-zigbuild ziglang
  fi
  PATH="$venv/bin:$PATH" cargo zigbuild --release --locked -p resume-handler --bin "$BIN" --target "$TARGET"
  # cargo-zigbuild drops the glibc suffix from the output folder.
  built=$target_dir/${TARGET%%.*}/release/$BIN
fi

rm -rf "$app" "$zip"
mkdir -p "$app"
cp host.json "$app/"
for function_json in */function.json; do
  function=$(dirname "$function_json")
  mkdir -p "$app/$function"
  cp "$function_json" "$app/$function/"
done
install -m 0755 "$built" "$app/$BIN"

# Zip with the executable bit kept (zip from Python: the zip tool is not everywhere).
python3 - "$app" "$zip" "$BIN" <<'PY'
import os, sys, zipfile
app, out, binary = sys.argv[1:]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for folder, _, files in sorted(os.walk(app)):
        for name in sorted(files):
            path = os.path.join(folder, name)
            info = zipfile.ZipInfo.from_file(path, os.path.relpath(path, app))
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as f:
                z.writestr(info, f.read())
# Check what was written: an app root whose executable is host.json's.
import json
with zipfile.ZipFile(out) as z:
    names = set(z.namelist())
    host = json.loads(z.read("host.json"))
    exe = host["customHandler"]["description"]["defaultExecutablePath"]
    assert exe == binary and exe in names, f"host.json runs {exe!r}, the zip holds {sorted(names)}"
    assert (z.getinfo(exe).external_attr >> 16) & 0o777 == 0o755, "the executable lost its mode"
    functions = sorted(n.split("/")[0] for n in names if n.endswith("/function.json"))
    unexpected = [n for n in names if n not in {"host.json", exe} and not n.endswith("/function.json")]
    assert not unexpected, f"unexpected files in the package: {unexpected}"
    print(f"{out}: host.json, {exe} (0755), {len(functions)} functions: {', '.join(functions)}")
PY
