// One CSV line per frame: what the element's stats-location property writes,
// for batch jobs and evaluation of recorded runs.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "core/errors.h"

namespace fiancee {

struct FrameReport;

// The log file could not be opened, written or flushed. The message names the
// file and the OS error (e.g. "No space left on device").
class FrameLogError : public InputError {
 public:
  using InputError::InputError;
};

class FrameLog {
 public:
  // Truncates `path`; throws FrameLogError when it cannot be opened.
  FrameLog(const std::string& path, int num_exits);
  // Closes without reporting: call close() to learn whether the last lines reached the file.
  ~FrameLog();
  FrameLog(const FrameLog&) = delete;
  FrameLog& operator=(const FrameLog&) = delete;

  // pts_ns < 0: unknown timestamp. Lines are buffered: a failure may only
  // show at a later write or at close(). Throws FrameLogError once; the log is
  // then closed and later calls do nothing.
  void write(uint64_t frame, int64_t pts_ns, const FrameReport& report);
  // Flushes and closes; throws FrameLogError when that fails. Idempotent.
  void close();

 private:
  void put(const std::string& text);
  [[noreturn]] void fail(const std::string& what, int error);

  std::string path_;
  std::FILE* file_ = nullptr;  // nullptr once closed or failed
  int num_exits_;
};

}  // namespace fiancee
