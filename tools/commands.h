// One function per `fiancee` subcommand, each in its own file (tools/<command>.cc),
// run by tools/cli.cc with the options the user gave.
#pragma once

#include "training/options.h"

namespace fiancee::tools {

int inspect(const Options& args);
int make_demo_package(const Options& args);
int bench(const Options& args);
int bench_streams(const Options& args);  // bench --streams (tools/bench_streams.cc)
int flops(const Options& args);
int flops_oasis();
int flops_asap_creps();
int train_backbone(const Options& args);
int train_branches(const Options& args);
int train_predictor(const Options& args);
int eval(const Options& args);
int eval_photo(const Options& args);
int calibrate(const Options& args);
int build_db(const Options& args);
int render(const Options& args);
int make_scenes(const Options& args);
int make_heads(const Options& args);

}  // namespace fiancee::tools
