// Exceptions thrown by core/, models/ and pipelines/. The GStreamer element
// translates them into GST_ELEMENT_ERROR / WARNING at its boundary, so every
// message must name the input it is about and say what is wrong with it.
#pragma once

#include <stdexcept>
#include <string>

namespace fiancee {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A model package, manifest, weights file or database that is missing or invalid.
class PackageError : public Error {
 public:
  using Error::Error;
};

// A user input (image, caps, property value, tensor shape) that cannot be used.
class InputError : public Error {
 public:
  using Error::Error;
};

// An input file that does not exist (e.g. the avatar image): the element
// reports it as "not found" rather than as a bad setting.
class NotFoundError : public InputError {
 public:
  using InputError::InputError;
};

// A model produced NaN or Inf.
class NonFiniteError : public Error {
 public:
  using Error::Error;
};

// A feature that exists but cannot run here (CUDA on a CPU build, LPIPS without weights).
class UnavailableError : public Error {
 public:
  using Error::Error;
};

}  // namespace fiancee
