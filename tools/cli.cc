// The `fiancee` command table and its CLI11 parser. CLI11 rejects what a
// command does not declare and checks values; the command then gets an Options
// bag holding only what the user gave, so the fallbacks in the commands stay
// what runs and the defaults here are what the help shows.
#include "tools/cli.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/runtime.h"
#include "models/registry.h"
#include "tools/commands.h"

namespace fiancee::tools {

namespace {

// How a value is checked; the command reads it as the same kind.
enum class Kind { Flag, Integer, Number, Text, List, Choice };

struct Opt {
  std::string name;      // "--frames"
  Kind kind;
  std::string value;     // the value's name in the help ("N", "DIR")
  std::string fallback;  // the default the help shows; "" = none
  std::string help;
  std::vector<std::string> choices;  // Choice: the values; List: the allowed items (none = any)
  bool required = false;
  bool integer_items = false;        // List: of integers
};

Opt flag(std::string name, std::string help) { return {std::move(name), Kind::Flag, "", "", std::move(help), {}}; }
Opt integer(std::string name, std::string value, std::string fallback, std::string help) {
  return {std::move(name), Kind::Integer, std::move(value), std::move(fallback), std::move(help), {}};
}
Opt number(std::string name, std::string value, std::string fallback, std::string help) {
  return {std::move(name), Kind::Number, std::move(value), std::move(fallback), std::move(help), {}};
}
Opt text(std::string name, std::string value, std::string fallback, std::string help) {
  return {std::move(name), Kind::Text, std::move(value), std::move(fallback), std::move(help), {}};
}
Opt list(std::string name, std::string value, std::string fallback, std::string help, std::vector<std::string> items = {}) {
  return {std::move(name), Kind::List, std::move(value), std::move(fallback), std::move(help), std::move(items)};
}
Opt integer_list(std::string name, std::string value, std::string fallback, std::string help) {
  Opt o = list(std::move(name), std::move(value), std::move(fallback), std::move(help));
  o.integer_items = true;
  return o;
}
// The registry's synthesis families (models/registry.h), in table order: the first (OASIS) is the default.
std::vector<std::string> synth_families() {
  std::vector<std::string> out;
  for (const auto& f : models::families())
    if (f.synth()) out.push_back(f.name);
  return out;
}

// The first choice is the default.
Opt choice(std::string name, std::string value, std::vector<std::string> choices, std::string help) {
  std::string fallback = choices.front();
  return {std::move(name), Kind::Choice, std::move(value), std::move(fallback), std::move(help), std::move(choices)};
}
Opt required(Opt o) {
  o.required = true;
  return o;
}

struct Command {
  std::string name;
  std::string description;  // one line
  std::vector<std::pair<std::string, std::string>> positionals;  // name, help; each required, one value (a last NAME...: one or more)
  std::vector<Opt> options;
  int (*run)(const Options&);
};

// Any command, before or after its name.
const Opt kThreads = integer("--threads", "N", "0", "LibTorch threads; 0 = all cores this process may use");

// A train-* command's own options between what all three read (tools/train.cc,
// and the reenact task's data).
std::vector<Opt> train_options(std::vector<Opt> own, const std::string& steps, const std::string& batch) {
  own.insert(own.begin(), required(text("--work", "DIR", "", "the run's directory: architecture.json, checkpoints, loss CSVs, weights")));
  own.insert(own.end(), {integer("--steps", "N", steps, "steps in all; a rerun resumes from <work>/checkpoints"),
                         integer("--batch", "N", batch, "samples per step"),
                         integer("--checkpoint-every", "N", "50", "steps between checkpoints"),
                         integer("--log-every", "N", "5", "steps between progress lines"),
                         flag("--quiet", "no progress lines"),
                         flag("--fixed-batch", "every step sees the first batch (checks that a loss falls)")});
  return own;
}

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"inspect", "print what a model package holds and validate it; exit 1 if invalid",
       {{"PACKAGE", "the package directory: manifest, hashes, weights against the architecture, route GFLOPs, guide database"}},
       {},
       inspect},
      {"make-demo-package", "write a small package with random, UNTRAINED weights",
       {},
       {required(text("--out", "DIR", "", "the package directory to create")),
        choice("--pipeline", "PIPELINE", {"reenact", "synth"}, "which element's package"),
        integer("--resolution", "N", "64", "reenact: square input and output size"),
        integer("--channels", "C", "32", "reenact: backbone width"),
        choice("--family", "FAMILY", synth_families(), "synth: architecture"),
        integer("--height", "N", "32", "synth: label map height"),
        integer("--width", "N", "64", "synth: label map width"),
        integer("--seed", "S", "1", "seed of the weights"),
        flag("--no-database", "no guide database (synth: OASIS without its patch database)"),
        flag("--nan-branch", "reenact: NaN weights in branch 0 (tests the element's fallback)")},
       make_demo_package},
      {"bench", "time every route, the predictor, the router and the guide database lookup; table + CSV",
       {},
       {text("--package", "DIR", "", "the package to time"),
        list("--arch", "NAME[,NAME...]", "", "paper-scale architectures with random weights, instead of --package",
             {"g2d-paper", "oasis-paper", "asap-paper"}),
        list("--scale-factors", "SF[,SF...]", "", "scale factors to time (default: the package's, or the paper's)"),
        choice("--device", "DEVICE", {"auto", "cpu", "cuda"}, "where to run"),
        integer("--runs", "N", "5; --streams: 30", "timed runs per measurement (--streams: frames per stream)"),
        integer("--warmup", "N", "1; --streams: 3", "untimed runs before them"),
        integer_list("--thread-counts", "N[,N...]", "the --threads count", "time every target at each of these thread counts, in one run"),
        list("--layouts", "L[,L...]", "channels-last", "CPU memory layouts of the engine to time, in one run", {"nchw", "channels-last"}),
        list("--precisions", "P[,P...]", "fp32", "number formats to time, in one run; bf16 rows give each route's distance to its fp32 image",
             {"fp32", "bf16"}),
        integer_list("--streams", "N[,N...]", "",
                     "instead: N streams at once through one shared engine vs an engine each (frames/s, p50/p95 ms, memory); needs --package"),
        number("--batch-window", "MS", "5", "--streams: how long a frame waits for the other streams' frames"),
        text("--csv", "FILE", "", "also write the table as CSV")},
       bench},
      {"flops", "our route GFLOPs beside the papers' tables", {}, {}, flops},
      {"train-backbone", "train a backbone: self-reenactment (reenact) or label map -> image (synth)",
       {},
       train_options(
           {choice("--pipeline", "PIPELINE", {"reenact", "synth"}, "what to train"),
            list("--scale-factors", "SF[,SF...]", "1/2,1/4", "the branches' scale factors"),
            integer("--channels", "C", "32; synth: 64", "backbone width"),
            integer("--seed", "S", "1", "seed of the data and the initialisation"),
            text("--data", "procedural|DIR", "procedural",
                 "reenact: DIR/<identity>/<videos or frame folders>; synth: a Cityscapes-style folder"),
            integer("--resolution", "N", "128", "reenact: square crop size"),
            integer("--identities", "N", "64", "reenact: procedural identities"),
            integer("--frames-per-video", "N", "48", "reenact --data DIR: frames taken from each video"),
            number("--residual-scale", "S", "1", "reenact: the refiner's correction is S x the head's tanh, 0 < S <= 4"),
            number("--part-loss-weight", "W", "0", "reenact: the driver's mouth and eye boxes weigh 1 + W in the L1 loss"),
            choice("--family", "FAMILY", synth_families(), "synth: architecture"),
            integer("--height", "N", "128", "synth: image height"),
            integer("--width", "N", "256", "synth: image width"),
            flag("--no-database", "synth OASIS: branches without the patch guide database"),
            number("--lr", "LR", "2e-4", "Adam learning rate"),
            text("--init", "PACKAGE", "", "start from its backbone (same architecture, any resolution)")},
           "600", "8"),
       train_backbone},
      {"train-branches", "distil every exit of every scale factor from the backbone",
       {},
       train_options(
           {number("--adversarial-weight", "W", "0.05", "weight of the adversarial and feature-matching losses"),
            text("--init", "PACKAGE", "", "start from its branches and predictors (same architecture)"),
            integer("--database-scenes", "N", "64", "synth OASIS: scenes the patch guide database is built from"),
            integer("--database-per-class", "N", "64", "synth OASIS: at most this many patches per class")},
           "400", "8"),
       train_branches},
      {"train-predictor", "train the exit predictor, then write the package",
       {},
       train_options(
           {number("--lr", "LR", "1e-3", "AdamW learning rate"),
            text("--out", "DIR", "<work>/package", "where to write the package"),
            text("--name", "NAME", "refiner; synth: scenes-<family>", "the package's name"),
            number("--default-threshold", "T", "0.1", "the package's recommended quality-threshold"),
            integer("--calibration-frames", "N", "400", "then calibrate the package on this many held-out frames (fiancee calibrate); 0 = not"),
            flag("--overwrite", "replace what is at --out")},
           "300", "16"),
       train_predictor},
      {"make-scenes", "procedural street-scene label maps (GRAY8 PNGs) for fianceesynth",
       {},
       {required(text("--out", "DIR", "", "the folder to write labels_%04d.png and colour_%04d.png to")),
        integer("--frames", "N", "60", "frames of the clip (1..10000)"),
        integer("--height", "N", "128", "label map height"),
        integer("--width", "N", "256", "label map width"),
        integer("--seed", "S", "1", "seed of the scene generator"),
        integer("--clip", "K", "0", "which of the seed's clips"),
        flag("--images", "also the scenes' images (image_%04d.png)")},
       make_scenes},
      {"make-heads", "a VoxCeleb-style folder of procedural head videos (DIR/id<k>/clip<j>.avi)",
       {},
       {required(text("--out", "DIR", "", "the folder to write")),
        integer("--identities", "N", "4", "identities (folders)"),
        integer("--videos", "N", "2", "videos per identity"),
        integer("--frames", "N", "48", "frames per video"),
        integer("--size", "N", "256", "frame width and height"),
        integer("--seed", "S", "1", "seed of the heads"),
        number("--max-yaw", "DEG", "30", "head turns within +- this many degrees")},
       make_heads},
      {"build-db", "rebuild a package's guide database: the source person's frames (reenact) or scene patches (OASIS)",
       {},
       {required(text("--package", "DIR", "", "the package to update")),
        text("--source", "VIDEO|DIR", "",
             "reenact (needed): a video or image folder of the source person; synth: procedural (the default) or a Cityscapes-style folder"),
        integer("--size", "N", "960", "reenact: frames kept, farthest-point sampled over the face keys"),
        integer("--scenes", "N", "64", "synth: scenes the patches come from"),
        integer("--per-class", "N", "64", "synth: at most this many patches per class"),
        integer("--seed", "S", "1", "synth: seed of the procedural scenes")},
       build_db},
      {"eval", "threshold sweep on held-out frames: exit shares, GFLOPs, quality, misses; CSV + PNG",
       {{"PACKAGE", "the package directory"}},
       {text("--out", "DIR", "eval-out", "where the CSVs and plots go"),
        integer("--frames", "N", "200; synth: 120", "held-out frames (reenact: pairs of held-out procedural identities)"),
        text("--scale-factor", "SF", "the package's", "which scale factor's exits"),
        number("--max-threshold", "T", "0.5", "the sweep's last threshold"),
        number("--threshold-step", "T", "0.025", "the sweep's step"),
        integer("--seed", "S", "1", "seed of the held-out frames"),
        choice("--split", "SPLIT", {"test", "validation"},
               "reenact: which held-out procedural frames (pick thresholds on validation, report test)"),
        text("--data", "procedural|DIR", "procedural", "synth: held-out scenes (another seed, or a Cityscapes-style val split)"),
        text("--compare", "PACKAGE", "", "synth: a second package whose backbone is timed and measured in the same run"),
        integer("--compare-frames", "N", "40", "synth --compare: scenes compared"),
        integer("--sheet-frames", "K", "6", "reenact: the first K frames shown as contact-sheet.png (source, warp, exits, truth); 0 = none"),
        choice("--precision", "P", {"fp32", "bf16"}, "the networks' number format (the element's precision); bf16's cost is its table beside fp32's")},
       eval},
      {"calibrate", "store every exit's predicted and measured quality on held-out frames in a package (for target-miss-rate)",
       {{"PACKAGE", "the package directory (rewritten: calibration-<sf>.safetensors, manifest.json)"}},
       {integer("--frames", "N", "400", "calibration frames per scale factor (eval never reads them)"),
        integer("--seed", "S", "1", "seed of the held-out frames"),
        text("--data", "procedural|DIR", "procedural", "synth: held-out scenes (another seed, or the end of a Cityscapes-style val split)")},
       calibrate},
      {"render", "many inputs through one shared engine (batch jobs): driver videos animating a photo, or label-map folders; PNG frames",
       {{"PACKAGE", "a reenact package, or a synth package (or folder of them: the first)"},
        {"INPUT...", "reenact: driver videos or folders of frames; synth: GRAY8 label maps or folders of them"}},
       {text("--out", "DIR", "render-out", "frames go to DIR/<input name>/00000.png, ..."),
        text("--photo", "FILE", "", "reenact: the avatar photo (needed)"),
        integer("--streams", "N", "4", "inputs rendered at once (their frames batched in the engine)"),
        number("--threshold", "T", "the package's", "quality threshold of the route"),
        number("--batch-window", "MS", "5", "how long a frame waits for the other inputs' frames"),
        integer("--frames", "N", "0", "at most N frames per input; 0 = all")},
       render},
      {"eval-photo", "a photo animated by a driver video: warp-only, each exit, backbone, routed; model-free checks, CSV + contact sheet",
       {{"PACKAGE", "a reenact package directory"}},
       {required(text("--photo", "FILE", "", "the avatar photo (any image with a face)")),
        required(text("--driver", "VIDEO|DIR", "", "the driver video or folder of frames")),
        integer("--frames", "N", "300", "the driver's first N frames (fewer if it has fewer)"),
        text("--out", "DIR", "out/eval-photo", "where eval-photo.csv, contact-sheet.png and frames/ go"),
        number("--threshold", "T", "the package's", "the routed variant's quality threshold"),
        integer("--sheet-frames", "K", "6", "evenly spaced frames shown as the contact sheet's rows"),
        text("--variants", "LIST", "all", "comma-separated variants to run, e.g. warp-only,routed (names as in the table)"),
        integer("--exit-hysteresis", "N", "0", "also run routed-held: routed with the element's exit-hysteresis=N (frames)"),
        number("--target-miss-rate", "A", "0", "also run routed-calibrated: routed with the element's target-miss-rate=A"),
        choice("--precision", "P", {"fp32", "bf16"}, "the networks' number format, as the element's precision (the warp is the same)")},
       eval_photo},
  };
  return table;
}

