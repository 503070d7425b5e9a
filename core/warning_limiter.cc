#include "core/warning_limiter.h"

namespace fiancee {

WarningLimiter::Action WarningLimiter::admit(const std::string& warning) {
  if (posted_.count(warning)) return Action::Log;
  if (posted_.size() < max_distinct_) {
    posted_.insert(warning);
    return Action::Post;
  }
  if (suppressed_) return Action::Log;
  suppressed_ = true;
  return Action::PostSuppressed;
}

void WarningLimiter::reset() {
  posted_.clear();
  suppressed_ = false;
}

}  // namespace fiancee
