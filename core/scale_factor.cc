#include "core/scale_factor.h"

#include <algorithm>
#include <cctype>

#include "core/errors.h"

namespace fiancee {

namespace {

bool parse_positive_int(const std::string& s, int& out) {
  if (s.empty() || s.size() > 6) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  out = std::stoi(s);
  return out > 0;
}

}  // namespace

ScaleFactor ScaleFactor::parse(const std::string& text) {
  ScaleFactor sf;
  const auto slash = text.find('/');
  const bool ok = slash == std::string::npos
                      ? parse_positive_int(text, sf.numerator)
                      : parse_positive_int(text.substr(0, slash), sf.numerator) &&
                            parse_positive_int(text.substr(slash + 1), sf.denominator);
  if (!ok || sf.numerator > sf.denominator)
    throw InputError("scale factor '" + text + "' is not a fraction like \"1/8\" in (0, 1]");
  return sf;
}

std::string ScaleFactor::str() const {
  return denominator == 1 ? std::to_string(numerator) : std::to_string(numerator) + "/" + std::to_string(denominator);
}

int ScaleFactor::scale(int channels, int min_channels) const {
  const int scaled = static_cast<int>(static_cast<long long>(channels) * numerator / denominator);
  return std::min(channels, std::max(scaled, min_channels));
}

}  // namespace fiancee
