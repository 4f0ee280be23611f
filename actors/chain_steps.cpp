#include "actors/chain_steps.hpp"

#include <set>

namespace claude_pool {

using nlohmann::json;

namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
         || c == '-';
}

bool is_name(const std::string& s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (!is_name_char(c))
      return false;
  return true;
}

/// One `{...}` placeholder the templates understand.
struct placeholder {
  std::size_t begin = 0, end = 0; ///< [begin, end) covers the braces
  std::string kind;               ///< previous_output, error, steps
  std::string step, var;
};

/// The next placeholder at or after `from`; braces that are not one are skipped.
std::optional<placeholder> next_placeholder(const std::string& t, std::size_t from) {
  for (auto open = t.find('{', from); open != std::string::npos; open = t.find('{', open + 1)) {
    auto close = t.find('}', open + 1);
    if (close == std::string::npos)
      return std::nullopt;
    auto inner = t.substr(open + 1, close - open - 1);
    placeholder p{open, close + 1, {}, {}, {}};
    if (inner == "previous_output" || inner == "error") {
      p.kind = inner;
      return p;
    }
    if (inner.rfind("steps.", 0) == 0) {
      auto rest = inner.substr(6);
      auto dot = rest.find('.');
      if (dot != std::string::npos) {
        p.step = rest.substr(0, dot);
        p.var = rest.substr(dot + 1);
        if (is_name(p.step) && is_name(p.var)) {
          p.kind = "steps";
          return p;
        }
      }
    }
  }
  return std::nullopt;
}

std::string as_text(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

/// Checks one template's `{steps.X.Y}` references against the steps before it.
std::string check_references(const std::string& tmpl, const std::string& field,
                             const std::vector<chain_step>& earlier) {
  for (auto p = next_placeholder(tmpl, 0); p; p = next_placeholder(tmpl, p->end)) {
    if (p->kind != "steps")
      continue;
    const chain_step* target = nullptr;
    for (auto& s : earlier)
      if (s.name == p->step)
        target = &s;
    auto ref = "{steps." + p->step + "." + p->var + "}";
    if (!target)
      return field + ": " + ref + " names no earlier step";
    if (p->var != "output" && !target->output_vars.count(p->var))
      return field + ": " + ref + ": step \"" + p->step + "\" declares no output variable \""
             + p->var + "\"";
  }
  return {};
}

std::optional<json> try_parse(const std::string& text) {
  auto doc = json::parse(text, nullptr, false);
  if (doc.is_discarded())
    return std::nullopt;
  return doc;
}

} // namespace

std::string check_chain(const chain_definition& def) {
  if (def.steps.empty())
    return "chain.steps: a chain needs at least one step";
  std::set<std::string> names;
  std::vector<chain_step> earlier;
  for (std::size_t i = 0; i < def.steps.size(); ++i) {
    auto& s = def.steps[i];
    auto field = "chain.steps[" + std::to_string(i) + "]";
    if (!is_name(s.name))
      return field + ".name: \"" + s.name + "\" must be non-empty and use only A-Z a-z 0-9 _ -";
    if (!names.insert(s.name).second)
      return field + ".name: \"" + s.name + "\" is used by an earlier step";
    if (s.prompt.empty())
      return field + ".prompt: must not be empty";
    if (auto bad = check_references(s.prompt, field + ".prompt", earlier); !bad.empty())
      return bad;
    if (s.failure_policy.recovery_prompt) {
      if (s.failure_policy.recovery_prompt->empty())
        return field + ".failure_policy.recovery_prompt: must not be empty when given";
      if (auto bad = check_references(*s.failure_policy.recovery_prompt,
                                      field + ".failure_policy.recovery_prompt", earlier);
          !bad.empty())
        return bad;
    }
    for (auto& [var, path] : s.output_vars) {
      if (!is_name(var) || var == "output")
        return field + ".output_vars: \"" + var
               + "\" must use only A-Z a-z 0-9 _ - and not be \"output\" (reserved)";
      if (path.empty())
        return field + ".output_vars." + var + ": the path must not be empty";
    }
    if (s.config)
      if (auto problem = validate(*s.config); !problem.empty())
        return field + ".config." + problem;
    earlier.push_back(s);
  }
  return {};
}

