#include "runtime/cli/limit_signals.hpp"

#include <nlohmann/json.hpp>

namespace claude_pool {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

template <class T>
std::optional<T> number(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number())
    return std::nullopt;
  return it->get<T>();
}

} // namespace

std::optional<rate_limit_info> parse_rate_limit_info(const nlohmann::json& info) {
  if (!info.is_object() || !info.contains("status") || !info["status"].is_string())
    return std::nullopt;
  rate_limit_info out;
  out.status = info["status"].get<std::string>();
  // resetsAt is epoch seconds.
  if (auto at = number<double>(info, "resetsAt"); at && *at > 0)
    out.resets_at_ms = static_cast<std::uint64_t>(*at * 1000.0);
  if (info.contains("rateLimitType") && info["rateLimitType"].is_string())
    out.window = info["rateLimitType"].get<std::string>();
  out.utilization = number<double>(info, "utilization");
  return out;
}

void limit_signals::feed_line(std::string_view line) {
  // The CLI writes `type` first; anything else is not ours to parse.
  bool retry = starts_with(line, R"({"type":"system","subtype":"api_retry")");
  bool window = starts_with(line, R"({"type":"rate_limit_event")");
  if (!retry && !window)
    return;
  auto event = nlohmann::json::parse(line, nullptr, false);
  if (event.is_discarded() || !event.is_object())
    return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (retry) {
    ++retries_;
    if (auto delay = number<std::uint64_t>(event, "retry_delay_ms"))
      retry_delay_ms_ = delay;
    return;
  }
  if (auto info = parse_rate_limit_info(event.value("rate_limit_info", nlohmann::json())))
    window_ = std::move(info);
}

void limit_signals::apply_to(task_result& result) const {
  std::lock_guard<std::mutex> lock(mutex_);
  result.api_retries = retries_;
  if (retry_delay_ms_)
    result.retry_after_ms = retry_delay_ms_;
  if (window_)
    result.rate_limit = window_;
}

void limit_signals::reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  retries_ = 0;
  retry_delay_ms_.reset();
  window_.reset();
}

} // namespace claude_pool
