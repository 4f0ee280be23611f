#pragma once
/// The dashboard served at `GET /`: http_api/dashboard/index.html, compiled into the binary by
/// cmake/EmbedFile.cmake (one self-contained page: no CDN, nothing read from disk).

#include <string_view>

namespace claude_pool::http_api {

std::string_view dashboard_page();

} // namespace claude_pool::http_api
