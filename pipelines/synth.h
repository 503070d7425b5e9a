// The semantic-synthesis pipeline: label-map frames (GRAY8 class ids) in,
// synthesized RGB frames out.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "pipelines/frame_pipeline.h"

namespace fiancee {

// OASIS's noise input over a stream.
enum class NoiseMode {
  Fixed,     // one noise vector from the seed for every frame: temporally stable video
  PerFrame,  // a new noise vector per frame (seed + frame number): varied, flickering output
};

struct SynthOptions {
  std::string model_location;     // a package, or a directory of packages (one sub-directory each)
  std::string backbone;           // sub-package name when model_location holds several; empty = first by name
  std::string database_location;  // overrides the package's guide database; empty = package's
  Device device = Device::Auto;
  Precision precision = Precision::Fp32;  // of the networks (Engine::set_precision)
  EngineSharing sharing;          // an engine of its own, or one shared by name with other pipelines
  uint64_t seed = 0;
  NoiseMode noise = NoiseMode::Fixed;
};

// The package directory that options name: model_location itself when it
// holds manifest.json, else its sub-directory `backbone` (or the first one by
// name holding a manifest). InputError listing what is there otherwise.
std::string resolve_synth_package(const std::string& model_location, const std::string& backbone);

// Loads and validates everything up front; throws PackageError / InputError /
// UnavailableError naming the offending file or setting.
std::unique_ptr<FramePipeline> make_synth_pipeline(const SynthOptions& options);

}  // namespace fiancee