std::string render_template(const std::string& tmpl, const template_context& ctx) {
  std::string out;
  std::size_t at = 0;
  for (auto p = next_placeholder(tmpl, 0); p; p = next_placeholder(tmpl, p->end)) {
    std::string value;
    if (p->kind == "previous_output")
      value = ctx.previous_output;
    else if (p->kind == "error") {
      if (!ctx.error)
        continue; // not a recovery prompt: leave it as written
      value = *ctx.error;
    } else {
      const chain_step_result* step = nullptr;
      if (ctx.steps)
        for (auto& s : *ctx.steps)
          if (s.name == p->step)
            step = &s;
      if (!step)
        continue; // check_chain refuses these; at run time they stay visible, not empty
      if (p->var == "output")
        value = step->output.value_or("");
      else if (auto v = step->vars.find(p->var); v != step->vars.end())
        value = as_text(v->second);
      else
        continue;
    }
    out.append(tmpl, at, p->begin - at);
    out += value;
    at = p->end;
  }
  out.append(tmpl, at, std::string::npos);
  return out;
}

std::optional<json> output_json(const task_result& result) {
  if (result.structured_output)
    return result.structured_output;
  auto& text = result.output;
  if (auto doc = try_parse(text))
    return doc;
  if (auto fence = text.find("```json"); fence != std::string::npos) {
    auto start = text.find('\n', fence);
    auto stop = start == std::string::npos ? start : text.find("```", start);
    if (stop != std::string::npos)
      if (auto doc = try_parse(text.substr(start + 1, stop - start - 1)))
        return doc;
  }
  for (auto [open, close] : {std::pair{'{', '}'}, std::pair{'[', ']'}}) {
    auto first = text.find(open);
    auto last = text.rfind(close);
    if (first != std::string::npos && last != std::string::npos && last > first)
      if (auto doc = try_parse(text.substr(first, last - first + 1)))
        return doc;
  }
  return std::nullopt;
}

std::optional<json> value_at(const json& doc, const std::string& path) {
  if (!path.empty() && path[0] == '/') {
    try {
      auto ptr = json::json_pointer(path);
      if (doc.contains(ptr))
        return doc.at(ptr);
    } catch (const std::exception&) {
    }
    return std::nullopt;
  }
  // Dotted: `a.b[0].c` is read as `a.b.0.c`.
  std::vector<std::string> keys;
  std::string key;
  for (char c : path) {
    if (c == '.' || c == '[' || c == ']') {
      if (!key.empty())
        keys.push_back(std::move(key));
      key.clear();
    } else {
      key += c;
    }
  }
  if (!key.empty())
    keys.push_back(std::move(key));
  const json* at = &doc;
  for (auto& k : keys) {
    if (at->is_object()) {
      auto it = at->find(k);
      if (it == at->end())
        return std::nullopt;
      at = &*it;
    } else if (at->is_array()) {
      if (k.find_first_not_of("0123456789") != std::string::npos || k.size() > 9)
        return std::nullopt;
      auto i = std::stoul(k);
      if (i >= at->size())
        return std::nullopt;
      at = &(*at)[i];
    } else {
      return std::nullopt;
    }
  }
  return *at;
}

std::string take_output_vars(const chain_step& step, const task_result& result,
                             std::map<std::string, json>& vars) {
  if (step.output_vars.empty())
    return {};
  auto doc = output_json(result);
  if (!doc)
    return "step \"" + step.name + "\": its output is not JSON, so its output variables ("
           + step.output_vars.begin()->first + ", …) cannot be read";
  for (auto& [var, path] : step.output_vars) {
    auto v = value_at(*doc, path);
    if (!v)
      return "step \"" + step.name + "\": output variable \"" + var + "\": nothing at path \""
             + path + "\" in the output";
    vars[var] = std::move(*v);
  }
  return {};
}

} // namespace claude_pool
