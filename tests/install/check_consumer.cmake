cmake_policy(VERSION 3.25)
# Installs the build into a scratch prefix, checks what was installed (public headers only,
# all under include/claude_pool/, each one compiling on its own with <claude_pool/...>),
# builds examples/embed against it with find_package(claude_pool), and runs the result with
# the fake CLI.
# Inputs: SOURCE_DIR, BINARY_DIR, WORK_DIR, FAKE_CLI, CONSUMER_FLAGS (the sanitizer flags
# when the library was built with them).
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  message(STATUS "${what}: ok\n${out}")
endfunction()

run_step("install" ${CMAKE_COMMAND} --install "${BINARY_DIR}" --prefix "${prefix}")
if(NOT EXISTS "${prefix}/lib/cmake/claude_pool/claude_poolConfig.cmake")
  message(FATAL_ERROR "the install has no claude_poolConfig.cmake")
endif()

# Everything under include/claude_pool/, nothing in generic folders beside it.
file(GLOB top RELATIVE "${prefix}/include" "${prefix}/include/*")
if(NOT top STREQUAL "claude_pool")
  message(FATAL_ERROR "include/ holds more than claude_pool/: ${top}")
endif()
file(GLOB_RECURSE headers RELATIVE "${prefix}/include" "${prefix}/include/*.hpp")
foreach(private IN ITEMS claude_pool/messages/json_reader.hpp
                         claude_pool/runtime/process/child_spawn.hpp
                         claude_pool/runtime/process/process_runner.hpp
                         claude_pool/actors/pool_actor.hpp)
  if(private IN_LIST headers)
    message(FATAL_ERROR "a private header was installed: ${private}")
  endif()
endforeach()
if(NOT "claude_pool/pool.hpp" IN_LIST headers)
  message(FATAL_ERROR "the facade is not installed as claude_pool/pool.hpp")
endif()

# Each installed header compiles on its own, included as a consumer would.
set(hdr_dir "${WORK_DIR}/headers")
file(WRITE "${hdr_dir}/CMakeLists.txt" "cmake_minimum_required(VERSION 3.16)
project(claude_pool_headers CXX)
set(CMAKE_CXX_STANDARD 17)
find_package(claude_pool REQUIRED)
file(GLOB sources \${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
add_library(headers OBJECT \${sources})
target_link_libraries(headers PRIVATE claude_pool::claude_pool)
")
set(n 0)
foreach(h IN LISTS headers)
  math(EXPR n "${n} + 1")
  file(WRITE "${hdr_dir}/h${n}.cpp" "#include <${h}>\n")
endforeach()
list(LENGTH headers count)
message(STATUS "installed public headers: ${count}")
run_step("configure header check" ${CMAKE_COMMAND} -S "${hdr_dir}" -B "${hdr_dir}/build"
         -DCMAKE_PREFIX_PATH=${prefix} "-DCMAKE_CXX_FLAGS=${CONSUMER_FLAGS}")
run_step("compile every installed header alone" ${CMAKE_COMMAND} --build "${hdr_dir}/build" -j2)

run_step("configure consumer" ${CMAKE_COMMAND} -S "${SOURCE_DIR}/examples/embed"
         -B "${WORK_DIR}/build" -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release
         "-DCMAKE_CXX_FLAGS=${CONSUMER_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${CONSUMER_FLAGS}")
run_step("build consumer" ${CMAKE_COMMAND} --build "${WORK_DIR}/build" -j2)
run_step("run consumer" ${CMAKE_COMMAND} -E env CLAUDE_POOL_CLAUDE_BIN=${FAKE_CLI}
         "${WORK_DIR}/build/embed")
