# Finds llama.cpp's libraries (llama, ggml, common) and defines the target tandem::llama.
#
# Looked for, in order: TANDEM_LLAMA_PREFIX (a CMake or environment variable), the cache prefix
# scripts/setup_llama.sh builds ($HOME/.cache/tandem/llama.cpp-v0.4.0), then the system paths,
# where a distribution or `cmake --install` of llama.cpp may have put them. The common library is
# needed for chat templates, JSON-schema grammars and tool-call parsing; upstream installs do not
# ship it, so a system install must provide libllama-common and its headers too.
set(TANDEM_LLAMA_VERSION v0.4.0)
if(NOT TANDEM_LLAMA_PREFIX)
  if(DEFINED ENV{TANDEM_LLAMA_PREFIX})
    set(TANDEM_LLAMA_PREFIX $ENV{TANDEM_LLAMA_PREFIX})
  else()
    set(TANDEM_LLAMA_PREFIX $ENV{HOME}/.cache/tandem/llama.cpp-${TANDEM_LLAMA_VERSION})
  endif()
endif()

find_path(LLAMA_INCLUDE_DIR llama.h HINTS ${TANDEM_LLAMA_PREFIX}/include)
find_path(LLAMA_COMMON_INCLUDE_DIR common.h HINTS ${TANDEM_LLAMA_PREFIX}/include/common
          PATH_SUFFIXES common llama/common)
set(_tandem_llama_libs llama-common llama-common-base cpp-httplib llama ggml ggml-cpu ggml-base)
set(_tandem_llama_paths)
foreach(lib IN LISTS _tandem_llama_libs)
  find_library(LLAMA_LIB_${lib} NAMES ${lib} HINTS ${TANDEM_LLAMA_PREFIX}/lib)
  if(NOT LLAMA_LIB_${lib})
    message(FATAL_ERROR "llama.cpp: lib${lib} not found under ${TANDEM_LLAMA_PREFIX}/lib or the "
                        "system paths; run scripts/setup_llama.sh (make setup does)")
  endif()
  list(APPEND _tandem_llama_paths ${LLAMA_LIB_${lib}})
endforeach()
if(NOT LLAMA_INCLUDE_DIR OR NOT LLAMA_COMMON_INCLUDE_DIR)
  message(FATAL_ERROR "llama.cpp: headers not found under ${TANDEM_LLAMA_PREFIX}/include; "
                      "run scripts/setup_llama.sh (make setup does)")
endif()
find_package(OpenMP REQUIRED COMPONENTS CXX)

add_library(tandem_llama_external INTERFACE)
# SYSTEM: llama.cpp's headers are not held to our warning flags.
target_include_directories(tandem_llama_external SYSTEM INTERFACE ${LLAMA_INCLUDE_DIR}
                                                                  ${LLAMA_COMMON_INCLUDE_DIR})
# The static libraries depend on each other in this order; the group lets the linker resolve
# the few back references (common-base <-> common).
target_link_libraries(tandem_llama_external INTERFACE
  -Wl,--start-group ${_tandem_llama_paths} -Wl,--end-group
  OpenMP::OpenMP_CXX OpenSSL::SSL OpenSSL::Crypto Threads::Threads ${CMAKE_DL_LIBS})
add_library(tandem::llama ALIAS tandem_llama_external)

# The vocabularies test models are built from (ggml-vocab-*.gguf of the same source tree).
find_path(TANDEM_LLAMA_VOCAB_DIR ggml-vocab-qwen2.gguf
          HINTS ${TANDEM_LLAMA_PREFIX}/share/vocab ${LLAMA_INCLUDE_DIR}/../share/vocab)
message(STATUS "llama.cpp: ${LLAMA_INCLUDE_DIR}, vocabularies in ${TANDEM_LLAMA_VOCAB_DIR}")
