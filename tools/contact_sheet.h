// The evaluations' contact sheets: columns of equal square RGB8 tiles under a
// band of titles, one row per shown frame, written as PNG.
#pragma once
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace fiancee::tools {

// Writes an RGB8 image (any format cv::imwrite knows by the extension); throws naming the path.
void write_rgb(const std::string& path, const cv::Mat& rgb);

// columns[c][r] is row r's tile of column c; every tile has one size.
void write_sheet(const std::string& path, const std::vector<std::string>& titles, const std::vector<std::vector<cv::Mat>>& columns);

}  // namespace fiancee::tools
