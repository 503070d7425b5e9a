// The semantic-synthesis pipeline's training task: label map -> image pairs
// from procedural street scenes or a Cityscapes-style folder, for OASIS or
// ASAP-Net. Noise (OASIS) comes from a pool of kNoisePool seeds, so `fiancee
// eval` can compare the predictor on seen and on new noises (Tables S3-S4).
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>

#include "core/errors.h"
#include "core/guide_db.h"
#include "models/asap.h"
#include "models/oasis.h"
#include "pipelines/street_scenes.h"
#include "pipelines/synth_inputs.h"
#include "pipelines/synth_package.h"
#include "tools/train_task.h"

namespace fiancee::tools {

namespace {

constexpr uint64_t kNoisePool = 8;           // training noises: seeds 0..7
constexpr uint64_t kDatabaseScenes = 1ull << 40;  // scene indices of the patch database, never trained on

std::unique_ptr<models::BranchedGraph> make_graph(const Work& w) {
  const auto origin = w.path("architecture.json");
  const auto family = w.meta.at("family").get<std::string>();
  if (family == "oasis") return std::make_unique<models::OasisGraph>(models::OasisConfig::from_json(w.meta.at("architecture"), origin));
  if (family == "asap") return std::make_unique<models::AsapGraph>(models::AsapConfig::from_json(w.meta.at("architecture"), origin));
  throw InputError(origin + ": synthesis trains 'oasis' or 'asap', not '" + family + "'");
}

}  // namespace

std::unique_ptr<synth::SceneSource> scene_source(const std::string& data, int height, int width, uint64_t seed, bool held_out) {
  if (data == "procedural") return std::make_unique<synth::StreetScenes>(height, width, held_out ? seed + 0x5EED : seed);
  return std::make_unique<synth::CityscapesFolder>(data, held_out ? "val" : "train", height, width);
}

namespace {

class SynthTask : public TrainTask {
 public:
  SynthTask(const Work& w, const Args&)
      : work_(w),
        family_(w.meta.at("family").get<std::string>()),
        height_(w.meta.at("height").get<int>()),
        width_(w.meta.at("width").get<int>()),
        graph_(make_graph(w)),
        scenes_(scene_source(w.meta.at("data").get<std::string>(), height_, width_, w.seed(), false)) {
    if (std::filesystem::exists(w.path("guide.safetensors"))) db_ = std::make_unique<GuideDatabase>(GuideDatabase::load(w.dir, "guide"));
  }

  models::BranchedGraph& graph() override { return *graph_; }
  int condition_channels() const override { return synth::kNumClasses; }

  TrainBatch sample(int batch, uint64_t index, Stream stream) override {
    const uint64_t first = (index + static_cast<uint64_t>(stream)) * static_cast<uint64_t>(batch);
    auto scenes = synth::scene_batch(*scenes_, first, batch);
    torch::Tensor z;
    if (family_ == "oasis") {
      std::vector<torch::Tensor> zs;
      for (int i = 0; i < batch; ++i) zs.push_back(synth::noise_for_seed((first + i) % kNoisePool, oasis().config().z_dim));
      z = torch::cat(zs);
    }
    const auto input = synth::backbone_input(family_, scenes.labels, z, synth::kNumClasses);
    // Discriminators see the one-hot map: the input's last channels for both families.
    const auto onehot = input.narrow(1, input.size(1) - synth::kNumClasses, synth::kNumClasses);
    return {input, scenes.images, onehot, {}, {}};
  }

  void prepare_guides(const Args& args) override {
    if (family_ != "oasis" || oasis().config().guide_channels == 0) return;
    const int n = args.integer("--database-scenes", 64), per_class = args.integer("--database-per-class", 64);
    std::fprintf(stderr, "train-branches: patch database from %d scenes, at most %d patches per class\n", n, per_class);
    graph_->eval();
    auto scenes = synth::scene_batch(*scenes_, kDatabaseScenes, n);
    db_ = std::make_unique<GuideDatabase>(synth::build_patch_database(oasis(), scenes.labels, synth::noise_for_seed(0, oasis().config().z_dim), per_class));
    db_->save(work_.dir, "guide");
    std::fprintf(stderr, "train-branches: patch database holds %lld patches\n", static_cast<long long>(db_->size()));
  }
  GuideDatabase* guide_database() override { return db_.get(); }

  void write_package(const std::string& out, const Args& args) override {
    const std::string data = work_.meta.at("data").get<std::string>();
    synth::PackageInfo info{args.get("--name", "scenes-" + family_),
                            std::string(family_ == "oasis" ? "OASIS" : "ASAP-Net") + " trained by `fiancee train-*` on " +
                                (data == "procedural" ? std::string("procedural street scenes") : "the Cityscapes-style folder " + data) +
                                ", " + std::to_string(height_) + "x" + std::to_string(width_) + ". See docs/training.md.",
                            false, std::stod(args.get("--default-threshold", "0.1"))};
    synth::write_package(out, *graph_, height_, width_, info, db_.get(), args.has("--overwrite"));
  }

 private:
  models::OasisGraph& oasis() { return static_cast<models::OasisGraph&>(*graph_); }

  Work work_;
  std::string family_;
  int height_, width_;
  std::unique_ptr<models::BranchedGraph> graph_;
  std::unique_ptr<synth::SceneSource> scenes_;
  std::unique_ptr<GuideDatabase> db_;
};

}  // namespace

Work create_synth_work(const Args& args) {
  const std::string family = args.get("--family", "oasis");
  const int height = args.integer("--height", 128), width = args.integer("--width", 256), channels = args.integer("--channels", 64);
  const auto sfs = args.list("--scale-factors", "1/2,1/4");
  const std::string data = args.get("--data", "procedural");
  if (data != "procedural" && !std::filesystem::is_directory(data))
    throw InputError("--data " + data + ": not 'procedural' and not a Cityscapes-style folder");
  nlohmann::json arch;
  if (family == "oasis")
    arch = synth::oasis_config(synth::kNumClasses, height, width, channels, !args.has("--no-database"), sfs).to_json();
  else if (family == "asap")
    arch = synth::asap_config(synth::kNumClasses, channels, sfs).to_json();
  else
    throw InputError("--family must be oasis or asap, not '" + family + "'");
  Work w;
  w.meta = {{"pipeline", "synth"}, {"family", family}, {"height", height}, {"width", width},
            {"data", data},        {"seed", args.integer("--seed", 1)},    {"architecture", arch}};
  return w;
}

std::unique_ptr<TrainTask> make_synth_task(const Work& work, const Args& args) { return std::make_unique<SynthTask>(work, args); }

}  // namespace fiancee::tools
