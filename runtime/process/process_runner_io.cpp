// A child's pipes: writing its stdin (all at once, or queued writes for a keep_stdin_open
// child) and reading its stdout and stderr (see process_runner_impl.hpp).
#include "runtime/process/process_runner_impl.hpp"

#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

#include <signal.h>

#include <algorithm>
#include <string_view>

namespace claude_pool::runtime {

namespace {

void consume_pending_sigpipe() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  timespec zero{0, 0};
  while (::sigtimedwait(&set, nullptr, &zero) > 0) {
  }
}

} // namespace

void process_runner::impl::adopt(asio::posix::stream_descriptor& sd, unique_fd& fd) {
  error_code ec;
  sd.assign(fd.get(), ec);
  if (ec) throw boost::system::system_error(ec);
  fd.release();
}

void process_runner::impl::attach(const child_ptr& c, unique_fd& in_w, unique_fd& out_r, unique_fd& err_r) {
  children.emplace(c->id, c);
  if (c->req.keep_stdin_open) {
    adopt(c->in, in_w);
    c->in_open = true;
    if (!c->req.stdin_data.empty()) c->writes.push_back(std::move(c->req.stdin_data));
    pump(c);
  } else if (c->req.stdin_data.empty()) {
    in_w.reset();
  } else {
    adopt(c->in, in_w);
    asio::async_write(c->in, asio::buffer(c->req.stdin_data), [c](const error_code& ec, std::size_t) {
      if (ec == asio::error::broken_pipe) consume_pending_sigpipe();
      error_code ignored;
      c->in.close(ignored);
      std::string().swap(c->req.stdin_data);  // may be large; no longer needed
    });
  }
  adopt(c->out.sd, out_r);
  adopt(c->err.sd, err_r);
  for (capture* cap : {&c->out, &c->err}) {
    cap->open = true;
    read_more(c, *cap);
  }
  watch_exit(c);
  if (c->req.timeout.count() > 0) {
    c->deadline.expires_after(c->req.timeout);
    c->deadline.async_wait([this, c](const error_code& ec) {
      if (!ec && !c->finished) begin_stop(c, stop_reason::timeout);
    });
  }
}

void process_runner::impl::pump(const child_ptr& c) {
  if (c->writing || !c->in_open || c->finished) return;
  if (c->writes.empty()) {
    if (c->close_requested) {
      error_code ignored;
      c->in.close(ignored);
      c->in_open = false;
    }
    return;
  }
  c->writing = true;
  asio::async_write(c->in, asio::buffer(c->writes.front()), [this, c](const error_code& ec, std::size_t) {
    c->writing = false;
    if (c->finished) return;
    if (ec) {
      if (ec == asio::error::broken_pipe) consume_pending_sigpipe();
      error_code ignored;
      c->in.close(ignored);
      c->in_open = false;
      c->writes.clear();
      return;
    }
    c->writes.pop_front();
    pump(c);
  });
}

void process_runner::impl::read_more(const child_ptr& c, capture& cap) {
  cap.sd.async_read_some(asio::buffer(cap.buf), [this, c, &cap](const error_code& ec, std::size_t n) {
    if (c->finished || !cap.open) return;
    if (&cap == &c->out && c->req.on_stdout) {
      if (n > 0) {
        try {
          c->req.on_stdout(std::string_view(cap.buf.data(), n));
        } catch (...) {
          // A stdout handler must not throw; the child is still watched and reported.
        }
      }
      if (!ec) return read_more(c, cap);
      cap.open = false;
      error_code ignored;
      cap.sd.close(ignored);
      return maybe_finish(c);
    }
    std::size_t keep = std::min(n, cap.limit - std::min(cap.limit, cap.data.size()));
    cap.data.append(cap.buf.data(), keep);
    if (keep < n) cap.truncated = true;
    if (!ec) return read_more(c, cap);
    cap.open = false;  // EOF, or an error that ends this stream just the same
    error_code ignored;
    cap.sd.close(ignored);
    maybe_finish(c);
  });
}

} // namespace claude_pool::runtime
