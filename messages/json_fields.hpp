#pragma once
/// Internal to messages/: the walkers over a type's one JSON field list. Each object type
/// lists its fields once, in a `template <class Walker> void fields(Walker& w, T& x)`,
/// as CAF's `inspect` lists them once for saving and loading; `field_writer` walks the list
/// to write the JSON, `field_reader` to read it back, converting values and naming the field
/// path in every error. The list's verbs say how a field is spelled both ways:
///
///   verb                      written                        read (absent or null)
///   required(name, x)         always                         error "missing required field"
///   defaulted(name, x)        always                         keeps its default
///   nullable(name, opt)       null when unset                absent: keeps; null: unset
///   omitted(name, opt)        left out when unset            absent: keeps; null: unset
///   omitted(name, list)       left out when empty            keeps its default (empty)
///   omitted(name, x, dflt)    left out when equal to dflt    keeps its default
///
/// Reading always starts from a default-constructed value, so "keeps" means "the default"
/// (which for `pool_config.permission_mode` is plan, not unset).

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "messages/chain.hpp"
#include "messages/json.hpp"
#include "messages/requests.hpp"

namespace claude_pool::detail {

/// A short description of a JSON value's type for error messages.
std::string describe(const nlohmann::json& v);

[[noreturn]] void fail(const std::string& path, const std::string& what);

// -- values -----------------------------------------------------------------------------------

void read_value(const nlohmann::json& v, const std::string& path, std::string& out);
void read_value(const nlohmann::json& v, const std::string& path, bool& out);
void read_value(const nlohmann::json& v, const std::string& path, std::uint64_t& out);
void read_value(const nlohmann::json& v, const std::string& path, std::uint32_t& out);
void read_value(const nlohmann::json& v, const std::string& path, std::int32_t& out);
void read_value(const nlohmann::json& v, const std::string& path, double& out);
void read_value(const nlohmann::json& v, const std::string& path, nlohmann::json& out);

void read_value(const nlohmann::json& v, const std::string& path, task_id& out);
void read_value(const nlohmann::json& v, const std::string& path, slot_id& out);
void read_value(const nlohmann::json& v, const std::string& path, chain_id& out);
void read_value(const nlohmann::json& v, const std::string& path, slot_mode& out);
void read_value(const nlohmann::json& v, const std::string& path, execution_mode& out);
void read_value(const nlohmann::json& v, const std::string& path, slot_state& out);
void read_value(const nlohmann::json& v, const std::string& path, task_state& out);
void read_value(const nlohmann::json& v, const std::string& path, permission_mode& out);
void read_value(const nlohmann::json& v, const std::string& path, effort& out);
void read_value(const nlohmann::json& v, const std::string& path, chain_state& out);
void read_value(const nlohmann::json& v, const std::string& path, step_state& out);

/// Values have no fields, so strictness does not concern them.
template <class T>
void read_value(const nlohmann::json& v, const std::string& path, T& out, bool /*strict*/) {
  read_value(v, path, out);
}

// -- objects ----------------------------------------------------------------------------------

/// Object types, defined by `CLAUDE_POOL_JSON_OBJECT` from their field lists: `strict` (a
/// document as a user wrote it) makes unknown fields an error, in nested objects too.
#define CLAUDE_POOL_DECLARE_READ_OBJECT(type)                                             \
  void read_value(const nlohmann::json& v, const std::string& path, type& out, bool strict);
CLAUDE_POOL_DECLARE_READ_OBJECT(autoscale_config)
CLAUDE_POOL_DECLARE_READ_OBJECT(scaling_config)
CLAUDE_POOL_DECLARE_READ_OBJECT(remote_policy)
CLAUDE_POOL_DECLARE_READ_OBJECT(credential_profile)
CLAUDE_POOL_DECLARE_READ_OBJECT(webhook_config)
CLAUDE_POOL_DECLARE_READ_OBJECT(cli_telemetry_config)
CLAUDE_POOL_DECLARE_READ_OBJECT(token_usage)
CLAUDE_POOL_DECLARE_READ_OBJECT(pool_config)
CLAUDE_POOL_DECLARE_READ_OBJECT(slot_config)
CLAUDE_POOL_DECLARE_READ_OBJECT(task_overrides)
CLAUDE_POOL_DECLARE_READ_OBJECT(slot_record)
CLAUDE_POOL_DECLARE_READ_OBJECT(task_result)
CLAUDE_POOL_DECLARE_READ_OBJECT(attempt_record)
CLAUDE_POOL_DECLARE_READ_OBJECT(task_record)
CLAUDE_POOL_DECLARE_READ_OBJECT(task_progress)
CLAUDE_POOL_DECLARE_READ_OBJECT(rate_limit_info)
CLAUDE_POOL_DECLARE_READ_OBJECT(task_filter)
CLAUDE_POOL_DECLARE_READ_OBJECT(model_metrics)
CLAUDE_POOL_DECLARE_READ_OBJECT(session_metrics)
CLAUDE_POOL_DECLARE_READ_OBJECT(metrics_filter)
CLAUDE_POOL_DECLARE_READ_OBJECT(chain_failure_policy)
CLAUDE_POOL_DECLARE_READ_OBJECT(chain_step)
CLAUDE_POOL_DECLARE_READ_OBJECT(chain_definition)
CLAUDE_POOL_DECLARE_READ_OBJECT(chain_step_result)
CLAUDE_POOL_DECLARE_READ_OBJECT(chain_worktree)
CLAUDE_POOL_DECLARE_READ_OBJECT(chain_record)
CLAUDE_POOL_DECLARE_READ_OBJECT(pool_event)
CLAUDE_POOL_DECLARE_READ_OBJECT(task_submission)
CLAUDE_POOL_DECLARE_READ_OBJECT(budget_reservation)
CLAUDE_POOL_DECLARE_READ_OBJECT(budget_scope_status)
CLAUDE_POOL_DECLARE_READ_OBJECT(budget_status)
CLAUDE_POOL_DECLARE_READ_OBJECT(credential_status)
CLAUDE_POOL_DECLARE_READ_OBJECT(pool_status)
CLAUDE_POOL_DECLARE_READ_OBJECT(pool_load)
CLAUDE_POOL_DECLARE_READ_OBJECT(drain_summary)
CLAUDE_POOL_DECLARE_READ_OBJECT(task_assignment)
CLAUDE_POOL_DECLARE_READ_OBJECT(submit_answer)
#undef CLAUDE_POOL_DECLARE_READ_OBJECT

/// What a user wrote (strict reading) is also checked for what JSON cannot say; most types
/// have nothing to check.
template <class T>
void check_strict(const T&, const std::string& /*path*/) {}

/// Task overrides a user wrote (a chain step's or a batch line's `config`) are validated.
void check_strict(const task_overrides& x, const std::string& path);

// -- shared values ----------------------------------------------------------------------------

/// A shared value is written and read as the value itself (the writer: field_writer).
template <class T>
void read_value(const nlohmann::json& v, const std::string& path, shared_value<T>& out,
                bool strict) {
  T x;
  read_value(v, path, x, strict);
  out = shared_value<T>(std::move(x));
}

// -- containers -------------------------------------------------------------------------------

template <class T>
void read_value(const nlohmann::json& v, const std::string& path, std::vector<T>& out,
                bool strict) {
  if (!v.is_array())
    fail(path, "expected an array, got " + describe(v));
  out.clear();
  out.resize(v.size());
  for (std::size_t i = 0; i < v.size(); ++i)
    read_value(v[i], path + "[" + std::to_string(i) + "]", out[i], strict);
}

template <class T>
void read_value(const nlohmann::json& v, const std::string& path,
                std::map<std::string, T>& out, bool strict) {
  if (!v.is_object())
    fail(path, "expected an object, got " + describe(v));
  out.clear();
  for (auto it = v.begin(); it != v.end(); ++it)
    read_value(it.value(), path + "." + it.key(), out[it.key()], strict);
}

// -- the walkers ------------------------------------------------------------------------------

/// Keeps a parameter out of template argument deduction (C++20's std::type_identity_t).
template <class T>
struct not_deduced {
  using type = T;
};

/// Writes the fields of one object into `j`.
class field_writer {
public:
  explicit field_writer(nlohmann::json& j) : j_(j) { j_ = nlohmann::json::object(); }

