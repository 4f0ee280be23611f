#include <catch2/catch.hpp>

#include "messages/utf8.hpp"

using namespace claude_pool;

TEST_CASE("valid UTF-8 passes unchanged, invalid bytes are found and replaced", "[utf8]") {
  std::string good = "plain ünïcödé ✓ 日本語 🚀";
  CHECK_FALSE(first_invalid_utf8(good));
  CHECK(to_valid_utf8(good) == good);
  CHECK(first_invalid_utf8("ab\xC3\x28") == std::size_t{2});       // bad continuation
  CHECK(first_invalid_utf8("\xFF") == std::size_t{0});             // never valid
  CHECK(first_invalid_utf8("x\xC0\xAF") == std::size_t{1});        // overlong
  CHECK(first_invalid_utf8("\xED\xA0\x80") == std::size_t{0});     // surrogate
  CHECK(first_invalid_utf8("\xF4\x90\x80\x80") == std::size_t{0}); // above U+10FFFF
  CHECK(first_invalid_utf8("\xE2\x9C") == std::size_t{0});         // truncated
  CHECK(to_valid_utf8("a\xFF" "b") == "a\xEF\xBF\xBD" "b");
  CHECK(to_valid_utf8("\xC3\x28") == "\xEF\xBF\xBD(");
}
