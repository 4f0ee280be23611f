#include "runtime/cli/stream_json.hpp"

#include <algorithm>

namespace claude_pool::stream_json {

std::string user_line(const std::string& text) {
  nlohmann::json j{{"type", "user"}, {"message", {{"role", "user"}, {"content", text}}}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string control_line(const std::string& request_id, const nlohmann::json& request) {
  nlohmann::json j{{"type", "control_request"}, {"request_id", request_id}, {"request", request}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::vector<std::string> line_splitter::feed(std::string_view chunk) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i < chunk.size(); ++i) {
    if (chunk[i] != '\n')
      continue;
    partial_.append(chunk.substr(start, i - start));
    if (!partial_.empty())
      out.push_back(std::move(partial_));
    partial_.clear();
    start = i + 1;
  }
  partial_.append(chunk.substr(start));
  return out;
}

nlohmann::json per_task_result(const nlohmann::json& event, cumulative_cost& before) {
  auto out = event;
  double total = event.value("total_cost_usd", before.total_usd);
  out["total_cost_usd"] = std::max(0.0, total - before.total_usd);
  before.total_usd = total;
  if (auto usage = event.find("modelUsage"); usage != event.end() && usage->is_object()) {
    nlohmann::json mine = nlohmann::json::object();
    for (auto& [model, figures] : usage->items()) {
      if (!figures.is_object())
        continue;
      double cost = figures.value("costUSD", 0.0);
      double delta = cost - before.by_model[model];
      before.by_model[model] = cost;
      // Only the models this task used: a model whose cost did not move did not run it.
      if (delta > 0) {
        auto f = figures;
        f["costUSD"] = delta;
        mine[model] = f;
      }
    }
    out["modelUsage"] = mine;
  }
  return out;
}

} // namespace claude_pool::stream_json
