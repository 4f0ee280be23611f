#pragma once
/// The HTTP API described as an OpenAPI 3 document (GET /v1/openapi.json): every route with
/// its parameters, body and answers. tests/http/http_api_test.py calls every route it lists
/// against a served pool, so a route documented but not served (or served under another
/// path) fails the test.

#include <nlohmann/json.hpp>

namespace claude_pool::http_api {

nlohmann::json openapi_document();

} // namespace claude_pool::http_api
