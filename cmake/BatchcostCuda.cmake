# The CUDA language, the architectures to build for, and the toolkit's libraries.
#
# CMAKE_CUDA_ARCHITECTURES: the user's choice wins; otherwise `native` when a GPU is visible to
# nvidia-smi (fastest build, exact code), else a list for the data-centre GPUs this project
# targets (A100 sm_80, L40S sm_89, H100/H200 sm_90) plus compute_90 PTX that newer GPUs JIT.

include(CheckLanguage)
set(BATCHCOST_HAVE_CUDA OFF)
set(_cuda_reason "")
if(NOT BATCHCOST_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      execute_process(COMMAND nvidia-smi --query-gpu=compute_cap --format=csv,noheader
                      RESULT_VARIABLE _smi_rc OUTPUT_VARIABLE _smi_out ERROR_QUIET
                      OUTPUT_STRIP_TRAILING_WHITESPACE)
      if(_smi_rc EQUAL 0 AND _smi_out MATCHES "^[0-9]+\\.[0-9]+")
        set(CMAKE_CUDA_ARCHITECTURES native)
        set(_arch_why "a GPU is visible (compute capability ${_smi_out})")
      else()
        set(CMAKE_CUDA_ARCHITECTURES 80-real 89-real 90-real 90-virtual)
        set(_arch_why "no GPU visible: data-centre list plus PTX")
      endif()
    else()
      set(_arch_why "set by the user")
    endif()
    enable_language(CUDA)
    # C++17 for device code: CMake 3.25 (Debian 12) does not know nvcc's C++20 flag, and the
    # kernels need nothing newer.
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    find_package(CUDAToolkit REQUIRED)
    set(BATCHCOST_HAVE_CUDA ON)
  else()
    set(_cuda_reason " (no CUDA compiler found; set CUDACXX or put nvcc on PATH)")
  endif()
endif()
batchcost_resolve(BATCHCOST_CUDA ${BATCHCOST_HAVE_CUDA} BATCHCOST_HAVE_CUDA)

if(BATCHCOST_HAVE_CUDA)
  batchcost_summary("CUDA:  ON  (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, toolkit ${CUDAToolkit_VERSION})")
  string(REPLACE ";" ", " _archs "${CMAKE_CUDA_ARCHITECTURES}")
  batchcost_summary("CUDA architectures: ${_archs} (${_arch_why})")
else()
  batchcost_summary("CUDA:  OFF${_cuda_reason}: host-only build (model, CLI, host tests)")
endif()
