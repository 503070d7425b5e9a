// Which of the pipeline's per-frame warnings the element posts on the bus:
// each distinct one once per run, at most a fixed number of distinct ones,
// then a single notice that further ones are only logged. Plain C++ (no
// GLib); the element keeps the lock and writes the messages.
#pragma once

#include <cstddef>
#include <set>
#include <string>

namespace fiancee {

class WarningLimiter {
 public:
  static constexpr size_t kMaxDistinct = 32;  // per run

  enum class Action {
    Post,            // first occurrence: post the warning itself
    PostSuppressed,  // one distinct warning too many: post the "suppressed" notice once
    Log,             // already posted, or after the notice: log only
  };

  explicit WarningLimiter(size_t max_distinct = kMaxDistinct) : max_distinct_(max_distinct) {}

  Action admit(const std::string& warning);
  size_t max_distinct() const { return max_distinct_; }
  // A new run: every warning may be posted again.
  void reset();

 private:
  size_t max_distinct_;
  std::set<std::string> posted_;
  bool suppressed_ = false;
};

}  // namespace fiancee
