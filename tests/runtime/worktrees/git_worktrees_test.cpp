#include "runtime/worktrees/git_worktrees.hpp"
#include "../../support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

using namespace claude_pool;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

// A repository's directory: its worktrees go inside it, so they are removed with it.
struct temp_dir : claude_pool::testing::temp_dir {
  temp_dir() : claude_pool::testing::temp_dir("claude-pool-worktree") {}
};

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct shell_result {
  int exit = -1;
  std::string out;
};

// The tests drive git through a shell for brevity; the code under test never does.
shell_result sh(const std::string& command) {
  shell_result r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  int status = ::pclose(p);
  r.exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  return r;
}

std::string git(const std::string& dir, const std::string& args) {
  auto r = sh("git -C " + quoted(dir) + " " + args);
  INFO("git " << args << " in " << dir << ": " << r.out);
  REQUIRE(r.exit == 0);
  return r.out;
}

bool has_branch(const std::string& repo, const std::string& branch) {
  return sh("git -C " + quoted(repo) + " rev-parse --verify --quiet refs/heads/" + branch).exit == 0;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// A repository with one commit, committer set locally so the machine's config does not matter.
std::string make_repo(const std::string& dir) {
  git(dir, "init -q");
  git(dir, "config user.name 'Pool Test'");
  git(dir, "config user.email pool@example.invalid");
  git(dir, "config commit.gpgsign false");
  write_file(dir + "/README", "hello\n");
  write_file(dir + "/.gitignore", "*.log\n");
  git(dir, "add README .gitignore");
  git(dir, "commit -q -m initial");
  return git(dir, "rev-parse HEAD");
}

void commit_in(const std::string& worktree, const std::string& file, const std::string& message) {
  write_file(worktree + "/" + file, message + "\n");
  git(worktree, "add " + quoted(file));
  git(worktree, "commit -q -m " + quoted(message));
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

} // namespace

TEST_CASE("a directory outside any git repository is refused, naming it and quoting git",
          "[worktree]") {
  temp_dir tmp;
  try {
    git_worktrees m(tmp.path, std::nullopt, "pool-1");
    FAIL("no error");
  } catch (const worktree_error& e) {
    CHECK_THAT(e.what(), Contains("worktree isolation needs a git repository: " + tmp.path +
                                  " is not one (git: "));
    CHECK_THAT(e.what(), Contains("not a git repository"));
  }
  CHECK_THROWS_WITH(git_worktrees(tmp.path + "/missing", std::nullopt, "pool-1"),
                    Contains("cannot change to"));
}

TEST_CASE("an acquired worktree is a checkout of HEAD on its own branch, made once",
          "[worktree]") {
  temp_dir tmp;
  auto head = make_repo(tmp.path);
  fs::create_directories(tmp.path + "/src/deep");
  git_worktrees m(tmp.path + "/src/deep", std::nullopt, "pool-1");
  CHECK(m.toplevel() == tmp.path);
  CHECK_FALSE(fs::exists(tmp.path + "/.claude"));  // nothing on disk before the first acquire

  auto wt = m.acquire("slot-0");
  CHECK(wt.name == "slot-0");
  CHECK(wt.path == tmp.path + "/.claude/pool-worktrees/pool-1/slot-0");
  CHECK(wt.branch == "claude-pool/pool-1/slot-0");
  CHECK(wt.base_commit == head);
  CHECK(fs::exists(wt.path + "/README"));
  CHECK(git(wt.path, "rev-parse --abbrev-ref HEAD") == wt.branch);
  CHECK(git(tmp.path, "rev-parse " + wt.branch) == head);
  CHECK(mode_of(m.owner_dir()) == 0700);
  // The main tree does not see the worktrees as untracked files.
  CHECK(git(tmp.path, "status --porcelain").empty());

  auto again = m.acquire("slot-0");
  CHECK(again.path == wt.path);
  CHECK(again.base_commit == wt.base_commit);
  REQUIRE(m.list().size() == 1);
  CHECK(m.list()[0].branch == wt.branch);
}

TEST_CASE("two pools on one repository see and remove only their own worktrees",
          "[worktree]") {
  temp_dir tmp;
  make_repo(tmp.path);
  git_worktrees first(tmp.path, std::nullopt, "pool-a");
  git_worktrees second(tmp.path, std::nullopt, "pool-b");
  auto a = first.acquire("slot-0");
  auto b = second.acquire("slot-0");
  CHECK(a.path != b.path);
  CHECK(a.branch != b.branch);
  REQUIRE(first.list().size() == 1);
  CHECK(first.list()[0].path == a.path);

  auto removed = first.release_all();
  REQUIRE(removed.size() == 1);
  CHECK(removed[0].path == a.path);
  CHECK_FALSE(fs::exists(a.path));
  CHECK(fs::exists(b.path + "/README"));
  CHECK(has_branch(tmp.path, b.branch));
  CHECK_THROWS_AS(first.release("slot-0"), worktree_error);  // already gone, and not b's

  second.release("slot-0");
  CHECK_FALSE(fs::exists(b.path));
}

TEST_CASE("releasing an untouched worktree removes its directory and its branch",
          "[worktree]") {
  temp_dir tmp;
  make_repo(tmp.path);
  git_worktrees m(tmp.path, std::nullopt, "pool-1");
  auto wt = m.acquire("slot-0");
  write_file(wt.path + "/build.log", "ignored output goes with the worktree\n");

  auto r = m.release("slot-0");
  CHECK(r.worktree_removed);
  CHECK_FALSE(r.branch_kept);
  CHECK(r.commits_ahead == 0);
  CHECK(r.note.empty());
  CHECK_FALSE(fs::exists(wt.path));
  CHECK_FALSE(fs::exists(m.owner_dir()));
  CHECK_FALSE(has_branch(tmp.path, wt.branch));
  CHECK_THAT(git(tmp.path, "worktree list"), !Contains(wt.path));
  CHECK(m.list().empty());
  CHECK_THROWS_WITH(m.release("slot-0"), Contains("no worktree named \"slot-0\""));
}

TEST_CASE("a commit made in a worktree keeps its branch, with the commit on it", "[worktree]") {
  temp_dir tmp;
  make_repo(tmp.path);
  git_worktrees m(tmp.path, std::nullopt, "pool-1");
  auto wt = m.acquire("slot-0");
  commit_in(wt.path, "feature.txt", "add the feature");

  auto r = m.release("slot-0");
  CHECK(r.worktree_removed);
  CHECK(r.branch_kept);
  CHECK(r.commits_ahead == 1);
  CHECK_THAT(r.note, Contains("kept branch " + wt.branch + " with 1 commit"));
  CHECK_FALSE(fs::exists(wt.path));
  CHECK(git(tmp.path, "log -1 --format=%s " + wt.branch) == "add the feature");
  CHECK(git(tmp.path, "show " + wt.branch + ":feature.txt") == "add the feature");
}

TEST_CASE("uncommitted work keeps the worktree, and the note says so", "[worktree]") {
  temp_dir tmp;
  make_repo(tmp.path);
  git_worktrees m(tmp.path, std::nullopt, "pool-1");
  auto wt = m.acquire("slot-0");
  std::string kept_file;
  SECTION("an untracked file") {
    kept_file = wt.path + "/notes.txt";
    write_file(kept_file, "unsaved thoughts\n");
  }
  SECTION("a modified tracked file, after a commit") {
    commit_in(wt.path, "feature.txt", "add the feature");
    kept_file = wt.path + "/README";
    write_file(kept_file, "edited\n");
  }

  auto r = m.release("slot-0");
  CHECK_FALSE(r.worktree_removed);
  CHECK(r.branch_kept);
  CHECK_THAT(r.note, Contains("kept worktree " + wt.path + ": uncommitted changes"));
  CHECK(fs::exists(kept_file));
  CHECK(has_branch(tmp.path, wt.branch));
  CHECK(m.list().empty());  // handed over to the user, no longer this pool's
  if (r.commits_ahead > 0) CHECK_THAT(r.note, Contains("has 1 commit"));
}

TEST_CASE("commits on a detached HEAD keep the worktree", "[worktree]") {
  temp_dir tmp;
  make_repo(tmp.path);
  git_worktrees m(tmp.path, std::nullopt, "pool-1");
  auto wt = m.acquire("slot-0");
  git(wt.path, "checkout -q --detach");
  commit_in(wt.path, "loose.txt", "a commit on no branch");

  auto r = m.release("slot-0");
  CHECK_FALSE(r.worktree_removed);
  CHECK(r.commits_ahead == 0);
  CHECK_THAT(r.note, Contains("its HEAD has 1 commit on no branch"));
  CHECK(git(wt.path, "log -1 --format=%s") == "a commit on no branch");
}

TEST_CASE("names that are not plain path and ref components are refused", "[worktree]") {
  temp_dir tmp;
  make_repo(tmp.path);
  git_worktrees m(tmp.path, std::nullopt, "pool-1");
  for (std::string bad : {"", ".", "..", "a/b", "../x", "a b", ".hidden", "x.lock", "a..b",
                          "end.", "$(touch x)", "naïve"}) {
    INFO("name: " << bad);
    CHECK_THROWS_WITH(m.acquire(bad), Contains("is not valid"));
  }
  CHECK(m.list().empty());
  CHECK_FALSE(fs::exists(tmp.path + "/.claude"));
  CHECK(m.acquire("Slot_1.v2-b").branch == "claude-pool/pool-1/Slot_1.v2-b");
  CHECK_THROWS_WITH(git_worktrees(tmp.path, std::nullopt, "../other"),
                    Contains("is not a valid name"));
  CHECK_THROWS_WITH(m.release("never-made"), Contains("no worktree named"));
}

TEST_CASE("release_all releases every worktree and reports each", "[worktree]") {
  temp_dir tmp;
  make_repo(tmp.path);
  git_worktrees m(tmp.path, std::nullopt, "pool-1");
  m.acquire("clean");
  auto committed = m.acquire("committed");
  auto dirty = m.acquire("dirty");
  commit_in(committed.path, "work.txt", "work");
  write_file(dirty.path + "/draft.txt", "draft\n");

  auto all = m.release_all();
  REQUIRE(all.size() == 3);
  std::map<std::string, git_worktrees::removal> by_name;
  for (auto& r : all) by_name[r.name] = r;
  CHECK(by_name["clean"].worktree_removed);
  CHECK(by_name["clean"].note.empty());
  CHECK(by_name["committed"].worktree_removed);
  CHECK(by_name["committed"].commits_ahead == 1);
  CHECK(by_name["committed"].branch_kept);
  CHECK_FALSE(by_name["dirty"].worktree_removed);
  CHECK_THAT(by_name["dirty"].note, Contains("uncommitted changes"));
  CHECK(m.list().empty());
  CHECK(m.release_all().empty());
}

TEST_CASE("base_dir: relative to the toplevel, or absolute as given", "[worktree]") {
  temp_dir tmp;
  make_repo(tmp.path);
  fs::create_directories(tmp.path + "/sub");
  SECTION("relative, with characters a shell would act on") {
    git_worktrees m(tmp.path + "/sub", std::string("pool trees; $(touch pwned)"), "pool-1");
    auto wt = m.acquire("slot-0");
    CHECK(wt.path == tmp.path + "/pool trees; $(touch pwned)/pool-1/slot-0");
    CHECK(fs::exists(wt.path + "/README"));
    CHECK_FALSE(fs::exists(tmp.path + "/pwned"));
    CHECK(git(tmp.path, "status --porcelain").empty());
    CHECK(m.release("slot-0").worktree_removed);
  }
  SECTION("absolute, outside the repository") {
    temp_dir elsewhere;
    git_worktrees m(tmp.path, elsewhere.path + "/trees/", "pool-1");
    auto wt = m.acquire("slot-0");
    CHECK(wt.path == elsewhere.path + "/trees/pool-1/slot-0");
    CHECK(fs::exists(elsewhere.path + "/trees/.gitignore"));
    CHECK(git(wt.path, "rev-parse --abbrev-ref HEAD") == wt.branch);
    CHECK(m.release("slot-0").worktree_removed);
    CHECK_FALSE(has_branch(tmp.path, wt.branch));
  }
}

TEST_CASE("a worktree deleted behind git's back is still released with its branch",
          "[worktree]") {
  temp_dir tmp;
  make_repo(tmp.path);
  git_worktrees m(tmp.path, std::nullopt, "pool-1");
  auto wt = m.acquire("slot-0");
  fs::remove_all(wt.path);
  auto r = m.release("slot-0");
  CHECK(r.worktree_removed);
  CHECK_FALSE(has_branch(tmp.path, wt.branch));
  CHECK_THAT(git(tmp.path, "worktree list"), !Contains(wt.path));
}

TEST_CASE("a failed git command is reported with the command and git's words, leaving no branch",
          "[worktree]") {
  temp_dir tmp;
  make_repo(tmp.path);
  git_worktrees m(tmp.path, std::nullopt, "pool-1");
  std::string in_the_way = m.owner_dir() + "/slot-0";
  fs::create_directories(in_the_way);
  write_file(in_the_way + "/someone-elses-file", "x\n");
  try {
    m.acquire("slot-0");
    FAIL("no error");
  } catch (const worktree_error& e) {
    CHECK_THAT(e.what(), Contains("cannot create worktree slot-0"));
    CHECK_THAT(e.what(), Contains("`git -C " + tmp.path + " worktree add"));
    CHECK_THAT(e.what(), Contains("already exists"));
  }
  CHECK_FALSE(has_branch(tmp.path, "claude-pool/pool-1/slot-0"));
  CHECK(fs::exists(in_the_way + "/someone-elses-file"));
  CHECK(m.list().empty());
}

TEST_CASE("a name whose branch was kept cannot be acquired again, and the error says why",
          "[worktree]") {
  temp_dir tmp;
  make_repo(tmp.path);
  git_worktrees m(tmp.path, std::nullopt, "pool-1");
  commit_in(m.acquire("slot-0").path, "work.txt", "work");
  REQUIRE(m.release("slot-0").branch_kept);
  CHECK_THROWS_WITH(m.acquire("slot-0"), Contains("already exists (kept by an earlier release"));
}

TEST_CASE("a repository without a commit cannot give a worktree, and says why", "[worktree]") {
  temp_dir tmp;
  git(tmp.path, "init -q");
  git_worktrees m(tmp.path, std::nullopt, "pool-1");
  CHECK_THROWS_WITH(m.acquire("slot-0"), Contains("HEAD names no commit yet"));
  CHECK(m.list().empty());
  CHECK_FALSE(fs::exists(m.owner_dir()));
}

TEST_CASE("worktrees acquired from several threads at once are all made", "[worktree]") {
  temp_dir tmp;
  make_repo(tmp.path);
  git_worktrees m(tmp.path, std::nullopt, "pool-1");
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&m, i] { m.acquire("slot-" + std::to_string(i % 2)); });
  for (auto& t : threads) t.join();
  REQUIRE(m.list().size() == 2);
  std::set<std::string> paths;
  for (const auto& wt : m.list()) paths.insert(wt.path);
  CHECK(paths.size() == 2);
  CHECK(m.release_all().size() == 2);
}

