// `fiancee flops` for the ASAP-Net and CREPS families: our MAC accounting
// beside the numbers the supplements publish (docs/flops-asap-creps.md).
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "models/asap.h"
#include "models/creps.h"

namespace fiancee::tools {

namespace {

void row(const char* what, double ours, double paper) {
  const double diff = 100.0 * (ours - paper) / paper;
  std::printf("  %-52s %8.2f %8.1f %+8.1f%s\n", what, ours, paper, diff, std::abs(diff) > 5 ? "  > 5%" : "");
}

}  // namespace

int flops_asap_creps() {
  constexpr double kAsapPaper = 55.1;  // ASAP-Net supplement, Sec. 1.5, 256x512
  std::printf("ASAP-Net, Cityscapes labels (35 classes + instance edges), GMACs = GFLOPs with 1 MAC = 1 FLOP;\n"
              "convolutions (incl. the 1x1 weight-prediction conv) and the pixelwise MLPs' products.\n\n");
  models::AsapGraph official(models::AsapConfig::paper());
  std::printf("  backbone layers at 256x512 (AsapConfig::paper, the official release's layout):\n");
  for (const auto& [name, macs] : official.backbone_macs(256, 512))
    std::printf("    %-70s %8.3f\n", name.c_str(), static_cast<double>(macs) / 1e9);
  std::printf("\n  %-52s %8s %8s %8s\n", "backbone", "ours", "paper", "diff %");
  row("official layout, 256x512 (S=16)", official.route_gflops("1/2", 256, 512).back(), kAsapPaper);
  models::AsapGraph listed(models::AsapConfig::paper_as_listed());
  row("supplement 1.2 listing, 256x512 (S=32)", listed.route_gflops("1/2", 256, 512).back(), kAsapPaper);
  auto hr = models::AsapConfig::paper();
  hr.input_downsample = 2;  // official crop 1024: bilinear /2, then the same learned /16
  models::AsapGraph official_hr(hr);
  row("official layout, 512x1024 (S=32, LR input 256x512)", official_hr.route_gflops("1/2", 512, 1024).back(), kAsapPaper);

  std::printf("\n  routes of AsapConfig::paper at 256x512 (branches after stages 1, 3, 5):\n");
  for (const auto& sf : official.scale_factors()) {
    std::printf("    SF %-5s", sf.c_str());
    for (double g : official.route_gflops(sf, 256, 512)) std::printf(" %8.2f", g);
    std::printf("   (exit 0, 1, 2, backbone)\n");
  }

  std::printf("\nCREPS, FFHQ 512 model (CrepsConfig::paper), GMACs = GFLOPs with 1 MAC = 1 FLOP; every fully\n"
              "connected layer and the row x column fusion. The supplement publishes no MAC count (paper: n/a).\n\n");
  models::CrepsGraph creps(models::CrepsConfig::paper());
  std::printf("  backbone layers at 512x512:\n");
  for (const auto& [name, macs] : creps.backbone_macs(512, 512))
    std::printf("    %-70s %8.3f\n", name.c_str(), static_cast<double>(macs) / 1e9);
  std::printf("\n  %-10s %10s %10s   routes (exit 0, 1, 2, backbone), SF 1/2 | SF 1/4\n", "output", "backbone", "paper");
  for (int r : {128, 256, 512, 1024}) {
    const auto half = creps.route_gflops("1/2", r, r), quarter = creps.route_gflops("1/4", r, r);
    std::printf("  %4dx%-5d %10.2f %10s  ", r, r, half.back(), "n/a");
    for (double g : half) std::printf(" %8.2f", g);
    std::printf(" |");
    for (size_t e = 0; e + 1 < quarter.size(); ++e) std::printf(" %8.2f", quarter[e]);
    std::printf("\n");
  }
  return 0;
}

}  // namespace fiancee::tools
