#pragma once
/// Node secrets ("tokens"): a client proves it may use a claude-pool node by presenting a token
/// the node keeps in a file only its owner can read. This file makes, stores and checks them;
/// it knows nothing of actors or connections. A token is 32 random bytes as 64 hex characters.

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace claude_pool {

/// What a token lets its holder do: submit work, or also administer the node.
enum class node_role { submit, admin };

/// "submit" or "admin".
std::string_view to_string(node_role x);

/// The role spelled "submit" or "admin"; std::nullopt for anything else, so a caller can name
/// the offending option.
std::optional<node_role> parse_node_role(std::string_view s);

/// Who a presented token stands for.
struct peer_credential {
  std::string principal; ///< the token file's name, e.g. "alice" for alice.submit.token
  node_role role = node_role::submit;
};

/// A token file that cannot be used; the message names the file (or variable) and the fix.
struct token_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A fresh token: 32 bytes from getrandom(2), hex-encoded (64 lowercase characters).
/// Throws token_error if the kernel gives no randomness.
std::string generate_token();

/// Stores `token` (64 hex characters, else token_error) and a newline at `path`, mode 0600
/// whatever the umask. Creates missing directories on the way with mode 0700; refuses a
/// parent directory that group or others may write to (they could swap the file). The file
/// appears whole or not at all: a reader never sees half a token. An existing file, or a
/// symlink, at `path` is replaced, never written through. Throws token_error.
void write_token_file(const std::string& path, const std::string& token);

/// The token stored at `path`, without its newline. Throws token_error if the file is missing
/// or unreadable, not a regular file, readable or writable by group or others, empty, or not
/// exactly 64 hex characters (and at most one trailing newline).
std::string read_token_file(const std::string& path);

/// read_token_file if `path` exists; else a new token, written as write_token_file does and
/// returned. Two processes racing on a missing file get the same token: only one file is ever
/// put in place, and the loser reads the winner's. Throws token_error.
std::string ensure_token_file(const std::string& path);

/// Whether two tokens are equal, in time that depends only on their length (a mismatch at the
/// first byte takes as long as one at the last), so timing tells an attacker nothing about how
/// much of a guess was right. False for different lengths.
bool tokens_equal(std::string_view a, std::string_view b);

/// Where a node keeps its tokens by default: $XDG_RUNTIME_DIR/claude-pool if that variable
/// names a directory (per-user, tmpfs, gone at logout), else $HOME/.claude-pool. Neither is
/// created here. Throws token_error if neither variable names a directory.
std::string default_token_dir();

/// The principal a token file of a node's token directory stands for, by its name:
/// `admin.token` and `submit.token` for principals named so, `NAME.ROLE.token` for NAME with
/// ROLE; anything else is not a credential.
std::optional<peer_credential> credential_of_token_file(const std::string& file_name);

/// Whose token `token` is among the token files of `dir` (read now: a file added or deleted
/// counts at once), or nothing. Every file is compared, so how long a refusal takes says
/// nothing about the files; an unusable file is skipped and reported through `warn`.
std::optional<peer_credential> find_token(const std::string& dir, const std::string& token,
                                          const std::function<void(const std::string&)>& warn);

/// The value of CLAUDE_POOL_TOKEN_FILE, or "" if it is unset.
std::string token_file_from_env();

}  // namespace claude_pool
