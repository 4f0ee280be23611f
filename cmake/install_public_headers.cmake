cmake_policy(VERSION 3.25)
# Installs the public headers under ${CLAUDE_POOL_INCLUDE_DEST}/claude_pool/, rewriting the
# tree's root-relative includes of our own headers ("messages/ids.hpp") to the installed
# spelling (<claude_pool/messages/ids.hpp>). Run at install time (see CMakeLists.txt).
# Inputs: CLAUDE_POOL_SOURCE_DIR, CLAUDE_POOL_PUBLIC_HEADERS (root-relative paths),
# CLAUDE_POOL_INCLUDE_DEST.
foreach(header IN LISTS CLAUDE_POOL_PUBLIC_HEADERS)
  file(READ "${CLAUDE_POOL_SOURCE_DIR}/${header}" text)
  # A public header may only include public headers: anything else would not be installed.
  string(REGEX MATCHALL "#include \"[^\"]+\"" includes "${text}")
  foreach(inc IN LISTS includes)
    string(REGEX REPLACE "#include \"([^\"]+)\"" "\\1" path "${inc}")
    if(NOT path IN_LIST CLAUDE_POOL_PUBLIC_HEADERS)
      message(FATAL_ERROR "${header} includes \"${path}\", which is not a public header")
    endif()
  endforeach()
  string(REGEX REPLACE "#include \"claude_pool/([^\"]+)\"" "#include <claude_pool/\\1>"
         text "${text}")
  string(REGEX REPLACE "#include \"((messages|runtime)/[^\"]+)\"" "#include <claude_pool/\\1>"
         text "${text}")
  if(header MATCHES "^claude_pool/")
    set(dest "${CLAUDE_POOL_INCLUDE_DEST}/${header}")
  else()
    set(dest "${CLAUDE_POOL_INCLUDE_DEST}/claude_pool/${header}")
  endif()
  message(STATUS "Installing: ${dest}")
  file(WRITE "${dest}" "${text}")
endforeach()
