#!/usr/bin/env bash
# Builds llama.cpp's libraries once into a cache prefix outside the repository, idempotently.
#
# Debian 12 has no llama.cpp package. Its source ships inside the npm package
# node-llama-cpp@3.21.1 as llama/gitRelease.bundle (llama.cpp release v0.4.0); we clone that
# bundle and build the llama, ggml and common libraries with tools and examples off (~7 minutes on
# two cores). `--tools` also builds llama-bench, llama-batched-bench and llama-server from the same
# source, which only bench/local needs (~25 minutes more).
#
# The prefix holds include/ (llama.h, ggml headers, common/ headers and the vendored nlohmann
# json they include), lib/ (static libraries, including the two that `cmake --install` leaves
# out), share/vocab/ (the source tree's ggml-vocab-*.gguf files, from which test models take a
# real vocabulary), share/templates/ (real models' chat templates) and a stamp file written last,
# so an interrupted build is redone.
#
# A machine with llama.cpp installed system-wide can skip this: CMake looks for a system llama.h
# and libllama-common when no prefix exists (see cmake/LlamaCpp.cmake).
set -euo pipefail

VERSION=v0.4.0
NPM_PACKAGE=node-llama-cpp@3.21.1
CACHE=${TANDEM_CACHE:-$HOME/.cache/tandem}
PREFIX=${TANDEM_LLAMA_PREFIX:-$CACHE/llama.cpp-$VERSION}
WORK=${TANDEM_LLAMA_WORK:-$CACHE/llama.cpp-$VERSION-work}
JOBS=${JOBS:-$(nproc)}

want_tools=0
if [[ ${1:-} == --tools ]]; then want_tools=1; fi

# The x86 instruction sets ggml's CPU kernels are compiled for: AVX2/FMA/F16C always (llama.cpp's
# default without GGML_NATIVE), and AVX-512 (F/BW/VL/DQ/CD), VNNI, VBMI and BF16 where this CPU
# has them. VNNI's int8 dot products lift the compute-bound batched decode (several sequences per
# step) by about a sixth on the development machine, where one sequence is memory-bound anyway.
# Not -march=native: that would also turn on AMX, whose kernels in this llama.cpp release die
# with SIGILL in this VM (tile data is not enabled). A prefix records the flags it was built
# with, and is rebuilt when they differ (another CPU, or this list changed).
cpu_flags() {
  local have
  have=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
  # Every option set either way, so a reused build folder never keeps an old choice.
  local out="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
  local avx512=OFF vnni=OFF vbmi=OFF bf16=OFF avx_vnni=OFF
  if [[ $have == *" avx512f "* && $have == *" avx512bw "* && $have == *" avx512vl "* &&
    $have == *" avx512dq "* && $have == *" avx512cd "* ]]; then
    avx512=ON
    if [[ $have == *" avx512_vnni "* ]]; then vnni=ON; fi
    if [[ $have == *" avx512vbmi "* ]]; then vbmi=ON; fi
    if [[ $have == *" avx512_bf16 "* ]]; then bf16=ON; fi
  fi
  if [[ $have == *" avx_vnni "* ]]; then avx_vnni=ON; fi
  echo "$out -DGGML_AVX512=$avx512 -DGGML_AVX512_VNNI=$vnni -DGGML_AVX512_VBMI=$vbmi" \
    "-DGGML_AVX512_BF16=$bf16 -DGGML_AVX_VNNI=$avx_vnni"
}
CPU_FLAGS=$(cpu_flags)
STAMP="$VERSION $CPU_FLAGS"

fetch_source() {
  if [[ -f $WORK/src/include/llama.h ]]; then return; fi
  echo "setup-llama: fetching the llama.cpp $VERSION source from npm ($NPM_PACKAGE)"
  mkdir -p "$WORK"
  rm -rf "$WORK/package" "$WORK/src"
  (cd "$WORK" && npm pack --silent "$NPM_PACKAGE" >/dev/null)
  tar -xzf "$WORK"/node-llama-cpp-*.tgz -C "$WORK" package/llama/gitRelease.bundle \
    package/llama/binariesGithubRelease.json
  local release
  release=$(sed -n 's/.*"release": *"\([^"]*\)".*/\1/p' "$WORK/package/llama/binariesGithubRelease.json")
  if [[ $release != "$VERSION" ]]; then
    echo "setup-llama: $NPM_PACKAGE carries llama.cpp '$release', expected $VERSION" >&2
    exit 1
  fi
  git -c advice.detachedHead=false clone --quiet "$WORK/package/llama/gitRelease.bundle" "$WORK/src"
}

configure() {
  local build=$1 tools=$2
  cmake -S "$WORK/src" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$PREFIX" \
    -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    -DBUILD_SHARED_LIBS=OFF $CPU_FLAGS -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_COMMON=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_TOOLS="$tools" -DLLAMA_BUILD_SERVER="$tools" -DLLAMA_BUILD_APP=OFF \
    >"$build.configure.log"
}

build_libraries() {
  if [[ -f $PREFIX/.complete && $(cat "$PREFIX/.complete") == "$STAMP" ]]; then return; fi
  fetch_source
  echo "setup-llama: building llama.cpp $VERSION libraries into $PREFIX (about 7 minutes; $CPU_FLAGS)"
  local build=$WORK/build
  configure "$build" OFF
  cmake --build "$build" -j "$JOBS" --target llama llama-common >"$build.log"
  rm -rf "$PREFIX"
  cmake --install "$build" >"$build.install.log"
  # What `cmake --install` leaves out but a program using common/ needs.
  mkdir -p "$PREFIX/include/common" "$PREFIX/include/nlohmann" "$PREFIX/share/vocab"
  (cd "$WORK/src/common" && find . \( -name '*.h' -o -name '*.hpp' \) -exec cp --parents {} "$PREFIX/include/common/" \;)
  cp "$WORK/src/vendor/nlohmann/"*.hpp "$PREFIX/include/nlohmann/"
  cp "$build/common/libllama-common-base.a" "$PREFIX/lib/"
  cp "$build/vendor/cpp-httplib/libcpp-httplib.a" "$PREFIX/lib/"
  cp "$WORK/src/models/"ggml-vocab-*.gguf "$PREFIX/share/vocab/"
  mkdir -p "$PREFIX/share/templates"
  cp "$WORK/src/models/templates/"*.jinja "$PREFIX/share/templates/"
  echo "$STAMP" >"$PREFIX/.complete"
}

build_tools() {
  local tools=(llama-bench llama-batched-bench llama-server) tool missing=0
  for tool in "${tools[@]}"; do [[ -x $PREFIX/bin/$tool ]] || missing=1; done
  if ((!missing)); then return; fi
  fetch_source
  echo "setup-llama: building ${tools[*]} (about 25 minutes)"
  # The libraries' build folder, reconfigured with the tools on: the libraries' flags do not
  # change, so only the tools are compiled.
  local build=$WORK/build
  configure "$build" ON
  cmake --build "$build" -j "$JOBS" --target "${tools[@]}" >"$build.log"
  mkdir -p "$PREFIX/bin"
  for tool in "${tools[@]}"; do cp "$build/bin/$tool" "$PREFIX/bin/"; done
}

build_libraries
if ((want_tools)); then build_tools; fi
echo "setup-llama: ok ($PREFIX)"
