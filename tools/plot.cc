#include "tools/plot.h"

#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>

#include "core/errors.h"

namespace fiancee::plot {

namespace {

constexpr double kPad = 16, kTitleSize = 20, kSubtitleSize = 14, kLabelSize = 15, kTickSize = 13, kLegendSize = 14;
constexpr double kPi = 3.14159265358979323846;
constexpr double kSwatch = 14, kLegendKey = 28, kLegendRow = 22, kTickLength = 5;
constexpr Colour kInk{0.13, 0.13, 0.13}, kMuted{0.38, 0.38, 0.38}, kGrid{0.88, 0.88, 0.88}, kWhite{1, 1, 1};

struct Range {
  double lo = 0, hi = 1;
  double step = 1;  // between ticks
  double span() const { return hi - lo; }
};

struct Box {
  double left = 0, top = 0, right = 0, bottom = 0;
};

// 1, 2 or 5 times a power of ten, so that `span` holds about `count` steps.
double nice_step(double span, double count) {
  const double raw = span / count, magnitude = std::pow(10.0, std::floor(std::log10(raw))), f = raw / magnitude;
  return magnitude * (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10);
}

// The data's [lo, hi] widened to whole steps of about `count` ticks, where the caller fixed no end.
Range axis_range(double lo, double hi, double fixed_lo, double fixed_hi, double count) {
  if (!std::isnan(fixed_lo)) lo = fixed_lo;
  if (!std::isnan(fixed_hi)) hi = fixed_hi;
  if (!std::isfinite(lo)) lo = 0;
  if (!std::isfinite(hi) || !(hi > lo)) hi = lo + 1;  // no data or flat data
  const double step = nice_step(hi - lo, count);
  if (std::isnan(fixed_lo)) lo = std::floor(lo / step + 1e-9) * step;
  if (std::isnan(fixed_hi)) hi = std::ceil(hi / step - 1e-9) * step;
  return {lo, hi, step};
}

// Multiples of the step, not a running sum, so 0.3 prints as 0.3.
std::vector<double> ticks(Range r) {
  std::vector<double> t;
  for (auto i = static_cast<long>(std::ceil(r.lo / r.step - 1e-9)); static_cast<double>(i) * r.step <= r.hi + r.step * 1e-9; ++i)
    t.push_back(static_cast<double>(i) * r.step);
  return t;
}

std::string tick_text(double v, double step, bool percent) {
  if (percent) v *= 100, step *= 100;
  int decimals = 0;  // as many as the step needs
  while (decimals < 6 && std::abs(step * std::pow(10.0, decimals) - std::round(step * std::pow(10.0, decimals))) > 1e-6) ++decimals;
  char s[32];
  std::snprintf(s, sizeof s, "%.*f%s", decimals, std::abs(v) < step * 1e-6 ? 0.0 : v, percent ? "%" : "");
  return s;
}

// A chart with its ranges and ticks worked out, before it is placed.
struct Prepared {
  const Chart* chart = nullptr;
  Range x, y;
  std::vector<double> x_ticks, y_ticks;
  double bar_width = 0;                   // stacked bars: in x units
  std::vector<std::vector<double>> bins;  // histograms: share of each series' samples per bin
  std::vector<double> means;              // histograms
  size_t rows = 1;
};

Prepared prepare(const Chart& c) {
  Prepared p;
  p.chart = &c;
  const double inf = std::numeric_limits<double>::infinity();
  double x_lo = inf, x_hi = -inf, y_lo = 0, y_hi = -inf;  // y axes start at zero so heights compare
  if (c.kind != ChartKind::kHistogram) {
    for (const auto& s : c.series)
      if (s.values.size() != c.x.size())
        throw Error("plot: series '" + s.label + "' has " + std::to_string(s.values.size()) + " values for " + std::to_string(c.x.size()) +
                    " x positions");
    for (double v : c.x) x_lo = std::min(x_lo, v), x_hi = std::max(x_hi, v);
  }
  if (c.kind == ChartKind::kLines) {
    for (const auto& s : c.series)
      for (double v : s.values) y_lo = std::min(y_lo, v), y_hi = std::max(y_hi, v);
    p.x = axis_range(x_lo, x_hi, c.x_min, c.x_max, 6);
  } else if (c.kind == ChartKind::kStackedBars) {
    double gap = inf;
    for (size_t i = 1; i < c.x.size(); ++i) gap = std::min(gap, c.x[i] - c.x[i - 1]);
    p.bar_width = std::isfinite(gap) && gap > 0 ? gap : 1;
    for (size_t i = 0; i < c.x.size(); ++i) {
      double sum = 0;
      for (const auto& s : c.series) sum += s.values[i];
      y_hi = std::max(y_hi, sum);
    }
    // Half a bar of room at either end, not a whole tick step.
    p.x.lo = std::isnan(c.x_min) ? x_lo - p.bar_width / 2 : c.x_min;
    p.x.hi = std::isnan(c.x_max) ? x_hi + p.bar_width / 2 : c.x_max;
    p.x = p.x.hi > p.x.lo ? Range{p.x.lo, p.x.hi, nice_step(p.x.span(), 6)} : axis_range(x_lo, x_hi, c.x_min, c.x_max, 6);
  } else {
    p.rows = std::max<size_t>(1, c.series.size());
    for (const auto& s : c.series)
      for (double v : s.values)
        if (std::isfinite(v)) x_lo = std::min({x_lo, v, 0.0}), x_hi = std::max(x_hi, v);
    p.x = axis_range(x_lo, x_hi, c.x_min, c.x_max, 6);
    const int bins = std::max(1, c.bins);
    for (const auto& s : c.series) {
      std::vector<double> share(bins, 0.0);
      double mean = 0;
      // Shares and mean of the finite samples (a NaN branch output has no distance).
      const double n = static_cast<double>(std::count_if(s.values.begin(), s.values.end(), [](double v) { return std::isfinite(v); }));
      for (double v : s.values) {
        if (!std::isfinite(v)) continue;
        // Samples outside a fixed range land in the end bins rather than vanish.
        const int b = static_cast<int>(std::floor((v - p.x.lo) / p.x.span() * bins));
        share[std::clamp(b, 0, bins - 1)] += 1 / n;
        mean += v / n;
      }
      for (double v : share) y_hi = std::max(y_hi, v);
      p.bins.push_back(std::move(share));
      p.means.push_back(n == 0 ? std::nan("") : mean);
    }
  }
  const double y_count = p.rows > 1 ? 2 : 5;  // short rows get fewer ticks
  p.y = axis_range(y_lo, y_hi, c.y_min, c.y_max, y_count);
  p.x_ticks = ticks(p.x);
  p.y_ticks = ticks(p.y);
  return p;
}

// The chart's legend, top entry first: a stack's legend lists its series in stacking order, top down.
std::vector<const Series*> legend(const Chart& c) {
  std::vector<const Series*> entries;
  for (const auto& s : c.series)
    if (!s.label.empty()) entries.push_back(&s);
  if (c.kind == ChartKind::kStackedBars) std::reverse(entries.begin(), entries.end());
  return entries;
}

class Painter {
 public:
  explicit Painter(cairo_t* cr) : cr_(cr) {}

