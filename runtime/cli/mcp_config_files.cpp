#include "runtime/cli/mcp_config_files.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

namespace claude_pool {

namespace {

void write_private_file(const std::string& path, const std::string& content) {
  auto tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    throw std::runtime_error("cannot write MCP config " + tmp + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < content.size()) {
    auto n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      auto err = errno;
      ::close(fd);
      throw std::runtime_error("cannot write MCP config " + tmp + ": " + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  // Atomic replace: a CLI starting meanwhile reads the old file or the new, never half.
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error("cannot write MCP config " + path + ": " + std::strerror(errno));
}

} // namespace

mcp_config_files::~mcp_config_files() {
  if (dir_.empty())
    return;
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string mcp_config_files::path_for(const slot_id& slot, const mcp_server_map& servers) {
  nlohmann::json all = nlohmann::json::object();
  for (auto& [name, server] : servers)
    all[name] = server;
  auto content = nlohmann::json{{"mcpServers", all}}.dump();
  std::lock_guard<std::mutex> lock(mutex_);
  if (dir_.empty()) {
    auto base = std::filesystem::temp_directory_path() / "claude-pool-mcp-XXXXXX";
    std::string pattern = base.string();
    if (!::mkdtemp(pattern.data())) // mkdtemp makes it 0700
      throw std::runtime_error("cannot create a directory for MCP configs in "
                               + base.parent_path().string() + ": " + std::strerror(errno));
    dir_ = pattern;
  }
  auto& entry = files_[slot];
  if (entry.first.empty())
    entry.first = dir_ + "/" + slot.value + ".mcp.json";
  if (entry.second != content) {
    write_private_file(entry.first, content);
    entry.second = content;
  }
  return entry.first;
}

void mcp_config_files::remove(const slot_id& slot) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = files_.find(slot);
  if (it == files_.end())
    return;
  ::unlink(it->second.first.c_str());
  files_.erase(it);
}

std::string mcp_config_files::directory() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return dir_;
}

} // namespace claude_pool
