#pragma once
/// UTF-8 checks. Records are JSON, and JSON text must be valid UTF-8, so text that comes from
/// outside (a CLI's stdout/stderr, a caller's prompt) is checked or repaired at the boundary.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace claude_pool {

/// The byte offset of the first invalid UTF-8 sequence, or std::nullopt if `s` is valid
/// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::optional<std::size_t> first_invalid_utf8(std::string_view s);

/// `s` with every invalid sequence replaced by U+FFFD.
std::string to_valid_utf8(std::string_view s);

} // namespace claude_pool
