// A stand-in for the `claude` CLI, for faults the real one cannot be made to produce.
//
// Behaviour is chosen by FAKE_CLAUDE_MODE (default `ok`), or, in mode ok, by a first prompt line
// `FAKE_MODE=<mode>` (so one pool can drive several modes); argv is never interpreted:
//   ok                 read stdin, print one result JSON line ("fake: <first 100 bytes>"), exit 0
//   stdin_echo         like ok, result = the whole of stdin
//   argv               like ok, result = JSON array (as a string) of argv[1..]
//   permission_prompt  permission message on stderr, result JSON with is_error true, exit 1
//   crash              a line on stderr, then abort() (SIGABRT, no core file)
//   exit3              a line on stderr, exit 3, nothing on stdout
//   garbage            non-JSON on stdout, exit 0
//   empty              nothing at all, exit 0
//   huge               FAKE_CLAUDE_BYTES (default 10 MiB) on stdout: one result JSON line of
//                      exactly that size when it fits, else that many 'x'; exit 0
//   hang               sleep forever (default SIGINT handling); writes its own pid to
//                      FAKE_CLAUDE_PIDFILE once running
//   hang_ignore_int    the same, but ignoring SIGINT (only SIGKILL ends it); the pid file is
//                      written after SIGINT is ignored
//   spawn_child        fork a grandchild in the same process group that sleeps
//                      FAKE_CLAUDE_CHILD_SECONDS (default 300) holding stdout/stderr, write
//                      its pid to FAKE_CLAUDE_PIDFILE, then hang
//   leak_child         like spawn_child, but the grandchild calls setsid() (as the real CLI's
//                      Bash tool runs in its own session); the leader prints a result and exits 0.
//                      With FAKE_CLAUDE_CHILD_ENV=clear the grandchild execs /bin/sleep with an
//                      empty environment (it escapes a sweep by environment token)
//   grandchild_ignores_term
//                      fork a grandchild that ignores SIGTERM and SIGINT, calls setsid(), writes
//                      its own pid to FAKE_CLAUDE_PIDFILE and sleeps FAKE_CLAUDE_CHILD_SECONDS
//                      (default 300) holding stdout/stderr; then hang, or with
//                      FAKE_CLAUDE_THEN=exit print a result and exit 0
//   invalid_utf8       read stdin, print a result JSON line whose "result" holds raw invalid
//                      UTF-8 (0xC3 0x28, 0xFF; not escaped, as a broken CLI might), exit 0
//   drip               read stdin, print the ok result line one byte at a time with
//                      FAKE_CLAUDE_DRIP_MS (default 5) between bytes, exit 0
// Other variables:
//   FAKE_CLAUDE_DELAY_MS    sleep this long after reading stdin, before answering (any mode)
//   FAKE_CLAUDE_ARGV_FILE   write argv[1..] there as a JSON array (any mode)
//   FAKE_CLAUDE_SESSION_ID  session_id to report (default: a random UUID)
//   FAKE_CLAUDE_EXIT_CODE   exit status for the modes that print a result
// Strings in JSON output are always escaped; bytes >= 0x80 pass through (UTF-8 assumed).
// A pid file is written to "<path>.tmp" and renamed, so readers never see half a pid.

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : fallback;
}

long long env_number(const char* name, long long fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  long long n = std::strtoll(v, &end, 10);
  return (end != nullptr && *end == '\0' && n >= 0) ? n : fallback;
}

void write_all(int fd, const char* p, std::size_t left) {
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

void write_all(int fd, const std::string& data) { write_all(fd, data.data(), data.size()); }

std::string read_all_stdin() {
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return data;
    data.append(buf, static_cast<std::size_t>(n));
  }
}

void sleep_for(std::chrono::milliseconds d) {
  timespec left{static_cast<time_t>(d.count() / 1000), static_cast<long>(d.count() % 1000) * 1000000L};
  while (::nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

[[noreturn]] void hang_forever() {
  for (;;) ::pause();
}

std::string json_string(const std::string& s) {
  static const char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char ch : s) {
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (ch < 0x20 || ch == 0x7f) {
          out += "\\u00";
          out += hex[ch >> 4];
          out += hex[ch & 0xf];
        } else {
          out += static_cast<char>(ch);
        }
    }
  }
  return out + "\"";
}

std::string json_array(int argc, char** argv) {
  std::string out = "[";
  for (int i = 1; i < argc; ++i) out += (i > 1 ? "," : "") + json_string(argv[i]);
  return out + "]";
}

std::string random_uuid() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^ static_cast<std::uint64_t>(::getpid()));
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out += '-';
    unsigned v = static_cast<unsigned>(gen() & 0xf);
    if (i == 12) v = 4;                 // version 4
    if (i == 16) v = 8 | (v & 3);       // RFC 4122 variant
    out += hex[v];
  }
  return out;
}

