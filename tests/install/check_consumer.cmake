# Installs the build into a scratch prefix, builds examples/embed against it with
# find_package(claude_pool), and runs the result with the fake CLI.
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
run_step("configure consumer" ${CMAKE_COMMAND} -S "${SOURCE_DIR}/examples/embed"
         -B "${WORK_DIR}/build" -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release
         "-DCMAKE_CXX_FLAGS=${CONSUMER_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${CONSUMER_FLAGS}")
run_step("build consumer" ${CMAKE_COMMAND} --build "${WORK_DIR}/build" -j2)
run_step("run consumer" ${CMAKE_COMMAND} -E env CLAUDE_POOL_CLAUDE_BIN=${FAKE_CLI}
         "${WORK_DIR}/build/embed")