const char* kFooter =
    "Run 'fiancee COMMAND --help' for a command's options.\n"
    "\n"
    "Exit status: 0 success; 1 the command failed (fiancee COMMAND: error: ...);\n"
    "2 usage error (unknown command or option, missing or invalid value).";

// Whether `read` parses all of v, as the Options getters read it.
template <typename Read>
bool parses(const std::string& v, Read read) {
  try {
    size_t used = 0;
    read(v, &used);
    return used == v.size();
  } catch (const std::exception&) {
    return false;
  }
}

bool is_integer(const std::string& v) {
  return parses(v, [](const std::string& s, size_t* used) { return std::stoi(s, used); });
}
bool is_number(const std::string& v) {
  return parses(v, [](const std::string& s, size_t* used) { return std::stod(s, used); });
}

CLI::Validator check(bool (*ok)(const std::string&), const std::string& what) {
  return CLI::Validator([ok, what](std::string& v) { return ok(v) ? std::string() : "'" + v + "' is not " + what; }, "");
}

// Each item of a comma-separated list (empty items skipped, as Options::list does).
CLI::Validator list_check(const Opt& o) {
  std::string set;
  for (const auto& c : o.choices) set += (set.empty() ? "{" : ",") + c;
  if (!set.empty()) set += "}";
  return CLI::Validator(
      [o, set](std::string& v) {
        std::string item;
        for (char c : v + ",") {
          if (c != ',') {
            item += c;
            continue;
          }
          if (!item.empty() && !o.choices.empty() && std::find(o.choices.begin(), o.choices.end(), item) == o.choices.end())
            return item + " not in " + set;
          if (!item.empty() && o.integer_items && !is_integer(item)) return "'" + item + "' is not an integer";
          item.clear();
        }
        return std::string();
      },
      set);
}

