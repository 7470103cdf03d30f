#pragma once
// The BLAS that dlib's convolutions and fully connected layers run on, and its threads.
//
// dlib links the generic libblas.so.3; on Debian that is whatever the alternatives system points
// to: OpenBLAS (libopenblas0-pthread) here, or the slow reference BLAS. OpenBLAS keeps its own
// pool of threads (one per core by default) and splits a large matrix product across them. dlib's
// CPU layers add no threads of their own, so in training OpenBLAS's threads are the only
// parallelism. In serving, many server threads each run a small product at once, and OpenBLAS
// splitting each of them over its pool only makes them queue for it: use one BLAS thread there
// (blas_threads(1)) and let the server's threads be the parallelism. bench/vision/README.md has
// the measured figures.
//
// OpenBLAS picks its kernels for the CPU it finds when it is loaded. Debian 12's OpenBLAS
// (0.3.21) does not know this machine's CPU (family 6 model 207, an Emerald Rapids Xeon under a
// hypervisor) and falls back to its slowest kernels ("Prescott", SSE3): measured here, one
// image's classify() took 1.6 ms of CPU with them, 0.9 ms with "Haswell" (AVX2) and 0.5 ms with
// "SkylakeX" (AVX-512). The environment variable OPENBLAS_CORETYPE overrides the choice, but
// only before the library is loaded, i.e. before main(): reexec_for_openblas_core() below
// restarts the program with it set.
//
// OpenBLAS's functions are looked up at run time (dlsym), so this works, and says so, whichever
// BLAS is installed.
#include <string>

namespace tandem::models::vision {

// "OpenBLAS 0.3.21 ... (pthreads, 2 threads)" or "not OpenBLAS (reference BLAS?)".
std::string blas_description();

// OpenBLAS's thread count, or 0 when the BLAS is not OpenBLAS.
int blas_threads();

// Sets OpenBLAS's thread count for the whole process (it has no per-call setting) and returns
// the previous one; does nothing and returns 0 when the BLAS is not OpenBLAS.
int set_blas_threads(int threads);

// The kernels OpenBLAS chose ("Prescott", "Haswell", "SkylakeX", ...), or "" when the BLAS is
// not OpenBLAS.
std::string blas_core();

// The OPENBLAS_CORETYPE this CPU should use when OpenBLAS fell back to a generic core it did not
// need to: "SkylakeX" with AVX-512 (F, BW, DQ, VL), "Haswell" with AVX2 and FMA; "" when
// OpenBLAS's own choice stands (it recognised the CPU, the variable is already set, or the BLAS
// is not OpenBLAS).
std::string better_openblas_core();

// For a program's main(): when better_openblas_core() names a core, sets OPENBLAS_CORETYPE to it
// and execv()s /proc/self/exe with the same arguments (the program starts again, this time with
// the fast kernels); otherwise, or if the exec fails, returns and the program goes on as it is.
// Call it first thing, before any thread starts.
void reexec_for_openblas_core(char** argv);

}  // namespace tandem::models::vision
