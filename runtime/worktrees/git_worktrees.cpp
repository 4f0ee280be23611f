#include "runtime/worktrees/git_worktrees.hpp"

#include "runtime/process/descriptors.hpp"
#include "runtime/process/spawn.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <utility>
#include <vector>

namespace claude_pool {

namespace {

namespace fs = std::filesystem;
using runtime::errno_text;
using runtime::open_pipe;
using runtime::unique_fd;
using args = std::vector<std::string>;

struct git_result {
  int exit = -1;
  std::string out, err;
  bool timed_out = false; ///< killed at its limit; `err` says so
};

/// A git command killed at its limit (what it made may be half done).
struct git_overstayed : worktree_error {
  using worktree_error::worktree_error;
};

// Variables that pick the repository, dropped as git itself drops them before running a
// command in another repository (a submodule): set when the pool is started from a git hook
// or alias, they would make `git -C <worktree>` address the hook's repository instead.
const std::vector<std::string> repository_variables{
  "GIT_DIR", "GIT_WORK_TREE", "GIT_IMPLICIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR",
  "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_PREFIX"};

// Added to the pool's environment: never ask for credentials on a terminal nobody watches
// (git would hang), messages in English so they can be reported as they are, and no optional
// index lock for `status`, so our check never collides with git commands an agent runs.
const std::vector<std::pair<std::string, std::string>> git_settings{
  {"GIT_TERMINAL_PROMPT", "0"}, {"LC_ALL", "C"}, {"GIT_OPTIONAL_LOCKS", "0"}};

// Reads both pipes to their end, whichever git writes first, so neither can fill and block it.
// False when `deadline` came first.
bool read_both(int out_fd, int err_fd, std::string& out, std::string& err,
               std::chrono::steady_clock::time_point deadline) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {&out, &err};
  char buf[8192];
  for (int open = 2; open > 0;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0)
      return false;
    int ready = ::poll(fds, 2, static_cast<int>(std::min<long long>(left, 60000)));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return true;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;  // poll skips negative descriptors
        --open;
      }
    }
  }
  return true;
}

std::string command_line(const args& arguments) {
  std::string line = "git";
  for (const auto& a : arguments) line += " " + a;
  return line;
}

// No shell: paths and names go to git as they are. spawn() also gives git default signal
// dispositions and an empty mask whatever the application set: with SIGCHLD ignored, git
// could not wait for its own hooks.
git_result run_git(const args& arguments, std::chrono::milliseconds limit) {
  unique_fd out_r, out_w, err_r, err_w;
  int e = 0;
  if (!open_pipe(out_r, out_w, e) || !open_pipe(err_r, err_w, e))
    throw worktree_error("cannot run git: no pipes (" + errno_text(e) + ")");

  runtime::spawn_spec spec;
  spec.executable = "git";
  spec.args = arguments;
  spec.env_unset = repository_variables;
  spec.env_set = git_settings;
  spec.in = runtime::spawn_stream::null_device();
  spec.out = runtime::spawn_stream::descriptor(out_w.get());
  spec.err = runtime::spawn_stream::descriptor(err_w.get());
  // Its own process group, so that a git that overstays (a hook, a filter, a fetch) is
  // killed with everything it started.
  spec.new_process_group = true;
  auto started = runtime::spawn(spec);
  if (!started) throw worktree_error("cannot run git: " + started.error);
  const pid_t pid = started.pid;
  out_w.reset();  // our copies closed, so EOF comes when git exits
  err_w.reset();

  git_result r;
  bool in_time =
    read_both(out_r.get(), err_r.get(), r.out, r.err, std::chrono::steady_clock::now() + limit);
  if (!in_time)
    ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno == EINTR) continue;
    // ECHILD: the application reaps every child (SIGCHLD ignored or waitpid(-1)).
    throw worktree_error("cannot learn how git ended: " + errno_text(errno));
  }
  if (!in_time) {
    r.timed_out = true;
    r.exit = -1;
    r.err = "`" + command_line(arguments) + "` did not finish within "
            + std::to_string(limit.count() / 1000.0).substr(0, 5)
            + " s and was killed (a hook, a filter or a prompt waiting?)";
    return r;
  }
  if (WIFEXITED(status)) {
    r.exit = WEXITSTATUS(status);
  } else {
    r.exit = 128 + WTERMSIG(status);
    r.err += "git was killed by signal " + std::to_string(WTERMSIG(status));
  }
  return r;
}

