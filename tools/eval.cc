// `fiancee eval`: dispatch by pipeline, and the reenactment half: held-out
// driver frames, either procedural renders of the package's avatar identity
// in poses and expressions never used for training or the database, or
// (--driver) a real video whose keys the face front end computes as the
// element does. For every frame every exit is rendered once, so each
// threshold's routing is evaluated on the same measured qualities
// (tools/eval_report.h).
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>

#include "core/errors.h"
#include "core/exit_graph.h"
#include "core/guide_db.h"
#include "core/metrics.h"
#include "core/package.h"
#include "models/registry.h"
#include "pipelines/face_frontend.h"
#include "datasets/face_videos.h"
#include "pipelines/image_io.h"
#include "datasets/reenact_data.h"
#include "pipelines/reenact_inputs.h"
#include "tools/commands.h"
#include "tools/eval_report.h"

namespace fiancee::tools {

namespace {

// A real driver's keys as fianceereenact computes them: the front end with
// smoothing and hold, then relative or absolute expression transfer.
torch::Tensor driver_keys(const std::string& driver, const GuideDatabase* db, int max_frames, bool relative) {
  face::FaceFrontEnd front_end;
  const auto typical = reenact::avatar_typical_expression(db);
  std::vector<float> keys;
  int read = 0, used = 0;
  reenact::for_each_frame(driver, [&](const cv::Mat& rgb) {
    if (used >= max_frames) return false;
    ++read;
    const auto face = front_end.process(rgb.data, rgb.cols, rgb.rows, static_cast<int>(rgb.step));
    if (!face.has_face()) return true;
    const auto key = relative ? face.relative_key(typical) : face.key();
    keys.insert(keys.end(), key.begin(), key.end());
    ++used;
    return true;
  });
  if (used == 0) throw InputError(driver + ": no face found in any frame of the driver");
  std::fprintf(stderr, "eval: %d of the first %d driver frames show a face (%s expression transfer)\n", used, read,
               relative ? "relative" : "absolute");
  return torch::tensor(keys, torch::kFloat).view({used, face::kKeyDim});
}

}  // namespace

int eval(const Options& args) {
  if (args.positional.size() != 1) throw InputError("eval takes one package directory");
  const auto pkg = Package::open(args.positional[0]);
  const auto& m = pkg.manifest();
  if (m.pipeline == "synth") return eval_synth(pkg, args);
  if (m.pipeline != "reenact") throw InputError(pkg.dir() + ": eval handles reenact and synth packages, not '" + m.pipeline + "'");
  const int n = args.integer("--frames", 200);
  auto c = EvalContext::open(pkg, args);
  // Held-out frames: identity 0 (the avatar), a salt no training or database run uses.
  reenact::ProceduralHeads heads(m.input.width, 1, 0, static_cast<uint64_t>(args.integer("--seed", 1)));
  const std::string driver = args.get("--driver", "");
  const std::string transfer = args.get("--expression-transfer", "relative");
  if (transfer != "relative" && transfer != "absolute") throw InputError("--expression-transfer must be relative or absolute");
  // Two disjoint sets of held-out poses and expressions: thresholds are picked on validation, reported on test.
  const std::string split = args.get("--split", "test");
  if (split != "test" && split != "validation") throw InputError("--split must be test or validation");
  const uint64_t salt = split == "test" ? 0xE7A1 : 0x7A11D000;
  c.setup.split = driver.empty() ? split + " split" : "driver " + std::filesystem::path(driver).filename().string();
  torch::Tensor source, keys;
  if (driver.empty()) {
    source = heads.source(0).unsqueeze(0);
  } else {
    ImageSpec rgb = m.input;
    rgb.channels = 3;
    source = read_image(pkg.dir() + "/source.png", rgb, "the package's source.png");
    keys = driver_keys(driver, c.db.get(), n, transfer == "relative");
  }
  const int frames = driver.empty() ? n : static_cast<int>(keys.size(0));
  std::vector<ExitRows> rows;
  const int chunk = 10;
  for (int start = 0; start < frames; start += chunk) {
    const int k = std::min(chunk, frames - start);
    const auto chunk_keys = driver.empty() ? heads.frames(0, k, salt + static_cast<uint64_t>(start)).keys : keys.slice(0, start, start + k);
    rows.push_back(render_exits(*c.graph, c.setup.scale_factor, reenact::backbone_input(source, chunk_keys), chunk_keys, c.db.get(), *c.metric));
    std::fprintf(stderr, "\reval: %d/%d frames", start + k, frames);
  }
  std::fprintf(stderr, "\n");
  const auto f = EvalFrames::stack(rows);
  report_sweep(f, c.setup);
  return 0;
}

}  // namespace fiancee::tools
