// `fiancee flops`: our FLOP accounting beside the paper's published tables.
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "models/g2d.h"
#include "models/megaportraits.h"
#include "tools/commands.h"

namespace fiancee::tools {

int flops(const Options&) {
  flops_oasis();
  std::printf("\n");
  if (flops_asap_creps() != 0) return 1;
  std::printf("\n");
  // FIANCEE Table 2: MegaPortraits routes (exits after blocks 2, 4, 6; backbone).
  const std::vector<std::pair<std::string, std::vector<double>>> table2 = {
      {"1/3", {65, 100, 136, 213}}, {"1/6", {51, 89, 135, 213}}, {"1/15", {47, 85, 127, 213}}};
  std::printf("MegaPortraits G2D at 512x512 output (input 512x64x64), GFLOPs with 1 MAC = 1 FLOP,\n"
              "convolutions only; branches with the guide image (+3 input channels per block).\n\n");
  std::printf("%-6s %-12s %10s %10s %8s\n", "SF", "route", "ours", "paper", "diff %");
  for (const auto& [sf, paper] : table2) {
    for (bool guide : {true, false}) {
      models::G2DGraph graph(models::G2DConfig::paper({sf}, guide));
      const auto ours = graph.route_gflops(sf, 64, 64);
      for (size_t e = 0; e < ours.size(); ++e) {
        const bool backbone = e + 1 == ours.size();
        if (!guide && backbone) continue;
        const std::string route = backbone ? "BB" : "exit " + std::to_string(e) + (guide ? "" : " nodb");
        const double diff = 100.0 * (ours[e] - paper[e]) / paper[e];
        std::printf("%-6s %-12s %10.1f %10.0f %+8.1f%s\n", sf.c_str(), route.c_str(), ours[e], paper[e], diff,
                    std::abs(diff) > 5 ? "  > 5%" : "");
      }
    }
  }
  const auto mp = models::megaportraits_macs(models::MegaPortraitsConfig::paper(), 512, 512);
  std::printf("\nMegaPortraits front (appearance + motion encoders, warps, G3D, projection) at 512x512:\n"
              "  %.1f GFLOPs per frame, %.1f with the source encoded once; no published count to compare\n"
              "  (sizes partly our own, docs/megaportraits.md). G2D's routes above come on top.\n",
              static_cast<double>(mp.total()) / 1e9, static_cast<double>(mp.per_frame_cached()) / 1e9);
  return 0;
}

}  // namespace fiancee::tools