// One result line as the real CLI prints it with --output-format json. `result_json` is
// already JSON (normally a string).
std::string result_line(bool is_error, const std::string& result_json, const std::string& denials = "[]") {
  std::string session = env_or("FAKE_CLAUDE_SESSION_ID", random_uuid());
  return std::string("{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":") + (is_error ? "true" : "false") +
         ",\"duration_ms\":12,\"duration_api_ms\":10,\"api_error_status\":null,\"num_turns\":1,\"result\":" +
         result_json + ",\"session_id\":" + json_string(session) +
         ",\"total_cost_usd\":0.0012,\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":0,"
         "\"cache_read_input_tokens\":0,\"output_tokens\":7,\"server_tool_use\":{\"web_search_requests\":0},"
         "\"service_tier\":\"standard\"},\"modelUsage\":{\"fake-model\":{\"inputTokens\":12,\"outputTokens\":7,"
         "\"cacheReadInputTokens\":0,\"cacheCreationInputTokens\":0,\"webSearchRequests\":0,\"costUSD\":0.0012,"
         "\"contextWindow\":200000}},\"permission_denials\":" +
         denials + ",\"uuid\":" + json_string(random_uuid()) + "}\n";
}

// At most `n` bytes of `s`, not splitting a UTF-8 sequence.
std::string utf8_prefix(const std::string& s, std::size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

void write_pidfile(pid_t pid) {
  std::string path = env_or("FAKE_CLAUDE_PIDFILE", "");
  if (path.empty()) return;
  std::string tmp = path + ".tmp";
  if (FILE* f = std::fopen(tmp.c_str(), "w")) {
    std::fprintf(f, "%d\n", static_cast<int>(pid));
    std::fclose(f);
    std::rename(tmp.c_str(), path.c_str());  // readers never see a half-written pid
  }
}

enum class grandchild { same_group, own_session, own_session_no_env, ignores_term };

// Runs in the grandchild after fork; never returns.
[[noreturn]] void become_grandchild(grandchild kind, int ready_fd) {
  const long long seconds = env_number("FAKE_CLAUDE_CHILD_SECONDS", 300);
  if (kind == grandchild::ignores_term) {
    ::signal(SIGTERM, SIG_IGN);
    ::signal(SIGINT, SIG_IGN);
  }
  if (kind != grandchild::same_group) ::setsid();
  if (kind == grandchild::ignores_term) write_pidfile(::getpid());
  if (kind == grandchild::own_session_no_env) {  // readiness: EOF once exec'd
    std::string secs = std::to_string(seconds);
    char* args[] = {const_cast<char*>("sleep"), secs.data(), nullptr};
    char* no_env[] = {nullptr};
    ::execve("/bin/sleep", args, no_env);
    ::_exit(127);
  }
  write_all(ready_fd, "r");
  ::close(ready_fd);
  sleep_for(std::chrono::milliseconds(seconds * 1000));
  ::_exit(0);
}

// The grandchild reports through a pipe once it is set up, so the leader never outruns it
// (a byte, or EOF when the close-on-exec pipe goes with the grandchild's exec).
pid_t fork_sleeper(grandchild kind) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(ready[0]);
    become_grandchild(kind, ready[1]);
  }
  ::close(ready[1]);
  char byte;
  while (pid > 0 && ::read(ready[0], &byte, 1) < 0 && errno == EINTR) {
  }
  ::close(ready[0]);
  return pid;
}

void print_huge(std::size_t bytes) {
  std::string head = result_line(false, "\"\"");
  std::size_t quote = head.find("\"result\":\"\"") + std::string("\"result\":\"").size();
  std::string prefix = head.substr(0, quote), suffix = head.substr(quote);
  std::size_t fill = bytes;
  if (bytes >= prefix.size() + suffix.size()) {
    fill = bytes - prefix.size() - suffix.size();
    write_all(1, prefix);
  }
  std::string chunk(64 * 1024, 'x');
  while (fill > 0) {
    std::size_t n = fill < chunk.size() ? fill : chunk.size();
    write_all(1, chunk.data(), n);
    fill -= n;
  }
  if (bytes >= prefix.size() + suffix.size()) write_all(1, suffix);
}

} // namespace

