#include "runtime/node/basp_inbound_filter.hpp"

#include <algorithm>

namespace claude_pool {

namespace {

enum : unsigned char {
  direct_message = 0x02,
  routed_message = 0x03,
};
constexpr unsigned char named_receiver_flag = 0x01;

std::uint64_t big_endian(const unsigned char* p, std::size_t n) {
  std::uint64_t x = 0;
  for (std::size_t i = 0; i < n; ++i)
    x = (x << 8) | p[i];
  return x;
}

} // namespace

bool basp_inbound_filter::refuse(std::string why) {
  if (why_.empty())
    why_ = std::move(why);
  return false;
}

bool basp_inbound_filter::header_complete(unsigned char* in_buffer) {
  auto op = header_[0];
  auto flags = header_[3];
  auto payload = big_endian(header_ + 4, 4);
  auto dest = big_endian(header_ + 24, 8);
  if (op == routed_message)
    return refuse("sent a routed message (it could name any node as its source)");
  if (payload > max_payload_)
    return refuse("announced a message of " + std::to_string(payload) + " bytes (limit "
                  + std::to_string(max_payload_) + ")");
  if (op == direct_message) {
    bool named = (flags & named_receiver_flag) != 0;
    if (named || (only_to_ && dest != *only_to_)) {
      // Undeliverable, but not a breach by itself: see the header.
      if (in_buffer == nullptr)
        return refuse(std::string(named ? "addressed a named system actor"
                                        : "addressed actor " + std::to_string(dest)
                                            + ", not its own gate")
                      + " (in a split header)");
      // No flag, and an actor id no actor ever gets (0 would make the header invalid, and
      // BASP would drop the connection): CAF drops or bounces it as for a dead actor.
      in_buffer[3] = static_cast<unsigned char>(flags & ~named_receiver_flag);
      std::fill(in_buffer + 24, in_buffer + 32, 0xff);
      ++unnamed_;
    }
    check_stages_ = true;
  }
  payload_left_ = payload;
  have_ = 0;
  if (check_stages_ && payload_left_ == 0)
    return refuse("sent a message without content");
  return true;
}

bool basp_inbound_filter::feed(void* data, std::size_t size) {
  if (!why_.empty())
    return false;
  auto p = static_cast<unsigned char*>(data);
  while (size > 0) {
    if (payload_left_ > 0) {
      if (check_stages_) {
        // The stage vector's length comes first (varbyte): 0 is one zero byte.
        check_stages_ = false;
        if (*p != 0)
          return refuse("sent a message with forwarding stages");
      }
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(payload_left_, size));
      payload_left_ -= n;
      p += n;
      size -= n;
      continue;
    }
    auto n = std::min(header_size - have_, size);
    bool whole = have_ == 0 && n == header_size;
    std::copy(p, p + n, header_ + have_);
    have_ += n;
    p += n;
    size -= n;
    if (have_ == header_size && !header_complete(whole ? p - header_size : nullptr))
      return false;
  }
  return true;
}

} // namespace claude_pool
