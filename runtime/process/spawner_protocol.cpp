#include "runtime/process/spawner_protocol.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace claude_pool::runtime::spawner_protocol {

namespace {

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

void put_string(std::string& out, const std::string& s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out += s;
}

void put_strings(std::string& out, const std::vector<std::string>& v) {
  put_u32(out, static_cast<std::uint32_t>(v.size()));
  for (auto& s : v) put_string(out, s);
}

/// Reads from a payload, refusing to run past its end.
struct reader {
  const char* p;
  const char* end;
  bool ok = true;

  std::uint64_t number(int bytes) {
    if (end - p < bytes) {
      ok = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    p += bytes;
    return v;
  }
  std::string string() {
    auto n = number(4);
    if (!ok || static_cast<std::uint64_t>(end - p) < n) {
      ok = false;
      return {};
    }
    std::string s(p, n);
    p += n;
    return s;
  }
  std::vector<std::string> strings() {
    auto n = number(4);
    std::vector<std::string> v;
    for (std::uint64_t i = 0; ok && i < n; ++i) v.push_back(string());
    return v;
  }
};

std::string framed(std::string payload) {
  std::string frame;
  put_u32(frame, static_cast<std::uint32_t>(payload.size()));
  return frame + payload;
}

bool wait_writable(int sock) {
  pollfd p{sock, POLLOUT, 0};
  int r;
  do r = ::poll(&p, 1, -1);
  while (r < 0 && errno == EINTR);
  return r > 0;
}

} // namespace

std::string encode(const spawn_request& r) {
  std::string p;
  p += static_cast<char>(request_kind::spawn);
  put_u64(p, r.id);
  put_string(p, r.path);
  put_string(p, r.working_dir);
  put_strings(p, r.argv);
  put_strings(p, r.envp);
  put_string(p, r.token_entry);
  return framed(std::move(p));
}

std::string encode(const signal_request& r) {
  std::string p;
  p += static_cast<char>(request_kind::signal);
  put_u64(p, r.id);
  put_u32(p, static_cast<std::uint32_t>(r.signal));
  return framed(std::move(p));
}

std::string encode(const reply& r) {
  std::string p;
  p += static_cast<char>(r.kind);
  put_u64(p, r.id);
  put_u32(p, static_cast<std::uint32_t>(r.a));
  put_u32(p, static_cast<std::uint32_t>(r.b));
  return framed(std::move(p));
}

bool decode(const char* data, std::size_t size, spawn_request& out) {
  reader in{data, data + size};
  if (in.number(1) != static_cast<std::uint64_t>(request_kind::spawn)) return false;
  out.id = in.number(8);
  out.path = in.string();
  out.working_dir = in.string();
  out.argv = in.strings();
  out.envp = in.strings();
  out.token_entry = in.string();
  return in.ok && in.p == in.end && !out.path.empty() && !out.argv.empty();
}

bool decode(const char* data, std::size_t size, signal_request& out) {
  reader in{data, data + size};
  if (in.number(1) != static_cast<std::uint64_t>(request_kind::signal)) return false;
  out.id = in.number(8);
  out.signal = static_cast<std::int32_t>(in.number(4));
  return in.ok && in.p == in.end;
}

bool decode(const char* data, std::size_t size, reply& out) {
  reader in{data, data + size};
  auto kind = in.number(1);
  out.id = in.number(8);
  out.a = static_cast<std::int32_t>(in.number(4));
  out.b = static_cast<std::int32_t>(in.number(4));
  if (kind < 2 || kind > 3) return false;
  out.kind = static_cast<reply_kind>(kind);
  return in.ok && in.p == in.end;
}

bool send_frame(int sock, const std::string& frame, const int* fds, int nfds, int& err) {
  std::size_t sent = 0;
  bool fds_sent = nfds == 0;
  while (sent < frame.size()) {
    iovec iov{const_cast<char*>(frame.data() + sent), frame.size() - sent};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 3)];
    if (!fds_sent) {
      std::memset(control, 0, sizeof control);
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * static_cast<unsigned>(nfds));
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * static_cast<unsigned>(nfds));
      std::memcpy(CMSG_DATA(c), fds, sizeof(int) * static_cast<unsigned>(nfds));
    }
    ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_writable(sock)) continue;
      err = errno;
      return false;
    }
    fds_sent = true; // they travel with the first byte that went out
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

} // namespace claude_pool::runtime::spawner_protocol
