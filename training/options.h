// The parsed options of one offline command (tools/cli.cc fills it): positionals
// and --name values, read with typed getters by the commands and the training tasks.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/errors.h"

namespace fiancee {

struct Options {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // "--name" -> value as typed; "1" for a flag

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

}  // namespace fiancee
