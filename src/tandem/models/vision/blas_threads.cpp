#include "tandem/models/vision/blas_threads.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>

#include <string>

namespace tandem::models::vision {
namespace {

template <typename Fn>
Fn lookup(const char* name) {
  // RTLD_DEFAULT: the libraries already loaded (dlib brought libblas.so.3 and, behind it,
  // OpenBLAS).
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

}  // namespace

std::string blas_description() {
  const auto config = lookup<char* (*)()>("openblas_get_config");
  if (config == nullptr) return "not OpenBLAS (reference BLAS?)";
  return std::string("OpenBLAS ") + config() + ", " + blas_core() + " kernels, " +
         std::to_string(blas_threads()) + " threads";
}

int blas_threads() {
  const auto get = lookup<int (*)()>("openblas_get_num_threads");
  return get == nullptr ? 0 : get();
}

int set_blas_threads(int threads) {
  const auto set = lookup<void (*)(int)>("openblas_set_num_threads");
  if (set == nullptr) return 0;
  const int previous = blas_threads();
  set(threads < 1 ? 1 : threads);
  return previous;
}

std::string blas_core() {
  const auto core = lookup<char* (*)()>("openblas_get_corename");
  return core == nullptr ? std::string() : std::string(core());
}

std::string better_openblas_core() {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return {};
  const std::string core = blas_core();
  // The generic fall-backs of OpenBLAS's DYNAMIC_ARCH x86-64 builds.
  if (core != "Prescott" && core != "Core2" && core != "Nehalem" && core != "Sandybridge") {
    return {};
  }
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) {
    return "SkylakeX";
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    return "Haswell";
  }
  return {};
}

void reexec_for_openblas_core(char** argv) {
  const std::string core = better_openblas_core();
  if (core.empty() || argv == nullptr || argv[0] == nullptr) return;
  setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
  execv("/proc/self/exe", argv);
  unsetenv("OPENBLAS_CORETYPE");  // the exec failed: go on as we are
}

}  // namespace tandem::models::vision
