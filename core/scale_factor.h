// Scale factors as the paper writes them ("1/8"): branch widths are the
// backbone's multiplied by the factor, never below a minimum channel count.
#pragma once

#include <string>

namespace fiancee {

struct ScaleFactor {
  int numerator = 1;
  int denominator = 1;

  // Accepts "1/8", "2/3", "1". Throws InputError naming the text otherwise.
  static ScaleFactor parse(const std::string& text);
  std::string str() const;
  double value() const { return static_cast<double>(numerator) / denominator; }
  // Scaled width: floor(channels * factor), but at least min_channels (and never above channels).
  int scale(int channels, int min_channels) const;
};

}  // namespace fiancee
