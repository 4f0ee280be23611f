#include "http_api/openapi_document.hpp"

#include <string>

namespace claude_pool::http_api {

namespace {

using nlohmann::json;

json error_responses(std::initializer_list<const char*> codes) {
  json out = json::object();
  for (auto code : codes)
    out[code] = {{"description", "an error: {\"error\": {\"code\", \"message\"}}"},
                 {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
  return out;
}

json operation(const std::string& summary, const char* role, json responses) {
  return {{"summary", summary + " (" + role + " role)"},
          {"security", json::array({{{"bearer", json::array()}}})},
          {"responses", std::move(responses)}};
}

json ok_json(const char* description, const char* schema = nullptr) {
  json content = json::object();
  content["application/json"] = schema ? json{{"schema", {{"$ref", std::string("#/components/schemas/") + schema}}}}
                                       : json{{"schema", {{"type", "object"}}}};
  return {{"description", description}, {"content", content}};
}

json id_parameter() {
  return {{"name", "id"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}};
}

json query(const char* name, const char* type, const char* description) {
  return {{"name", name}, {"in", "query"}, {"required", false},
          {"description", description}, {"schema", {{"type", type}}}};
}

json body(const char* schema_or_type) {
  json schema = std::string(schema_or_type) == "object"
                  ? json{{"type", "object"}}
                  : json{{"$ref", std::string("#/components/schemas/") + schema_or_type}};
  return {{"required", true}, {"content", {{"application/json", {{"schema", schema}}}}}};
}

json task_route(const std::string& summary, const char* role) {
  auto op = operation(summary, role, error_responses({"401", "403", "404", "409"}));
  op["parameters"] = json::array({id_parameter()});
  op["responses"]["200"] = ok_json("the task's record", "TaskRecord");
  return op;
}

} // namespace

json openapi_document() {
  json paths = json::object();
  auto submit = operation("accept a task", "submit", error_responses({"400", "401", "402", "403", "503"}));
  submit["requestBody"] = body("TaskSubmission");
  submit["responses"]["201"] = {{"description", "accepted: {\"id\": …}"},
                                {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}};
  auto list = operation("the caller's tasks, a page at a time", "submit",
                        error_responses({"400", "401"}));
  list["parameters"] = json::array({query("state", "string", "only tasks in this state"),
                                    query("tag", "string", "only tasks with this tag"),
                                    query("limit", "integer", "tasks per page (100; at most 1000)"),
                                    query("after", "string", "the previous page's next")});
  list["responses"]["200"] = ok_json("{\"tasks\": [TaskRecord], \"next\": id or null}");
  paths["/v1/tasks"] = {{"post", submit}, {"get", list}};
  paths["/v1/tasks/{id}"] = {{"get", task_route("a task's record", "submit")}};
  auto wait = task_route("the record once the task ended", "submit");
  wait["parameters"].push_back(query("timeout", "integer", "seconds to wait (30; at most 3600)"));
  wait["responses"]["202"] = ok_json("not ended within the timeout: the record as it is", "TaskRecord");
  paths["/v1/tasks/{id}/wait"] = {{"get", wait}};
  paths["/v1/tasks/{id}/cancel"] = {{"post", task_route("cancel a task", "submit")}};
  paths["/v1/tasks/{id}/approve"] = {{"post", task_route("approve a pending_review task", "admin")}};
  auto reject = task_route("run a pending_review task again with feedback", "admin");
  reject["requestBody"] = body("object");
  paths["/v1/tasks/{id}/reject"] = {{"post", reject}};
  auto chain_start = operation("start a chain (its steps go through the caller's policy)", "submit",
                               error_responses({"400", "401", "403", "503"}));
  chain_start["requestBody"] = body("object");
  chain_start["responses"]["201"] = {{"description", "started: {\"id\": …}"},
                                     {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}};
  paths["/v1/chains"] = {{"post", chain_start}};
  auto chain_route = [&](const char* summary) {
    auto op = operation(summary, "submit", error_responses({"401", "404"}));
    op["parameters"] = json::array({id_parameter()});
    op["responses"]["200"] = ok_json("the chain record (steps, outputs, live progress)");
    return op;
  };
  paths["/v1/chains/{id}"] = {{"get", chain_route("a chain as it is now")}};
  auto chain_wait = chain_route("the chain once it ended");
  chain_wait["parameters"].push_back(query("timeout", "integer", "seconds to wait (30; at most 3600)"));
  chain_wait["responses"]["202"] = ok_json("not ended within the timeout: the chain as it is");
  paths["/v1/chains/{id}/wait"] = {{"get", chain_wait}};
  paths["/v1/chains/{id}/cancel"] = {{"post", chain_route("stop the running step, skip the rest")}};
  auto status = operation("slots, counts, credentials, budget", "submit", error_responses({"401"}));
  status["responses"]["200"] = ok_json("the pool's status");
  paths["/v1/status"] = {{"get", status}};
  auto whoami = operation("the token's principal and role", "submit", error_responses({"401"}));
  whoami["responses"]["200"] = ok_json("{\"principal\": name, \"role\": \"admin\" or \"submit\"}");
  paths["/v1/whoami"] = {{"get", whoami}};
  auto metrics = operation("session metrics", "admin", error_responses({"401", "403"}));
  metrics["parameters"] = json::array({query("since_ms", "integer", "tasks created since"),
                                       query("until_ms", "integer", "…and until"),
                                       query("model", "string", "one model"),
                                       query("tag", "string", "one tag")});
  metrics["responses"]["200"] = ok_json("SessionMetrics");
  paths["/v1/metrics"] = {{"get", metrics}};
  auto scale = operation("set the slot count", "admin", error_responses({"400", "401", "403"}));
  scale["requestBody"] = body("object");
  scale["responses"]["200"] = ok_json("{\"target_slots\": n}");
  paths["/v1/scale"] = {{"post", scale}};
  auto drain = operation("refuse new work, finish or cancel the rest", "admin",
                         error_responses({"401", "403"}));
  drain["requestBody"] = body("object");
  drain["responses"]["200"] = ok_json("the drain's summary");
  paths["/v1/drain"] = {{"post", drain}};
  auto events = operation("Server-Sent Events: task changes and pool events", "admin",
                          error_responses({"401", "403"}));
  events["parameters"] = json::array({{{"name", "Last-Event-ID"}, {"in", "header"},
                                       {"required", false}, {"schema", {{"type", "integer"}}}},
                                      query("after", "integer", "as Last-Event-ID")});
  events["responses"]["200"] = {{"description", "the stream"},
                                {"content", {{"text/event-stream", {{"schema", {{"type", "string"}}}}}}}};
  paths["/v1/events"] = {{"get", events}};
  auto prom = operation("Prometheus text exposition", "admin", error_responses({"401", "403"}));
  prom["responses"]["200"] = {{"description", "the metrics"},
                              {"content", {{"text/plain", {{"schema", {{"type", "string"}}}}}}}};
  paths["/metrics"] = {{"get", prom}};
  auto doc = operation("this document", "any", json::object());
  doc.erase("security");
  doc["summary"] = "this document (no token needed)";
  doc["responses"]["200"] = ok_json("OpenAPI 3");
  paths["/v1/openapi.json"] = {{"get", doc}};
  auto page = operation("the dashboard: one self-contained page (no token needed to load it)",
                        "any", json::object());
  page.erase("security");
  page["summary"] = "the dashboard (no token needed to load it; it asks for one)";
  page["responses"]["200"] = {{"description", "the page"},
                              {"content", {{"text/html", {{"schema", {{"type", "string"}}}}}}}};
  paths["/"] = {{"get", page}};
  json schemas = json::object();
  json error_fields = json::object();
  error_fields["code"] = {{"type", "string"}};
  error_fields["message"] = {{"type", "string"}};
  schemas["Error"] = {{"type", "object"}};
  schemas["Error"]["properties"]["error"] = {{"type", "object"}, {"properties", error_fields}};
  json submission = json::object();
  submission["prompt"] = {{"type", "string"}};
  submission["tags"] = {{"type", "array"}, {"items", {{"type", "string"}}}};
  submission["config"] = {{"type", "object"}};
  schemas["TaskSubmission"] = {{"type", "object"},
                               {"required", json::array({"prompt"})},
                               {"description", "the reference crate's TaskSubmission, snake_case"},
                               {"properties", submission}};
  schemas["TaskRecord"] = {{"type", "object"},
                           {"description", "the reference crate's TaskRecord, snake_case"}};
  return {{"openapi", "3.0.3"},
          {"info", {{"title", "claude-pool node"}, {"version", CLAUDE_POOL_VERSION}}},
          {"paths", paths},
          {"components", {{"schemas", schemas},
                          {"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"},
                                                           {"description", "a token of the node's token directory"}}}}}}}};
}

} // namespace claude_pool::http_api