  template <class T>
  void required(const char* name, const T& x) {
    j_[name] = x;
  }

  template <class T>
  void defaulted(const char* name, const T& x) {
    j_[name] = x;
  }

  template <class T>
  void required(const char* name, const shared_value<T>& x) {
    j_[name] = *x;
  }

  /// Unset is written as null (serde's default for `Option`).
  template <class T>
  void nullable(const char* name, const std::optional<T>& x) {
    if (x)
      j_[name] = *x;
    else
      j_[name] = nullptr;
  }

  template <class T>
  void nullable(const char* name, const boxed<T>& x) {
    if (x)
      j_[name] = *x;
    else
      j_[name] = nullptr;
  }

  /// Unset is left out (`skip_serializing_if = "Option::is_none"`, extensions).
  template <class T>
  void omitted(const char* name, const std::optional<T>& x) {
    if (x)
      j_[name] = *x;
  }

  template <class T>
  void omitted(const char* name, const boxed<T>& x) {
    if (x)
      j_[name] = *x;
  }

  /// Empty is left out.
  template <class T>
  void omitted(const char* name, const std::vector<T>& x) {
    if (!x.empty())
      j_[name] = x;
  }

  template <class T>
  void omitted(const char* name, const std::map<std::string, T>& x) {
    if (!x.empty())
      j_[name] = x;
  }