CLI::Option* add(CLI::App& app, const Opt& o, std::string& value) {
  const std::string help = o.fallback.empty() ? o.help : o.help + " [default: " + o.fallback + "]";
  if (o.kind == Kind::Flag) return app.add_flag(o.name, help)->disable_flag_override();
  // The last of a repeated option wins, as it always has.
  auto* opt = app.add_option(o.name, value, help)->type_name(o.value)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  if (o.kind == Kind::Integer) opt->check(check(is_integer, "an integer"));
  if (o.kind == Kind::Number) opt->check(check(is_number, "a number"));
  if (o.kind == Kind::Choice) opt->check(CLI::IsMember(o.choices));
  if (o.kind == Kind::List) opt->check(list_check(o));
  if (o.required) opt->required();
  return opt;
}

CLI::Option* add_threads(CLI::App& app, std::string& value) {
  return add(app, kThreads, value)->check(CLI::Validator(
      [](std::string& v) { return std::stoi(v) < 0 ? std::string("must be 0 (all cores) or more") : std::string(); }, ""));
}

// A command's option values as CLI11 leaves them, read after parsing.
struct Parsed {
  CLI::App* app = nullptr;
  std::map<std::string, std::string> values;
  std::vector<std::string> positional;
  std::vector<std::string> rest;  // the values of a last NAME... positional
  std::string threads;
};

