#include "core/element_error.h"

namespace fiancee {

namespace {

// The exception types the wording depends on, most specific first.
enum class Kind { NotFound, Package, Unavailable, NonFinite, Input, Error, Std, Unknown };

struct Caught {
  Kind kind;
  std::string what;
};

Caught classify(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const NotFoundError& e) {
    return {Kind::NotFound, e.what()};
  } catch (const PackageError& e) {
    return {Kind::Package, e.what()};
  } catch (const UnavailableError& e) {
    return {Kind::Unavailable, e.what()};
  } catch (const NonFiniteError& e) {
    return {Kind::NonFinite, e.what()};
  } catch (const InputError& e) {
    return {Kind::Input, e.what()};
  } catch (const Error& e) {
    return {Kind::Error, e.what()};
  } catch (const std::exception& e) {
    return {Kind::Std, e.what()};
  } catch (...) {
    return {Kind::Unknown, ""};
  }
}

ElementError load_error(const Caught& c, const ErrorContext& x) {
  const std::string model = "model package '" + x.model_location + "'";
  switch (c.kind) {
    case Kind::NotFound:
      return {ErrorDomain::Resource, ErrorCode::NotFound, c.what, "model-location=" + x.model_location};
    case Kind::Package:
      return {ErrorDomain::Resource, ErrorCode::Settings, "Cannot load " + model + ": " + c.what,
              "model-location=" + x.model_location + " database-location=" + x.database_location};
    case Kind::Unavailable:
      return {ErrorDomain::Resource, ErrorCode::Settings, "Cannot run " + model + " here: " + c.what, "device=" + x.device};
    case Kind::NonFinite:
    case Kind::Error:
      return {ErrorDomain::Resource, ErrorCode::Settings, "Cannot start with " + model + ": " + c.what, ""};
    case Kind::Input:  // names the setting or file itself
      return {ErrorDomain::Resource, ErrorCode::Settings, c.what, "model-location=" + x.model_location};
    case Kind::Std:
      return {ErrorDomain::Resource, ErrorCode::Failed, "Failed to load " + model + ": " + c.what, ""};
    case Kind::Unknown:
      break;
  }
  return {ErrorDomain::Resource, ErrorCode::Failed, "Failed to load " + model + " (unknown exception).", ""};
}

ElementError frame_error(const Caught& c, const ErrorContext& x) {
  const std::string model = "Model package '" + x.model_location + "'";
  const std::string frame = std::to_string(x.frame);
  switch (c.kind) {
    case Kind::NonFinite:
      return {ErrorDomain::Stream, ErrorCode::Failed, model + " produced NaN/Inf values: " + c.what,
              "frame " + frame + ", model-location=" + x.model_location};
    case Kind::NotFound:
    case Kind::Input:
      return {ErrorDomain::Stream, ErrorCode::Format, "Cannot process frame " + frame + ": " + c.what,
              "model-location=" + x.model_location + ", frame " + std::to_string(x.width) + "x" +
                  std::to_string(x.height)};
    case Kind::Package:
    case Kind::Unavailable:
    case Kind::Error:
    case Kind::Std:
      return {ErrorDomain::Stream, ErrorCode::Failed, model + " failed on frame " + frame + ": " + c.what, ""};
    case Kind::Unknown:
      break;
  }
  return {ErrorDomain::Stream, ErrorCode::Failed, model + " failed on frame " + frame + " (unknown exception)", ""};
}

}  // namespace

ElementError describe_error(const std::exception_ptr& error, ErrorPhase phase, const ErrorContext& context) {
  const Caught c = classify(error);
  switch (phase) {
    case ErrorPhase::Load:
      return load_error(c, context);
    case ErrorPhase::OpenStats:  // FrameLog names the file
      return {ErrorDomain::Resource, ErrorCode::OpenWrite,
              c.kind == Kind::Unknown ? "Cannot write stats-location '" + context.stats_location + "' (unknown exception)."
                                      : c.what,
              ""};
    case ErrorPhase::Frame:
      return frame_error(c, context);
    case ErrorPhase::Record:
      break;
  }
  return {ErrorDomain::Core, ErrorCode::Failed,
          "Failed to record the report of frame " + std::to_string(context.frame) +
              (c.kind == Kind::Unknown ? " (unknown exception)." : ": " + c.what),
          ""};
}

}  // namespace fiancee
