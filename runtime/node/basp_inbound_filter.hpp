#pragma once
/// Checks the BASP frames a peer sends, byte by byte as they arrive (frames split across
/// reads at any point). Plain code, no CAF: the framing is fixed by BASP 0.17 — a 32-byte
/// header (operation, two padding bytes, flags, payload length, operation data, source and
/// destination actor, big-endian) and then the payload.
///
/// Refused (the caller drops the connection):
/// - `routed_message` (0x03): its payload names a source node of the sender's choosing, even
///   this node, whose actors the message would then seem to come from;
/// - a message the filter must rewrite (below) whose header arrived split over two reads;
/// - a named receiver (flag 0x01) is not delivered: CAF's config server answers any key of
///   the node's configuration (the TLS passphrase among them) and its spawn server spawns.
///   Every CAF peer asks the config server once after connecting, so such a message is not
///   a breach: its header is rewritten in place to name an actor id no actor has, and CAF bounces it as
///   addressed to an unknown actor. (A header split across two reads cannot be rewritten:
///   that one is refused.)
/// - a `direct_message` (0x02) with forwarding stages: the reply would go to an actor of the
///   sender's choosing on this node;
/// - with `only_to` set, a `direct_message` to any other actor — except responses, which are
///   not delivered either: every CAF peer answers the node's own query of its config server,
///   so such an answer is rewritten like a named receiver's message (below) and dropped;
/// - a payload longer than `max_payload`.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace claude_pool {

class basp_inbound_filter {
public:
  static constexpr std::size_t header_size = 32;

  /// `only_to`: the one actor id a direct message may address (unset: any).
  explicit basp_inbound_filter(std::optional<std::uint64_t> only_to = std::nullopt,
                               std::uint32_t max_payload = 64u << 20)
    : only_to_(only_to), max_payload_(max_payload) {}

  /// Feeds the next bytes (which it may rewrite, see above). False once the peer breached
  /// the rules (`why()` says how); every later call is false too.
  bool feed(void* data, std::size_t size);

  /// Messages to named receivers, and answers to others than the gate, turned away so far.
  std::uint64_t unnamed() const { return unnamed_; }

  const std::string& why() const { return why_; }

private:
  /// `in_buffer`: where the header starts in the caller's buffer, if all of it is there.
  bool header_complete(unsigned char* in_buffer);
  bool refuse(std::string why);

  std::optional<std::uint64_t> only_to_;
  std::uint32_t max_payload_;
  unsigned char header_[header_size] = {};
  std::size_t have_ = 0;           ///< header bytes collected
  std::uint64_t payload_left_ = 0; ///< payload bytes still to skip
  bool check_stages_ = false;      ///< the payload's first byte is the stage count
  std::string why_;
  std::uint64_t unnamed_ = 0;
};

} // namespace claude_pool
