#pragma once

#include <string>

namespace fiancee {

// Lower-case hex SHA-256 of a file's bytes; throws PackageError if it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace fiancee
