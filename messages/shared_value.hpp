#pragma once
/// `shared_value<T>`: an immutable value that copies share. A slot's configuration is kept
/// in its record, and that record three times (the slot, the pool, the supervisor) and once
/// more in every message that carries it; shared, the configuration is one allocation per
/// distinct value (every slot with the default configuration shares one), not 400 B a copy.
/// Reading is `*`/`->`; `edit()` gives a value of one's own to change (copy on write), so a
/// change never shows through another holder.

#include <memory>
#include <utility>

namespace claude_pool {

template <class T>
class shared_value {
public:
  /// The default value, shared by every default-made holder.
  shared_value() : p_(default_value()) {}
  shared_value(T x) : p_(std::make_shared<T>(std::move(x))) {}

  const T& operator*() const noexcept { return *p_; }
  const T* operator->() const noexcept { return p_.get(); }
  const T& get() const noexcept { return *p_; }

  /// The value, this holder's own (copied first when anything else shares it).
  T& edit() {
    if (p_.use_count() > 1)
      p_ = std::make_shared<T>(*p_);
    return *p_;
  }

  /// True when both hold the very same value (not merely equal ones).
  bool shares_with(const shared_value& x) const noexcept { return p_ == x.p_; }

private:
  static const std::shared_ptr<T>& default_value() {
    static const std::shared_ptr<T> made = std::make_shared<T>();
    return made;
  }

  std::shared_ptr<T> p_;
};

} // namespace claude_pool
