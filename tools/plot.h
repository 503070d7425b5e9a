// Charts for the reports of `fiancee eval`, drawn with cairo and written as
// PNG and SVG. Plain numbers and strings in, so tests link it without LibTorch.
#pragma once

#include <cstddef>
#include <limits>
#include <string>
#include <vector>

namespace fiancee::plot {

struct Colour {
  double r = 0, g = 0, b = 0;  // 0..1
};

// The Okabe-Ito palette (safe for the common colour-vision deficiencies)
// without its black and grey, repeating: series i of every chart gets series_colour(i).
Colour series_colour(size_t i);
inline constexpr Colour kBlack{0, 0, 0};
inline constexpr Colour kGrey{0.6, 0.6, 0.6};

struct Series {
  std::string label;           // the legend entry; empty = not in the legend
  std::vector<double> values;  // y per x (lines, bars) or the samples (histograms)
  Colour colour;
  bool dashed = false;  // lines only
};

enum class ChartKind {
  kLines,        // each series a polyline through (x[i], values[i]), with markers unless dashed
  kStackedBars,  // a bar per x, series stacked bottom to top (first series at the bottom)
  // Each series' samples binned over the x range, in a row of its own (rows
  // share the x axis and the y scale); y = share of its samples per bin, a
  // dashed line at their mean.
  kHistogram,
};

constexpr double kAuto = std::numeric_limits<double>::quiet_NaN();

struct Chart {
  ChartKind kind = ChartKind::kLines;
  std::string x_label, y_label;  // with units; an empty x_label leaves room for tick values only
  std::vector<double> x;         // lines and bars: ascending
  std::vector<Series> series;
  double x_min = kAuto, x_max = kAuto, y_min = kAuto, y_max = kAuto;  // kAuto: from the data
  bool y_percent = false;  // y values are fractions, ticked as percentages
  int bins = 30;           // histograms
  double height = 1;       // share of the figure's height, relative to its other charts
};

// A titled figure of charts stacked top to bottom; their plot areas share the
// same left and right edges, so charts over the same x range line up.
class Figure {
 public:
  Figure(std::string title, std::string subtitle, int width, int height);
  void add(Chart chart);

  // Writes a .png (width x height pixels) or .svg (width x height points);
  // throws InputError naming the path when it cannot.
  void write(const std::string& path) const;
  // stem + ".png" and stem + ".svg".
  void save(const std::string& stem) const;

 private:
  std::string title_, subtitle_;
  int width_, height_;
  std::vector<Chart> charts_;
};

}  // namespace fiancee::plot
