// `fiancee make-scenes`: a clip of procedural street scenes as PNG files, for
// gst-launch demos (multifilesrc location=DIR/labels_%04d.png ! pngdec gives
// GRAY8 label maps) and for looking at what the generator draws.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/errors.h"
#include "datasets/street_scenes.h"
#include "tools/commands.h"

namespace fiancee::tools {

namespace {

void write_png(const std::string& path, const cv::Mat& m) {
  if (!cv::imwrite(path, m)) throw InputError(path + ": cannot write");
}

}  // namespace

int make_scenes(const Options& args) {
  const std::string out = args.get("--out", "");
  if (out.empty()) throw InputError("make-scenes needs --out DIR");
  if (!args.positional.empty()) throw InputError("make-scenes takes no positional arguments, got '" + args.positional[0] + "'");
  const int frames = args.integer("--frames", 60), height = args.integer("--height", 128), width = args.integer("--width", 256);
  const int seed = args.integer("--seed", 1), clip = args.integer("--clip", 0);
  if (frames < 1 || frames > 10000) throw InputError("--frames must be in 1..10000, got " + std::to_string(frames));
  if (height < 16 || width < 16 || height > 4096 || width > 4096)
    throw InputError("--height and --width must be in 16..4096, got " + std::to_string(height) + "x" + std::to_string(width));
  if (seed < 0 || clip < 0) throw InputError("--seed and --clip must not be negative");
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (!std::filesystem::is_directory(out)) throw InputError(out + ": cannot create the output folder");

  const synth::StreetScenes scenes(height, width, static_cast<uint64_t>(seed));
  const bool images = args.has("--images");
  char name[32];
  for (int t = 0; t < frames; ++t) {
    const synth::Scene s = scenes.clip_frame(static_cast<uint64_t>(clip), t);
    cv::Mat labels(height, width, CV_8UC1);
    const auto l = s.labels.to(torch::kUInt8).contiguous();
    std::memcpy(labels.data, l.data_ptr<uint8_t>(), static_cast<size_t>(height) * width);
    std::snprintf(name, sizeof(name), "/labels_%04d.png", t);
    write_png(out + name, labels);
    cv::Mat colour;
    cv::cvtColor(synth::colour_labels(s.labels), colour, cv::COLOR_RGB2BGR);
    std::snprintf(name, sizeof(name), "/colour_%04d.png", t);
    write_png(out + name, colour);
    if (images) {
      const auto rgb = ((s.image.permute({1, 2, 0}) + 1) * 127.5).round().clamp(0, 255).to(torch::kUInt8).contiguous();
      cv::Mat bgr;
      cv::cvtColor(cv::Mat(height, width, CV_8UC3, rgb.data_ptr<uint8_t>()), bgr, cv::COLOR_RGB2BGR);
      std::snprintf(name, sizeof(name), "/image_%04d.png", t);
      write_png(out + name, bgr);
    }
    if ((t + 1) % 10 == 0 || t + 1 == frames) std::fprintf(stderr, "\rmake-scenes: %d/%d frames", t + 1, frames);
  }
  std::fprintf(stderr, "\nmake-scenes: wrote %s/labels_%%04d.png, colour_%%04d.png%s (clip %d, seed %d, %dx%d)\n",
               out.c_str(), images ? ", image_%04d.png" : "", clip, seed, height, width);
  return 0;
}

}  // namespace fiancee::tools
