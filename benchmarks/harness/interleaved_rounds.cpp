#include "benchmarks/harness/interleaved_rounds.hpp"

#include <map>

#include "benchmarks/common/stats.hpp"

namespace claude_pool::bench {

nlohmann::json interleaved_rounds(
  const std::vector<variant>& variants, std::size_t warmup_tasks, std::size_t tasks, int rounds,
  const std::string& baseline,
  const std::function<void(int round, const std::string& variant)>& on_run) {
  struct tally {
    std::vector<double> throughput, wall;
    std::size_t failed = 0;
    std::string error;
  };
  std::map<std::string, tally> by_name;
  auto n = variants.size();
  for (auto& v : variants) {
    if (on_run)
      on_run(-1, v.name);
    v.run(warmup_tasks);
  }
  for (int r = 0; r < rounds; ++r) {
    for (std::size_t k = 0; k < n; ++k) {
      auto& v = variants[(k + static_cast<std::size_t>(r)) % n];
      if (on_run)
        on_run(r, v.name);
      auto out = v.run(tasks);
      auto& t = by_name[v.name];
      t.wall.push_back(out.wall_s);
      t.throughput.push_back(out.wall_s > 0 ? static_cast<double>(tasks) / out.wall_s : 0);
      t.failed += out.failed;
      if (t.error.empty())
        t.error = out.error;
    }
  }
  nlohmann::json result = nlohmann::json::object();
  auto base = by_name.find(baseline);
  for (auto& v : variants) {
    auto& t = by_name[v.name];
    nlohmann::json j = {{"throughput", median(t.throughput)},
                        {"throughput_per_round", t.throughput},
                        {"wall_s_per_round", t.wall},
                        {"failed", t.failed}};
    if (!t.error.empty())
      j["error"] = t.error;
    if (base != by_name.end()) {
      std::vector<double> ratios;
      for (std::size_t r = 0; r < t.throughput.size() && r < base->second.throughput.size(); ++r)
        if (base->second.throughput[r] > 0)
          ratios.push_back(t.throughput[r] / base->second.throughput[r]);
      j["ratio_to_" + baseline] = median(ratios);
    }
    result[v.name] = std::move(j);
  }
  return result;
}

} // namespace claude_pool::bench
