// `fiancee build-db`: the guide database of a package.
// Reenactment: from a video or a folder of images of the source person; keys
// come from the face front end exactly as at run time, values are the aligned
// face crops; farthest-point sampling keeps the requested number of frames
// that best cover the key space (the paper: 960). Synthesis (OASIS): the patch database from scenes of a data set
// (procedural or a Cityscapes-style folder), at most --per-class patches per class.
#include <torch/torch.h>

#include <opencv2/core.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.h"
#include "core/guide_db.h"
#include "core/package.h"
#include "pipelines/face_frontend.h"
#include "datasets/face_videos.h"
#include "pipelines/image_io.h"
#include "pipelines/reenact_inputs.h"
#include "datasets/street_scenes.h"
#include "pipelines/synth_inputs.h"
#include "training/synth_package.h"
#include "models/oasis.h"
#include "models/registry.h"
#include "tools/commands.h"
#include "training/train_task.h"

namespace fiancee::tools {

using namespace fiancee::training;

namespace fs = std::filesystem;

namespace {

// Replaces the package's database files, then rewrites the manifest's hashes.
void replace_database(const std::string& dir, Manifest manifest, const GuideDatabase& db, const std::string& key_description) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind(manifest.guide_database->prefix + ".", 0) == 0) fs::remove(e.path());
  db.save(dir, manifest.guide_database->prefix);
  manifest.guide_database->key_description = key_description;
  // The exits' outputs depend on the database: calibration frames measured with the old one no longer hold.
  for (auto& sf : manifest.scale_factors)
    if (!sf.calibration.empty()) {
      fs::remove(fs::path(dir) / sf.calibration);
      sf.calibration.clear();
      std::fprintf(stderr, "build-db: removed the calibration frames of scale factor %s (measured with the old database); "
                           "run `fiancee calibrate %s` for target-miss-rate\n", sf.name.c_str(), dir.c_str());
    }
  Package::write(dir, manifest);
}

int build_patch_db(const Package& pkg, const Options& args) {
  const auto& manifest = pkg.manifest();
  const auto* family = models::find_family(manifest.family);
  if (!family || !family->patch_database || !manifest.guide_database)
    throw InputError(pkg.dir() + ": build-db for synthesis needs an OASIS package whose branches take the patch database");
  const std::string source = args.get("--source", "procedural");
  const int scenes = args.integer("--scenes", 64), per_class = args.integer("--per-class", 64);
  if (scenes < 1 || per_class < 1) throw InputError("--scenes and --per-class must be at least 1");
  auto graph = models::load_graph(pkg);
  auto& oasis = dynamic_cast<models::OasisGraph&>(*graph);
  oasis.eval();
  const auto data = scene_source(source, manifest.output.height, manifest.output.width,
                                 static_cast<uint64_t>(args.integer("--seed", 1)) + 0xDB, /*held_out=*/false);
  std::fprintf(stderr, "build-db: %d scenes from %s\n", scenes, source.c_str());
  const auto batch = synth::scene_batch(*data, 0, scenes);
  const auto db = synth::build_patch_database(oasis, batch.labels, synth::noise_for_seed(0, oasis.config().z_dim), per_class);
  replace_database(pkg.dir(), manifest, db,
                   "OASIS front features of one H/32 x W/32 cell of " + source + " scenes, searched within the cell's majority class; "
                   "values = block-3 features of the cell (FIANCEE Sec. 4.1)");
  std::printf("build-db: %s now holds %lld patches (at most %d per class) from %d scenes\n", pkg.dir().c_str(),
              static_cast<long long>(db.size()), per_class, scenes);
  return 0;
}

}  // namespace

int build_db(const Options& args) {
  const std::string dir = args.get("--package", "");
  if (dir.empty()) throw InputError("build-db needs --package DIR");
  const auto pkg = Package::open(dir);
  if (pkg.manifest().pipeline == "synth") return build_patch_db(pkg, args);
  const std::string source = args.get("--source", "");
  if (source.empty()) throw InputError("build-db for a reenactment package needs --source VIDEO_OR_FOLDER");
  if (!fs::exists(source)) throw InputError(source + ": no such video or folder");
  const int size = args.integer("--size", 960);
  if (size < 1) throw InputError("--size must be at least 1");
  auto manifest = pkg.manifest();
  if (manifest.pipeline != "reenact" || !manifest.guide_database)
    throw InputError(dir + ": build-db needs a reenact package whose branches take a guide image");
  ImageSpec rgb = manifest.input;
  rgb.channels = 3;

  face::FaceFrontEnd front_end;
  std::vector<torch::Tensor> keys, images;
  int frames = 0;
  reenact::for_each_frame(source, [&](const cv::Mat& frame) {
    ++frames;
    const auto face = front_end.detect(frame.data, frame.cols, frame.rows, static_cast<int>(frame.step));
    if (face.has_face()) {
      keys.push_back(torch::tensor(face.key(), torch::kFloat));
      // The aligned face crop, as `train-backbone --data` makes its guides.
      cv::Mat crop = reenact::aligned_crop(frame, face, rgb.width);
      ImageView view{crop.data, crop.cols, crop.rows, static_cast<int>(crop.step), 3};
      images.push_back(frame_to_tensor(view, rgb)[0].to(torch::kHalf));
    }
    if (frames % 25 == 0) std::fprintf(stderr, "\rbuild-db: %d frames read, %zu with a face", frames, keys.size());
    return true;
  });
  std::fprintf(stderr, "\rbuild-db: %d frames read, %zu with a face\n", frames, keys.size());
  if (keys.empty()) throw InputError(source + ": no face found in any frame; the database needs frames of the source person");
  auto all_keys = torch::stack(keys);
  const auto keep = farthest_point_sample(all_keys, size);
  auto idx = torch::tensor(keep, torch::kLong);
  GuideDatabase db(all_keys.index_select(0, idx), torch::stack(images).index_select(0, idx));
  replace_database(dir, manifest, db,
                   "head pose (3 angles / 45 deg) + landmark expression features of " + fs::path(source).filename().string() +
                       ", docs/face-frontend.md");
  std::printf("build-db: %s now holds %lld guide frames (farthest-point sampled from %zu with a face, of %d read)\n", dir.c_str(),
              static_cast<long long>(db.size()), keys.size(), frames);
  return 0;
}

}  // namespace fiancee::tools
