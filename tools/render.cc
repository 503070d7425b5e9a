// `fiancee render`: many files through one engine, for batch jobs. Each input
// is a stream with a pipeline of its own (the element's: face front end,
// warp, framing) joined to one shared engine, so the weights are loaded once
// and the frames of the inputs rendered at the same time run as one batch.
// One failing input is reported and the others go on.
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

#include "core/errors.h"
#include "core/package.h"
#include "core/route_stats.h"
#include "core/runtime.h"
#include "datasets/face_videos.h"
#include "pipelines/reenact.h"
#include "pipelines/synth.h"
#include "tools/commands.h"
#include "tools/contact_sheet.h"

namespace fiancee::tools {

namespace fs = std::filesystem;

namespace {

constexpr int kProgressEvery = 50;
const char* const kEngineName = "fiancee-render";

struct Job {
  std::string package, photo, out;
  bool reenact = true;
  RouteSettings route;
  EngineSharing sharing;
  int max_frames = 0;  // 0 = all
};

// Label maps of a synthesis input: one GRAY8 image, or a folder of them sorted by name.
void for_each_label_map(const std::string& input, const std::function<bool(const cv::Mat&)>& f) {
  std::vector<std::string> files;
  if (fs::is_directory(input)) {
    for (const auto& e : fs::directory_iterator(input))
      if (e.is_regular_file()) files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
  } else if (fs::is_regular_file(input)) {
    files.push_back(input);
  } else {
    throw NotFoundError(input + ": no such label map or folder");
  }
  for (const auto& file : files) {
    const cv::Mat m = cv::imread(file, cv::IMREAD_UNCHANGED);
    if (m.empty()) continue;  // not an image
    if (m.channels() != 1 || m.depth() != CV_8U)
      throw InputError(file + ": a label map must be an 8-bit single-channel (GRAY8) image of class ids, this one has " +
                       std::to_string(m.channels()) + " channels");
    if (!f(m)) return;
  }
}

std::unique_ptr<FramePipeline> make_pipeline(const Job& job) {
  if (job.reenact) {
    ReenactOptions o;
    o.model_location = job.package;
    o.source_location = job.photo;
    o.device = Device::Cpu;
    o.sharing = job.sharing;
    return make_reenact_pipeline(o);
  }
  SynthOptions o;
  o.model_location = job.package;
  o.device = Device::Cpu;
  o.sharing = job.sharing;
  return make_synth_pipeline(o);
}

// Renders one input into out/<its name>/NNNNN.png; returns a one-line summary.
// `previous` (the worker's last input's pipeline) is released once this
// input's pipeline has joined the engine: the engine stays loaded between
// inputs, and no idle stream holds a batch back.
std::string render_input(const Job& job, const std::string& input, std::unique_ptr<FramePipeline>& previous) {
  runtime::apply_threads();
  auto pipeline = make_pipeline(job);
  previous = nullptr;
  const std::string dir = job.out + "/" + fs::path(input).stem().string();
  fs::create_directories(dir);
  RouteStats stats;
  cv::Mat out;
  int frames = 0;
  const auto t0 = std::chrono::steady_clock::now();
  const auto render = [&](const cv::Mat& frame) {
    out.create(frame.size(), CV_8UC3);
    FrameReport report;
    pipeline->process({frame.data, frame.cols, frame.rows, static_cast<int>(frame.step), frame.channels()},
                      {out.data, out.cols, out.rows, static_cast<int>(out.step), 3}, job.route, report);
    stats.add(report);
    char name[32];
    std::snprintf(name, sizeof name, "/%05d.png", frames);
    write_rgb(dir + name, out);
    if (++frames % kProgressEvery == 0) std::fprintf(stderr, "render: %s: %d frames\n", input.c_str(), frames);
    return job.max_frames == 0 || frames < job.max_frames;
  };
  if (job.reenact)
    reenact::for_each_frame(input, render);
  else
    for_each_label_map(input, render);
  if (frames == 0) throw InputError(input + ": no frames to render");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string exits;
  for (int64_t c : stats.exit_counts()) exits += (exits.empty() ? "" : "/") + std::to_string(c);
  char line[512];
  std::snprintf(line, sizeof line, "%s: %d frames -> %s/ in %.1f s (%.1f frames/s); frames per exit %s, passed through %lld, "
                "batched with other inputs %lld, GFLOPs saved %.1f%%",
                input.c_str(), frames, dir.c_str(), seconds, frames / seconds, exits.empty() ? "-" : exits.c_str(),
                static_cast<long long>(stats.passthrough_frames()), static_cast<long long>(stats.batched_frames()),
                100.0 * stats.saved_share());
  previous = std::move(pipeline);
  return line;
}

}  // namespace

int render(const Options& args) {
  if (args.positional.size() < 2) throw InputError("render needs a PACKAGE and at least one INPUT");
  Job job;
  job.package = args.positional[0];
  const std::vector<std::string> inputs(args.positional.begin() + 1, args.positional.end());
  job.out = args.get("--out", "render-out");
  job.photo = args.get("--photo", "");
  job.max_frames = std::max(0, args.integer("--frames", 0));
  // A folder of synthesis packages renders its first one, as fianceesynth does.
  const bool single = fs::exists(fs::path(job.package) / "manifest.json");
  const Package package = Package::open(single ? job.package : resolve_synth_package(job.package, ""));
  const std::string pipeline_kind = package.manifest().pipeline;
  job.reenact = pipeline_kind == "reenact";
  if (job.reenact && job.photo.empty()) throw InputError("render: " + job.package + " is a reenactment package: give the avatar with --photo FILE");
  if (!job.reenact && !job.photo.empty()) throw InputError("render: --photo is for reenactment packages; " + job.package + " is a '" + pipeline_kind + "' package");
  job.route.quality_threshold = args.has("--threshold") ? std::stod(args.get("--threshold", "")) : package.manifest().default_threshold;
  job.sharing.name = kEngineName;
  job.sharing.window_ms = args.has("--batch-window") ? std::stod(args.get("--batch-window", "")) : defaults::kBatchWindowMs;
  const int streams = std::clamp(args.integer("--streams", 4), 1, 64);

  std::fprintf(stderr, "render: %zu input%s, %d at a time through one engine (%s, threshold %g %s)\n", inputs.size(),
               inputs.size() == 1 ? "" : "s", std::min<int>(streams, static_cast<int>(inputs.size())), job.package.c_str(),
               job.route.quality_threshold, package.manifest().metric.c_str());

  std::atomic<size_t> next{0};
  std::mutex print;
  int failed = 0;
  std::vector<std::thread> workers;
  for (int w = 0; w < std::min<int>(streams, static_cast<int>(inputs.size())); ++w)
    workers.emplace_back([&] {
      std::unique_ptr<FramePipeline> previous;
      for (size_t i; (i = next++) < inputs.size();) {
        std::string line;
        bool ok = true;
        try {
          line = render_input(job, inputs[i], previous);
        } catch (const std::exception& e) {
          previous = nullptr;
          line = inputs[i] + ": error: " + e.what();
          ok = false;
        }
        std::lock_guard<std::mutex> lock(print);
        failed += !ok;
        std::printf("%s\n", line.c_str());
        std::fflush(stdout);
      }
    });
  for (auto& t : workers) t.join();
  if (failed) throw Error(std::to_string(failed) + " of " + std::to_string(inputs.size()) + " inputs failed (see above)");
  return 0;
}

}  // namespace fiancee::tools
