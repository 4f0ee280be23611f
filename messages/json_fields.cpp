#include "messages/json_fields.hpp"

#include <cmath>
#include <limits>

namespace claude_pool::detail {

using nlohmann::json;

std::string describe(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return v.get<bool>() ? "true" : "false";
    case json::value_t::string: {
      auto s = v.get<std::string>();
      if (s.size() > 40)
        s = s.substr(0, 40) + "…";
      return "the string " + json(s).dump();
    }
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return "the number " + v.dump();
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "an unsupported value";
  }
}

void fail(const std::string& path, const std::string& what) {
  throw json_error(path + ": " + what);
}

void read_value(const json& v, const std::string& path, std::string& out) {
  if (!v.is_string())
    fail(path, "expected a string, got " + describe(v));
  out = v.get<std::string>();
}

void read_value(const json& v, const std::string& path, bool& out) {
  if (!v.is_boolean())
    fail(path, "expected true or false, got " + describe(v));
  out = v.get<bool>();
}

void read_value(const json& v, const std::string& path, std::uint64_t& out) {
  if (v.is_number_unsigned()) {
    out = v.get<std::uint64_t>();
    return;
  }
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) {
    out = static_cast<std::uint64_t>(v.get<std::int64_t>());
    return;
  }
  fail(path, "expected an unsigned integer, got " + describe(v));
}

void read_value(const json& v, const std::string& path, std::uint32_t& out) {
  std::uint64_t wide = 0;
  read_value(v, path, wide);
  if (wide > std::numeric_limits<std::uint32_t>::max())
    fail(path, "value " + std::to_string(wide) + " is larger than 4294967295");
  out = static_cast<std::uint32_t>(wide);
}

void read_value(const json& v, const std::string& path, std::int32_t& out) {
  if (!v.is_number_integer())
    fail(path, "expected an integer, got " + describe(v));
  auto wide = v.get<std::int64_t>();
  if (wide < std::numeric_limits<std::int32_t>::min()
      || wide > std::numeric_limits<std::int32_t>::max())
    fail(path, "value " + std::to_string(wide) + " does not fit a 32-bit integer");
  out = static_cast<std::int32_t>(wide);
}

void read_value(const json& v, const std::string& path, double& out) {
  if (!v.is_number())
    fail(path, "expected a number, got " + describe(v));
  out = v.get<double>();
  if (!std::isfinite(out))
    fail(path, "expected a finite number");
}

void read_value(const json& v, const std::string&, json& out) { out = v; }

namespace {

template <class Enum, class Parse>
void read_enum(const json& v, const std::string& path, Enum& out, Parse parse,
               const char* choices) {
  if (!v.is_string())
    fail(path, std::string("expected one of ") + choices + ", got " + describe(v));
  auto parsed = parse(v.get<std::string>());
  if (!parsed)
    fail(path, "unknown value " + v.dump() + " (expected one of " + choices + ")");
  out = *parsed;
}

} // namespace

void read_value(const json& v, const std::string& path, task_id& out) {
  read_value(v, path, out.value);
}
void read_value(const json& v, const std::string& path, slot_id& out) {
  read_value(v, path, out.value);
}
void read_value(const json& v, const std::string& path, execution_mode& out) {
  read_enum(v, path, out, parse_execution_mode, "one_shot, warm");
}

void read_value(const json& v, const std::string& path, slot_mode& out) {
  read_enum(v, path, out, parse_slot_mode, "persistent, ephemeral");
}
void read_value(const json& v, const std::string& path, slot_state& out) {
  read_enum(v, path, out, parse_slot_state, "idle, busy, stopped, errored");
}
void read_value(const json& v, const std::string& path, task_state& out) {
  read_enum(v, path, out, parse_task_state,
            "pending, running, completed, failed, cancelled, pending_review");
}
void read_value(const json& v, const std::string& path, permission_mode& out) {
  read_enum(v, path, out, parse_permission_mode,
            "accept_edits, auto, bypass_permissions, default, dont_ask, plan");
}
void read_value(const json& v, const std::string& path, effort& out) {
  read_enum(v, path, out, parse_effort, "low, medium, high, xhigh, max");
}

field_reader::field_reader(const json& j, std::string path, bool strict)
  : j_(j), path_(std::move(path)), strict_(strict) {
  if (!j_.is_object())
    fail(path_, "expected an object, got " + describe(j_));
}

const json* field_reader::find(const char* name) {
  seen_.insert(name);
  auto it = j_.find(name);
  return it == j_.end() ? nullptr : &*it;
}

void field_reader::finish() const {
  if (!strict_)
    return;
  for (auto it = j_.begin(); it != j_.end(); ++it)
    if (seen_.count(it.key()) == 0)
      fail(path_ + "." + it.key(), "unknown field");
}

} // namespace claude_pool::detail
