// Command-line arguments of the `fiancee` subcommands: positionals and --name value pairs.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "core/errors.h"

namespace fiancee::tools {

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;

  // flags: options that take no value.
  Args(int argc, char** argv, int first, const std::vector<std::string>& flags) {
    for (int i = first; i < argc; ++i) {
      std::string a = argv[i];
      if (a.rfind("--", 0) != 0) {
        positional.push_back(a);
      } else if (std::find(flags.begin(), flags.end(), a) != flags.end()) {
        options[a] = "1";
      } else if (i + 1 < argc) {
        options[a] = argv[++i];
      } else {
        throw InputError("option " + a + " needs a value");
      }
    }
  }
  bool has(const std::string& name) const { return options.count(name) > 0; }
  std::string get(const std::string& name, const std::string& fallback) const {
    auto it = options.find(name);
    return it == options.end() ? fallback : it->second;
  }
  int integer(const std::string& name, int fallback) const {
    const std::string v = get(name, std::to_string(fallback));
    try {
      size_t used = 0;
      const int n = std::stoi(v, &used);
      if (used == v.size()) return n;
    } catch (const std::exception&) {
    }
    throw InputError("option " + name + " must be an integer, got '" + v + "'");
  }
  // Comma-separated list.
  std::vector<std::string> list(const std::string& name, const std::string& fallback) const {
    std::vector<std::string> out;
    std::string v = get(name, fallback), item;
    for (char c : v + ",") {
      if (c == ',') {
        if (!item.empty()) out.push_back(item);
        item.clear();
      } else {
        item += c;
      }
    }
    return out;
  }
};

int inspect(const Args& args);
int make_demo_package(const Args& args);
int bench(const Args& args);
int flops(const Args& args);
int flops_oasis();
int flops_asap_creps();
int train_backbone(const Args& args);
int train_branches(const Args& args);
int train_predictor(const Args& args);
int eval(const Args& args);
int build_db(const Args& args);
int make_scenes(const Args& args);
int make_heads(const Args& args);

}  // namespace fiancee::tools
