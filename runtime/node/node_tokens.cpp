#include "runtime/node/node_tokens.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace claude_pool {

namespace {

constexpr std::size_t token_bytes = 32;
constexpr std::size_t token_chars = 2 * token_bytes;

// A token file is 65 bytes; anything much larger is the wrong file, and is not read whole.
constexpr std::size_t max_file_size = 4096;

// Closes on every path out (the checks throw).
class file_descriptor {
 public:
  explicit file_descriptor(int fd) : fd_(fd) {}
  ~file_descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  file_descriptor(const file_descriptor&) = delete;
  file_descriptor& operator=(const file_descriptor&) = delete;
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_;
};

std::string reason(int error) {
  return std::strerror(error);
}

std::string mode_text(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

void random_bytes(unsigned char* out, std::size_t n) {
  // getrandom(2) blocks only until the kernel's pool is first seeded, then never fails for
  // 32 bytes; a signal may still interrupt it, or (in theory) cut a read short.
  for (std::size_t got = 0; got < n;) {
    ssize_t r = ::getrandom(out + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw token_error("cannot generate a token: getrandom failed: " + reason(errno));
    got += static_cast<std::size_t>(r);
  }
}

std::string hex(const unsigned char* bytes, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 0xf];
  }
  return out;
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Why `text` is not a token, or "" if it is one. Never quotes the text: it may be a secret.
std::string token_defect(std::string_view text) {
  if (text.size() != token_chars)
    return "holds " + std::to_string(text.size()) + " characters, not a token of " +
           std::to_string(token_chars) + " hex digits";
  for (char c : text)
    if (!is_hex_digit(c)) return "holds a character that is not a hex digit";
  return {};
}

std::string parent_of(const std::string& path) {
  auto parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

// mkdir -p, each directory it makes with mode 0700: a token directory is nobody else's.
void make_directories(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) return;
  if (errno != ENOENT) throw token_error("cannot use directory " + dir + ": " + reason(errno));
  auto parent = parent_of(dir);
  if (parent != dir) make_directories(parent);
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) return;  // made meanwhile by another writer; the caller checks it
    throw token_error("cannot create directory " + dir + ": " + reason(errno));
  }
  // mkdir's mode is cut by the umask; 0700 exactly, so that the owner can use it whatever
  // the umask.
  if (::chmod(dir.c_str(), 0700) != 0)
    throw token_error("cannot set mode 0700 on " + dir + ": " + reason(errno));
}

// Whoever may write to the directory may rename another file over the token, or delete it:
// so only this user (or root, who can do that anyway) may.
void require_private_directory(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0)
    throw token_error("cannot use directory " + dir + ": " + reason(errno));
  if (!S_ISDIR(st.st_mode)) throw token_error(dir + " is not a directory");
  if ((st.st_mode & 022) != 0)
    throw token_error(dir + " has mode " + mode_text(st.st_mode) +
                      ": others could replace a token file in it (chmod go-w " + dir +
                      ", or keep tokens elsewhere)");
  if (st.st_uid != ::geteuid() && st.st_uid != 0)
    throw token_error(dir + " belongs to uid " + std::to_string(st.st_uid) +
                      ", who could replace a token file in it: keep tokens in a directory of "
                      "your own");
}

// Makes the rename (or link) itself durable: without it a crash may lose the new name even
// though the file's data is on disk. Best effort: not every filesystem syncs directories.
void sync_directory(const std::string& dir) {
  file_descriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd) ::fsync(fd.get());
}

// A new file next to `path`, holding the token and a newline, on disk and mode 0600. It is
// created next to `path` because rename and link work only within one filesystem.
class temp_token_file {
 public:
  temp_token_file(const std::string& path, const std::string& token) {
    std::array<unsigned char, 8> suffix{};
    for (int attempt = 0;; ++attempt) {
      random_bytes(suffix.data(), suffix.size());
      name_ = path + ".tmp-" + hex(suffix.data(), suffix.size());
      // O_EXCL: a new file, never one that is there already, so nobody can have opened it
      // first. O_NOFOLLOW: a symlink planted at this name fails the call instead of having
      // us write through it (O_EXCL alone already refuses it; this says so twice).
      // O_CLOEXEC: no child process inherits a descriptor of a secret.
      fd_ = ::open(name_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd_ >= 0) break;
      if (errno != EEXIST || attempt == 9)
        throw token_error("cannot create " + name_ + ": " + reason(errno));
    }
    try {
      // open's mode is cut by the umask, which could leave the owner unable to read it.
      if (::fchmod(fd_, 0600) != 0) fail("cannot set mode 0600 on");
      std::string text = token + '\n';
      for (std::size_t done = 0; done < text.size();) {
        ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail("cannot write");
        done += static_cast<std::size_t>(n);
      }
      // On disk before it gets its name: else a crash could leave `path` empty.
      if (::fsync(fd_) != 0) fail("cannot sync");
      int fd = fd_;
      fd_ = -1;
      if (::close(fd) != 0) fail("cannot write");
    } catch (...) {
      discard();
      throw;
    }
  }
  ~temp_token_file() { discard(); }
  temp_token_file(const temp_token_file&) = delete;
  temp_token_file& operator=(const temp_token_file&) = delete;

  const std::string& name() const { return name_; }

  // Gone from the directory (renamed or linked and then unlinked): nothing left to remove.
  void release() { name_.clear(); }

  void discard() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!name_.empty()) ::unlink(name_.c_str());
    name_.clear();
  }

 private:
  [[noreturn]] void fail(const char* what) {
    throw token_error(std::string(what) + " " + name_ + ": " + reason(errno));
  }

  std::string name_;
  int fd_ = -1;
};

