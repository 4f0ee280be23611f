#pragma once
/// MCP server definitions handed to the CLI as files (`--mcp-config PATH`) rather than
/// inline: one file per slot, mode 0600 in a private 0700 directory (server definitions
/// often carry tokens), rewritten when the slot's servers change, removed with the slot and
/// with the executor (drain, shutdown).

#include <map>
#include <mutex>
#include <string>

#include "messages/config.hpp"
#include "messages/ids.hpp"

namespace claude_pool {

class mcp_config_files {
public:
  mcp_config_files() = default;
  /// Removes every file and the directory.
  ~mcp_config_files();
  mcp_config_files(const mcp_config_files&) = delete;
  mcp_config_files& operator=(const mcp_config_files&) = delete;

  /// The file holding `servers` for `slot` (`{"mcpServers": …}`), written if needed.
  /// Throws std::runtime_error naming the path when it cannot be written.
  std::string path_for(const slot_id& slot, const mcp_server_map& servers);

  /// Removes the slot's file.
  void remove(const slot_id& slot);

  /// The private directory (empty until the first file).
  std::string directory() const;

private:
  mutable std::mutex mutex_;
  std::string dir_;
  std::map<slot_id, std::pair<std::string, std::string>> files_; ///< slot → (path, content)
};

} // namespace claude_pool