TEST_CASE("a git command that overstays its limit is killed with its hooks and reported",
          "[worktree]") {
  temp_dir tmp;
  make_repo(tmp.path);
  // `worktree add` runs post-checkout; this one hangs, with a child of its own.
  auto marker = "77.0" + std::to_string(::getpid());
  auto hook = tmp.path + "/.git/hooks/post-checkout";
  write_file(hook, "#!/bin/sh\nsleep " + marker + " &\nsleep " + marker + "\n");
  REQUIRE(::chmod(hook.c_str(), 0700) == 0);
  git_worktrees m(tmp.path, std::nullopt, "pool-1", std::chrono::milliseconds(500));
  try {
    m.acquire("slot-0");
    FAIL("no error");
  } catch (const worktree_error& e) {
    CHECK_THAT(e.what(), Contains("cannot create worktree slot-0"));
    CHECK_THAT(e.what(), Contains("worktree add"));
    CHECK_THAT(e.what(), Contains("did not finish within 0.500 s"));
  }
  // Nothing of it is left running, and the half-made branch is gone.
  auto sleeping = [&] {
    // [p]: the pattern must not match the shell that runs pgrep.
    return sh("pgrep -f 'slee[p] " + marker + "'").exit == 0;
  };
  for (int i = 0; i < 500 && sleeping(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK_FALSE(sleeping());
  CHECK_FALSE(has_branch(tmp.path, "claude-pool/pool-1/slot-0"));
  CHECK(m.list().empty());
}
