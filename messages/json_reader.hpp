#pragma once
/// Internal to messages/: walks a JSON object field by field, converting values and naming
/// the field path in every error.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "messages/json.hpp"
#include "messages/requests.hpp"

namespace claude_pool::detail {

/// A short description of a JSON value's type for error messages.
std::string describe(const nlohmann::json& v);

[[noreturn]] void fail(const std::string& path, const std::string& what);

void read_value(const nlohmann::json& v, const std::string& path, std::string& out);
void read_value(const nlohmann::json& v, const std::string& path, bool& out);
void read_value(const nlohmann::json& v, const std::string& path, std::uint64_t& out);
void read_value(const nlohmann::json& v, const std::string& path, std::uint32_t& out);
void read_value(const nlohmann::json& v, const std::string& path, std::int32_t& out);
void read_value(const nlohmann::json& v, const std::string& path, double& out);
void read_value(const nlohmann::json& v, const std::string& path, nlohmann::json& out);

void read_value(const nlohmann::json& v, const std::string& path, task_id& out);
void read_value(const nlohmann::json& v, const std::string& path, slot_id& out);
void read_value(const nlohmann::json& v, const std::string& path, slot_mode& out);
void read_value(const nlohmann::json& v, const std::string& path, execution_mode& out);
void read_value(const nlohmann::json& v, const std::string& path, slot_state& out);
void read_value(const nlohmann::json& v, const std::string& path, task_state& out);
void read_value(const nlohmann::json& v, const std::string& path, permission_mode& out);
void read_value(const nlohmann::json& v, const std::string& path, effort& out);

/// Object types: `strict` makes unknown fields an error.
#define CLAUDE_POOL_DECLARE_READ_OBJECT(type)                                             \
  void read_object(const nlohmann::json& v, const std::string& path, type& out,           \
                   bool strict);                                                          \
  inline void read_value(const nlohmann::json& v, const std::string& path, type& out) {  \
    read_object(v, path, out, false);                                                     \
  }
CLAUDE_POOL_DECLARE_READ_OBJECT(autoscale_config)
CLAUDE_POOL_DECLARE_READ_OBJECT(scaling_config)
CLAUDE_POOL_DECLARE_READ_OBJECT(pool_config)
CLAUDE_POOL_DECLARE_READ_OBJECT(slot_config)
CLAUDE_POOL_DECLARE_READ_OBJECT(task_overrides)
CLAUDE_POOL_DECLARE_READ_OBJECT(slot_record)
CLAUDE_POOL_DECLARE_READ_OBJECT(task_result)
CLAUDE_POOL_DECLARE_READ_OBJECT(attempt_record)
CLAUDE_POOL_DECLARE_READ_OBJECT(task_record)
CLAUDE_POOL_DECLARE_READ_OBJECT(task_progress)
CLAUDE_POOL_DECLARE_READ_OBJECT(task_filter)
CLAUDE_POOL_DECLARE_READ_OBJECT(model_metrics)
CLAUDE_POOL_DECLARE_READ_OBJECT(session_metrics)
CLAUDE_POOL_DECLARE_READ_OBJECT(metrics_filter)
#undef CLAUDE_POOL_DECLARE_READ_OBJECT

inline void read_value(const nlohmann::json& v, const std::string&, pool_event& out) {
  from_json(v, out);
}

inline void read_value(const nlohmann::json& v, const std::string&, budget_status& out) {
  from_json(v, out);
}

template <class T>
void read_value(const nlohmann::json& v, const std::string& path, std::vector<T>& out) {
  if (!v.is_array())
    fail(path, "expected an array, got " + describe(v));
  out.clear();
  out.resize(v.size());
  for (std::size_t i = 0; i < v.size(); ++i)
    read_value(v[i], path + "[" + std::to_string(i) + "]", out[i]);
}

template <class T>
void read_value(const nlohmann::json& v, const std::string& path,
                std::map<std::string, T>& out) {
  if (!v.is_object())
    fail(path, "expected an object, got " + describe(v));
  out.clear();
  for (auto it = v.begin(); it != v.end(); ++it)
    read_value(it.value(), path + "." + it.key(), out[it.key()]);
}

/// Reads the fields of one JSON object. In strict mode, `finish()` reports fields the type
/// does not have.
class object_reader {
public:
  object_reader(const nlohmann::json& j, std::string path, bool strict);

  /// A field that must be present (and not null).
  template <class T>
  void required(const char* name, T& out) {
    auto v = find(name);
    if (!v || v->is_null())
      fail(path_ + "." + name, "missing required field");
    read_value(*v, path_ + "." + name, out);
  }

  /// A field that keeps its default when absent or null.
  template <class T>
  void defaulted(const char* name, T& out) {
    auto v = find(name);
    if (v && !v->is_null())
      read_value(*v, path_ + "." + name, out);
  }

  /// An optional field: absent or null → std::nullopt.
  template <class T>
  void optional(const char* name, std::optional<T>& out) {
    auto v = find(name);
    if (!v || v->is_null()) {
      out.reset();
      return;
    }
    T tmp{};
    read_value(*v, path_ + "." + name, tmp);
    out = std::move(tmp);
  }

  /// Marks a field as known when the caller reads it by other means.
  void known(const char* name) { seen_.insert(name); }

  /// In strict mode: throws for the first field that was never asked for.
  void finish() const;

  const std::string& path() const { return path_; }

private:
  const nlohmann::json* find(const char* name);

  const nlohmann::json& j_;
  std::string path_;
  bool strict_;
  std::set<std::string> seen_;
};

} // namespace claude_pool::detail