  void colour(Colour c, double alpha = 1) { cairo_set_source_rgba(cr_, c.r, c.g, c.b, alpha); }

  void font(double size, bool bold = false) {
    cairo_select_font_face(cr_, "sans", CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr_, size);
  }

  // `s` in the font at `size`, or smaller where it would be wider than `room`
  // (long package names), down to 70%; beyond that cut short.
  std::string fit(std::string s, double size, double room, bool bold = false) {
    font(size, bold);
    const double w = width(s);
    if (w <= room) return s;
    font(std::max(size * 0.7, size * room / w), bold);
    if (width(s) <= room) return s;
    while (s.size() > 1 && width(s + "...") > room) {
      s.pop_back();
      while (s.size() > 1 && (s.back() & 0xC0) == 0x80) s.pop_back();  // never half a UTF-8 character
      if ((s.back() & 0x80) != 0) s.pop_back();
    }
    return s + "...";
  }

  double width(const std::string& s) {
    cairo_text_extents_t e;
    cairo_text_extents(cr_, s.c_str(), &e);
    return e.x_advance;
  }

  // Text whose box is placed at (x, y) by the fractions ax (0 left .. 1 right) and ay (0 top .. 1 bottom).
  void text(const std::string& s, double x, double y, double ax, double ay) {
    cairo_font_extents_t f;
    cairo_font_extents(cr_, &f);
    cairo_move_to(cr_, x - ax * width(s), y + f.ascent - ay * (f.ascent + f.descent));
    cairo_show_text(cr_, s.c_str());
  }