std::string trimmed(const std::string& s) {
  auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

// Runs git and returns its result; a non-zero exit becomes a worktree_error that says what we
// were doing, the command, and git's own words.
git_result run_git_or_throw(const args& arguments, const std::string& doing,
                            std::chrono::milliseconds limit) {
  auto r = run_git(arguments, limit);
  if (r.timed_out)
    throw git_overstayed(doing + ": " + r.err);
  if (r.exit != 0)
    throw worktree_error(doing + ": `" + command_line(arguments) + "` failed (exit " +
                         std::to_string(r.exit) + "): " + trimmed(r.err));
  return r;
}

std::uint32_t count_from(const git_result& r, const std::string& doing) {
  try {
    return static_cast<std::uint32_t>(std::stoul(trimmed(r.out)));
  } catch (const std::exception&) {
    throw worktree_error(doing + ": git printed no count (\"" + trimmed(r.out) + "\")");
  }
}

bool branch_exists(const std::string& toplevel, const std::string& branch,
                   std::chrono::milliseconds limit) {
  return run_git({"-C", toplevel, "rev-parse", "--verify", "--quiet", "refs/heads/" + branch},
                 limit)
             .exit == 0;
}

// [A-Za-z0-9._-]+, minus what git refuses in a ref component (a leading '.', "..", a
// trailing ".lock") and a trailing '.', which it refuses at the end of a branch name. This
// also rules out "." and "..", which would leave the owner's directory.
bool is_valid_name(const std::string& name) {
  if (name.empty() || name.front() == '.' || name.back() == '.') return false;
  if (name.find("..") != std::string::npos) return false;
  if (name.size() >= 5 && name.compare(name.size() - 5, 5, ".lock") == 0) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string normalized(const fs::path& p) {
  std::error_code ec;
  fs::path out = fs::weakly_canonical(p, ec);
  if (ec) out = p.lexically_normal();
  std::string s = out.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

void make_private_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw worktree_error("cannot create directory " + dir + ": " + errno_text(errno));
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw worktree_error("cannot use " + dir + " for worktrees: it is not a directory");
}

// Keeps the worktrees out of the main tree's `git status` (and out of tools that honour
// .gitignore) without touching the user's files: a `*` .gitignore inside the base directory
// ignores everything there, itself included. Chosen over .git/info/exclude because it is
// created atomically (O_EXCL, no read-modify-write race between pools), it is not an edit
// to the user's repository, and it is right wherever the base directory is. Git reads
// .gitignore files only within a work tree, so it has no effect inside the worktrees.
void ignore_everything_in(const std::string& base) {
  std::string path = base + "/.gitignore";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST) return;  // ours from an earlier pool, or the user's: left as it is
    throw worktree_error("cannot create " + path + ": " + errno_text(errno));
  }
  static const char text[] = "# claude-pool worktrees: not part of the project\n*\n";
  bool written = ::write(fd, text, sizeof text - 1) == static_cast<ssize_t>(sizeof text - 1);
  int write_errno = errno;
  ::close(fd);
  if (!written) throw worktree_error("cannot write " + path + ": " + errno_text(write_errno));
}

std::string commits(std::uint32_t n) {
  return std::to_string(n) + (n == 1 ? " commit" : " commits");
}

} // namespace

