#include "program/progress_display.hpp"


namespace claude_pool::app {

std::string describe_progress(const task_progress& p) {
  std::string s = "turns " + std::to_string(p.turns) + ", tools " + std::to_string(p.tool_uses);
  if (p.last_tool)
    s += " (last " + *p.last_tool + ")";
  s += ", " + format_microdollars(p.cost_microdollars) + (p.cost_is_final ? "" : " so far");
  if (!p.partial_output.empty()) {
    // The end of the answer so far, on one line.
    std::string tail = p.partial_output;
    for (auto& c : tail)
      if (c == '\n' || c == '\r' || c == '\t')
        c = ' ';
    constexpr std::size_t keep = 60;
    if (tail.size() > keep) {
      auto cut = tail.size() - keep;
      while (cut < tail.size() && (static_cast<unsigned char>(tail[cut]) & 0xC0) == 0x80)
        ++cut; // never start inside a UTF-8 sequence
      tail = "…" + tail.substr(cut);
    }
    s += ", \"" + tail + "\"";
  }
  return s;
}

progress_display::progress_display(std::ostream& out, snapshot look,
                                   std::chrono::milliseconds period)
  : out_(out), look_(std::move(look)), period_(period) {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      wake_.wait_for(lock, period_, [this] { return stop_; });
      lock.unlock();
      print_changes();
      lock.lock();
    }
  });
}

progress_display::~progress_display() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void progress_display::print_changes() {
  std::map<std::string, std::string> now;
  try {
    now = look_();
  } catch (const std::exception&) {
    return; // the pool is going away; the command reports the outcome itself
  }
  for (auto& [key, line] : now) {
    auto& last = shown_[key];
    if (line != last) {
      out_ << line << '\n' << std::flush;
      last = line;
    }
  }
}

} // namespace claude_pool::app
