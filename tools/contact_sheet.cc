#include "tools/contact_sheet.h"

#include <algorithm>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"

namespace fiancee::tools {

namespace {
constexpr int kHeaderHeight = 24;  // the column titles' band
}

void write_rgb(const std::string& path, const cv::Mat& rgb) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  if (!cv::imwrite(path, bgr)) throw Error(path + ": cannot write image");
}

void write_sheet(const std::string& path, const std::vector<std::string>& titles, const std::vector<std::vector<cv::Mat>>& columns) {
  const int size = columns.front().front().cols, rows = static_cast<int>(columns.front().size());
  cv::Mat sheet(kHeaderHeight + rows * size, static_cast<int>(columns.size()) * size, CV_8UC3, cv::Scalar::all(32));
  for (size_t c = 0; c < columns.size(); ++c) {
    const int x = static_cast<int>(c) * size;
    int baseline = 0;
    const double width = cv::getTextSize(titles[c], cv::FONT_HERSHEY_SIMPLEX, 1.0, 1, &baseline).width;
    // Each title shrunk to fit its tile.
    cv::putText(sheet, titles[c], {x + 2, kHeaderHeight - 7}, cv::FONT_HERSHEY_SIMPLEX, std::min(0.5, (size - 4) / width),
                cv::Scalar::all(255), 1, cv::LINE_AA);
    for (int r = 0; r < rows; ++r) columns[c][static_cast<size_t>(r)].copyTo(sheet(cv::Rect(x, kHeaderHeight + r * size, size, size)));
  }
  write_rgb(path, sheet);
}

}  // namespace fiancee::tools
