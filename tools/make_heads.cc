// `fiancee make-heads`: a VoxCeleb-style folder of procedural head videos,
// the layout `train-backbone --data` reads (reenact::write_procedural_videos).
#include <cstdio>
#include <string>

#include "core/errors.h"
#include "datasets/face_videos.h"
#include "tools/commands.h"

namespace fiancee::tools {

int make_heads(const Options& args) {
  const std::string out = args.get("--out", "");
  if (out.empty()) throw InputError("make-heads needs --out DIR");
  const int identities = args.integer("--identities", 4), videos = args.integer("--videos", 2), frames = args.integer("--frames", 48);
  const int size = args.integer("--size", 256), seed = args.integer("--seed", 1);
  if (identities < 1 || videos < 1 || frames < 2 || size < 64 || seed < 0)
    throw InputError("make-heads needs --identities >= 1, --videos >= 1, --frames >= 2, --size >= 64 (dlib finds faces from ~80 px) and --seed >= 0");
  const double max_yaw = std::stod(args.get("--max-yaw", "30"));  // the CLI checked it is a number
  if (!(max_yaw >= 0 && max_yaw <= 90)) throw InputError("make-heads needs --max-yaw in 0..90 degrees");
  reenact::write_procedural_videos(out, identities, videos, frames, size, static_cast<uint64_t>(seed), static_cast<float>(max_yaw));
  std::fprintf(stderr, "\nmake-heads: wrote %s/id<0..%d>/clip<0..%d>.avi (%d frames of %dx%d each, seed %d)\n", out.c_str(),
               identities - 1, videos - 1, frames, size, size, seed);
  return 0;
}

}  // namespace fiancee::tools