// CLI11's message, except for words it did not expect: those are named as an
// unknown command or option (the values after an unknown option are no news).
int usage_error(const CLI::App& app, const CLI::ParseError& e) {
  const auto selected = app.get_subcommands();
  const CLI::App& where = selected.empty() ? app : *selected.front();
  const std::string who = selected.empty() ? "fiancee" : "fiancee " + where.get_name();
  std::string message = e.what();
  const auto extras = where.remaining();
  if (!extras.empty() && (dynamic_cast<const CLI::ExtrasError*>(&e) || dynamic_cast<const CLI::RequiredError*>(&e))) {
    std::string options;
    for (const auto& x : extras)
      if (x.size() > 1 && x[0] == '-') options += (options.empty() ? "" : ", ") + x.substr(0, x.find('='));
    if (!options.empty())
      message = "unknown option " + options;
    else if (selected.empty())
      message = "unknown command '" + extras.front() + "'";
    else
      message = "unexpected argument '" + extras.front() + "'";
  } else if (selected.empty() && dynamic_cast<const CLI::RequiredError*>(&e)) {
    message = "a command is required";
  }
  std::fprintf(stderr, "%s: %s\nRun '%s --help' for the usage.\n", who.c_str(), message.c_str(), who.c_str());
  return 2;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app("fiancee: train, evaluate, benchmark and inspect FIANCEE early-exit model packages", "fiancee");
  app.get_formatter()->label("SUBCOMMAND", "COMMAND");
  app.get_formatter()->column_width(36);
  std::string threads;
  add_threads(app, threads);

  const auto& table = commands();
  std::vector<Parsed> parsed(table.size());  // sized once: CLI11 keeps references into it
  std::vector<std::string> names;
  for (size_t i = 0; i < table.size(); ++i) {
    const Command& c = table[i];
    Parsed& p = parsed[i];
    p.app = app.add_subcommand(c.name, c.description)->group("Commands");
    p.positional.resize(c.positionals.size());
    for (size_t k = 0; k < c.positionals.size(); ++k) {
      const auto& [name, help_text] = c.positionals[k];
      const bool many = k + 1 == c.positionals.size() && name.size() > 3 && name.compare(name.size() - 3, 3, "...") == 0;
      if (many)
        p.app->add_option(name.substr(0, name.size() - 3), p.rest, help_text)->type_name("")->required();
      else
        p.app->add_option(name, p.positional[k], help_text)->type_name("")->required();
    }
    for (const auto& o : c.options) add(*p.app, o, p.values[o.name]);
    add_threads(*p.app, p.threads);
    names.push_back(c.name);
  }
  std::string topic;
  names.push_back("help");
  auto* help = app.add_subcommand("help", "this text, or with COMMAND that command's options")->group("Commands");
  help->add_option("COMMAND", topic, "one of the commands above")->type_name("")->check(CLI::IsMember(names).description(""));
  // Set after the subcommands, which would inherit them.
  app.footer(kFooter);
  app.require_subcommand(1);

  if (argc < 2) {
    std::fputs(app.help().c_str(), stderr);
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);  // --help
    return usage_error(app, e);
  }

  if (help->parsed()) {
    // app.help() would describe the help command itself, now that it was parsed.
    std::fputs(topic.empty() ? app.get_formatter()->make_help(&app, "fiancee", CLI::AppFormatMode::Normal).c_str()
                             : app.get_subcommand(topic)->help("fiancee").c_str(),
               stdout);
    return 0;
  }
  for (size_t i = 0; i < table.size(); ++i) {
    Parsed& p = parsed[i];
    if (!p.app->parsed()) continue;
    const Command& c = table[i];
    Options options;
    options.positional = p.positional;
    if (!p.rest.empty()) options.positional.back() = p.rest.front(), options.positional.insert(options.positional.end(), p.rest.begin() + 1, p.rest.end());
    for (const auto& o : c.options)
      if (p.app->get_option(o.name)->count() > 0) options.options[o.name] = o.kind == Kind::Flag ? "1" : p.values[o.name];
    const std::string& n = p.app->get_option(kThreads.name)->count() > 0 ? p.threads : threads;
    try {
      runtime::tune_allocator();
      runtime::set_threads(n.empty() ? 0 : std::stoi(n));
      return c.run(options);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "fiancee %s: error: %s\n", c.name.c_str(), e.what());
      return 1;
    }
  }
  return 2;  // unreachable: require_subcommand(1)
}

}  // namespace fiancee::tools