git_worktrees::git_worktrees(std::string project_dir, std::optional<std::string> base_dir,
                                   std::string owner, std::chrono::milliseconds git_limit)
    : owner_(std::move(owner)), git_limit_(git_limit) {
  if (!is_valid_name(owner_))
    throw worktree_error("worktree owner \"" + owner_ +
                         "\" is not a valid name: use [A-Za-z0-9._-], not starting or ending "
                         "with '.', without \"..\"");
  if (project_dir.empty()) project_dir = ".";
  auto top = run_git({"-C", project_dir, "rev-parse", "--show-toplevel"}, git_limit_);
  toplevel_ = trimmed(top.out);
  if (top.exit != 0 || toplevel_.empty())
    throw worktree_error("worktree isolation needs a git repository: " + project_dir +
                         " is not one (git: " + trimmed(top.err) + ")");
  fs::path base = base_dir && !base_dir->empty() ? fs::path(*base_dir)
                                                 : fs::path(".claude/pool-worktrees");
  if (base.is_relative()) base = fs::path(toplevel_) / base;
  base_dir_ = normalized(base);
  owner_dir_ = base_dir_ + "/" + owner_;
}

git_worktrees::~git_worktrees() = default;

git_worktrees::worktree git_worktrees::acquire(const std::string& name) {
  if (!is_valid_name(name))
    throw worktree_error("worktree name \"" + name +
                         "\" is not valid: use [A-Za-z0-9._-], not starting or ending with "
                         "'.', without \"..\", not ending in \".lock\"");
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = worktrees_.find(name); it != worktrees_.end()) return it->second;

  const std::string doing = "cannot create worktree " + name + " in " + toplevel_;
  auto head = run_git({"-C", toplevel_, "rev-parse", "--verify", "--quiet", "HEAD^{commit}"},
                      git_limit_);
  if (head.exit != 0)
    throw worktree_error(doing + ": HEAD names no commit yet (commit something first)");
  worktree wt{name, owner_dir_ + "/" + name, "claude-pool/" + owner_ + "/" + name,
              trimmed(head.out)};
  // Checked first, because on failure below we delete the branch, and it must be ours.
  if (branch_exists(toplevel_, wt.branch, git_limit_))
    throw worktree_error(doing + ": branch " + wt.branch +
                         " already exists (kept by an earlier release, or made by another pool "
                         "with the same owner); a new worktree needs a new name");

  std::error_code ec;
  fs::create_directories(fs::path(base_dir_).parent_path(), ec);  // e.g. .claude, as usual
  make_private_dir(base_dir_);
  ignore_everything_in(base_dir_);
  make_private_dir(owner_dir_);
  try {
    run_git_or_throw({"-C", toplevel_, "worktree", "add", "--quiet", "-b", wt.branch, wt.path,
                      wt.base_commit},
                     doing, git_limit_);
  } catch (const worktree_error& e) {
    // git makes the branch before the checkout and keeps it when the checkout fails. Best
    // effort: the error worth reporting is the one above.
    try {
      // Killed mid-way (in a hook): the checkout is there, fresh and registered; it goes.
      // (A failed add never touches the path: git refuses a directory that exists.)
      if (dynamic_cast<const git_overstayed*>(&e) != nullptr)
        run_git({"-C", toplevel_, "worktree", "remove", "--force", wt.path}, git_limit_);
      run_git({"-C", toplevel_, "worktree", "prune"}, git_limit_);
      run_git({"-C", toplevel_, "branch", "-D", wt.branch}, git_limit_);
    } catch (const worktree_error&) {
    }
    ::rmdir(owner_dir_.c_str());  // only when empty
    throw;
  }
  return worktrees_.emplace(name, wt).first->second;
}

git_worktrees::removal git_worktrees::release(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  return release_locked(name);
}

