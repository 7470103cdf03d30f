#!/usr/bin/env bash
# Installs what Tandem needs on Debian 12, idempotently: a second run only checks.
# Boost 1.81 is installed by name; the default libboost-dev (1.74) conflicts with it, so nothing
# here may pull the 1.74 dev packages in (python3-scipy via pythran would).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libtomlplusplus-dev libcli11-dev libre2-dev libgoogle-perftools-dev
  libgtest-dev libgmock-dev libbenchmark-dev libeigen3-dev zlib1g-dev libsqlite3-dev
  libfasttext-dev libdlib-dev libpng-dev libjpeg-dev libblas-dev liblapack-dev libopenblas0-pthread
  libhnswlib-dev
  nginx-light wrk curl ca-certificates openssl
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if dpkg-query -W -f='${Status}' libboost1.74-dev 2>/dev/null | grep -q "install ok installed"; then
  echo "setup: libboost1.74-dev is installed and conflicts with Boost 1.81; remove it" >&2
  exit 1
fi

# Node.js runs the end-to-end tests with the official openai client. Debian's nodejs is 18;
# machines that already have Node 20+ keep theirs (openai 6.30.1 supports both).
if ! command -v node >/dev/null 2>&1; then
  echo "setup: installing nodejs and npm"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm
fi

# llama.cpp's libraries, built once into a cache prefix outside the repository.
scripts/setup_llama.sh

if [[ ! -d tests/e2e/node_modules/openai ]]; then
  echo "setup: installing the end-to-end test client (npm ci)"
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
scripts/setup_data.sh  # the tailored models' data sets, into a cache (data/README.md)
echo "setup: ok"
