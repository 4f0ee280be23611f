#include "runtime/process/descriptors.hpp"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

namespace claude_pool::runtime {

namespace {

// strerror_r is the XSI one (int) or the GNU one (char*) depending on feature macros.
[[maybe_unused]] const char* strerror_result(int rc, const char* buf) { return rc == 0 ? buf : "unknown error"; }
[[maybe_unused]] const char* strerror_result(const char* msg, const char*) { return msg; }

} // namespace

std::string errno_text(int e) {
  char buf[256] = {};
  return strerror_result(::strerror_r(e, buf, sizeof buf), buf);
}

bool duplicate_above_stdio(int fd, unique_fd& copy, int& err) {
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (moved < 0) return err = errno, false;
  copy.reset(moved);
  return true;
}

bool open_pipe(unique_fd& read_end, unique_fd& write_end, int& err) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return err = errno, false;
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  for (unique_fd* end : {&read_end, &write_end})
    if (end->get() < 3 && !duplicate_above_stdio(end->get(), *end, err)) return false;
  return true;
}

} // namespace claude_pool::runtime