// In order: is anything only in the worktree (uncommitted files, commits no ref holds)? Then
// keep it all. Else remove the worktree, then the branch unless it carries commits. A failure
// half-way leaves the entry in place; a retry finds the worktree gone and carries on.
git_worktrees::removal git_worktrees::release_locked(const std::string& name) {
  auto it = worktrees_.find(name);
  if (it == worktrees_.end())
    throw worktree_error("no worktree named \"" + name + "\" was made by this pool in " +
                         owner_dir_);
  const worktree& wt = it->second;
  const std::string doing = "cannot release worktree " + wt.path;
  removal r;
  r.name = wt.name;
  r.path = wt.path;
  r.branch = wt.branch;

  std::error_code ec;
  bool present = fs::exists(wt.path, ec);
  // Without its .git file, `git -C` there would find the main tree around it instead.
  if (present && !fs::exists(wt.path + "/.git", ec))
    throw worktree_error(doing + ": it exists but is no longer a git worktree");
  std::string keep_reason;
  if (present) {
    // The flags `git worktree remove` uses for its own cleanliness check, so we never call
    // clean what it would refuse. Ignored files are not shown: they go with the worktree.
    auto status = run_git_or_throw(
        {"-C", wt.path, "status", "--porcelain", "--ignore-submodules=none"}, doing, git_limit_);
    if (!trimmed(status.out).empty()) {
      keep_reason = "uncommitted changes";
    } else {
      // A detached HEAD's commits live only in the worktree's own HEAD and reflog, which
      // `worktree remove` deletes.
      auto stray = run_git_or_throw({"-C", wt.path, "rev-list", "--count", "HEAD", "--not",
                                     "--branches", "--tags", "--remotes"},
                                    doing, git_limit_);
      if (auto n = count_from(stray, doing); n > 0)
        keep_reason = "its HEAD has " + commits(n) + " on no branch";
    }
  } else {
    // Deleted behind git's back: forget its metadata, or the branch stays "checked out".
    run_git_or_throw({"-C", toplevel_, "worktree", "prune"}, doing, git_limit_);
  }

  bool has_branch = branch_exists(toplevel_, wt.branch, git_limit_);
  if (has_branch) {
    auto ahead = run_git_or_throw(
        {"-C", toplevel_, "rev-list", "--count", wt.base_commit + ".." + wt.branch}, doing,
        git_limit_);
    r.commits_ahead = count_from(ahead, doing);
  }

  if (!keep_reason.empty()) {
    r.branch_kept = has_branch;
    r.note = "kept worktree " + wt.path + ": " + keep_reason;
    if (r.commits_ahead > 0) r.note += "; its branch " + wt.branch + " has " + commits(r.commits_ahead);
  } else {
    if (present)
      run_git_or_throw({"-C", toplevel_, "worktree", "remove", wt.path}, doing, git_limit_);
    r.worktree_removed = true;
    if (has_branch && r.commits_ahead == 0) {
      // -D, not -d: -d compares with the current HEAD, which may have moved on elsewhere;
      // we have just checked against the commit the branch started from.
      run_git_or_throw({"-C", toplevel_, "branch", "-D", wt.branch}, doing, git_limit_);
    } else if (has_branch) {
      r.branch_kept = true;
      r.note = "kept branch " + wt.branch + " with " + commits(r.commits_ahead) + " beyond " +
               wt.base_commit.substr(0, 12);
    }
  }
  worktrees_.erase(it);
  ::rmdir(owner_dir_.c_str());  // only when empty; it is made again by the next acquire
  return r;
}

std::vector<git_worktrees::removal> git_worktrees::release_all() {
  std::vector<removal> out;
  try {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<worktree> all;
    for (const auto& [name, wt] : worktrees_) all.push_back(wt);
    for (const auto& wt : all) {
      try {
        out.push_back(release_locked(wt.name));
      } catch (const std::exception& e) {
        removal r;
        r.name = wt.name;
        r.path = wt.path;
        r.branch = wt.branch;
        std::error_code ec;
        r.worktree_removed = !fs::exists(wt.path, ec);
        r.branch_kept = true;  // not deleted by us, whatever state it is in
        r.note = e.what();  // "cannot release worktree <path>: …"
        out.push_back(std::move(r));
      }
    }
  } catch (...) {
    // Out of memory or a failed lock: what was collected is all there is to report.
  }
  return out;
}

std::vector<git_worktrees::worktree> git_worktrees::list() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<worktree> out;
  for (const auto& [name, wt] : worktrees_) out.push_back(wt);
  return out;
}

const std::string& git_worktrees::toplevel() const { return toplevel_; }

const std::string& git_worktrees::owner_dir() const { return owner_dir_; }

} // namespace claude_pool
