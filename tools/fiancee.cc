// The `fiancee` command line tool: tools/cli.cc parses and dispatches to one
// function per subcommand; the two small ones are here.
#include <cstdio>
#include <string>

#include "core/errors.h"
#include "core/guide_db.h"
#include "core/package.h"
#include "models/registry.h"
#include "pipelines/package_pipeline.h"
#include "training/reenact_package.h"
#include "training/synth_package.h"
#include "tools/cli.h"
#include "tools/commands.h"

namespace fiancee::tools {

using fiancee::Package;

int inspect(const Options& args) {
  if (args.positional.size() != 1) throw fiancee::InputError("inspect takes one package directory");
  const Package pkg = Package::open(args.positional[0]);
  const auto& m = pkg.manifest();
  std::printf("package      %s\n", pkg.dir().c_str());
  std::printf("name         %s (format version %d)\n", m.name.c_str(), fiancee::Manifest::kFormatVersion);
  if (!m.description.empty()) std::printf("description  %s\n", m.description.c_str());
  if (m.untrained) std::printf("WARNING      weights are UNTRAINED (random): output is not a real rendering\n");
  std::printf("pipeline     %s, architecture %s\n", m.pipeline.c_str(), m.family.c_str());
  std::printf("input        %dx%d x%d, range [%g, %g]\n", m.input.width, m.input.height, m.input.channels, m.input.range_min, m.input.range_max);
  std::printf("output       %dx%d x%d, range [%g, %g]\n", m.output.width, m.output.height, m.output.channels, m.output.range_min, m.output.range_max);
  std::printf("metric       %s: %s; default threshold %g\n", m.metric.c_str(), m.metric_unit.c_str(), m.default_threshold);
  std::printf("exits        %d (%d branches + backbone), default scale factor %s\n", m.num_exits(), m.num_exits() - 1, m.default_scale_factor.c_str());
  std::printf("route GFLOPs (1 MAC = 1 FLOP; exits 0..%d, backbone last)\n", m.num_exits() - 1);
  for (const auto& sf : m.scale_factors) {
    std::printf("  SF %-6s", sf.name.c_str());
    for (double g : sf.route_gflops) std::printf(" %10.4f", g);
    std::printf("   (%s)\n", sf.weights.c_str());
  }
  if (m.guide_database) {
    const auto db = pkg.guide_database();
    std::printf("guide db     %lld entries, %d-d keys (%s), %s search\n", static_cast<long long>(db->size()),
                m.guide_database->key_dim, m.guide_database->key_description.c_str(), db->exact() ? "exact" : "approximate (IVF)");
  } else {
    std::printf("guide db     none\n");
  }
  const auto calibrations = pkg.calibrations();  // loaded and checked, as the element does
  for (const auto& [sf, c] : calibrations)
    std::printf("calibration  SF %-6s %d frames (%s): target-miss-rate available\n", sf.c_str(), c.frames(), c.split.c_str());
  if (calibrations.empty()) std::printf("calibration  none: target-miss-rate is ignored (fiancee calibrate)\n");
  if (!m.torchscript.empty()) std::printf("torchscript  %zu stage modules\n", m.torchscript.size());
  std::printf("files        %zu, all SHA-256 hashes match\n", m.files.size());
  fiancee::check_pipeline_package(pkg);  // what the element checks at start
  std::printf("pipeline     the %s element's start checks pass (family, channels, sizes)\n", m.pipeline.c_str());
  fiancee::models::load_graph(pkg);  // weights against the architecture, route GFLOPs against the manifest
  std::printf("weights      match the architecture; manifest GFLOPs match the architecture\n");
  std::printf("valid\n");
  return 0;
}

int make_demo_package(const Options& args) {
  const std::string out = args.get("--out", "");
  if (out.empty()) throw fiancee::InputError("make-demo-package needs --out DIR");
  const std::string pipeline = args.get("--pipeline", "reenact");
  if (pipeline == "synth") {
    fiancee::synth::DemoPackageOptions o;
    o.family = args.get("--family", o.family);
    o.height = args.integer("--height", o.height);
    o.width = args.integer("--width", o.width);
    o.seed = static_cast<uint64_t>(args.integer("--seed", static_cast<int>(o.seed)));
    o.with_database = !args.has("--no-database");
    fiancee::synth::write_demo_package(out, o);
    std::printf("wrote %s (%s, UNTRAINED random weights, %dx%d label maps)\n", out.c_str(), o.family.c_str(), o.width, o.height);
    return 0;
  }
  if (pipeline != "reenact") throw fiancee::InputError("--pipeline must be reenact or synth, not '" + pipeline + "'");
  fiancee::DemoPackageOptions o;
  o.resolution = args.integer("--resolution", o.resolution);
  o.base_channels = args.integer("--channels", o.base_channels);
  o.seed = static_cast<uint64_t>(args.integer("--seed", static_cast<int>(o.seed)));
  o.with_database = !args.has("--no-database");
  o.nan_branch = args.has("--nan-branch");
  fiancee::write_demo_package(out, o);
  std::printf("wrote %s (UNTRAINED random weights, %dx%d; source image %s/source.png)\n", out.c_str(), o.resolution, o.resolution, out.c_str());
  return 0;
}

}  // namespace fiancee::tools

int main(int argc, char** argv) { return fiancee::tools::run_cli(argc, argv); }