  /// The default is left out (extensions that older readers need not see).
  template <class T>
  void omitted(const char* name, const T& x, const typename not_deduced<T>::type& dflt) {
    if (!(x == dflt))
      j_[name] = x;
  }

private:
  nlohmann::json& j_;
};

/// Reads the fields of one JSON object. In strict mode, `finish()` reports fields the type
/// does not have.
class field_reader {
public:
  field_reader(const nlohmann::json& j, std::string path, bool strict);

  template <class T>
  void required(const char* name, T& out) {
    auto v = find(name);
    if (!v || v->is_null())
      fail(path_ + "." + name, "missing required field");
    read_value(*v, path_ + "." + name, out, strict_);
  }

  template <class T>
  void defaulted(const char* name, T& out) {
    auto v = find(name);
    if (v && !v->is_null())
      read_value(*v, path_ + "." + name, out, strict_);
  }

  template <class T>
  void nullable(const char* name, std::optional<T>& out) {
    read_optional(name, out);
  }

  template <class T>
  void nullable(const char* name, boxed<T>& out) {
    std::optional<T> tmp = out.optional();
    read_optional(name, tmp);
    out = std::move(tmp);
  }

  template <class T>
  void omitted(const char* name, std::optional<T>& out) {
    read_optional(name, out);
  }

  template <class T>
  void omitted(const char* name, boxed<T>& out) {
    nullable(name, out);
  }

  template <class T>
  void omitted(const char* name, std::vector<T>& out) {
    defaulted(name, out);
  }

  template <class T>
  void omitted(const char* name, std::map<std::string, T>& out) {
    defaulted(name, out);
  }

  template <class T>
  void omitted(const char* name, T& out, const typename not_deduced<T>::type& /*dflt*/) {
    defaulted(name, out);
  }

  /// In strict mode: throws for the first field that was never asked for.
  void finish() const;

private:
  template <class T>
  void read_optional(const char* name, std::optional<T>& out) {
    auto v = find(name);
    if (!v)
      return;
    if (v->is_null()) {
      out.reset();
      return;
    }
    T tmp{};
    read_value(*v, path_ + "." + name, tmp, strict_);
    out = std::move(tmp);
  }

  const nlohmann::json* find(const char* name);

  const nlohmann::json& j_;
  std::string path_;
  bool strict_;
  std::set<std::string> seen_;
};

} // namespace claude_pool::detail

/// Defines `to_json`, `from_json` (lenient, the path starting at the type's name) and the
/// reader of an object type, all walking its `fields(walker, x)` list, which must be visible
/// where this is used (in namespace claude_pool).
#define CLAUDE_POOL_JSON_OBJECT(type)                                                     \
  void to_json(nlohmann::json& j, const type& x) {                                        \
    detail::field_writer w(j);                                                            \
    /* The writer only reads the fields: one list serves both ways, as CAF's inspect. */  \
    fields(w, const_cast<type&>(x));                                                      \
  }                                                                                       \
  void detail::read_value(const nlohmann::json& j, const std::string& path, type& x,      \
                          bool strict) {                                                  \
    field_reader r(j, path, strict);                                                      \
    fields(r, x);                                                                         \
    r.finish();                                                                           \
    if (strict)                                                                           \
      check_strict(x, path);                                                              \
  }                                                                                       \
  void from_json(const nlohmann::json& j, type& x) { detail::read_value(j, #type, x, false); }
