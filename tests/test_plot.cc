#include <gtest/gtest.h>

#include <cairo.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/errors.h"
#include "tests/fixtures.h"
#include "tools/plot.h"

namespace plot = fiancee::plot;
using fiancee::testing::TempDir;

namespace {

// Exit shares over eight thresholds, as `fiancee eval` plots them: from the
// backbone alone to exit 0 alone; the last three bars hold exit 0 only.
plot::Chart shares(bool labelled) {
  plot::Chart c;
  c.kind = plot::ChartKind::kStackedBars;
  c.x_label = "threshold";
  c.y_label = "share of frames";
  c.y_percent = true;
  c.x = {0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7};
  c.series = {{"exit 0 (SF 1/4)", {0, 0.2, 0.4, 0.6, 0.8, 1, 1, 1}, plot::series_colour(0)},
              {"exit 1 (SF 1/4)", {0, 0.3, 0.3, 0.2, 0.1, 0, 0, 0}, plot::series_colour(1)},
              {"backbone", {1, 0.5, 0.3, 0.2, 0.1, 0, 0, 0}, plot::kGrey}};
  if (!labelled)
    for (auto& s : c.series) s.label.clear();
  return c;
}

struct Image {
  int width = 0, height = 0;
  std::vector<uint32_t> rgb;  // 0xRRGGBB, row by row
  uint32_t at(int x, int y) const { return rgb[static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)]; }
};

Image read_png(const std::string& path) {
  cairo_surface_t* s = cairo_image_surface_create_from_png(path.c_str());
  Image img;
  if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS) {
    cairo_surface_flush(s);
    img.width = cairo_image_surface_get_width(s);
    img.height = cairo_image_surface_get_height(s);
    const int stride = cairo_image_surface_get_stride(s);
    const unsigned char* data = cairo_image_surface_get_data(s);
    for (int y = 0; y < img.height; ++y)
      for (int x = 0; x < img.width; ++x) img.rgb.push_back(reinterpret_cast<const uint32_t*>(data + y * stride)[x] & 0xFFFFFF);
  }
  cairo_surface_destroy(s);
  return img;
}

// The 8-bit colour of `c` drawn with `alpha` over white, as cairo stores it give or take rounding.
uint32_t over_white(plot::Colour c, double alpha = 1) {
  auto byte = [&](double v) { return static_cast<uint32_t>((alpha * v + 1 - alpha) * 255 + 0.5); };
  return byte(c.r) << 16 | byte(c.g) << 8 | byte(c.b);
}

bool near(uint32_t a, uint32_t b) {
  for (int shift : {0, 8, 16})
    if (std::abs(static_cast<int>((a >> shift) & 0xFF) - static_cast<int>((b >> shift) & 0xFF)) > 2) return false;
  return true;
}

// Pixels of colour `want` in columns [x0, x1), and the rows they span.
struct Found {
  int count = 0, top = 1 << 30, bottom = -1;
};
Found find(const Image& img, uint32_t want, int x0, int x1) {
  Found f;
  for (int y = 0; y < img.height; ++y)
    for (int x = x0; x < x1; ++x)
      if (near(img.at(x, y), want)) ++f.count, f.top = std::min(f.top, y), f.bottom = std::max(f.bottom, y);
  return f;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST(Plot, WritesPngAndSvgOfTheSameFigure) {
  TempDir dir;
  plot::Figure fig("avatar-demo · test split · 1-ms-ssim", "scale factor 1/4", 640, 400);
  fig.add(shares(true));
  fig.save(dir.file("shares"));

  const auto img = read_png(dir.file("shares.png"));
  ASSERT_EQ(img.width, 640);
  ASSERT_EQ(img.height, 400);
  int drawn = 0;
  for (uint32_t p : img.rgb) drawn += p != 0xFFFFFF;
  EXPECT_GT(drawn, 640 * 400 / 10) << "the figure is (nearly) blank";
  for (const auto& s : shares(true).series) EXPECT_GT(find(img, over_white(s.colour), 0, img.width).count, 500) << s.label << " is not drawn";

  const auto svg = slurp(dir.file("shares.svg"));
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("viewBox=\"0 0 640 400\""), std::string::npos) << "the SVG is not the PNG's size";
}

