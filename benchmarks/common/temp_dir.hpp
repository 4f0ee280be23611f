#pragma once
/// A private directory under $TMPDIR (or /tmp), removed with everything in it when the
/// object goes away.

#include <string>

namespace claude_pool::bench {

class temp_dir {
public:
  /// Creates `<tmp>/<prefix>-XXXXXX`; throws std::runtime_error when it cannot.
  explicit temp_dir(const std::string& prefix);
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const { return path_; }

private:
  std::string path_;
};

} // namespace claude_pool::bench
