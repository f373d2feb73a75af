# FindNVML: the NVIDIA Management Library's header.
#
# Only nvml.h is needed: batchcost loads libnvidia-ml.so.1 (part of the driver) with dlopen at run
# time. The header comes with some CUDA toolkits, or from PyPI's nvidia-nvml-dev, which
# tools/setup.sh installs into .deps/nvml. Honours NVML_ROOT. Defines NVML_FOUND,
# NVML_INCLUDE_DIR and the INTERFACE target NVML::headers.

find_path(NVML_INCLUDE_DIR nvml.h
  HINTS ${NVML_ROOT} $ENV{NVML_ROOT} ${CUDAToolkit_INCLUDE_DIRS}
        "${PROJECT_SOURCE_DIR}/.deps/nvml/nvidia/cu13" "${PROJECT_SOURCE_DIR}/.deps/nvml/nvidia/nvml"
  PATH_SUFFIXES include)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(NVML REQUIRED_VARS NVML_INCLUDE_DIR)

if(NVML_FOUND AND NOT TARGET NVML::headers)
  add_library(NVML::headers INTERFACE IMPORTED)
  set_target_properties(NVML::headers PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${NVML_INCLUDE_DIR}")
endif()
mark_as_advanced(NVML_INCLUDE_DIR)
