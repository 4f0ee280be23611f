#pragma once
/// Git worktree isolation: each slot that asks for it works in its own checkout on its own
/// branch, so parallel agents do not edit the same files. Worktrees live in
/// `<base>/<owner>/<name>` on branches `claude-pool/<owner>/<name>`; `owner` is unique to one
/// pool instance, so a pool only ever lists or removes what it made itself.
///
/// Nothing an agent produced is ever discarded: release() keeps a worktree with uncommitted
/// work (or with commits no branch holds) and keeps a branch that has commits, and says so.
/// Git runs as a child process (no shell, no terminal prompts); every call is short and made
/// under one mutex.

#include <cstdint>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace claude_pool {

/// A git failure, or a directory that is not a git work tree; what() names the directory or
/// the command and carries git's own message.
struct worktree_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class git_worktrees {
public:
  /// `project_dir` must be inside a git work tree, else worktree_error ("worktree isolation
  /// needs a git repository: <dir> is not one (git: …)").
  /// `base_dir`: where worktrees go; unset or empty → `<toplevel>/.claude/pool-worktrees`;
  /// a relative one is taken relative to the toplevel.
  /// `owner`: a name unique to this pool instance (e.g. "pool-<pid>-<hex>"), a valid
  /// worktree name (see acquire), else worktree_error. Nothing is created on disk yet.
  /// `git_limit`: how long one git command may take; one that overstays (a hook, a filter,
  /// an LFS fetch) is killed with its process group and the call fails with worktree_error
  /// ("… did not finish within …"), so a slot or chain is never held forever.
  git_worktrees(std::string project_dir, std::optional<std::string> base_dir,
                   std::string owner,
                   std::chrono::milliseconds git_limit = std::chrono::minutes(2));
  /// Removes nothing: removal is explicit (release, release_all), so a crash or a forgotten
  /// drain never costs an agent's work.
  ~git_worktrees();
  git_worktrees(const git_worktrees&) = delete;
  git_worktrees& operator=(const git_worktrees&) = delete;

  struct worktree {
    std::string name;
    std::string path;         ///< absolute: `<base>/<owner>/<name>`
    std::string branch;       ///< `claude-pool/<owner>/<name>`
    std::string base_commit;  ///< full hash of the repository's HEAD when it was made
  };

  /// Creates worktree `name` on a new branch at the repository's current HEAD commit, or
  /// returns this object's existing one of that name. `name` is [A-Za-z0-9._-]+, not
  /// starting or ending with '.', without "..", not ending in ".lock" (git's rules for a ref
  /// component), else worktree_error. Thread-safe.
  worktree acquire(const std::string& name);

  struct removal {
    std::string name, path, branch;
    bool worktree_removed = false;  ///< false when kept: uncommitted work or commits on no branch
    bool branch_kept = false;       ///< true when it has commits beyond base_commit (or the
                                    ///< worktree, which has it checked out, was kept)
    std::uint32_t commits_ahead = 0;  ///< commits on the branch beyond base_commit
    std::string note;  ///< one sentence: what was kept and why; empty when nothing was kept
  };

  /// Removes worktree `name` of this object: a worktree with uncommitted (or untracked,
  /// non-ignored) changes, or whose HEAD holds commits no branch or tag has, is kept and
  /// reported; otherwise `git worktree remove`. Its branch is deleted only when it has no
  /// commits beyond base_commit. Unknown name → worktree_error; a git failure →
  /// worktree_error and the worktree stays this object's (a later release may retry).
  removal release(const std::string& name);

  /// release() for every worktree of this object (drain, shutdown). Never throws: a failure
  /// becomes a removal whose note says what went wrong.
  std::vector<removal> release_all();

  /// This manager's worktrees, by name.
  std::vector<worktree> list() const;

  /// The repository's top-level directory (of the work tree `project_dir` is in).
  const std::string& toplevel() const;
  /// Where this object's worktrees go: `<base>/<owner>`.
  const std::string& owner_dir() const;

private:
  removal release_locked(const std::string& name);

  std::string toplevel_;
  std::string base_dir_;
  std::string owner_;
  std::string owner_dir_;
  std::chrono::milliseconds git_limit_;
  mutable std::mutex mutex_;
  std::map<std::string, worktree> worktrees_;
};

} // namespace claude_pool
