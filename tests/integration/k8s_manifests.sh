#!/usr/bin/env bash
# Offline validation of k8s/ (kustomize) and deploy/Dockerfile: renders every
# kustomization, validates against Kubernetes 1.30 / CRD schemas, applies the
# Sensory policy, checks generated KafkaTopics are current, checks the
# Dockerfile statically and proves the checks can fail (tests/fixtures/k8s-bad).
# No cluster, network or Docker engine needed. Closing line: "N passed, M failed".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export SENSORY_SOURCE_DIR=${SENSORY_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
export SENSORY_FIXTURES=${SENSORY_FIXTURES:-$SENSORY_SOURCE_DIR/tests/fixtures}
export SENSORY_BIN=${SENSORY_BIN:-$SENSORY_SOURCE_DIR/build/bin}
py=/usr/bin/python3

# Python deps from Debian, installed only when missing (idempotent).
if ! "$py" -c 'import yaml, jsonschema' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing python3-yaml python3-jsonschema" >&2
    apt-get install -y --no-install-recommends python3-yaml python3-jsonschema >/dev/null 2>&1 ||
      { apt-get update >/dev/null 2>&1 &&
        apt-get install -y --no-install-recommends python3-yaml python3-jsonschema >/dev/null 2>&1; }
  fi
  "$py" -c 'import yaml, jsonschema' || { echo "0 passed, 1 failed"; exit 1; }
fi

# Package-name checks need apt's lists; fetch them once if apt knows nothing.
if command -v apt-cache >/dev/null && ! apt-cache show librdkafka1 >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then apt-get update >/dev/null 2>&1 || true; fi
fi

exec "$py" "$SENSORY_SOURCE_DIR/tests/tools/k8s_validate.py" \
  --repo "$SENSORY_SOURCE_DIR" --bin "$SENSORY_BIN" --fixtures "$SENSORY_FIXTURES"