  void dash(bool on) {
    const double pattern[] = {7, 5};
    cairo_set_dash(cr_, pattern, on ? 2 : 0, 0);
  }

  void line(double x0, double y0, double x1, double y1, double w, bool dashed = false) {
    dash(dashed);
    cairo_set_line_width(cr_, w);
    cairo_move_to(cr_, x0, y0);
    cairo_line_to(cr_, x1, y1);
    cairo_stroke(cr_);
    dash(false);
  }

  void rect(double x0, double y0, double x1, double y1) {
    cairo_rectangle(cr_, x0, y0, x1 - x0, y1 - y0);
    cairo_fill(cr_);
  }

  void dot(double x, double y) {
    cairo_arc(cr_, x, y, 3.2, 0, 2 * kPi);
    cairo_fill(cr_);
  }

  cairo_t* cr() { return cr_; }

 private:
  cairo_t* cr_;
};

// Pixel centres, so one-pixel lines stay sharp in the PNG.
double crisp(double v) { return std::floor(v) + 0.5; }

// Maps a chart's data onto one box of the page.
struct Frame {
  const Prepared& c;
  Box b;
  double X(double v) const { return b.left + (v - c.x.lo) / c.x.span() * (b.right - b.left); }
  double Y(double v) const { return b.bottom - (v - c.y.lo) / c.y.span() * (b.bottom - b.top); }
};

// Series [first, last) of the chart, clipped to the frame.
void draw_data(Painter& p, const Frame& f, size_t first, size_t last) {
  const Chart& chart = *f.c.chart;
  cairo_t* cr = p.cr();
  cairo_save(cr);
  cairo_rectangle(cr, f.b.left, f.b.top, f.b.right - f.b.left, f.b.bottom - f.b.top);
  cairo_clip(cr);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  if (chart.kind == ChartKind::kStackedBars) {
    const double half = 0.4 * f.c.bar_width;
    for (size_t i = 0; i < chart.x.size(); ++i) {
      double base = 0;
      for (size_t k = first; k < last; ++k) {
        const Series& s = chart.series[k];
        p.colour(s.colour);
        p.rect(f.X(chart.x[i] - half), f.Y(base + s.values[i]), f.X(chart.x[i] + half), f.Y(base));
        base += s.values[i];
      }
    }
  } else if (chart.kind == ChartKind::kHistogram) {
    for (size_t k = first; k < last; ++k) {
      const auto& bins = f.c.bins[k];
      const double width = f.c.x.span() / static_cast<double>(bins.size());
      cairo_move_to(cr, f.X(f.c.x.lo), f.Y(0));
      for (size_t i = 0; i < bins.size(); ++i) {
        cairo_line_to(cr, f.X(f.c.x.lo + width * static_cast<double>(i)), f.Y(bins[i]));
        cairo_line_to(cr, f.X(f.c.x.lo + width * static_cast<double>(i + 1)), f.Y(bins[i]));
      }
      cairo_line_to(cr, f.X(f.c.x.hi), f.Y(0));
      p.colour(chart.series[k].colour, 0.35);
      cairo_fill_preserve(cr);
      p.colour(chart.series[k].colour);
      cairo_set_line_width(cr, 1.5);
      cairo_stroke(cr);
      if (std::isnan(f.c.means[k])) continue;
      p.colour(kInk);
      p.line(f.X(f.c.means[k]), f.b.top, f.X(f.c.means[k]), f.b.bottom, 1.5, true);
    }
  } else {
    for (size_t k = first; k < last; ++k) {
      const Series& s = chart.series[k];
      p.colour(s.colour);
      p.dash(s.dashed);
      cairo_set_line_width(cr, 2.2);
      for (size_t i = 0; i < chart.x.size(); ++i) cairo_line_to(cr, f.X(chart.x[i]), f.Y(s.values[i]));
      cairo_stroke(cr);
      p.dash(false);
      if (!s.dashed)
        for (size_t i = 0; i < chart.x.size(); ++i) p.dot(f.X(chart.x[i]), f.Y(s.values[i]));
    }
  }
  cairo_restore(cr);
}

void draw_legend_entry(Painter& p, const Chart& chart, const Series& s, double x, double y) {
  const double mid = y + kLegendRow / 2;
  p.colour(s.colour);
  if (chart.kind == ChartKind::kLines) {
    p.line(x, mid, x + kLegendKey, mid, 2.2, s.dashed);
    if (!s.dashed) p.dot(x + kLegendKey / 2, mid);
  } else {
    p.rect(x + kLegendKey - kSwatch, mid - kSwatch / 2, x + kLegendKey, mid + kSwatch / 2);
  }
  p.font(kLegendSize);
  p.colour(kInk);
  p.text(s.label, x + kLegendKey + 8, mid, 0, 0.5);
}

void draw_chart(Painter& p, const Prepared& c, const Box& b) {
  const Chart& chart = *c.chart;
  // Histograms draw a row per series; other charts one frame with all of them.
  const double gap = 22, row = (b.bottom - b.top - gap * static_cast<double>(c.rows - 1)) / static_cast<double>(c.rows);
  for (size_t r = 0; r < c.rows; ++r) {
    const double top = b.top + static_cast<double>(r) * (row + gap);
    const Frame f{c, {b.left, top, b.right, top + row}};
    p.colour(kGrid);
    for (double v : c.y_ticks) p.line(f.b.left, crisp(f.Y(v)), f.b.right, crisp(f.Y(v)), 1);
    // Bars are their own vertical guides.
    if (chart.kind != ChartKind::kStackedBars)
      for (double v : c.x_ticks) p.line(crisp(f.X(v)), f.b.top, crisp(f.X(v)), f.b.bottom, 1);

    const bool rows = chart.kind == ChartKind::kHistogram;
    draw_data(p, f, rows ? r : 0, rows ? std::min(r + 1, chart.series.size()) : chart.series.size());
    if (rows && r < chart.series.size() && !chart.series[r].label.empty()) draw_legend_entry(p, chart, chart.series[r], b.right + 20, top);

    p.colour(kMuted);
    p.line(crisp(f.b.left), f.b.top, crisp(f.b.left), crisp(f.b.bottom), 1);
    p.line(crisp(f.b.left), crisp(f.b.bottom), f.b.right, crisp(f.b.bottom), 1);
    p.font(kTickSize);
    for (double v : c.y_ticks) {
      p.colour(kMuted);
      p.line(f.b.left - kTickLength, crisp(f.Y(v)), f.b.left, crisp(f.Y(v)), 1);
      p.colour(kInk);
      p.text(tick_text(v, c.y.step, chart.y_percent), f.b.left - kTickLength - 4, f.Y(v), 1, 0.5);
    }
  }
  const Frame f{c, b};
  p.font(kTickSize);
  for (double v : c.x_ticks) {
    p.colour(kMuted);
    p.line(crisp(f.X(v)), b.bottom, crisp(f.X(v)), b.bottom + kTickLength, 1);
    p.colour(kInk);
    p.text(tick_text(v, c.x.step, false), f.X(v), b.bottom + kTickLength + 3, 0.5, 0);
  }

  p.font(kLabelSize);
  p.colour(kInk);
  if (!chart.x_label.empty()) p.text(chart.x_label, (b.left + b.right) / 2, b.bottom + kTickLength + kTickSize + 12, 0.5, 0);
  if (!chart.y_label.empty()) {
    cairo_save(p.cr());
    cairo_translate(p.cr(), kPad, (b.top + b.bottom) / 2);
    cairo_rotate(p.cr(), -kPi / 2);
    p.text(chart.y_label, 0, 0, 0.5, 0);
    cairo_restore(p.cr());
  }
  if (chart.kind == ChartKind::kHistogram) return;
  double y = b.top + 2;
  for (const Series* s : legend(chart)) {
    draw_legend_entry(p, chart, *s, b.right + 20, y);
    y += kLegendRow;
  }
}

void draw(cairo_t* cr, const std::string& title, const std::string& subtitle, const std::vector<Chart>& charts, double width, double height) {
  Painter p(cr);
  p.colour(kWhite);
  p.rect(0, 0, width, height);

  double top = kPad;
  p.colour(kInk);
  p.text(p.fit(title, kTitleSize, width - 2 * kPad, true), kPad, top, 0, 0);
  top += kTitleSize * 1.3;
  if (!subtitle.empty()) {
    p.colour(kMuted);
    p.text(p.fit(subtitle, kSubtitleSize, width - 2 * kPad), kPad, top, 0, 0);
    top += kSubtitleSize * 1.3;
  }
  top += 12;

  // Common left and right margins: the widest tick values, axis label and legend of any chart.
  std::vector<Prepared> prepared;
  double tick_width = 0, legend_width = 0, weights = 0;
  bool y_labels = false;
  for (const auto& c : charts) {
    prepared.push_back(prepare(c));
    p.font(kTickSize);
    for (double v : prepared.back().y_ticks) tick_width = std::max(tick_width, p.width(tick_text(v, prepared.back().y.step, c.y_percent)));
    p.font(kLegendSize);
    for (const Series* s : legend(c)) legend_width = std::max(legend_width, 20 + kLegendKey + 8 + p.width(s->label));
    y_labels = y_labels || !c.y_label.empty();
    weights += c.height;
  }
  const double left = kPad + (y_labels ? kLabelSize * 1.3 + 8 : 0) + tick_width + kTickLength + 6;
  const double right = width - kPad - std::max(legend_width, 20.0);
  double y = top;
  for (const auto& c : prepared) {
    const double h = (height - kPad - top) * c.chart->height / weights;
    const double below = kTickLength + kTickSize * 1.4 + (c.chart->x_label.empty() ? 16 : kLabelSize * 1.4 + 10);
    draw_chart(p, c, {left, y + kTickSize / 2, right, y + h - below});
    y += h;
  }
}

cairo_status_t append(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

}  // namespace

Colour series_colour(size_t i) {
  static const Colour kOkabeIto[] = {{0.000, 0.447, 0.698}, {0.902, 0.624, 0.000}, {0.000, 0.620, 0.451}, {0.800, 0.475, 0.655},
                                     {0.337, 0.706, 0.914}, {0.835, 0.369, 0.000}, {0.941, 0.894, 0.259}};
  return kOkabeIto[i % (sizeof kOkabeIto / sizeof kOkabeIto[0])];
}

Figure::Figure(std::string title, std::string subtitle, int width, int height)
    : title_(std::move(title)), subtitle_(std::move(subtitle)), width_(width), height_(height) {}

void Figure::add(Chart chart) { charts_.push_back(std::move(chart)); }

void Figure::write(const std::string& path) const {
  const auto ends_with = [&](const char* ext) { return path.size() >= 4 && path.compare(path.size() - 4, 4, ext) == 0; };
  const bool png = ends_with(".png");
  if (!png && !ends_with(".svg")) throw InputError(path + ": plots are written as .png or .svg");
  std::string bytes;
  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface(
      png ? cairo_image_surface_create(CAIRO_FORMAT_RGB24, width_, height_)
          : cairo_svg_surface_create_for_stream(append, &bytes, width_, height_),
      cairo_surface_destroy);
  std::unique_ptr<cairo_t, decltype(&cairo_destroy)> cr(cairo_create(surface.get()), cairo_destroy);
  draw(cr.get(), title_, subtitle_, charts_, width_, height_);
  cairo_status_t status = cairo_status(cr.get());
  cr.reset();
  if (png && status == CAIRO_STATUS_SUCCESS) status = cairo_surface_write_to_png_stream(surface.get(), append, &bytes);
  cairo_surface_finish(surface.get());
  if (status == CAIRO_STATUS_SUCCESS) status = cairo_surface_status(surface.get());
  if (status != CAIRO_STATUS_SUCCESS) throw Error(path + ": cannot draw the plot (" + cairo_status_to_string(status) + ")");

  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw InputError(path + ": cannot write the plot (" + std::strerror(errno) + ")");
}

void Figure::save(const std::string& stem) const {
  write(stem + ".png");
  write(stem + ".svg");
}

}  // namespace fiancee::plot