TEST(Plot, LegendShowsEverySeriesBesideTheData) {
  TempDir dir;
  for (bool labelled : {false, true}) {
    plot::Figure fig("shares", "", 640, 400);
    fig.add(shares(labelled));
    fig.save(dir.file(labelled ? "legend" : "bare"));
  }
  const auto bare = read_png(dir.file("bare.png")), legend = read_png(dir.file("legend.png"));
  ASSERT_EQ(bare.width, 640);
  ASSERT_EQ(legend.width, 640);
  // The right quarter: without a legend only exit 0's last bars reach it; with
  // one, a 14 x 14 swatch of each series' colour is there. (A few grey pixels
  // are anti-aliased tick values.)
  const int right = 640 * 3 / 4;
  EXPECT_GT(find(bare, over_white(plot::series_colour(0)), right, 640).count, 1000);
  EXPECT_LT(find(bare, over_white(plot::series_colour(1)), right, 640).count, 20);
  EXPECT_LT(find(bare, over_white(plot::kGrey), right, 640).count, 20);
  for (const auto& s : shares(true).series) EXPECT_GE(find(legend, over_white(s.colour), right, 640).count, 150) << s.label;
  // The legend's text is there too, as glyphs (cairo writes no <text>).
  EXPECT_GT(slurp(dir.file("legend.svg")).size(), slurp(dir.file("bare.svg")).size());
}

TEST(Plot, HistogramGivesEachSeriesItsOwnRow) {
  TempDir dir;
  plot::Chart c;
  c.kind = plot::ChartKind::kHistogram;
  c.x_label = "1-ms-ssim to the backbone output";
  c.y_percent = true;
  c.bins = 10;
  for (int k = 0; k < 2; ++k) {
    plot::Series s{"exit " + std::to_string(k), {}, plot::series_colour(static_cast<size_t>(k))};
    for (int i = 0; i < 100; ++i) s.values.push_back(0.05 * k + 0.002 * i);
    c.series.push_back(s);
  }
  plot::Figure fig("quality per exit", "", 500, 360);
  fig.add(c);
  fig.write(dir.file("hist.png"));
  EXPECT_FALSE(std::filesystem::exists(dir.file("hist.svg")));

  const auto img = read_png(dir.file("hist.png"));
  ASSERT_EQ(img.width, 500);
  ASSERT_EQ(img.height, 360);
  // The translucent fills: exit 0's all above exit 1's.
  const auto first = find(img, over_white(plot::series_colour(0), 0.35), 0, 500);
  const auto second = find(img, over_white(plot::series_colour(1), 0.35), 0, 500);
  ASSERT_GT(first.count, 200);
  ASSERT_GT(second.count, 200);
  EXPECT_LT(first.bottom, second.top);
}

TEST(Plot, UnwritablePathThrowsInputErrorNamingIt) {
  TempDir dir;
  plot::Figure fig("shares", "", 320, 200);
  fig.add(shares(true));
  const std::string stem = dir.file("no-such-directory/shares");
  try {
    fig.save(stem);
    FAIL() << "saved into a missing directory";
  } catch (const fiancee::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(stem + ".png"), std::string::npos) << e.what();
  }
  try {
    fig.write(dir.file("shares.jpg"));
    FAIL() << "wrote a .jpg";
  } catch (const fiancee::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(dir.file("shares.jpg")), std::string::npos) << e.what();
  }
}

TEST(Plot, SeriesOfTheWrongLengthIsRejected) {
  TempDir dir;
  auto c = shares(true);
  c.series[1].values.pop_back();
  plot::Figure fig("shares", "", 320, 200);
  fig.add(c);
  EXPECT_THROW(fig.write(dir.file("shares.png")), fiancee::Error);
}
