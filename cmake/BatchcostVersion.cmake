# Which batchcost this is, for `batchcost --version`, model.json and every result's context:
# project()'s version, the git commit when CMake configured ("unknown" outside a git checkout,
# "-dirty" where tracked files differed from it), and the build type (set per configuration at
# build time, so multi-config generators record the right one). The target batchcost_version
# gives core/version.h its generated half.
find_package(Git QUIET)
set(BATCHCOST_GIT_SHA "unknown")
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --short=12 HEAD
                  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
                  OUTPUT_VARIABLE batchcost_sha RESULT_VARIABLE batchcost_git_rc
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(batchcost_git_rc EQUAL 0 AND batchcost_sha MATCHES "^[0-9a-f]+$")
    set(BATCHCOST_GIT_SHA ${batchcost_sha})
    execute_process(COMMAND ${GIT_EXECUTABLE} status --porcelain --untracked-files=no
                    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
                    OUTPUT_VARIABLE batchcost_dirty ERROR_QUIET)
    if(batchcost_dirty)
      string(APPEND BATCHCOST_GIT_SHA "-dirty")
    endif()
  endif()
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/batchcost_version.h.in
               ${PROJECT_BINARY_DIR}/generated/batchcost_version.h @ONLY)

add_library(batchcost_version INTERFACE)
target_include_directories(batchcost_version INTERFACE ${PROJECT_BINARY_DIR}/generated
                                                       ${PROJECT_SOURCE_DIR})
target_compile_definitions(batchcost_version INTERFACE
  "BATCHCOST_BUILD_TYPE=\"$<IF:$<BOOL:$<CONFIG>>,$<CONFIG>,none>\"")
list(APPEND BATCHCOST_SUMMARY "version ${PROJECT_VERSION}, git ${BATCHCOST_GIT_SHA}")
