// `fiancee flops` for the OASIS family: our route GFLOPs and parameter counts
// beside FIANCEE Table 1, Table S7 (predictor) and Table S8 (branch parameters).
// Computed from the config alone (no weights are allocated). See docs/flops-oasis.md.
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "models/oasis.h"

namespace fiancee::tools {

namespace {

void row(const std::string& sf, const std::string& what, double ours, double paper) {
  double diff = 100.0 * (ours - paper) / paper;
  if (std::abs(diff) < 0.05) diff = 0;  // no "-0.0"
  std::printf("%-6s %-22s %10.1f %10.1f %+8.1f%s\n", sf.c_str(), what.c_str(), ours, paper, diff,
              std::abs(diff) > 5 ? "  > 5%" : "");
}

}  // namespace

int flops_oasis() {
  // FIANCEE Table 1: routes through branches 1-4 and the backbone (BB), 256x512.
  const std::vector<std::pair<std::string, std::vector<double>>> table1 = {
      {"1/2", {157, 171, 193, 227, 319}}, {"1/3", {137, 154, 182, 227, 319}}, {"1/4", {120, 138, 168, 227, 319}}};
  // Table S8: branch parameters (millions) without / with the database guide.
  const std::map<std::string, std::pair<double, double>> table_s8 = {{"1/2", {45.4, 55.7}}, {"1/3", {35.6, 44.5}}, {"1/4", {30.9, 39.1}}};

  std::printf("OASIS generator at 256x512 (Cityscapes, 35 label + 64 noise channels), GFLOPs with 1 MAC = 1 FLOP,\n"
              "convolutions only, SPADE's shared/gamma/beta convs included. 'db' routes add the database guide\n"
              "(1x1 conv 512 -> half the branch width, first branch block input x1.5); Table 1 is compared to both.\n\n");
  std::printf("%-6s %-22s %10s %10s %8s\n", "SF", "route", "ours", "paper", "diff %");
  std::vector<std::string> sfs;
  for (const auto& [sf, paper] : table1) sfs.push_back(sf);
  const auto plain = models::OasisConfig::paper(sfs, false);
  const auto guided = models::OasisConfig::paper(sfs, true);
  for (const auto& [sf, paper] : table1) {
    const auto ours = plain.route_gflops(sf, 256, 512);
    const auto ours_db = guided.route_gflops(sf, 256, 512);
    for (size_t e = 0; e < ours.size(); ++e) {
      const bool backbone = e + 1 == ours.size();
      row(sf, backbone ? "BB" : "exit " + std::to_string(e) + " (branch " + std::to_string(e + 1) + ")", ours[e], paper[e]);
      if (!backbone) row(sf, "exit " + std::to_string(e) + " db", ours_db[e], paper[e]);
    }
  }
  const auto no_spade = plain.route_gflops("1/2", 256, 512, false);
  std::printf("\n(BB without SPADE's convs: %.1f GFLOPs, so the paper's 319 counts them.)\n", no_spade.back());

  std::printf("\nParameters (millions) and the predictor's MFLOPs:\n");
  std::printf("%-6s %-22s %10s %10s %8s\n", "SF", "item", "ours", "paper", "diff %");
  row("-", "backbone params", plain.backbone_parameters() / 1e6, 74);
  auto ade = plain;
  ade.num_classes = 151;  // ADE20K's label count, for comparison
  std::printf("%-6s %-22s %10.1f %10s   (same generator with 151 label channels, as for ADE20K)\n", "-", "backbone params @151", ade.backbone_parameters() / 1e6, "");
  for (const auto& [sf, paper] : table_s8) {
    row(sf, "branch params", plain.branch_parameters(sf) / 1e6, paper.first);
    row(sf, "branch params db", guided.branch_parameters(sf) / 1e6, paper.second);
  }
  row("-", "predictor params", plain.predictor_parameters() / 1e6, 58);
  row("-", "predictor MFLOPs", plain.predictor_gflops() * 1e3, 250);
  return 0;
}

}  // namespace fiancee::tools
