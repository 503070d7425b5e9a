// The `fiancee` command line tool: dispatches to one file per subcommand.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/guide_db.h"
#include "core/package.h"
#include "models/registry.h"
#include "pipelines/reenact_package.h"
#include "pipelines/synth_package.h"
#include "tools/args.h"

namespace fiancee::tools {

using fiancee::Package;

const char* kUsage =
    "usage: fiancee <command> [options]\n"
    "\n"
    "commands:\n"
    "  inspect PACKAGE                 print what a model package holds and validate it\n"
    "                                  (manifest, hashes, weights against the architecture,\n"
    "                                  route GFLOPs, guide database); exit 1 if invalid\n"
    "  make-demo-package --out DIR     write a small package with random, UNTRAINED weights\n"
    "      reenact: [--resolution N] [--channels C] [--seed S] [--no-database] [--nan-branch]\n"
    "      --pipeline synth: [--family oasis|asap] [--height 32] [--width 64] [--seed S] [--no-database]\n"
    "  bench (--package DIR | --arch g2d-paper)   time every route, the predictor, the\n"
    "      router and the guide database lookup; table + CSV\n"
    "      [--scale-factors 1/8,1/15] [--device auto|cpu|cuda] [--runs N] [--warmup N]\n"
    "      [--threads N] [--csv FILE]\n"
    "  flops                           our route GFLOPs beside the papers' tables\n"
    "  train-backbone --work DIR       train a backbone (reenactment: self-reenactment on procedural heads\n"
    "                                  or real videos; synthesis: label map -> image pairs)\n"
    "      reenact: [--resolution 128] [--channels 32] [--identities 64 (procedural)]\n"
    "               [--data procedural|DIR] [--frames-per-video 48]  (DIR/<identity>/<videos or frame folders>)\n"
    "      --pipeline synth: [--family oasis|asap] [--height 128] [--width 256] [--channels 64]\n"
    "                        [--data procedural|CITYSCAPES_DIR] [--no-database]\n"
    "      both: [--scale-factors 1/2,1/4] [--steps 600] [--batch 8] [--lr 2e-4] [--seed 1]\n"
    "            [--init PACKAGE]  (start from its backbone: same architecture, any resolution)\n"
    "  train-branches --work DIR       distil every exit of every scale factor from the backbone\n"
    "      [--steps 400] [--batch 8] [--adversarial-weight 0.05] [--init PACKAGE]\n"
    "      synth OASIS: builds the patch guide database first [--database-scenes 64] [--database-per-class 64]\n"
    "  train-predictor --work DIR      train the exit predictor, then write the package\n"
    "      [--steps 300] [--batch 16] [--out DIR] [--name NAME] [--overwrite]\n"
    "      reenact: [--database-size 48] [--avatar-only]  (train on the avatar identity alone)\n"
    "      both: [--default-threshold 0.1]  (the package's recommended quality-threshold)\n"
    "      (all train-* resume from <work>/checkpoints and log losses to CSV there;\n"
    "       --fixed-batch repeats the first batch, to check that a loss falls)\n"
    "  make-scenes --out DIR           procedural street-scene label maps (GRAY8 PNGs) for fianceesynth\n"
    "      [--frames 60] [--height 128] [--width 256] [--seed 1] [--clip 0] [--images]\n"
    "  make-heads --out DIR            a VoxCeleb-style folder of procedural head videos (DIR/id<k>/clip<j>.avi)\n"
    "      [--identities 4] [--videos 2] [--frames 48] [--size 256] [--seed 1]\n"
    "  build-db --package DIR --source VIDEO_OR_FOLDER [--size 960]\n"
    "                                  reenactment: guide database of the source person: face keys of\n"
    "                                  every frame with a face, farthest-point sampled to --size\n"
    "  build-db --package DIR [--source procedural|CITYSCAPES_DIR] [--scenes 64] [--per-class 64]\n"
    "                                  synthesis (OASIS): the patch guide database of a data set\n"
    "  eval PACKAGE                    threshold sweep on held-out frames: exit shares, GFLOPs,\n"
    "      measured quality, misses, database effect, predictor error; CSV + PNG\n"
    "      [--out DIR] [--frames 200 (synth: 120)] [--scale-factor SF] [--max-threshold 0.5]\n"
    "      [--threshold-step 0.025] [--seed 1]\n"
    "      reenact: [--split test|validation] (which held-out procedural frames: pick thresholds on\n"
    "               validation, report test) [--driver VIDEO_OR_FOLDER] (a real driver's frames instead)\n"
    "               [--expression-transfer relative|absolute]\n"
    "      synth: [--data procedural|CITYSCAPES_DIR] (held out: another seed / the val split)\n"
    "             [--compare OTHER_PACKAGE] [--compare-frames 40]  (two backbones, timed in one run)\n"
    "  help                            this text\n";

int inspect(const Args& args) {
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
  if (!m.torchscript.empty()) std::printf("torchscript  %zu stage modules\n", m.torchscript.size());
  std::printf("files        %zu, all SHA-256 hashes match\n", m.files.size());
  fiancee::models::load_graph(pkg);  // weights against the architecture, route GFLOPs against the manifest
  std::printf("weights      match the architecture; manifest GFLOPs match the architecture\n");
  std::printf("valid\n");
  return 0;
}

int make_demo_package(const Args& args) {
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

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "help") || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(fiancee::tools::kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  try {
    using fiancee::tools::Args;
    if (cmd == "inspect") return fiancee::tools::inspect(Args(argc, argv, 2, {}));
    if (cmd == "make-demo-package") return fiancee::tools::make_demo_package(Args(argc, argv, 2, {"--no-database", "--nan-branch"}));
    if (cmd == "bench") return fiancee::tools::bench(Args(argc, argv, 2, {}));
    if (cmd == "flops") return fiancee::tools::flops(Args(argc, argv, 2, {}));
    if (cmd == "build-db") return fiancee::tools::build_db(Args(argc, argv, 2, {}));
    if (cmd == "make-scenes") return fiancee::tools::make_scenes(Args(argc, argv, 2, {"--images"}));
    if (cmd == "make-heads") return fiancee::tools::make_heads(Args(argc, argv, 2, {}));
    if (cmd == "eval") return fiancee::tools::eval(Args(argc, argv, 2, {}));
    if (cmd == "train-backbone") return fiancee::tools::train_backbone(Args(argc, argv, 2, {"--quiet", "--fixed-batch", "--no-database"}));
    if (cmd == "train-branches") return fiancee::tools::train_branches(Args(argc, argv, 2, {"--quiet", "--fixed-batch"}));
    if (cmd == "train-predictor") return fiancee::tools::train_predictor(Args(argc, argv, 2, {"--quiet", "--overwrite", "--avatar-only", "--fixed-batch"}));
    std::fprintf(stderr, "fiancee: unknown command '%s'\n\n%s", cmd.c_str(), fiancee::tools::kUsage);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fiancee %s: error: %s\n", cmd.c_str(), e.what());
    return 1;
  }
}
