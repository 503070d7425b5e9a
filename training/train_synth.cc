// The semantic-synthesis pipeline's training task: label map -> image pairs
// from procedural street scenes or a Cityscapes-style folder, for OASIS or
// ASAP-Net. Noise (OASIS) comes from a pool of kNoisePool seeds, so `fiancee
// eval` can compare the predictor on seen and on new noises (Tables S3-S4).
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>

#include "core/errors.h"
#include "core/guide_db.h"
#include "models/oasis.h"
#include "models/registry.h"
#include "datasets/street_scenes.h"
#include "pipelines/synth_inputs.h"
#include "training/synth_package.h"
#include "training/train_task.h"

namespace fiancee::training {

namespace {

constexpr uint64_t kNoisePool = 8;           // training noises: seeds 0..7
constexpr uint64_t kDatabaseScenes = 1ull << 40;  // scene indices of the patch database, never trained on

}  // namespace

std::unique_ptr<synth::SceneSource> scene_source(const std::string& data, int height, int width, uint64_t seed, bool held_out) {
  if (data == "procedural") return std::make_unique<synth::StreetScenes>(height, width, held_out ? seed + 0x5EED : seed);
  return std::make_unique<synth::CityscapesFolder>(data, held_out ? "val" : "train", height, width);
}

namespace {

class SynthTask : public TrainTask {
 public:
  SynthTask(const Work& w, const Options&)
      : work_(w),
        family_(synth::synth_family(w.meta.at("family").get<std::string>(), w.path("architecture.json") + ": family")),
        height_(w.meta.at("height").get<int>()),
        width_(w.meta.at("width").get<int>()),
        graph_(family_.build(w.meta.at("architecture"), w.path("architecture.json"))),
        shape_(family_.synth_shape(w.meta.at("architecture"), w.path("architecture.json"))),
        scenes_(scene_source(w.meta.at("data").get<std::string>(), height_, width_, w.seed(), false)) {
    if (std::filesystem::exists(w.path("guide.safetensors"))) db_ = std::make_unique<GuideDatabase>(GuideDatabase::load(w.dir, "guide"));
  }

  models::BranchedGraph& graph() override { return *graph_; }
  int condition_channels() const override { return synth::kNumClasses; }

  TrainBatch sample(int batch, uint64_t index, Stream stream) override {
    const uint64_t first = (index + static_cast<uint64_t>(stream)) * static_cast<uint64_t>(batch);
    auto scenes = synth::scene_batch(*scenes_, first, batch);
    // Families without noise get [N,0] and ignore it.
    std::vector<torch::Tensor> zs;
    for (int i = 0; i < batch; ++i) zs.push_back(synth::noise_for_seed((first + i) % kNoisePool, shape_.z_dim));
    const auto input = synth::backbone_input(family_, scenes.labels, torch::cat(zs), synth::kNumClasses);
    // Discriminators see the one-hot map: the input's last channels for both families.
    const auto onehot = input.narrow(1, input.size(1) - synth::kNumClasses, synth::kNumClasses);
    return {input, scenes.images, onehot, {}, {}};
  }

  void prepare_guides(const Options& args) override {
    auto* oasis = dynamic_cast<models::OasisGraph*>(graph_.get());
    if (!oasis || oasis->config().guide_channels == 0) return;
    const int n = args.integer("--database-scenes", 64), per_class = args.integer("--database-per-class", 64);
    std::fprintf(stderr, "train-branches: patch database from %d scenes, at most %d patches per class\n", n, per_class);
    graph_->eval();
    auto scenes = synth::scene_batch(*scenes_, kDatabaseScenes, n);
    db_ = std::make_unique<GuideDatabase>(synth::build_patch_database(*oasis, scenes.labels, synth::noise_for_seed(0, oasis->config().z_dim), per_class));
    db_->save(work_.dir, "guide");
    std::fprintf(stderr, "train-branches: patch database holds %lld patches\n", static_cast<long long>(db_->size()));
  }
  GuideDatabase* guide_database() override { return db_.get(); }

  void write_package(const std::string& out, const Options& args) override {
    const std::string data = work_.meta.at("data").get<std::string>();
    synth::PackageInfo info{args.get("--name", "scenes-" + family_.name),
                            family_.title + " trained by `fiancee train-*` on " +
                                (data == "procedural" ? std::string("procedural street scenes") : "the Cityscapes-style folder " + data) +
                                ", " + std::to_string(height_) + "x" + std::to_string(width_) + ". See docs/training.md.",
                            false, args.has("--default-threshold") ? std::stod(args.get("--default-threshold", "")) : defaults::kQualityThreshold};
    synth::write_package(out, *graph_, height_, width_, info, db_.get(), args.has("--overwrite"));
  }

 private:
  Work work_;
  const models::Family& family_;
  int height_, width_;
  std::unique_ptr<models::BranchedGraph> graph_;
  models::SynthShape shape_;
  std::unique_ptr<synth::SceneSource> scenes_;
  std::unique_ptr<GuideDatabase> db_;
};

}  // namespace

Work create_synth_work(const Options& args) {
  const std::string family_name = args.get("--family", "oasis");
  const int height = args.integer("--height", 128), width = args.integer("--width", 256), channels = args.integer("--channels", 64);
  const auto sfs = args.list("--scale-factors", "1/2,1/4");
  const std::string data = args.get("--data", "procedural");
  if (data != "procedural" && !std::filesystem::is_directory(data))
    throw InputError("--data " + data + ": not 'procedural' and not a Cityscapes-style folder");
  const auto& family = synth::synth_family(family_name, "--family");
  nlohmann::json arch;
  switch (family.id) {
    case models::FamilyId::Oasis:
      arch = synth::oasis_config(synth::kNumClasses, height, width, channels, !args.has("--no-database"), sfs).to_json();
      break;
    case models::FamilyId::Asap:
      arch = synth::asap_config(synth::kNumClasses, channels, sfs).to_json();
      break;
    default:
      throw InputError("--family " + family.name + ": no training configuration for " + family.title);
  }
  Work w;
  w.meta = {{"pipeline", "synth"}, {"family", family.name}, {"height", height}, {"width", width},
            {"data", data},        {"seed", args.integer("--seed", 1)},    {"architecture", arch}};
  return w;
}

std::unique_ptr<TrainTask> make_synth_task(const Work& work, const Options& args) { return std::make_unique<SynthTask>(work, args); }

}  // namespace fiancee::training