void require_token_path(const std::string& path, const std::string& token) {
  if (std::filesystem::path(path).filename().empty())
    throw token_error("token file " + path + " names a directory, not a file");
  if (auto defect = token_defect(token); !defect.empty())
    throw token_error("refusing to write " + path + ": the token " + defect);
}

bool is_directory(const char* path) {
  struct stat st {};
  return path != nullptr && *path != '\0' && ::stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::string_view to_string(node_role x) {
  return x == node_role::admin ? "admin" : "submit";
}

std::optional<node_role> parse_node_role(std::string_view s) {
  if (s == "submit") return node_role::submit;
  if (s == "admin") return node_role::admin;
  return std::nullopt;
}

std::string generate_token() {
  std::array<unsigned char, token_bytes> bytes{};
  random_bytes(bytes.data(), bytes.size());
  return hex(bytes.data(), bytes.size());
}

void write_token_file(const std::string& path, const std::string& token) {
  require_token_path(path, token);
  auto dir = parent_of(path);
  make_directories(dir);
  require_private_directory(dir);
  temp_token_file temp(path, token);
  // rename replaces `path` in one step: a reader opens the old file or the new one, never a
  // half-written one. It replaces a symlink at `path` itself, never the file it points to.
  if (::rename(temp.name().c_str(), path.c_str()) != 0)
    throw token_error("cannot replace " + path + ": " + reason(errno));
  temp.release();
  sync_directory(dir);
}

std::string read_token_file(const std::string& path) {
  // O_NONBLOCK: a FIFO planted at `path` fails the regular-file check below instead of
  // blocking the open until someone writes to it; regular files ignore the flag.
  file_descriptor fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    int error = errno;
    std::string fix;
    if (error == ENOENT)
      fix = " (a node writes it when it starts; or set CLAUDE_POOL_TOKEN_FILE to the node's "
            "token file)";
    else if (error == EACCES)
      fix = " (it must belong to the user running claude-pool)";
    throw token_error("cannot read token file " + path + ": " + reason(error) + fix);
  }
  // The checks look at the file that was opened, so it cannot be swapped in between.
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    throw token_error("cannot stat token file " + path + ": " + reason(errno));
  if (!S_ISREG(st.st_mode)) throw token_error("token file " + path + " is not a regular file");
  if ((st.st_mode & 077) != 0)
    throw token_error("token file " + path + " has mode " + mode_text(st.st_mode) +
                      ": a token must be readable by its owner only (chmod 600 " + path + ")");
  std::string text;
  char buf[512];
  while (text.size() <= max_file_size) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw token_error("cannot read token file " + path + ": " + reason(errno));
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  const std::string fix = " (copy the node's token into it, or delete it and the node writes a "
                          "new one when it starts)";
  if (text.empty()) throw token_error("token file " + path + " is empty" + fix);
  if (text.back() == '\n') text.pop_back();
  if (auto defect = token_defect(text); !defect.empty())
    throw token_error("token file " + path + " " + defect + fix);
  return text;
}

std::string ensure_token_file(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 || errno != ENOENT) return read_token_file(path);
  auto token = generate_token();
  require_token_path(path, token);
  auto dir = parent_of(path);
  make_directories(dir);
  require_private_directory(dir);
  temp_token_file temp(path, token);
  // link, unlike rename, fails if `path` exists: of two processes starting at once only one
  // puts its token in place, and the other then reads that one instead of overwriting it.
  int linked = ::link(temp.name().c_str(), path.c_str());
  int error = errno;
  temp.discard();
  if (linked != 0 && error == EEXIST) return read_token_file(path);
  if (linked != 0) throw token_error("cannot create token file " + path + ": " + reason(error));
  sync_directory(dir);
  return token;
}

bool tokens_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  // Every byte is compared whatever the earlier ones held; volatile keeps the compiler from
  // turning the loop back into one that stops at the first difference.
  volatile unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff = diff | static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string default_token_dir() {
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); is_directory(runtime))
    return std::string(runtime) + "/claude-pool";
  if (const char* home = std::getenv("HOME"); is_directory(home))
    return std::string(home) + "/.claude-pool";
  throw token_error("no directory for node tokens: neither XDG_RUNTIME_DIR nor HOME names a "
                    "directory (set HOME, or name the token file with CLAUDE_POOL_TOKEN_FILE)");
}

std::string token_file_from_env() {
  const char* value = std::getenv("CLAUDE_POOL_TOKEN_FILE");
  return value != nullptr ? value : "";
}

std::optional<peer_credential> credential_of_token_file(const std::string& file_name) {
  const std::string suffix = ".token";
  if (file_name.size() <= suffix.size()
      || file_name.compare(file_name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return std::nullopt;
  auto stem = file_name.substr(0, file_name.size() - suffix.size());
  if (auto role = parse_node_role(stem))
    return peer_credential{stem, *role};
  auto dot = stem.rfind('.');
  if (dot == std::string::npos || dot == 0)
    return std::nullopt;
  auto role = parse_node_role(stem.substr(dot + 1));
  if (!role)
    return std::nullopt;
  return peer_credential{stem.substr(0, dot), *role};
}

std::optional<peer_credential> find_token(const std::string& dir, const std::string& token,
                                          const std::function<void(const std::string&)>& warn) {
  std::error_code ec;
  std::optional<peer_credential> found;
  for (auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    auto who = credential_of_token_file(entry.path().filename().string());
    if (!who)
      continue;
    try {
      if (tokens_equal(read_token_file(entry.path().string()), token) && !found)
        found = who;
    } catch (const token_error& e) {
      warn(std::string("ignoring a token file: ") + e.what());
    }
  }
  return found;
}

}  // namespace claude_pool
