// What the generic `fiancee train-*` commands (tools/train.cc) need from a
// pipeline: its graph, deterministic training batches, what discriminators are
// conditioned on, how branch guides are found, and how to write the package.
// One task per pipeline: training/train_reenact.cc, training/train_synth.cc.
#pragma once

#include <torch/types.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "models/branched_graph.h"
#include "training/options.h"

namespace fiancee {
class GuideDatabase;
namespace synth {
class SceneSource;
}
}  // namespace fiancee

namespace fiancee::training {

// A training run's work directory: <dir>/architecture.json (what is trained
// on what data, written by train-backbone), <dir>/checkpoints/, the trained
// weights, and the finished package in <dir>/package after train-predictor.
struct Work {
  std::string dir;
  nlohmann::json meta;  // pipeline, seed, data and size fields, "architecture"

  std::string path(const std::string& f) const { return dir + "/" + f; }
  std::string pipeline() const { return meta.value("pipeline", "reenact"); }
  uint64_t seed() const { return meta.at("seed").get<uint64_t>(); }
  static std::string sf_file(std::string sf);
  // Writes architecture.json, refusing to mix runs: an existing one must describe the same run.
  void save_new() const;
  static Work open(const std::string& dir);
};

struct TrainBatch {
  torch::Tensor input;      // backbone input
  torch::Tensor target;     // what the backbone learns to render
  torch::Tensor condition;  // what a discriminator sees beside an image [B,C,H,W]
  torch::Tensor key;        // predictor / guide key, or undefined
  torch::Tensor guide;      // branch guide, or undefined when the graph queries the database (guide_query)
  torch::Tensor loss_weight;  // [B,1,H,W] per-pixel weight of the L1 loss, or undefined (uniform)
};

// The data streams of the three commands never share samples.
enum class Stream : uint64_t { Backbone = 0, Branches = 1000000, Predictor = 2000000 };

class TrainTask {
 public:
  virtual ~TrainTask() = default;
  virtual models::BranchedGraph& graph() = 0;
  virtual TrainBatch sample(int batch, uint64_t index, Stream stream) = 0;
  virtual int condition_channels() const = 0;
  // After the backbone is trained, before the branches are: a database the
  // graph queries itself (OASIS patches) is built here and kept in the work dir.
  virtual void prepare_guides(const Options& args) { (void)args; }
  virtual GuideDatabase* guide_database() { return nullptr; }
  // Writes the finished package to `out`.
  virtual void write_package(const std::string& out, const Options& args) = 0;
};

// Scenes of a synthesis run's data ("procedural" or a Cityscapes-style folder);
// held_out: scenes no training command sees (another seed / the val split).
std::unique_ptr<synth::SceneSource> scene_source(const std::string& data, int height, int width, uint64_t seed, bool held_out);

// The run's meta from train-backbone's arguments (pipeline-specific options).
Work create_reenact_work(const Options& args);
Work create_synth_work(const Options& args);
std::unique_ptr<TrainTask> make_reenact_task(const Work& work, const Options& args);
std::unique_ptr<TrainTask> make_synth_task(const Work& work, const Options& args);

}  // namespace fiancee::training
