#include "models/torchscript.h"

#include <torch/script.h>

#include <nlohmann/json.hpp>

#include <map>

#include "core/errors.h"
#include "core/json_reader.h"

namespace fiancee {

TorchScriptConfig TorchScriptConfig::from_json(const nlohmann::json& j, const std::string& origin) {
  JsonReader r(j, origin, "architecture");
  if (r.has("family")) r.choice("family", {"torchscript"});
  TorchScriptConfig c;
  c.num_stages = r.integer("num_stages", 1, kMaxDepth);
  c.attach_points = r.ints("attach_points", 0, c.num_stages - 1);
  c.key_dim = r.has("key_dim") ? r.integer("key_dim", 0, kMaxChannels) : 0;
  r.finish();
  return c;
}

namespace {

class ScriptedGraph : public ExitGraph {
 public:
  explicit ScriptedGraph(const Package& package) {
    const auto& m = package.manifest();
    const std::string origin = package.path("manifest.json");
    const auto config = TorchScriptConfig::from_json(*m.architecture, origin);
    stages_ = config.num_stages;
    attach_ = config.attach_points;
    for (const auto& sf : m.scale_factors) scale_factors_.push_back(sf.name);
    std::vector<std::string> roles{"front", "head"};
    for (int k = 1; k <= stages_; ++k) roles.push_back("stage" + std::to_string(k));
    for (const auto& sf : scale_factors_) {
      roles.push_back("predictor." + sf);
      for (size_t b = 0; b < attach_.size(); ++b) roles.push_back("branch." + sf + "." + std::to_string(b));
    }
    for (const auto& role : roles) {
      auto it = m.torchscript.find(role);
      if (it == m.torchscript.end()) throw PackageError(origin + ": torchscript module for role '" + role + "' is missing");
      const std::string path = package.path(it->second);
      try {
        modules_[role] = torch::jit::load(path);
      } catch (const c10::Error& e) {
        throw PackageError(path + ": not a loadable TorchScript module (" + std::string(e.what_without_backtrace()) + ")");
      }
    }
  }

  int num_stages() const override { return stages_; }
  int num_branches() const override { return static_cast<int>(attach_.size()); }
  int attach_point(int b) const override { return attach_.at(b); }
  std::vector<std::string> scale_factors() const override { return scale_factors_; }
  torch::Tensor front(const torch::Tensor& input) override { return call("front", {input}); }
  torch::Tensor stage(int k, const torch::Tensor& x) override { return call("stage" + std::to_string(k), {x}); }
  torch::Tensor head(const torch::Tensor& x) override { return call("head", {x}); }
  torch::Tensor branch(const std::string& sf, int b, const torch::Tensor& x, const torch::Tensor& guide) override {
    return call("branch." + sf + "." + std::to_string(b), {x, guide.defined() ? guide : x.new_empty({x.size(0), 0})});
  }
  torch::Tensor predict(const std::string& sf, const torch::Tensor& features, const torch::Tensor& key) override {
    return call("predictor." + sf, {features, key.defined() ? key : features.new_empty({features.size(0), 0})});
  }
  void to(const torch::Device& device) override {
    for (auto& [role, m] : modules_) m.to(device);
  }
  void eval() override {
    for (auto& [role, m] : modules_) m.eval();
  }

 private:
  torch::Tensor call(const std::string& role, std::vector<torch::jit::IValue> inputs) {
    auto it = modules_.find(role);
    if (it == modules_.end()) throw InputError("torchscript package has no module for role '" + role + "'");
    return it->second.forward(std::move(inputs)).toTensor();
  }

  int stages_ = 0;
  std::vector<int> attach_;
  std::vector<std::string> scale_factors_;
  std::map<std::string, torch::jit::Module> modules_;
};

}  // namespace

std::shared_ptr<ExitGraph> load_scripted_graph(const Package& package) { return std::make_shared<ScriptedGraph>(package); }

}  // namespace fiancee
