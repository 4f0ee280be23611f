// The cheapest stand-in for the `claude` CLI: reads its stdin to the end (where the pool
// writes the prompt), prints one fixed result object shaped like the real CLI's
// (tests/runtime/cli/fixtures/success.json) and exits 0. Arguments are ignored.
//
// It exists so the process-level benchmark measures what a runner adds around a process —
// spawn, pipes, reaping, parsing — rather than what the process does. Hence raw system
// calls only, no iostreams, and a static link where the toolchain allows it: its own
// start-up cost stays as close to a bare exec as a real program gets.

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace {

constexpr char result_line[] =
  R"({"type":"result","subtype":"success","is_error":false,"api_error_status":null,)"
  R"("duration_ms":1,"duration_api_ms":0,"num_turns":1,"result":"Answer: benchmark",)"
  R"("stop_reason":"end_turn","session_id":"00000000-0000-4000-8000-000000000000",)"
  R"("total_cost_usd":0.000265,"usage":{"input_tokens":8,"output_tokens":9},)"
  R"("modelUsage":{"claude-opus-4-8[1m]":{"inputTokens":8,"outputTokens":9,)"
  R"("costUSD":0.000265}},"permission_denials":[],"terminal_reason":"completed"})"
  "\n";

void drain_stdin() {
  char buf[4096];
  for (;;) {
    auto n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n > 0 || (n < 0 && errno == EINTR))
      continue;
    return; // EOF, or no usable stdin: the answer does not depend on the prompt
  }
}

bool write_all(const char* data, std::size_t size) {
  while (size > 0) {
    auto n = ::write(STDOUT_FILENO, data, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

} // namespace

int main() {
  // A terminal is never the pool's pipe: do not wait for a person to type a prompt.
  if (!::isatty(STDIN_FILENO))
    drain_stdin();
  return write_all(result_line, std::strlen(result_line)) ? 0 : 1;
}
