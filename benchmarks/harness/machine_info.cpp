#include "benchmarks/harness/machine_info.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include <caf/config.hpp>

#include "benchmarks/harness/bench_plan.hpp"
#include "benchmarks/harness/external_runs.hpp"

namespace claude_pool::bench {

namespace {

/// The value of the first `key : value` line of a /proc file.
std::string proc_field(const char* file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, key.size(), key) == 0) {
      auto colon = line.find(':');
      if (colon == std::string::npos)
        continue;
      auto value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      return value;
    }
  return {};
}

std::string caf_version() {
  int v = CAF_VERSION; // e.g. 1706 for 0.17.6
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "."
         + std::to_string(v % 100);
}

std::string compiler() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("g++ ") + __VERSION__;
#else
  return "unknown";
#endif
}

} // namespace

nlohmann::json load_average() {
  double load[3] = {0, 0, 0};
  ::getloadavg(load, 3);
  return {load[0], load[1], load[2]};
}

double machine_busy_cpu_s() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                     steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  if (cpu != "cpu")
    return 0;
  return static_cast<double>(user + nice + system + irq + softirq + steal)
         / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

nlohmann::json machine_info() {
  utsname u{};
  ::uname(&u);
  return {{"nproc", ::sysconf(_SC_NPROCESSORS_ONLN)},
          {"cpu_model", proc_field("/proc/cpuinfo", "model name")},
          {"kernel", std::string(u.sysname) + " " + u.release},
          {"arch", u.machine},
          {"memory_total", proc_field("/proc/meminfo", "MemTotal")},
          {"load_average_at_start", load_average()}};
}

nlohmann::json version_info(const bench_tools& tools) {
  nlohmann::json v = {{"claude_pool", CLAUDE_POOL_VERSION},
                      {"caf", caf_version()},
                      {"compiler", compiler()}};
  if (tools.have_claude)
    v["claude_cli"] = first_output_line({tools.claude_bin, "--version"});
  if (tools.have_python)
    v["python3"] = first_output_line({"python3", "--version"});
  if (tools.have_xargs)
    v["xargs"] = first_output_line({"xargs", "--version"});
  if (tools.have_parallel)
    v["parallel"] = first_output_line({"parallel", "--will-cite", "--version"});
  return v;
}

} // namespace claude_pool::bench