int main(int argc, char** argv) {
  const std::string argv_file = env_or("FAKE_CLAUDE_ARGV_FILE", "");
  if (!argv_file.empty()) {
    if (FILE* f = std::fopen(argv_file.c_str(), "w")) {
      std::fputs(json_array(argc, argv).c_str(), f);
      std::fclose(f);
    }
  }
  std::string mode = env_or("FAKE_CLAUDE_MODE", "ok");
  const bool reads_stdin = mode == "ok" || mode == "stdin_echo" || mode == "argv" || mode == "permission_prompt" ||
                           mode == "env" || mode == "invalid_utf8" || mode == "drip";
  const std::string input = reads_stdin ? read_all_stdin() : std::string();
  // In mode ok, a prompt whose first line is FAKE_MODE=<mode> picks the mode (stdin is then
  // already consumed, whatever that mode does with it).
  const std::string prompt_mode_key = "FAKE_MODE=";
  if (mode == "ok" && input.compare(0, prompt_mode_key.size(), prompt_mode_key) == 0)
    mode = input.substr(prompt_mode_key.size(), input.find('\n') - prompt_mode_key.size());
  sleep_for(std::chrono::milliseconds(env_number("FAKE_CLAUDE_DELAY_MS", 0)));
  const int result_exit = static_cast<int>(env_number("FAKE_CLAUDE_EXIT_CODE", -1));
  auto exit_with = [&](int fallback) { return result_exit >= 0 ? result_exit : fallback; };

  if (mode == "ok") {
    write_all(1, result_line(false, json_string("fake: " + utf8_prefix(input, 100))));
    return exit_with(0);
  }
  if (mode == "stdin_echo") {
    write_all(1, result_line(false, json_string(input)));
    return exit_with(0);
  }
  if (mode == "argv") {
    write_all(1, result_line(false, json_string(json_array(argc, argv))));
    return exit_with(0);
  }
  if (mode == "env") {
    // result = the environment, one NAME=value per line, to check what the pool passes on.
    std::string all;
    for (char** e = environ; *e; ++e)
      all += std::string(*e) + "\n";
    write_all(1, result_line(false, json_string(all)));
    return exit_with(0);
  }
  if (mode == "permission_prompt") {
    const std::string msg = "Claude requested permissions to use Bash, but you haven't granted it yet.";
    write_all(2, msg + "\n");
    write_all(1, result_line(true, json_string(msg),
                             "[{\"tool_name\":\"Bash\",\"tool_use_id\":\"toolu_fake\","
                             "\"tool_input\":{\"command\":\"ls\"}}]"));
    return exit_with(1);
  }
  if (mode == "crash") {
    write_all(2, "fake_claude: crashing on purpose\n");
    rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    std::abort();
  }
  if (mode == "exit3") {
    write_all(2, "fake_claude: failing with exit status 3\n");
    return 3;
  }
  if (mode == "garbage") {
    write_all(1, "this is not JSON {{{ \"result\": oops\n<html>502 Bad Gateway</html>\n");
    return exit_with(0);
  }
  if (mode == "empty") return exit_with(0);
  if (mode == "huge") {
    print_huge(static_cast<std::size_t>(env_number("FAKE_CLAUDE_BYTES", 10ll << 20)));
    return exit_with(0);
  }
  if (mode == "hang" || mode == "hang_ignore_int") {
    if (mode == "hang_ignore_int") ::signal(SIGINT, SIG_IGN);
    write_pidfile(::getpid());  // tells a test that the signal setup is done
    hang_forever();
  }
  if (mode == "spawn_child" || mode == "leak_child") {
    const bool leak = mode == "leak_child";
    const bool no_env = env_or("FAKE_CLAUDE_CHILD_ENV", "") == "clear";
    pid_t child = fork_sleeper(!leak ? grandchild::same_group
                                     : (no_env ? grandchild::own_session_no_env : grandchild::own_session));
    if (child < 0) {
      write_all(2, "fake_claude: fork failed\n");
      return 2;
    }
    write_pidfile(child);
    write_all(2, "fake_claude: started grandchild " + std::to_string(child) + "\n");
    if (!leak) hang_forever();
    write_all(1, result_line(false, json_string("fake: left a grandchild behind")));
    return exit_with(0);
  }
  if (mode == "grandchild_ignores_term") {
    pid_t child = fork_sleeper(grandchild::ignores_term);  // the grandchild writes the pid file
    if (child < 0) {
      write_all(2, "fake_claude: fork failed\n");
      return 2;
    }
    write_all(2, "fake_claude: started grandchild " + std::to_string(child) + "\n");
    if (env_or("FAKE_CLAUDE_THEN", "") != "exit") hang_forever();
    write_all(1, result_line(false, json_string("fake: left a grandchild that ignores SIGTERM")));
    return exit_with(0);
  }
  if (mode == "invalid_utf8") {
    // json_string passes bytes >= 0x80 through untouched: the line is valid JSON syntax with
    // invalid UTF-8 inside the string.
    const std::string broken = std::string("broken \xC3") + "(" + " and \xFF" + " here";
    write_all(1, result_line(false, json_string(broken)));
    return exit_with(0);
  }
  if (mode == "drip") {
    const std::string line = result_line(false, json_string("fake: " + utf8_prefix(input, 100)));
    const auto pause = std::chrono::milliseconds(env_number("FAKE_CLAUDE_DRIP_MS", 5));
    for (std::size_t i = 0; i < line.size(); ++i) {
      write_all(1, line.data() + i, 1);
      if (i + 1 < line.size()) sleep_for(pause);
    }
    return exit_with(0);
  }
  write_all(2, "fake_claude: unknown FAKE_CLAUDE_MODE '" + mode + "'\n");
  return 2;
}
