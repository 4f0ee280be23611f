#pragma once
/// What a node accepts from remote submitters (issue 16, "a node trusts no one"), as pure
/// functions: a task that arrives over the network must not start programs (MCP servers are
/// commands), leave the node's directory, replace its system prompt or raise permissions
/// beyond what the node's operator chose in `pool_config::remote`. The actor that receives
/// remote submissions applies it and answers `pool_errc::not_permitted` with the sentence;
/// `remote.max_pending_per_client` needs that actor's count and is enforced there.

#include <optional>
#include <string>

#include "messages/requests.hpp"

namespace claude_pool {

/// Rank of a permission mode by what it lets a task do without a person approving, lowest
/// first: plan < dont_ask < default < accept_edits < auto < bypass_permissions.
int permissiveness(permission_mode m);

/// The permission mode a task of this node runs in when it asks for none: the node's own
/// `permission_mode`, `default` when unset (the CLI's), `dont_ask` for an unattended node
/// that kept the reference default plan (as runtime/cli/resolved_config.cpp resolves it).
permission_mode node_permission_mode(const pool_config& node);

/// Nothing when `node` accepts `sub` from a remote client, else one sentence that names the
/// first offending field and the rule (and the opt-in, where the operator has one), e.g.
/// `config.mcp_servers: a remote task may not define MCP servers (…); an operator may allow
/// it with remote.allow_overrides ["mcp_servers"]`.
std::optional<std::string> check_remote_submission(const pool_config& node,
                                                   const task_submission& sub);

} // namespace claude_pool
