# Third-party libraries. Each is looked for with find_package first (Debian's packages provide
# them all); Google Benchmark, GoogleTest, nlohmann_json and CLI11 fall back to FetchContent so
# that a GPU box with internet access but without the packages still builds.

include(FetchContent)

# batchcost_find_or_fetch(<package> <target> <git-repo> <tag> [cache settings...])
macro(batchcost_find_or_fetch package target repo tag)
  find_package(${package} CONFIG QUIET)
  if(TARGET ${target})
    batchcost_summary("${package}: ${${package}_VERSION} (installed)")
  else()
    message(STATUS "${package} not installed: fetching ${repo} ${tag}")
    foreach(setting ${ARGN})
      string(REPLACE "=" ";" kv "${setting}")
      list(GET kv 0 k)
      list(GET kv 1 v)
      set(${k} ${v} CACHE INTERNAL "")
    endforeach()
    FetchContent_Declare(${package} GIT_REPOSITORY ${repo} GIT_TAG ${tag} GIT_SHALLOW TRUE)
    FetchContent_MakeAvailable(${package})
    batchcost_summary("${package}: ${tag} (fetched)")
  endif()
endmacro()

batchcost_find_or_fetch(nlohmann_json nlohmann_json::nlohmann_json
  https://github.com/nlohmann/json.git v3.11.3 JSON_BuildTests=OFF)
batchcost_find_or_fetch(CLI11 CLI11::CLI11
  https://github.com/CLIUtils/CLI11.git v2.4.2 CLI11_BUILD_TESTS=OFF CLI11_BUILD_EXAMPLES=OFF)
batchcost_find_or_fetch(benchmark benchmark::benchmark
  https://github.com/google/benchmark.git v1.8.5
  BENCHMARK_ENABLE_TESTING=OFF BENCHMARK_ENABLE_GTEST_TESTS=OFF BENCHMARK_ENABLE_INSTALL=OFF)
if(BATCHCOST_BUILD_TESTS)
  find_package(GTest QUIET)
  if(TARGET GTest::gtest_main)
    batchcost_summary("GTest: ${GTest_VERSION} (installed)")
  else()
    batchcost_find_or_fetch(GTest GTest::gtest_main
      https://github.com/google/googletest.git v1.15.2 INSTALL_GTEST=OFF BUILD_GMOCK=OFF)
  endif()
  include(GoogleTest)
endif()

# Ceres Solver: the fitter's robust least squares. Without it the fitter is not built.
find_package(Ceres QUIET)
if(TARGET Ceres::ceres)
  set(BATCHCOST_HAVE_CERES ON)
  batchcost_summary("Ceres: ${Ceres_VERSION} (fit enabled)")
else()
  set(BATCHCOST_HAVE_CERES OFF)
  batchcost_summary("Ceres: not found: `batchcost fit` is not built (apt-get install libceres-dev)")
endif()

# NCCL (collectives/): only with CUDA.
set(BATCHCOST_HAVE_NCCL OFF)
if(BATCHCOST_HAVE_CUDA AND NOT BATCHCOST_NCCL STREQUAL "OFF")
  find_package(NCCL)
  set(BATCHCOST_HAVE_NCCL ${NCCL_FOUND})
endif()
batchcost_resolve(BATCHCOST_NCCL ${BATCHCOST_HAVE_NCCL} BATCHCOST_HAVE_NCCL)
if(BATCHCOST_HAVE_NCCL)
  batchcost_summary("NCCL:  ON  (${NCCL_VERSION}, ${NCCL_LIBRARY})")
else()
  batchcost_summary("NCCL:  OFF (needs CUDA and nccl.h and libnccl, or set NCCL_ROOT)")
endif()

# MPI (collectives/, one rank per GPU across processes and nodes).
set(BATCHCOST_HAVE_MPI OFF)
if(NOT BATCHCOST_MPI STREQUAL "OFF")
  find_package(MPI COMPONENTS CXX QUIET)
  set(BATCHCOST_HAVE_MPI ${MPI_CXX_FOUND})
endif()
batchcost_resolve(BATCHCOST_MPI ${BATCHCOST_HAVE_MPI} BATCHCOST_HAVE_MPI)
if(BATCHCOST_HAVE_MPI)
  batchcost_summary("MPI:   ON  (MPI ${MPI_CXX_VERSION})")
else()
  batchcost_summary("MPI:   OFF")
endif()

# NVML: only the header is needed at build time; the library comes with the driver and is
# loaded with dlopen at run time, so the binaries also run where the driver lacks it.
set(BATCHCOST_HAVE_NVML OFF)
if(BATCHCOST_HAVE_CUDA AND NOT BATCHCOST_NVML STREQUAL "OFF")
  find_package(NVML)
  set(BATCHCOST_HAVE_NVML ${NVML_FOUND})
endif()
batchcost_resolve(BATCHCOST_NVML ${BATCHCOST_HAVE_NVML} BATCHCOST_HAVE_NVML)
if(BATCHCOST_HAVE_NVML)
  batchcost_summary("NVML:  ON  (header ${NVML_INCLUDE_DIR}, library loaded at run time)")
else()
  batchcost_summary("NVML:  OFF (no nvml.h: tools/setup.sh installs it, clocks from CUDA only)")
endif()
