#!/usr/bin/env bash
# deploy/deps.sh — install the Debian packages Sensory needs to build, test and
# benchmark. Idempotent: asks dpkg what is missing, runs apt-get (update +
# install) only then, and prints one summary line. Root, or sudo when present.
# Extra packages: SENSORY_EXTRA_PACKAGES="pkg1 pkg2" deploy/deps.sh
set -euo pipefail

packages=(
  # build, and the format check of the test run
  build-essential cmake pkg-config git clang-format
  librdkafka-dev libjansson-dev libyaml-dev libssl-dev libcurl4-openssl-dev
  libhiredis-dev libpq-dev libmicrohttpd-dev libpcre2-dev libcmocka-dev
  # local stack and integration tests (runuser/setpriv come with util-linux)
  redis-server redis-tools postgresql-15 postgresql-client-15 kcat util-linux curl
  # test helpers and schema checks: always run with /usr/bin/python3
  python3 python3-confluent-kafka python3-jsonschema python3-yaml
  # snowflake-sink's SQL API contract server verifies key-pair JWTs
  python3-cryptography
  # embedder: BLAS for the model
  libopenblas-dev
  # promtool: the monitoring rules' PromQL and alert tests (tests/integration/metrics_rules.sh)
  prometheus
  # fuzzing (tests/fuzz, the "fuzz" test label): clang with its libFuzzer and
  # sanitizer runtimes (Debian 12 ships them in libclang-rt-14-dev, which clang
  # only recommends), llvm-symbolizer for readable crash traces, and LLVM's
  # OpenMP, which the embedder links when the tree is compiled by clang
  clang libclang-rt-14-dev llvm-14 libomp-14-dev
)
# Benchmark-only packages, with SENSORY_DEPS_BENCH=1, so the test run does not
# install what it never uses: PyTorch (~1 GB) for the embedder's peer and golden
# regeneration (the tests read committed goldens), wrk for the HTTP benchmarks,
# python3-requests for weaviate-sink's Python peer (the seed's client), FastAPI +
# uvicorn + redis-py for risk-svc's peer.
# A benchmark that needs only one of them asks for it alone:
# SENSORY_EXTRA_PACKAGES=wrk deploy/deps.sh
if [[ -n "${SENSORY_DEPS_BENCH:-}" ]]; then
  packages+=(python3-torch python3-numpy wrk python3-requests python3-fastapi python3-uvicorn
    python3-uvloop python3-httptools python3-redis)
fi
# shellcheck disable=SC2206
packages+=(${SENSORY_EXTRA_PACKAGES:-})

missing=()
for pkg in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
  [[ "$status" == "installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "deps: all ${#packages[@]} packages present"
  exit 0
fi

if ((EUID == 0)); then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "deps: missing ${missing[*]}; run as root or install sudo" >&2
  exit 1
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! "${as_root[@]}" apt-get update -qq >"$log" 2>&1 ||
  ! "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
  tail -n 20 "$log" >&2
  echo "deps: FAILED installing ${missing[*]}" >&2
  exit 1
fi
echo "deps: installed ${#missing[@]} of ${#packages[@]} packages: ${missing[*]}"
