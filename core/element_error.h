// How the element reports an exception caught at its boundary: which
// GStreamer error domain and code, and which texts. Decided here, in plain C++
// (no GLib), so the element has one error call site per phase and the mapping
// is tested without GStreamer.
#pragma once

#include <cstdint>
#include <exception>
#include <string>

#include "core/errors.h"

namespace fiancee {

// The GStreamer error domains and codes the element posts (GST_<DOMAIN>_ERROR_<CODE>).
enum class ErrorDomain { Core, Resource, Stream };
enum class ErrorCode { Failed, NotFound, Settings, OpenWrite, Format };

// Where the element was when the exception came: decides domain, code and wording.
enum class ErrorPhase {
  Load,       // start: building the pipeline from the package
  OpenStats,  // start: opening the stats-location file
  Frame,      // a frame: FramePipeline::process
  Record,     // a frame: the meta, stats and messages of its report
};

// What the texts name.
struct ErrorContext {
  std::string model_location;
  std::string database_location;
  std::string device;  // the device setting's name, e.g. "auto"
  std::string stats_location;
  uint64_t frame = 0;  // frames processed before this one
  int width = 0, height = 0;  // of the input frame
};

struct ElementError {
  ErrorDomain domain = ErrorDomain::Core;
  ErrorCode code = ErrorCode::Failed;
  std::string message;  // for the user (the GError message)
  std::string debug;    // for the developer; empty = none
};

// Describes `error` (non-null; any exception, fiancee's typed ones or not).
ElementError describe_error(const std::exception_ptr& error, ErrorPhase phase, const ErrorContext& context);

}  // namespace fiancee
