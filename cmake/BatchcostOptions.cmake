# The BATCHCOST_* options and the warnings target.
#
# Each optional dependency is AUTO (use it when found), ON (fail when it is not found) or OFF.

function(batchcost_tristate name doc)
  set(${name} AUTO CACHE STRING "${doc} (AUTO, ON or OFF)")
  set_property(CACHE ${name} PROPERTY STRINGS AUTO ON OFF)
  string(TOUPPER "${${name}}" value)
  if(NOT value MATCHES "^(AUTO|ON|OFF)$")
    message(FATAL_ERROR "${name}=${${name}}: expected AUTO, ON or OFF")
  endif()
  set(${name} ${value} PARENT_SCOPE)
endfunction()

batchcost_tristate(BATCHCOST_CUDA "Build the CUDA kernels and GPU benchmarks")
batchcost_tristate(BATCHCOST_NCCL "Build the NCCL collective benchmark")
batchcost_tristate(BATCHCOST_MPI "Build the collective benchmark's MPI variant")
batchcost_tristate(BATCHCOST_NVML "Record clocks, power, temperature and throttling through NVML")
option(BATCHCOST_BUILD_TESTS "Build the tests" ON)
option(BATCHCOST_WERROR "Treat warnings as errors (CI)" OFF)
# A library of several files compiles them in unity batches (CMake's UNITY_BUILD, 8 files to a
# batch): nlohmann/json, CLI11, Ceres and GoogleTest are parsed and their templates instantiated
# once a batch, not once a file, which halves the build's CPU time. OFF compiles file by file, as
# a check that each file includes what it uses.
option(BATCHCOST_UNITY_BUILD "Compile each library's files in unity batches" ON)
set(CMAKE_UNITY_BUILD ${BATCHCOST_UNITY_BUILD})

# batchcost_resolve(<option> <found>): the answer of an AUTO/ON/OFF option once its dependency
# has been looked for; ON without the dependency is an error that names it.
function(batchcost_resolve option found out)
  if(${option} STREQUAL "OFF")
    set(${out} OFF PARENT_SCOPE)
  elseif(found)
    set(${out} ON PARENT_SCOPE)
  elseif(${option} STREQUAL "ON")
    message(FATAL_ERROR "${option}=ON but its dependency was not found (see the messages above)")
  else()
    set(${out} OFF PARENT_SCOPE)
  endif()
endfunction()

# Warnings for the project's own code, on an INTERFACE target that every target links.
add_library(batchcost_warnings INTERFACE)
target_compile_options(batchcost_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
                            -Wunused -Woverloaded-virtual -Wnull-dereference -Wdouble-promotion
                            -Wformat=2 -Wimplicit-fallthrough>
  $<$<COMPILE_LANG_AND_ID:CUDA,NVIDIA>:-Xcompiler=-Wall,-Wextra>
  $<$<COMPILE_LANG_AND_ID:CUDA,Clang>:-Wall -Wextra -Wno-unknown-cuda-version>)
if(BATCHCOST_WERROR)
  target_compile_options(batchcost_warnings INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-Werror>
    $<$<COMPILE_LANG_AND_ID:CUDA,NVIDIA>:-Werror=all-warnings -Xcompiler=-Werror>
    $<$<COMPILE_LANG_AND_ID:CUDA,Clang>:-Werror>)
endif()

set(BATCHCOST_SUMMARY "")
# batchcost_summary(<line>): one line of the configure-time summary.
macro(batchcost_summary line)
  list(APPEND BATCHCOST_SUMMARY "${line}")
endmacro()

function(batchcost_print_summary)
  message(STATUS "")
  message(STATUS "batchcost ${PROJECT_VERSION} configuration")
  foreach(line IN LISTS BATCHCOST_SUMMARY)
    message(STATUS "  ${line}")
  endforeach()
  message(STATUS "")
endfunction()
