#include "benchmarks/harness/tree_rss_sampler.hpp"

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <dirent.h>
#include <unistd.h>

namespace claude_pool::bench {

std::uint64_t descendants_rss_bytes() {
  std::map<int, int> parent;
  std::map<int, std::uint64_t> rss;
  auto dir = ::opendir("/proc");
  if (!dir)
    return 0;
  static const long page = ::sysconf(_SC_PAGESIZE);
  while (auto e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::ifstream stat("/proc/" + name + "/stat");
    std::string line;
    if (!std::getline(stat, line))
      continue;
    auto close = line.rfind(')');
    if (close == std::string::npos)
      continue;
    // After "pid (comm) ": state ppid ... field 24 is rss in pages.
    std::vector<std::string> f;
    std::string cur;
    for (std::size_t i = close + 2; i < line.size(); ++i) {
      if (line[i] == ' ') {
        f.push_back(cur);
        cur.clear();
      } else {
        cur += line[i];
      }
    }
    f.push_back(cur);
    if (f.size() < 22)
      continue;
    int pid = std::stoi(name);
    parent[pid] = std::stoi(f[1]);
    rss[pid] = std::stoull(f[21]) * static_cast<std::uint64_t>(page);
  }
  ::closedir(dir);
  int self = ::getpid();
  std::uint64_t total = 0;
  for (auto& [pid, bytes] : rss) {
    for (int p = parent[pid], hops = 0; p > 1 && hops < 64; p = parent[p], ++hops)
      if (p == self) {
        total += bytes;
        break;
      }
  }
  return total;
}

tree_rss_sampler::tree_rss_sampler(int interval_ms)
  : thread_([this, interval_ms] {
      auto last = std::chrono::steady_clock::now();
      while (!stop_) {
        auto bytes = descendants_rss_bytes();
        auto now = std::chrono::steady_clock::now();
        double dt = std::chrono::duration<double>(now - last).count();
        last = now;
        byte_seconds_ = byte_seconds_ + static_cast<double>(bytes) * dt;
        if (bytes > peak_)
          peak_ = bytes;
        std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
      }
    }) {
}

tree_rss_sampler::~tree_rss_sampler() { stop(); }

void tree_rss_sampler::stop() {
  stop_ = true;
  if (thread_.joinable())
    thread_.join();
}

} // namespace claude_pool::bench
