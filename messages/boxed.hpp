#pragma once
/// `boxed<T>`: an optional value kept on the heap, with `std::optional`'s interface for what
/// records use (test, `*`, `->`, `value_or`, `reset`, `emplace`, assignment from a value, an
/// optional or `std::nullopt`) and value semantics (a copy copies the value). A task record
/// holds two large optional parts — its result and its overrides — that are unset for most of
/// its life or in most records; inline they made a record 1.4 KiB before any text, boxed they
/// cost a pointer each when unset.

#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace claude_pool {

template <class T>
class boxed;

namespace detail {
/// What a boxed<T> may be assigned from or compared with as a plain value (not another box,
/// an optional or nullopt, which have overloads of their own).
template <class T, class U>
inline constexpr bool plain_value_v =
  !std::is_same_v<std::decay_t<U>, boxed<T>> && !std::is_same_v<std::decay_t<U>, std::optional<T>>
  && !std::is_same_v<std::decay_t<U>, std::nullopt_t>;
} // namespace detail

template <class T>
class boxed {
public:
  boxed() = default;
  boxed(std::nullopt_t) {}
  boxed(T x) : p_(std::make_unique<T>(std::move(x))) {}
  boxed(std::optional<T> x) {
    if (x)
      p_ = std::make_unique<T>(std::move(*x));
  }
  boxed(const boxed& x) : p_(x.p_ ? std::make_unique<T>(*x.p_) : nullptr) {}
  boxed(boxed&&) noexcept = default;
  boxed& operator=(const boxed& x) {
    if (this != &x)
      p_ = x.p_ ? std::make_unique<T>(*x.p_) : nullptr;
    return *this;
  }
  boxed& operator=(boxed&&) noexcept = default;
  boxed& operator=(std::nullopt_t) {
    p_.reset();
    return *this;
  }
  boxed& operator=(T x) {
    if (p_)
      *p_ = std::move(x);
    else
      p_ = std::make_unique<T>(std::move(x));
    return *this;
  }
  /// From anything a T is made of ("text" for a boxed string).
  template <class U, std::enable_if_t<detail::plain_value_v<T, U> && !std::is_same_v<std::decay_t<U>, T>
                                        && std::is_constructible_v<T, U&&>,
                                      int> = 0>
  boxed& operator=(U&& x) {
    return *this = T(std::forward<U>(x));
  }
  boxed& operator=(std::optional<T> x) {
    if (x)
      return *this = std::move(*x);
    p_.reset();
    return *this;
  }

  bool has_value() const noexcept { return p_ != nullptr; }
  explicit operator bool() const noexcept { return has_value(); }
  T& operator*() { return *p_; }
  const T& operator*() const { return *p_; }
  T* operator->() { return p_.get(); }
  const T* operator->() const { return p_.get(); }
  T& value() {
    if (!p_)
      throw std::bad_optional_access();
    return *p_;
  }
  const T& value() const {
    if (!p_)
      throw std::bad_optional_access();
    return *p_;
  }
  template <class U>
  T value_or(U&& fallback) const {
    return p_ ? *p_ : static_cast<T>(std::forward<U>(fallback));
  }
  void reset() noexcept { p_.reset(); }
  template <class... Args>
  T& emplace(Args&&... xs) {
    p_ = std::make_unique<T>(std::forward<Args>(xs)...);
    return *p_;
  }
  /// As a `std::optional` (a copy), for code that wants one.
  std::optional<T> optional() const { return p_ ? std::optional<T>(*p_) : std::nullopt; }
  /// …also implicitly, where an optional is expected (a copy).
  operator std::optional<T>() const { return optional(); }

  friend bool operator==(const boxed& a, const boxed& b) {
    return a.p_ && b.p_ ? *a.p_ == *b.p_ : a.p_ == b.p_;
  }
  friend bool operator!=(const boxed& a, const boxed& b) { return !(a == b); }
  friend bool operator==(const boxed& a, const std::optional<T>& b) {
    return a ? (b && *a.p_ == *b) : !b;
  }
  friend bool operator==(const std::optional<T>& b, const boxed& a) { return a == b; }
  friend bool operator!=(const boxed& a, const std::optional<T>& b) { return !(a == b); }
  friend bool operator!=(const std::optional<T>& b, const boxed& a) { return !(a == b); }
  friend bool operator==(const boxed& a, std::nullopt_t) { return !a; }
  friend bool operator!=(const boxed& a, std::nullopt_t) { return bool(a); }

private:
  std::unique_ptr<T> p_;
};

/// A box holds a value equal to `b` (as `std::optional<T> == U`).
template <class T, class U, std::enable_if_t<detail::plain_value_v<T, U>, int> = 0>
bool operator==(const boxed<T>& a, const U& b) {
  return a && *a == b;
}
template <class T, class U, std::enable_if_t<detail::plain_value_v<T, U>, int> = 0>
bool operator==(const U& b, const boxed<T>& a) {
  return a && *a == b;
}
template <class T, class U, std::enable_if_t<detail::plain_value_v<T, U>, int> = 0>
bool operator!=(const boxed<T>& a, const U& b) {
  return !(a == b);
}
template <class T, class U, std::enable_if_t<detail::plain_value_v<T, U>, int> = 0>
bool operator!=(const U& b, const boxed<T>& a) {
  return !(a == b);
}

} // namespace claude_pool
