#!/usr/bin/env bash
# Runs an independent KSeF 2.0 client, the `ksef2` Python SDK from PyPI (pinned), against the
# simulator binary over HTTPS: token auth, online session, duplicate, batch, UPOs, downloads, query.
# Fails on any mismatch; the simulator is stopped on exit whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

KSEF2_VERSION=1.1.0
# The official FA(3) samples (seller NIP 9999999999) live in shared/, beside the repository in CI.
EXAMPLES=${KSEF_EXAMPLES:-}
for dir in "$EXAMPLES" ../shared/ksef/examples /work/shared/ksef/examples; do
  [[ -n "$dir" && -f "$dir/FA_3_Przykład_1.xml" ]] && EXAMPLES=$dir && break
done
[[ -f "$EXAMPLES/FA_3_Przykład_1.xml" ]] || { echo "FAIL: official FA(3) samples not found" >&2; exit 1; }

# ksef2 needs Python >= 3.12; the machine's default python3 may be older (pyenv keeps others).
py=""
for cand in python3.13 python3.12 python3 "$(pyenv root 2>/dev/null || echo /nonexistent)"/versions/3.1[2-9]*/bin/python3; do
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
    py=$cand && break
  fi
done
[[ -n "$py" ]] || { echo "FAIL: no Python >= 3.12 for ksef2" >&2; exit 1; }

work=$(mktemp -d)
venv=${KSEF2_VENV:-${TMPDIR:-/tmp}/ksef2-venv-$KSEF2_VERSION}
sim_pid=""
cleanup() {
  if [[ -n "$sim_pid" ]] && kill -0 "$sim_pid" 2>/dev/null; then
    kill "$sim_pid" && wait "$sim_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if ! "$venv/bin/python" -c "import importlib.metadata as m; assert m.version('ksef2') == '$KSEF2_VERSION'" 2>/dev/null; then
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "ksef2==$KSEF2_VERSION"
fi

bin=${KSEF_GATEWAY_BIN:-${CARGO_TARGET_DIR:-target}/debug/ksef-gateway}
[[ -x "$bin" ]] || cargo build -p ksef-gateway --bin ksef-gateway

port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
nip=9999999999
token="20261201-EC-3A1B2C3D4E-5F60718293-A4|nip-$nip|$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
# Pre-signed links on the environment's host, as KSeF gives them; the client dials the simulator for it.
"$bin" simulator --listen "127.0.0.1:$port" --tls --cert-out "$work/sim.der" \
  --public-url https://api-test.ksef.mf.gov.pl --processing-delay-ms 300 \
  --token "$nip:$token:InvoiceWrite,InvoiceRead" >"$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do
  grep -q "listening" "$work/sim.log" 2>/dev/null && break
  kill -0 "$sim_pid" 2>/dev/null || { cat "$work/sim.log" >&2; echo "FAIL: simulator exited" >&2; exit 1; }
  sleep 0.1
done
grep -q "listening" "$work/sim.log" || { cat "$work/sim.log" >&2; echo "FAIL: simulator did not start" >&2; exit 1; }
"$venv/bin/python" -c 'import ssl, sys; open(sys.argv[2], "w").write(ssl.DER_cert_to_PEM_cert(open(sys.argv[1], "rb").read()))' \
  "$work/sim.der" "$work/sim.pem"

if ! timeout 120 "$venv/bin/python" crates/ksef-simulator/third_party/ksef2_flows.py \
  --sim "https://localhost:$port" --ca "$work/sim.pem" --token "$token" --examples "$EXAMPLES"; then
  echo "---- simulator log ----" >&2
  tail -n 50 "$work/sim.log" >&2
  echo "FAIL: ksef2 $KSEF2_VERSION against the simulator" >&2
  exit 1
fi
