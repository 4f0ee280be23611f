# Writes a C++ source that holds a file's bytes, for assets served from the binary (the
# dashboard page: no CDN, nothing read from disk at run time).
#   cmake -DINPUT=page.html -DOUTPUT=page.cpp -DSYMBOL=ns::name -P EmbedFile.cmake
# defines `std::string_view SYMBOL()`.
file(READ "${INPUT}" _hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," _bytes "${_hex}")
string(REGEX REPLACE "::[^:]+$" "" _ns "${SYMBOL}")
string(REGEX REPLACE "^.*::" "" _name "${SYMBOL}")
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by cmake/EmbedFile.cmake: do not edit.\n"
  "#include <string_view>\n"
  "namespace ${_ns} {\n"
  "namespace { const char bytes[] = {${_bytes} 0}; }\n"
  "std::string_view ${_name}() { return {bytes, sizeof bytes - 1}; }\n"
  "}\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
