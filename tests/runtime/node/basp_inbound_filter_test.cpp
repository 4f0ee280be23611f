// The BASP checks of an adopted connection, frame by frame and split at every byte.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "runtime/node/basp_inbound_filter.hpp"

using claude_pool::basp_inbound_filter;

namespace {

using bytes = std::vector<unsigned char>;

void put(bytes& out, std::uint64_t x, int n) {
  for (int i = n - 1; i >= 0; --i)
    out.push_back(static_cast<unsigned char>(x >> (8 * i)));
}

/// A BASP frame: header (big-endian, as CAF 0.17 writes it) and payload.
bytes frame(unsigned char op, unsigned char flags, std::uint64_t dest, const bytes& payload,
            std::uint64_t message_id = 0) {
  bytes out{op, 0, 0, flags};
  put(out, payload.size(), 4);
  put(out, message_id, 8); // operation data
  put(out, 7, 8); // source actor
  put(out, dest, 8);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

const bytes no_stages{0x00, 0x11, 0x22};

bool feed_byte_by_byte(basp_inbound_filter& f, const bytes& b) {
  for (auto c : b)
    if (!f.feed(&c, 1))
      return false;
  return true;
}

} // namespace

TEST_CASE("handshakes, heartbeats and direct messages to the allowed actor pass", "[basp]") {
  basp_inbound_filter f(42);
  auto stream = frame(0x01, 0, 0, bytes(50, 0xab)); // client handshake
  for (auto& fr : {frame(0x06, 0, 0, {}), frame(0x02, 0, 42, no_stages),
                   frame(0x04, 0, 99, bytes(10, 1)), frame(0x02, 0, 42, no_stages)})
    stream.insert(stream.end(), fr.begin(), fr.end());
  SECTION("in one read") { CHECK(f.feed(stream.data(), stream.size())); }
  SECTION("one byte at a time") { CHECK(feed_byte_by_byte(f, stream)); }
  CHECK(f.why().empty());
}

TEST_CASE("a routed message drops the connection", "[basp]") {
  basp_inbound_filter f;
  CHECK_FALSE(feed_byte_by_byte(f, frame(0x03, 0, 42, bytes(40, 0))));
  CHECK_THAT(f.why(), Catch::Contains("routed"));
  unsigned char more = 0;
  CHECK_FALSE(f.feed(&more, 1)); // stays refused
}

TEST_CASE("a direct message to another actor than the gate is never delivered", "[basp]") {
  basp_inbound_filter restricted(42);
  auto fr = frame(0x02, 0, 43, no_stages);
  REQUIRE(restricted.feed(fr.data(), 32));
  CHECK(std::all_of(fr.begin() + 24, fr.begin() + 32, [](unsigned char c) { return c == 0xff; }));
  REQUIRE(restricted.feed(fr.data() + 32, fr.size() - 32));
  // Split, it cannot be rewritten: the connection is dropped.
  auto again = frame(0x02, 0, 43, no_stages);
  CHECK_FALSE(feed_byte_by_byte(restricted, again));
  CHECK_THAT(restricted.why(), Catch::Contains("actor 43"));
  basp_inbound_filter open;
  auto untouched = frame(0x02, 0, 43, no_stages);
  CHECK(open.feed(untouched.data(), untouched.size()));
  CHECK(untouched[31] == 43);
}

TEST_CASE("a message to a named system actor is rewritten to address no actor", "[basp]") {
  basp_inbound_filter named(42);
  // 0x436f6e66... : the shape of CAF's atom for "ConfigServ" as a destination.
  auto fr = frame(0x02, 0x01, 0x0000436f6e666967ull, no_stages);
  REQUIRE(named.feed(fr.data(), 32)); // the header, in one read as CAF asks for it
  CHECK(fr[3] == 0x00);               // no named-receiver flag any more
  CHECK(std::all_of(fr.begin() + 24, fr.begin() + 32, [](unsigned char c) { return c == 0xff; }));
  CHECK(named.feed(fr.data() + 32, fr.size() - 32));
  CHECK(named.unnamed() == 1);
  // Split over two reads it cannot be rewritten: refused.
  basp_inbound_filter split;
  auto again = frame(0x02, 0x01, 1, no_stages);
  CHECK(split.feed(again.data(), 10));
  CHECK_FALSE(split.feed(again.data() + 10, again.size() - 10));
  CHECK_THAT(split.why(), Catch::Contains("named"));
}

TEST_CASE("forwarding stages are refused", "[basp]") {
  basp_inbound_filter staged;
  auto fr = frame(0x02, 0, 5, bytes{0x01, 0xff, 0xff});
  CHECK_FALSE(feed_byte_by_byte(staged, fr));
  CHECK_THAT(staged.why(), Catch::Contains("stages"));
}

TEST_CASE("a frame announcing more than the limit is refused before it arrives", "[basp]") {
  basp_inbound_filter f(std::nullopt, 1000);
  bytes header = frame(0x02, 0, 1, bytes(1001, 0));
  header.resize(32); // only the header has arrived
  CHECK_FALSE(f.feed(header.data(), header.size()));
  CHECK_THAT(f.why(), Catch::Contains("1001"));
}

