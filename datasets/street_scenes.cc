#include "datasets/street_scenes.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"

namespace fiancee::synth {

namespace {

using Vec3 = cv::Vec3f;
constexpr double kPi = 3.14159265358979323846;

// ---------------------------------------------------------------------------
// Randomness: splitmix64, the same numbers on every platform (std distributions are not).

uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
// Independent streams keyed by a tuple: nearby keys must not give related streams.
uint64_t key(uint64_t a, uint64_t b) { return mix64(a ^ mix64(b + 0x9E3779B97F4A7C15ull)); }
template <typename... Rest>
uint64_t key(uint64_t a, uint64_t b, Rest... rest) {
  return key(key(a, b), static_cast<uint64_t>(rest)...);
}

struct Rng {
  uint64_t state;
  explicit Rng(uint64_t seed) : state(mix64(seed)) {}
  uint64_t next() { return mix64(state += 0x9E3779B97F4A7C15ull); }
  double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
  double range(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  bool chance(double p) { return uniform() < p; }
  int below(int n) { return int(next() % uint64_t(n)); }
};

// Per-pixel hash for sensor grain and per-window variation.
uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7FEB352Du;
  x ^= x >> 15;
  x *= 0x846CA68Bu;
  return x ^ (x >> 16);
}
float unit(uint32_t h) { return float(h >> 8) * (1.f / 16777216.f); }

// Stream tags: every kind of content draws from its own keyed stream, so the
// contents of one street cell never depend on which cells the camera sees.
enum Tag : uint64_t { kTagWorld = 1, kTagLotBreak, kTagLot, kTagStreet, kTagCar, kTagCross, kTagBackdrop };

// Tileable multi-octave value noise, in [0,1]; one unit = the coarsest feature, repeats every 16 units.
class Noise {
 public:
  static const Noise& get() {
    static const Noise n;
    return n;
  }
  float at(double x, double y) const {
    x *= kCoarse;
    y *= kCoarse;
    const double fx = std::floor(x), fy = std::floor(y);
    const float tx = float(x - fx), ty = float(y - fy);
    const int x0 = int(int64_t(fx) & kMask), y0 = int(int64_t(fy) & kMask);
    const int x1 = (x0 + 1) & kMask, y1 = (y0 + 1) & kMask;
    const float* r0 = &v_[size_t(y0) << kBits];
    const float* r1 = &v_[size_t(y1) << kBits];
    const float a = r0[x0] + (r0[x1] - r0[x0]) * tx, b = r1[x0] + (r1[x1] - r1[x0]) * tx;
    return a + (b - a) * ty;
  }

 private:
  static constexpr int kBits = 9, kSize = 1 << kBits, kMask = kSize - 1, kCoarse = 32;
  Noise() : v_(size_t(kSize) * kSize, 0.f) {
    Rng r(0x5EEDull);
    float amp = 1.f;
    for (int period = kCoarse; period >= 1; period /= 2, amp *= 0.55f) {
      const int n = kSize / period;
      std::vector<float> lattice(size_t(n) * n);
      for (auto& l : lattice) l = float(r.uniform());
      for (int y = 0; y < kSize; ++y) {
        const int gy = y / period;
        float ty = float(y % period) / period;
        ty = ty * ty * (3 - 2 * ty);
        for (int x = 0; x < kSize; ++x) {
          const int gx = x / period;
          float tx = float(x % period) / period;
          tx = tx * tx * (3 - 2 * tx);
          auto at = [&](int i, int j) { return lattice[size_t((j % n) * n + (i % n))]; };
          const float a = at(gx, gy) + (at(gx + 1, gy) - at(gx, gy)) * tx;
          const float b = at(gx, gy + 1) + (at(gx + 1, gy + 1) - at(gx, gy + 1)) * tx;
          v_[size_t(y) * kSize + x] += amp * (a + (b - a) * ty);
        }
      }
    }
    const auto [lo, hi] = std::minmax_element(v_.begin(), v_.end());
    const float l = *lo, scale = 1.f / (*hi - *lo);
    for (auto& v : v_) v = (v - l) * scale;
  }
  std::vector<float> v_;
};

template <typename T>
T clamp01(T x) { return std::clamp(x, T(0), T(1)); }
double frac(double x) { return x - std::floor(x); }
Vec3 lerp(const Vec3& a, const Vec3& b, float t) { return a + (b - a) * t; }
Vec3 mul(const Vec3& a, const Vec3& b) { return Vec3(a[0] * b[0], a[1] * b[1], a[2] * b[2]); }
// Brightness and per-channel jitter around a palette colour.
Vec3 vary(Rng& r, const Vec3& c, double brightness, double hue) {
  const float k = float(1 + r.range(-brightness, brightness));
  Vec3 out;
  for (int i = 0; i < 3; ++i) out[i] = std::clamp(c[i] * k * float(1 + r.range(-hue, hue)), 0.f, 1.f);
  return out;
}
template <size_t N>
Vec3 pick(Rng& r, const Vec3 (&palette)[N]) { return palette[r.below(int(N))]; }

const Vec3 kCarPaints[] = {{0.85f, 0.85f, 0.84f}, {0.08f, 0.08f, 0.09f}, {0.6f, 0.61f, 0.63f}, {0.35f, 0.36f, 0.38f},
                           {0.12f, 0.16f, 0.35f}, {0.6f, 0.08f, 0.07f},  {0.3f, 0.4f, 0.55f},  {0.65f, 0.6f, 0.5f},
                           {0.1f, 0.22f, 0.14f}};
const Vec3 kWalls[] = {{0.76f, 0.68f, 0.55f}, {0.82f, 0.8f, 0.76f}, {0.55f, 0.55f, 0.55f}, {0.55f, 0.3f, 0.22f},
                       {0.8f, 0.7f, 0.45f},   {0.75f, 0.58f, 0.55f}, {0.35f, 0.35f, 0.37f}, {0.45f, 0.35f, 0.28f},
                       {0.5f, 0.55f, 0.6f}};
const Vec3 kSkins[] = {{0.93f, 0.78f, 0.66f}, {0.85f, 0.65f, 0.5f}, {0.6f, 0.42f, 0.3f}, {0.38f, 0.26f, 0.19f}};
const Vec3 kHair[] = {{0.08f, 0.06f, 0.05f}, {0.3f, 0.2f, 0.1f}, {0.62f, 0.5f, 0.3f}, {0.5f, 0.5f, 0.5f}};
const Vec3 kTrousers[] = {{0.14f, 0.17f, 0.3f}, {0.07f, 0.07f, 0.08f}, {0.35f, 0.35f, 0.36f}, {0.6f, 0.53f, 0.4f}};
const Vec3 kTops[] = {{0.7f, 0.1f, 0.1f},  {0.1f, 0.3f, 0.6f},  {0.9f, 0.9f, 0.88f}, {0.1f, 0.1f, 0.1f},
                      {0.2f, 0.45f, 0.25f}, {0.85f, 0.7f, 0.2f}, {0.5f, 0.3f, 0.5f},  {0.45f, 0.45f, 0.47f}};

// ---------------------------------------------------------------------------
// The street: every random choice that holds for a whole scene or clip.

constexpr double kCell = 8.0;      // street cells along z (m): lots and furniture
constexpr double kCarCell = 14.0;  // spacing grid of moving cars in a lane (m)
constexpr double kCrossCell = 45.0;
constexpr int kMaxLotCells = 10;
constexpr double kNear = 0.7;   // near clipping distance (m)
constexpr double kFar = 140.0;  // the backdrop distance (m)

enum LotKind { kBuildingLot, kParkLot, kOpenLot };

struct Lane {
  double x, speed;  // centre; m per frame along +z
  bool oncoming;
};
struct Marking {
  double x, width;
  bool dashed;
  Vec3 colour;
};

struct World {
  uint64_t key = 0;
  int height = 0, width = 0;
  // Pinhole camera: focal f (px), principal point (cx, hor) with hor the
  // horizon row, height cam_h and lateral position cam_x (m), at depth
  // cam_z0 + speed * t along the street (+z); no pitch or roll.
  double f, cx, hor, cam_h, cam_x, cam_z0, speed;
  // Road x in [left, right]; per side (0 left, 1 right) parking strip on the
  // road, then kerb, grass strip and sidewalk outwards.
  double left, right, kerb = 0.2;
  std::array<double, 2> parking{}, strip{}, walk{};
  std::vector<Lane> lanes;
  int ego_lane = 0;
  std::vector<Marking> markings;
  double dash_len, dash_period, crosswalk_p;
  // Contents: 0 rural .. 1 city centre; 0 empty .. 1 busy.
  double urban, busy, p_building, p_park, tree_p, pole_p, person_p, parked_p, car_p, clutter_p, fence_p, rail_p;
  // Look.
  Vec3 asphalt, paving, kerb_colour, grass, dirt, foliage, sky_top, sky_horizon, cloud, haze, tint;
  double tile, clouds, fog, grain, blur, night;
  std::array<float, 3> light{};  // left facades, right facades, end faces
  bool hood;
  double hood_h;
  Vec3 hood_colour;
  int backdrop;  // 0 none (open country), 1 skyline, 2 tree line

  double outer(int s) const { return kerb + strip[s] + walk[s]; }
  // x at distance d outwards from the road edge of side s.
  double side_x(int s, double d) const { return s ? right + d : left - d; }
};

World sample_world(uint64_t k, int height, int width) {
  World w;
  w.key = k;
  w.height = height;
  w.width = width;
  Rng r(key(k, kTagWorld));
  w.urban = r.uniform();
  w.busy = r.uniform();
  w.f = width * r.range(0.75, 1.1);
  w.hor = height * r.range(0.36, 0.5);
  w.cx = width * r.range(0.45, 0.55);
  w.cam_h = r.range(1.2, 1.7);
  w.speed = r.range(0.2, 0.5);
  w.cam_z0 = r.range(0, 2000);

  // Road: lanes left to right, oncoming (right-hand traffic) first.
  const bool one_way = r.chance(0.15);
  const int lanes = one_way ? 1 + r.below(2) : (r.chance(0.3) ? 4 : 2);
  const int oncoming = one_way ? 0 : lanes / 2;
  const double lane_w = r.range(2.9, 3.6);
  for (int s = 0; s < 2; ++s) {
    w.parking[s] = r.chance(0.2 + 0.5 * w.urban) ? 2.2 : 0.0;
    w.strip[s] = r.chance(0.3) ? r.range(0.8, 2.5) : 0.0;
    w.walk[s] = r.range(1.6, 4.5) * (0.7 + 0.5 * w.urban);
  }
  const double road = lanes * lane_w + w.parking[0] + w.parking[1];
  w.left = -road / 2;
  w.right = road / 2;
  const double first_lane = w.left + w.parking[0];
  w.ego_lane = oncoming + r.below(lanes - oncoming);
  w.lanes.clear();
  for (int i = 0; i < lanes; ++i) {
    const bool back = i < oncoming;
    const double speed = back ? -r.range(0.3, 0.6) : (i == w.ego_lane ? w.speed : w.speed * r.range(0.6, 1.4));
    w.lanes.push_back({first_lane + (i + 0.5) * lane_w, speed, back});
  }
  w.cam_x = w.lanes[size_t(w.ego_lane)].x + r.range(-0.3, 0.3);

  const Vec3 white(0.86f, 0.86f, 0.83f), yellow(0.85f, 0.68f, 0.2f);
  const bool yellow_centre = r.chance(0.2), solid_centre = r.chance(0.5), double_centre = r.chance(0.3);
  if (r.chance(0.7)) {  // edge lines
    w.markings.push_back({first_lane + (w.parking[0] > 0 ? 0.0 : 0.3), 0.12, false, white});
    w.markings.push_back({first_lane + lanes * lane_w - (w.parking[1] > 0 ? 0.0 : 0.3), 0.12, false, white});
  }
  for (int i = 1; i < lanes; ++i) {
    const double x = first_lane + i * lane_w;
    if (i == oncoming) {
      const Vec3 c = yellow_centre ? yellow : white;
      if (double_centre) {
        w.markings.push_back({x - 0.1, 0.1, false, c});
        w.markings.push_back({x + 0.1, 0.1, false, c});
      } else {
        w.markings.push_back({x, 0.13, !solid_centre, c});
      }
    } else {
      w.markings.push_back({x, 0.12, true, white});
    }
  }
  w.dash_len = r.range(2, 4);
  w.dash_period = w.dash_len + r.range(3, 9);
  w.crosswalk_p = 0.15 + 0.5 * w.urban;

  // Contents: the busier and more urban, the more (and smaller) objects.
  w.p_building = 0.08 + 0.88 * w.urban;
  w.p_park = (1 - w.p_building) * r.range(0.3, 0.7);
  w.tree_p = r.range(0.05, 0.7);
  w.pole_p = 0.15 + 0.45 * w.busy;
  w.person_p = 0.03 + 0.3 * w.busy * (0.3 + 0.7 * w.urban);
  w.parked_p = 0.25 + 0.65 * w.busy;
  w.car_p = 0.08 + 0.5 * w.busy;
  w.clutter_p = 0.05 + 0.25 * w.urban;
  w.fence_p = r.range(0.2, 0.8);
  w.rail_p = r.chance(0.35) ? r.range(0.15, 0.5) : 0.03;

  // Look.
  const float grey = float(r.range(0.22, 0.4));
  w.asphalt = vary(r, Vec3(grey, grey, grey * 1.04f), 0.05, 0.04);
  const Vec3 pavings[] = {{0.58f, 0.57f, 0.55f}, {0.68f, 0.66f, 0.62f}, {0.62f, 0.45f, 0.4f}, {0.66f, 0.6f, 0.5f}};
  w.paving = vary(r, pick(r, pavings), 0.08, 0.03);
  w.kerb_colour = vary(r, Vec3(0.7f, 0.7f, 0.68f), 0.08, 0.02);
  const Vec3 grasses[] = {{0.3f, 0.45f, 0.18f}, {0.42f, 0.5f, 0.22f}, {0.5f, 0.48f, 0.3f}, {0.25f, 0.38f, 0.15f}};
  w.grass = vary(r, pick(r, grasses), 0.1, 0.05);
  w.dirt = vary(r, Vec3(0.45f, 0.38f, 0.28f), 0.1, 0.05);
  const Vec3 foliages[] = {{0.16f, 0.3f, 0.1f}, {0.22f, 0.35f, 0.12f}, {0.12f, 0.25f, 0.1f}, {0.45f, 0.32f, 0.1f}};
  w.foliage = vary(r, foliages[r.chance(0.12) ? 3 : r.below(3)], 0.12, 0.06);
  w.tile = r.range(0.3, 0.6);
  w.clouds = r.uniform();
  w.fog = r.range(150, 700);
  w.grain = r.range(0.008, 0.03);
  w.blur = r.range(0.0, 0.12);
  double sun;
  const double tod = r.uniform();
  if (tod < 0.5) {  // day
    w.sky_top = {0.3f, 0.5f, 0.85f}, w.sky_horizon = {0.72f, 0.8f, 0.92f}, w.tint = {1.f, 1.f, 1.f};
    w.haze = {0.74f, 0.79f, 0.87f}, w.cloud = {0.95f, 0.95f, 0.96f}, sun = 0.35, w.night = 0;
  } else if (tod < 0.7) {  // overcast
    w.sky_top = {0.6f, 0.63f, 0.68f}, w.sky_horizon = {0.8f, 0.82f, 0.85f}, w.tint = {0.92f, 0.94f, 0.98f};
    w.haze = {0.77f, 0.79f, 0.82f}, w.cloud = {0.88f, 0.89f, 0.9f}, sun = 0.08, w.night = 0;
    w.clouds = 0.7 + 0.3 * w.clouds;
  } else if (tod < 0.87) {  // golden hour
    w.sky_top = {0.33f, 0.43f, 0.72f}, w.sky_horizon = {1.f, 0.76f, 0.52f}, w.tint = {1.1f, 0.92f, 0.74f};
    w.haze = {0.93f, 0.78f, 0.64f}, w.cloud = {1.f, 0.85f, 0.72f}, sun = 0.45, w.night = 0;
  } else {  // dusk: lit windows and lamps
    w.sky_top = {0.07f, 0.09f, 0.22f}, w.sky_horizon = {0.52f, 0.4f, 0.45f}, w.tint = {0.42f, 0.45f, 0.6f};
    w.haze = {0.3f, 0.29f, 0.37f}, w.cloud = {0.35f, 0.3f, 0.38f}, sun = 0.05, w.night = 1;
  }
  w.sky_top = vary(r, w.sky_top, 0.06, 0.04);
  w.sky_horizon = vary(r, w.sky_horizon, 0.05, 0.03);
  const bool sun_left = r.chance(0.5);
  w.light = {float(1 + (sun_left ? 0.5 : -0.5) * sun), float(1 + (sun_left ? -0.5 : 0.5) * sun), float(1 - 0.2 * sun)};
  w.hood = r.chance(0.7);
  w.hood_h = r.range(0.06, 0.16);
  w.hood_colour = vary(r, pick(r, kCarPaints), 0.1, 0.03) * 0.6f;
  w.backdrop = w.p_building > 0.5 ? 1 : (r.chance(0.5) ? 2 : 0);
  return w;
}

// ---------------------------------------------------------------------------
// Rendering: objects are gathered as polygons of instance ids, drawn far to
// near into an instance map, and every pixel is shaded from its instance.

enum Shade : uint8_t { kPlain, kFoliage, kFacadeX, kFacadeZ, kFenceX, kFoliageX, kGlass, kLight, kShadow };
enum Layer : int { kBackdropLayer, kLotLayer, kLotLineLayer, kStreetLayer, kHoodLayer };

struct Inst {
  int cls = kVoid;
  Shade shade = kPlain;
  Vec3 colour;
  float depth = 0;                 // haze distance (m) of billboards
  float u0 = 0, v0 = 0, mpp = 0;   // texture origin (px) and metres per pixel of billboards; glass: top row
  double plane = 0, s0 = 0;        // planes: x (or z for kFacadeZ) and the pattern origin along the plane
  float light = 1, tex = 0.1f;     // shading factor; texture strength (kShadow: darkening; kFoliage: crown radius, m)
  int pattern = -1;                // facades_ or fences_ index
  uint32_t seed = 0;
};

struct Facade {
  Vec3 wall, window, frame;
  float floor_h, ground_h, win_dz, win_w, win_h, sill, top, lit;
  bool shop;
};
struct Fence {
  Vec3 colour;
  float bar_dz, bar_fill, post_dz, top;
  int kind;  // 0 bars, 1 planks, 2 mesh, 3 guard rail
};

// A shaded pixel: reflected colour (tinted by the time of day), emitted colour, haze distance.
struct Px {
  Vec3 c, e;
  float depth;
};

struct P3 {
  double x, y, z;
};

class Renderer {
 public:
  Renderer(const World& w, int t) : w_(w), t_(t), cam_z_(w.cam_z0 + w.speed * t) {}
  Scene render();

 private:
  // Content.
  void gather_crossings();
  void gather_lots(int s);
  void gather_street(int s);
  void gather_cars();
  void gather_backdrop();
  void gather_hood();
  bool lot_start(int s, int64_t c) const;
  void building(int s, double z0, double z1, Rng& r);
  // The street-facing wall of facade f (just pushed) of side s, in plane x from z0.
  Inst facade_face(int s, double x, double z0, Rng& r) const;
  void park(int s, double z0, double z1, Rng& r);
  void open_lot(int s, double z0, double z1, Rng& r);
  void lot_line(int s, double z0, double z1, Rng& r);
  struct Car {
    double x, z, length, width, height;
    bool front, van;  // front: we see its front (oncoming)
    Vec3 paint;
  };
  Car sample_car(Rng& r, double x, double z, bool front) const;
  void car(const Car& c);
  void tree(double x, double z, Rng& r, int layer, bool bush);
  void person(double x, double z, Rng& r);
  void pole(int s, double x, double z, Rng& r, bool traffic_light);
  void clutter(double x, double z, Rng& r);

  // Geometry.
  int add(const Inst& inst) {
    insts_.push_back(inst);
    return int(insts_.size()) - 1;
  }
  // A billboard instance at (x, y, z): texture anchored at that point.
  int flat_inst(int cls, Shade shade, const Vec3& colour, double x, double y, double z, float tex = 0.1f);
  void begin(int layer, double z) { items_.push_back({layer, z, int(polys_.size()), 0}); }
  void poly3(int id, const P3* p, int n, bool convex = true);
  void poly3(int id, std::initializer_list<P3> p, bool convex = true) { poly3(id, p.begin(), int(p.size()), convex); }
  // Quad in the vertical plane z (billboard) from (dx, y) offsets around x.
  void flat(int id, double x, double z, std::initializer_list<std::pair<double, double>> pts);
  void ellipse(int id, double x, double y, double z, double rx, double ry, int n = 12, const float* bumps = nullptr);
  void draw();

  // Shading.
  Px ground(double uc, double vc, int* cls) const;
  Px sky(double uc, double vc) const;
  Px facade(const Inst& in, double s, double y, double ds, double dy) const;
  Px shade(const Inst& in, double uc, double vc, int* cls) const;

  const World& w_;
  int t_;
  double cam_z_;
  cv::Mat ids_;
  std::vector<Inst> insts_{Inst{}};  // id 0: ground and sky, resolved per pixel
  std::vector<Facade> facades_;
  std::vector<Fence> fences_;
  std::vector<cv::Point> pts_;
  struct Poly {
    int first, count, id;
    bool convex;
  };
  std::vector<Poly> polys_;
  struct Item {
    int layer;
    double z;
    int first, count;  // polys_
  };
  std::vector<Item> items_;
  std::vector<std::pair<double, double>> crossings_;  // crosswalk z ranges
  int64_t ground_cell0_ = 0;
  std::array<std::vector<int>, 2> ground_cells_;  // class of the ground beyond the sidewalk, per cell
};

int Renderer::flat_inst(int cls, Shade shade, const Vec3& colour, double x, double y, double z, float tex) {
  Inst in;
  in.cls = cls;
  in.shade = shade;
  in.colour = colour;
  const double zr = std::max(z - cam_z_, kNear);
  in.depth = float(zr);
  in.u0 = float(w_.cx + w_.f * (x - w_.cam_x) / zr);
  in.v0 = float(w_.hor + w_.f * (w_.cam_h - y) / zr);
  in.mpp = float(zr / w_.f);
  in.tex = tex;
  in.seed = uint32_t(key(w_.key, uint64_t(x * 1000), uint64_t(z * 1000)));
  return add(in);
}

void Renderer::poly3(int id, const P3* p, int n, bool convex) {
  // Clip to the near plane (exact in 3D), project, clip to a guard band
  // around the image (keeps the fixed-point coordinates small), store.
  const double zn = cam_z_ + kNear;
  std::vector<cv::Point2d> a, b;
  for (int i = 0; i < n; ++i) {
    const P3& p0 = p[i];
    const P3& p1 = p[(i + 1) % n];
    const double d0 = p0.z - zn, d1 = p1.z - zn;
    auto push = [&](const P3& q) {
      const double zr = q.z - cam_z_;
      a.emplace_back(w_.cx + w_.f * (q.x - w_.cam_x) / zr, w_.hor + w_.f * (w_.cam_h - q.y) / zr);
    };
    if (d0 >= 0) push(p0);
    if ((d0 >= 0) != (d1 >= 0)) {
      const double k = d0 / (d0 - d1);
      push({p0.x + (p1.x - p0.x) * k, p0.y + (p1.y - p0.y) * k, zn});
    }
  }
  if (a.size() < 3) return;
  const double gx = 2.0 * w_.width, gy = 2.0 * w_.height;
  const double lo[2] = {-gx, -gy}, hi[2] = {w_.width + gx, w_.height + gy};
  double mn[2] = {1e300, 1e300}, mx[2] = {-1e300, -1e300};
  for (const auto& q : a) {
    mn[0] = std::min(mn[0], q.x), mx[0] = std::max(mx[0], q.x);
    mn[1] = std::min(mn[1], q.y), mx[1] = std::max(mx[1], q.y);
  }
  if (mx[0] < 0 || mn[0] > w_.width || mx[1] < 0 || mn[1] > w_.height) return;
  for (int axis = 0; axis < 2; ++axis)
    for (int side = 0; side < 2; ++side) {
      const double limit = side ? hi[axis] : lo[axis];
      if (side ? mx[axis] <= limit : mn[axis] >= limit) continue;
      b.clear();
      for (size_t i = 0; i < a.size(); ++i) {
        const cv::Point2d& q0 = a[i];
        const cv::Point2d& q1 = a[(i + 1) % a.size()];
        const double c0 = axis ? q0.y : q0.x, c1 = axis ? q1.y : q1.x;
        const bool in0 = side ? c0 <= limit : c0 >= limit, in1 = side ? c1 <= limit : c1 >= limit;
        if (in0) b.push_back(q0);
        if (in0 != in1) b.push_back(q0 + (q1 - q0) * ((limit - c0) / (c1 - c0)));
      }
      a.swap(b);
      if (a.size() < 3) return;
    }
  // OpenCV's integer coordinates are pixel centres; ours put centres at +0.5. 4 fractional bits.
  polys_.push_back({int(pts_.size()), int(a.size()), id, convex});
  for (const auto& q : a) pts_.emplace_back(int(std::lround((q.x - 0.5) * 16)), int(std::lround((q.y - 0.5) * 16)));
  ++items_.back().count;
}

void Renderer::flat(int id, double x, double z, std::initializer_list<std::pair<double, double>> pts) {
  P3 p[8];
  int n = 0;
  for (const auto& [dx, y] : pts) p[n++] = {x + dx, y, z};
  poly3(id, p, n);
}

void Renderer::ellipse(int id, double x, double y, double z, double rx, double ry, int n, const float* bumps) {
  P3 p[24];
  for (int i = 0; i < n; ++i) {
    const double a = 2 * kPi * i / n, k = bumps ? bumps[i] : 1.0;
    p[i] = {x + rx * k * std::cos(a), y + ry * k * std::sin(a), z};
  }
  poly3(id, p, n, bumps == nullptr);
}

void Renderer::draw() {
  // Far to near within each layer; the order of gathering breaks ties.
  std::stable_sort(items_.begin(), items_.end(),
                   [](const Item& a, const Item& b) { return a.layer != b.layer ? a.layer < b.layer : a.z > b.z; });
  for (const auto& item : items_)
    for (int i = item.first; i < item.first + item.count; ++i) {
      const Poly& p = polys_[size_t(i)];
      const cv::Point* pts = &pts_[size_t(p.first)];
      if (p.convex) {
        cv::fillConvexPoly(ids_, pts, p.count, cv::Scalar(p.id), cv::LINE_8, 4);
      } else {
        cv::fillPoly(ids_, &pts, &p.count, 1, cv::Scalar(p.id), cv::LINE_8, 4);
      }
    }
}

// ---------------------------------------------------------------------------
// Content.

void Renderer::gather_crossings() {
  const int64_t c0 = int64_t(std::floor(cam_z_ / kCrossCell)) - 1, c1 = int64_t(std::floor((cam_z_ + kFar) / kCrossCell));
  for (int64_t c = c0; c <= c1; ++c) {
    Rng r(key(w_.key, kTagCross, c));
    if (!r.chance(w_.crosswalk_p)) continue;
    const double z = c * kCrossCell + r.range(5, 35), len = r.range(3, 5);
    crossings_.emplace_back(z, z + len);
    if (r.chance(0.3 + 0.5 * w_.urban)) {  // traffic lights facing us, before the crossing
      Rng lr(key(w_.key, kTagCross, c, 1));
      pole(1, w_.side_x(1, w_.kerb + 0.4), z - 1.5, lr, true);
      if (lr.chance(0.6)) pole(0, w_.side_x(0, w_.kerb + 0.4), z - 1.5, lr, true);
    }
  }
}

bool Renderer::lot_start(int s, int64_t c) const {
  return ((c % kMaxLotCells) + kMaxLotCells) % kMaxLotCells == 0 || Rng(key(w_.key, kTagLotBreak, s, c)).chance(0.35);
}

void Renderer::gather_lots(int s) {
  int64_t c = int64_t(std::floor(cam_z_ / kCell));
  ground_cell0_ = c;
  const int64_t last = int64_t(std::floor((cam_z_ + kFar) / kCell));
  auto& cells = ground_cells_[size_t(s)];
  cells.assign(size_t(last - c + 1), kTerrain);
  while (!lot_start(s, c)) --c;
  while (c <= last) {
    int64_t e = c + 1;
    while (!lot_start(s, e)) ++e;
    Rng r(key(w_.key, kTagLot, s, c));
    const double u = r.uniform(), z0 = c * kCell, z1 = e * kCell;
    int ground = kTerrain;
    if (u < w_.p_building) {
      ground = r.chance(0.6 + 0.3 * w_.urban) ? kSidewalk : kTerrain;  // plaza or front lawn
      building(s, z0, z1, r);
    } else if (u < w_.p_building + w_.p_park) {
      park(s, z0, z1, r);
    } else {
      open_lot(s, z0, z1, r);
    }
    for (int64_t k = std::max(c, ground_cell0_); k < std::min(e, last + 1); ++k) cells[size_t(k - ground_cell0_)] = ground;
    c = e;
  }
}

void Renderer::building(int s, double z0, double z1, Rng& r) {
  const double setback = r.chance(0.65) ? 0.0 : r.range(1, 6);
  const double d = w_.outer(s) + setback, depth = r.range(8, 25);
  Facade f;
  f.wall = vary(r, pick(r, kWalls), 0.12, 0.05);
  f.window = lerp(Vec3(0.08f, 0.1f, 0.13f), Vec3(0.3f, 0.37f, 0.45f), float(r.uniform()));
  f.frame = r.chance(0.5) ? Vec3(0.85f, 0.85f, 0.83f) : f.wall * 0.6f;
  f.floor_h = float(r.range(2.8, 3.8));
  f.ground_h = f.floor_h * float(r.range(1.0, 1.4));
  f.win_dz = float(r.range(1.8, 3.6));
  f.win_w = float(r.range(0.35, 0.75));
  f.win_h = float(r.range(0.35, 0.7));
  f.sill = (1 - f.win_h) * float(r.range(0.3, 0.6));
  f.top = float(r.range(6, 12 + 28 * w_.urban));
  f.lit = float(w_.night * r.range(0.1, 0.6));
  f.shop = r.chance(0.3 + 0.5 * w_.urban);
  const bool line = setback > 0.5 && r.chance(w_.fence_p);
  facades_.push_back(f);
  const double x = w_.side_x(s, d), xb = w_.side_x(s, d + depth);
  const Inst face = facade_face(s, x, z0, r);
  Inst end = face;
  end.shade = kFacadeZ;
  end.plane = z0;
  end.s0 = x;
  end.light = w_.light[2];
  const double top = f.top, z_end = std::min(z1, cam_z_ + kFar);
  begin(kLotLayer, z0);
  poly3(add(end), {{x, 0, z0}, {xb, 0, z0}, {xb, top, z0}, {x, top, z0}});
  poly3(add(face), {{x, 0, z0}, {x, 0, z_end}, {x, top, z_end}, {x, top, z0}});
  if (line) lot_line(s, z0, z1, r);
}

Inst Renderer::facade_face(int s, double x, double z0, Rng& r) const {
  Inst face;
  face.cls = kBuilding;
  face.shade = kFacadeX;
  face.plane = x;
  face.s0 = z0;
  face.light = w_.light[size_t(s)];
  face.pattern = int(facades_.size()) - 1;
  face.seed = uint32_t(r.next());
  return face;
}

void Renderer::park(int s, double z0, double z1, Rng& r) {
  const int trees = int((z1 - z0) / kCell * r.range(0.5, 2.5)), bushes = int((z1 - z0) / kCell * r.range(0, 2));
  const bool line = r.chance(w_.fence_p);
  for (int i = 0; i < trees; ++i) {
    const double d = w_.outer(s) + r.range(1, 16), z = r.range(z0, z1);
    tree(w_.side_x(s, d), z, r, kLotLayer, false);
  }
  for (int i = 0; i < bushes; ++i) {
    const double d = w_.outer(s) + r.range(0.5, 6), z = r.range(z0, z1);
    tree(w_.side_x(s, d), z, r, kLotLayer, true);
  }
  if (line) lot_line(s, z0, z1, r);
}

void Renderer::open_lot(int s, double z0, double z1, Rng& r) {
  const double x = w_.side_x(s, w_.outer(s) + r.range(15, 45));
  const bool blocks = r.chance(w_.urban), line = r.chance(w_.fence_p);
  const double z_end = std::min(z1, cam_z_ + kFar);
  if (blocks) {  // distant buildings across a field
    Facade f;
    f.wall = vary(r, pick(r, kWalls), 0.12, 0.05);
    f.window = Vec3(0.15f, 0.18f, 0.22f);
    f.frame = f.wall * 0.7f;
    f.floor_h = 3.2f, f.ground_h = 3.5f, f.win_dz = float(r.range(2, 3.5)), f.win_w = 0.5f, f.win_h = 0.5f;
    f.sill = 0.25f, f.top = float(r.range(8, 30)), f.lit = float(w_.night * 0.3), f.shop = false;
    facades_.push_back(f);
    const Inst face = facade_face(s, x, z0, r);
    begin(kLotLayer, z0);
    poly3(add(face), {{x, 0, z0}, {x, 0, z_end}, {x, f.top, z_end}, {x, f.top, z0}});
  } else {  // a tree line with a bumpy top
    const double h = r.range(4, 14);
    Inst in;
    in.cls = kVegetation;
    in.shade = kFoliageX;
    in.colour = vary(r, w_.foliage, 0.15, 0.05);
    in.plane = x;
    in.light = w_.light[size_t(s)];
    constexpr int kTops = 10;
    P3 p[kTops + 2];
    for (int i = 0; i < kTops; ++i)
      p[i] = {x, h * r.range(0.65, 1.0), z0 + (z1 - z0) * i / (kTops - 1)};
    p[kTops] = {x, 0, z1};
    p[kTops + 1] = {x, 0, z0};
    begin(kLotLayer, z0);
    if (z0 < cam_z_ + kFar) poly3(add(in), p, kTops + 2, false);
  }
  if (line) lot_line(s, z0, z1, r);
}

void Renderer::lot_line(int s, double z0, double z1, Rng& r) {
  // Fence or hedge along the outer edge of the sidewalk.
  const double x = w_.side_x(s, w_.outer(s) + 0.1);
  const double h = r.range(0.8, 2.0);
  Inst in;
  in.plane = x;
  in.light = w_.light[size_t(s)];
  if (r.chance(0.6)) {
    Fence f;
    f.kind = r.below(3);
    f.colour = f.kind == 1 ? vary(r, Vec3(0.45f, 0.33f, 0.22f), 0.15, 0.05)
                           : vary(r, r.chance(0.5) ? Vec3(0.55f, 0.56f, 0.57f) : Vec3(0.15f, 0.22f, 0.17f), 0.1, 0.05);
    f.bar_dz = float(f.kind == 1 ? r.range(0.1, 0.2) : r.range(0.1, 0.25));
    f.bar_fill = float(f.kind == 1 ? r.range(0.7, 0.95) : r.range(0.15, 0.4));
    f.post_dz = float(r.range(2, 3.5));
    f.top = float(h);
    fences_.push_back(f);
    in.cls = kFence;
    in.shade = kFenceX;
    in.pattern = int(fences_.size()) - 1;
  } else {
    in.cls = kVegetation;
    in.shade = kFoliageX;
    in.colour = vary(r, w_.foliage, 0.15, 0.05);
  }
  const double z_end = std::min(z1, cam_z_ + kFar);
  begin(kLotLineLayer, z0);
  poly3(add(in), {{x, 0, z0}, {x, 0, z_end}, {x, h, z_end}, {x, h, z0}});
}

void Renderer::gather_street(int s) {
  // Pedestrians walk at up to 0.055 m per frame: look further back and ahead for them.
  const double margin = kCell + 0.06 * std::abs(t_);
  const int64_t c0 = int64_t(std::floor((cam_z_ - margin) / kCell));
  const int64_t c1 = int64_t(std::floor((cam_z_ + kFar + margin) / kCell));
  const double walk0 = w_.kerb + w_.strip[size_t(s)], walk1 = w_.outer(s);
  for (int64_t c = c0; c <= c1; ++c) {
    const double z = c * kCell;
    // One stream per object, so what is drawn never depends on what else is in view.
    auto stream = [&](int object) { return Rng(key(w_.key, kTagStreet, s, c, object)); };
    for (int i = 0; i < 3; ++i) {
      Rng p = stream(10 + i);
      if (!p.chance(w_.person_p) || walk1 - walk0 < 0.8) continue;
      const double d = p.range(walk0 + 0.3, walk1 - 0.3);
      const double speed = p.chance(0.7) ? (p.chance(0.5) ? 1 : -1) * p.range(0.025, 0.055) : 0.0;
      person(w_.side_x(s, d), z + p.range(0, kCell) + speed * t_, p);
    }
    if (z > cam_z_ + kFar || z + kCell < cam_z_) continue;
    if (Rng r = stream(0); r.chance(w_.tree_p)) {
      const double d = w_.strip[size_t(s)] > 0 ? w_.kerb + w_.strip[size_t(s)] / 2 : w_.kerb + 0.7;
      tree(w_.side_x(s, d), z + r.range(0.5, 7.5), r, kStreetLayer, false);
    }
    if (Rng r = stream(1); r.chance(w_.pole_p)) pole(s, w_.side_x(s, w_.kerb + 0.35), z + r.range(0.5, 7.5), r, false);
    if (Rng r = stream(2); r.chance(w_.clutter_p)) clutter(w_.side_x(s, walk1 - r.range(0.3, 0.8)), z + r.range(0.5, 7.5), r);
    if (Rng r = stream(3); w_.parking[size_t(s)] > 0 && r.chance(w_.parked_p)) {
      // Left-side cars of a two-way street are parked facing the oncoming traffic.
      car(sample_car(r, w_.side_x(s, -w_.parking[size_t(s)] / 2), z + r.range(0.5, 2.5), s == 0 && w_.lanes.front().oncoming));
    }
    if (Rng r = stream(4); r.chance(w_.rail_p)) {  // pedestrian railing along the kerb
      fences_.push_back({vary(r, Vec3(0.6f, 0.6f, 0.62f), 0.15, 0.05), 0.15f, 0.15f, 2.f, 1.0f, 3});
      const double x = w_.side_x(s, w_.kerb + 0.1), z1 = z + r.range(3, kCell);
      Inst in;
      in.cls = kFence;
      in.shade = kFenceX;
      in.plane = x;
      in.light = w_.light[size_t(s)];
      in.pattern = int(fences_.size()) - 1;
      begin(kLotLineLayer, z);
      poly3(add(in), {{x, 0, z}, {x, 0, z1}, {x, 1.0, z1}, {x, 1.0, z}});
    }
  }
}

Renderer::Car Renderer::sample_car(Rng& r, double x, double z, bool front) const {
  Car c;
  c.van = r.chance(0.15);
  c.x = x + r.range(-0.2, 0.2);
  c.z = z;
  c.front = front;
  c.length = c.van ? r.range(4.8, 6) : r.range(3.8, 4.9);
  c.width = r.range(1.65, 1.95);
  c.height = c.van ? r.range(1.9, 2.4) : r.range(1.35, 1.6);
  c.paint = vary(r, pick(r, kCarPaints), 0.1, 0.03);
  return c;
}

void Renderer::gather_cars() {
  for (size_t l = 0; l < w_.lanes.size(); ++l) {
    const Lane& lane = w_.lanes[l];
    const double shift = lane.speed * t_;
    const int64_t k0 = int64_t(std::floor((cam_z_ - 8 - shift) / kCarCell)) - 1;
    const int64_t k1 = int64_t(std::floor((cam_z_ + kFar - shift) / kCarCell));
    for (int64_t k = k0; k <= k1; ++k) {
      Rng r(key(w_.key, kTagCar, l, k));
      if (!r.chance(w_.car_p)) continue;
      const double z = k * kCarCell + r.range(0, kCarCell - 6) + shift;
      // Our lane moves with us: keep the cars ahead of the bonnet.
      if (int(l) == w_.ego_lane && z - cam_z_ < 9) continue;
      car(sample_car(r, lane.x, z, lane.oncoming));
    }
  }
}

void Renderer::car(const Car& c) {
  const double zb = c.z, zf = c.z + c.length, x0 = c.x - c.width / 2, x1 = c.x + c.width / 2;
  if (zf - cam_z_ < kNear || zb - cam_z_ > kFar) return;
  const double clear = 0.28, body_h = c.van ? 1.15 : 0.95, h = c.height;
  begin(kStreetLayer, zb);
  Inst sh;
  sh.shade = kShadow;
  sh.tex = 0.45f;
  poly3(add(sh), {{x0 - 0.2, 0, zb - 0.3}, {x1 + 0.2, 0, zb - 0.3}, {x1 + 0.2, 0, zf + 0.3}, {x0 - 0.2, 0, zf + 0.3}});
  const Vec3 tyre_col(0.05f, 0.05f, 0.055f);
  auto body = [&](float light) {
    Inst in;
    in.cls = kCar;
    in.colour = c.paint * light;
    const double zr = std::max(zb - cam_z_, kNear);
    in.depth = float(zr);
    in.u0 = float(w_.cx + w_.f * (c.x - w_.cam_x) / zr);
    in.v0 = float(w_.hor + w_.f * (w_.cam_h - body_h) / zr);
    in.mpp = float(zr / w_.f);
    in.tex = 0.05f;
    return add(in);
  };
  auto glass = [&](double top_y, double z) {
    Inst in;
    in.cls = kCar;
    in.shade = kGlass;
    in.colour = Vec3(0.06f, 0.07f, 0.09f);
    const double zr = std::max(z - cam_z_, kNear);
    in.depth = float(zr);
    in.v0 = float(w_.hor + w_.f * (w_.cam_h - top_y) / zr);
    in.mpp = float(zr / w_.f);
    return add(in);
  };
  const int tyre = flat_inst(kCar, kPlain, tyre_col, c.x, 0, zb + 0.7, 0.05f);
  // Tyres under the near bumper.
  for (double tx : {x0 + 0.05, x1 - 0.3})
    poly3(tyre, {{tx, 0, zb + 0.7}, {tx + 0.25, 0, zb + 0.7}, {tx + 0.25, clear + 0.15, zb + 0.7}, {tx, clear + 0.15, zb + 0.7}});
  if (w_.cam_h > body_h) poly3(body(1.1f), {{x0, body_h, zb}, {x1, body_h, zb}, {x1, body_h, zf}, {x0, body_h, zf}});
  const bool side_visible = x0 > w_.cam_x || x1 < w_.cam_x;
  const double xs = x0 > w_.cam_x ? x0 : x1, inward = x0 > w_.cam_x ? 0.12 : -0.12;
  // Cabin z range: short bonnet at the back, long at the front; vans are all cabin.
  const double cz0 = c.van ? zb + (c.front ? 0.9 : 0.2) : zb + (c.front ? 1.5 : 0.9);
  const double cz1 = c.van ? zf - 0.3 : zf - (c.front ? 0.9 : 1.5);
  const double slant0 = c.van ? 0.15 : 0.45, slant1 = c.van ? 0.1 : 0.5;
  if (side_visible) {
    poly3(body(0.85f), {{xs, clear, zb}, {xs, clear, zf}, {xs, body_h, zf}, {xs, body_h, zb}});
    const double xc = xs + inward;
    poly3(body(0.9f), {{xc, body_h, cz0}, {xc, body_h, cz1}, {xc, h, cz1 - slant1}, {xc, h, cz0 + slant0}});
    const double mid = (cz0 + cz1) / 2, top = h - 0.06, bottom = body_h + 0.06;
    const int g = glass(top, mid);
    poly3(g, {{xc, bottom, cz0 + 0.1}, {xc, bottom, mid - 0.05}, {xc, top, mid - 0.05}, {xc, top, cz0 + slant0 + 0.05}});
    poly3(g, {{xc, bottom, mid + 0.05}, {xc, bottom, cz1 - 0.1}, {xc, top, cz1 - slant1 - 0.05}, {xc, top, mid + 0.05}});
    for (double wz : {zb + 0.85, zf - 0.85}) {
      P3 p[10];
      for (int i = 0; i < 10; ++i) {
        const double a = 2 * kPi * i / 10;
        p[i] = {xs - inward * 0.1, 0.32 + 0.32 * std::sin(a), wz + 0.32 * std::cos(a)};
      }
      poly3(tyre, p, 10);
    }
  }
  if (zb - cam_z_ >= kNear) {
    poly3(body(0.95f), {{x0, clear, zb}, {x1, clear, zb}, {x1, body_h, zb}, {x0, body_h, zb}});
    const int bumper = flat_inst(kCar, kPlain, c.paint * 0.5f + Vec3(0.03f, 0.03f, 0.03f), c.x, clear, zb, 0.05f);
    poly3(bumper, {{x0, clear, zb}, {x1, clear, zb}, {x1, clear + 0.14, zb}, {x0, clear + 0.14, zb}});
    Inst lamp;
    lamp.cls = kCar;
    lamp.shade = w_.night > 0 ? kLight : kPlain;
    lamp.colour = c.front ? Vec3(0.95f, 0.93f, 0.85f) : Vec3(0.75f, 0.05f, 0.04f);
    lamp.depth = float(zb - cam_z_);
    const int l = add(lamp);
    const double ly0 = body_h - 0.28, ly1 = body_h - 0.1;
    poly3(l, {{x0 + 0.06, ly0, zb}, {x0 + 0.36, ly0, zb}, {x0 + 0.36, ly1, zb}, {x0 + 0.06, ly1, zb}});
    poly3(l, {{x1 - 0.36, ly0, zb}, {x1 - 0.06, ly0, zb}, {x1 - 0.06, ly1, zb}, {x1 - 0.36, ly1, zb}});
    const int plate = flat_inst(kCar, kPlain, Vec3(0.85f, 0.85f, 0.8f), c.x, clear, zb, 0.02f);
    poly3(plate, {{c.x - 0.26, clear + 0.16, zb}, {c.x + 0.26, clear + 0.16, zb}, {c.x + 0.26, clear + 0.28, zb},
                  {c.x - 0.26, clear + 0.28, zb}});
  }
  const double cx0 = x0 + 0.12, cx1 = x1 - 0.12;
  if (cz0 - cam_z_ >= kNear) {
    poly3(body(0.95f), {{cx0, body_h, cz0}, {cx1, body_h, cz0}, {cx1 - 0.04, h, cz0 + slant0}, {cx0 + 0.04, h, cz0 + slant0}});
    const double m = 0.07;
    poly3(glass(h - m, cz0 + slant0), {{cx0 + m, body_h + m, cz0 + 0.05}, {cx1 - m, body_h + m, cz0 + 0.05},
                                       {cx1 - 0.04 - m, h - m, cz0 + slant0}, {cx0 + 0.04 + m, h - m, cz0 + slant0}});
  }
  if (w_.cam_h > h)
    poly3(body(1.15f), {{cx0 + 0.04, h, cz0 + slant0}, {cx1 - 0.04, h, cz0 + slant0}, {cx1 - 0.04, h, cz1 - slant1},
                        {cx0 + 0.04, h, cz1 - slant1}});
}

void Renderer::tree(double x, double z, Rng& r, int layer, bool bush) {
  const double radius = bush ? r.range(0.5, 1.2) : r.range(1.5, 3.5);
  const double trunk_h = bush ? 0.0 : r.range(1.8, 3.5), trunk_w = r.range(0.2, 0.4);
  const double cy = bush ? radius * 0.6 : trunk_h + radius * 0.75;
  float bumps[16];
  for (float& b : bumps) b = float(r.range(0.82, 1.12));
  const Vec3 leaves = vary(r, w_.foliage, 0.2, 0.08);
  const Vec3 bark = vary(r, Vec3(0.3f, 0.24f, 0.18f), 0.2, 0.05);
  if (z - cam_z_ < kNear || z - cam_z_ > kFar) return;
  begin(layer, z);
  if (!bush) {
    const int trunk = flat_inst(kVegetation, kPlain, bark, x, 0, z, 0.2f);
    flat(trunk, x, z, {{-trunk_w / 2, 0}, {trunk_w / 2, 0}, {trunk_w / 3, cy}, {-trunk_w / 3, cy}});
  }
  const int id = flat_inst(kVegetation, kFoliage, leaves, x, cy, z, float(radius));
  ellipse(id, x, cy, z, radius, radius * r.range(0.9, 1.25), 16, bumps);
}

void Renderer::person(double x, double z, Rng& r) {
  const bool child = r.chance(0.1);
  const double h = child ? r.range(1.05, 1.35) : r.range(1.55, 1.95), s = h / 1.75;
  const Vec3 skin = vary(r, pick(r, kSkins), 0.08, 0.03), hair = vary(r, pick(r, kHair), 0.1, 0.05);
  const Vec3 top = vary(r, pick(r, kTops), 0.15, 0.1), legs = vary(r, pick(r, kTrousers), 0.12, 0.05);
  const bool coat = r.chance(0.3), facing = r.chance(0.5);
  const double phase = r.range(0, 2 * kPi) + 2 * kPi * z / 1.3;  // the stride follows the distance walked
  if (z - cam_z_ < kNear || z - cam_z_ > kFar) return;
  begin(kStreetLayer, z);
  const double lift = 0.07 * s, la = lift * std::max(0.0, std::sin(phase)), lb = lift * std::max(0.0, -std::sin(phase));
  const double hip = 0.5 * h, shoulder = 0.81 * h;
  const int leg = flat_inst(kPerson, kPlain, legs, x, hip, z, 0.15f);
  flat(leg, x, z, {{-0.17 * s, la}, {-0.03 * s, la}, {-0.01 * s, hip}, {-0.16 * s, hip}});
  flat(leg, x, z, {{0.03 * s, lb}, {0.17 * s, lb}, {0.16 * s, hip}, {0.01 * s, hip}});
  const int body = flat_inst(kPerson, kPlain, top, x, shoulder, z, 0.15f);
  const double swing = 0.05 * s * std::sin(phase);
  flat(body, x, z, {{-0.27 * s, 0.47 * h}, {-0.19 * s, 0.47 * h + swing}, {-0.19 * s, shoulder}, {-0.24 * s, shoulder - 0.02 * h}});
  flat(body, x, z, {{0.19 * s, 0.47 * h - swing}, {0.27 * s, 0.47 * h}, {0.24 * s, shoulder - 0.02 * h}, {0.19 * s, shoulder}});
  const double waist = coat ? 0.33 * h : 0.47 * h;
  flat(body, x, z, {{-0.19 * s, waist}, {0.19 * s, waist}, {0.22 * s, shoulder}, {-0.22 * s, shoulder}});
  const int sk = flat_inst(kPerson, kPlain, skin, x, h, z, 0.05f);
  flat(sk, x, z, {{-0.05 * s, shoulder}, {0.05 * s, shoulder}, {0.05 * s, 0.87 * h}, {-0.05 * s, 0.87 * h}});
  const int hr = flat_inst(kPerson, kPlain, hair, x, h, z, 0.1f);
  ellipse(hr, x, 0.93 * h, z, 0.1 * s, 0.12 * s, 10);
  if (facing) ellipse(sk, x, 0.915 * h, z, 0.085 * s, 0.1 * s, 10);
}

void Renderer::pole(int s, double x, double z, Rng& r, bool traffic_light) {
  const bool lamp = !traffic_light && r.chance(0.4);
  const double height = traffic_light ? r.range(3.2, 4) : (lamp ? r.range(6, 9) : r.range(2.6, 3.3));
  const double width = lamp ? r.range(0.14, 0.2) : r.range(0.08, 0.12);
  const Vec3 metal = vary(r, r.chance(0.7) ? Vec3(0.55f, 0.57f, 0.58f) : Vec3(0.18f, 0.25f, 0.2f), 0.12, 0.03);
  const int shape = r.below(5);
  const bool front = s == 1 || !w_.lanes.front().oncoming;  // signs face the traffic of their side
  const double reach = r.range(1.2, 2.5);
  const int on = r.below(3);
  if (z - cam_z_ < kNear || z - cam_z_ > kFar) return;
  begin(kStreetLayer, z);
  const int p = flat_inst(kPole, kPlain, metal, x, 0, z, 0.1f);
  flat(p, x, z, {{-width / 2, 0}, {width / 2, 0}, {width / 2, height}, {-width / 2, height}});
  const double sg = s ? -1 : 1;  // towards the road
  if (lamp) {
    flat(p, x, z, {{0, height - 0.1}, {sg * reach, height + 0.15}, {sg * reach, height + 0.25}, {0, height}});
    Inst head;
    head.cls = kPole;
    head.shade = w_.night > 0 ? kLight : kPlain;
    head.colour = w_.night > 0 ? Vec3(1.f, 0.9f, 0.65f) : metal * 0.8f;
    head.depth = float(z - cam_z_);
    flat(add(head), x, z, {{sg * (reach - 0.5), height + 0.05}, {sg * (reach + 0.1), height + 0.1},
                           {sg * (reach + 0.1), height + 0.25}, {sg * (reach - 0.5), height + 0.25}});
    return;
  }
  if (traffic_light) {
    const int box = flat_inst(kTrafficSign, kPlain, Vec3(0.1f, 0.1f, 0.09f), x, height, z, 0.05f);
    flat(box, x, z, {{-0.16, height - 0.9}, {0.16, height - 0.9}, {0.16, height}, {-0.16, height}});
    for (int i = 0; i < 3; ++i) {
      const Vec3 colours[] = {{0.9f, 0.1f, 0.05f}, {0.95f, 0.7f, 0.1f}, {0.1f, 0.85f, 0.35f}};
      Inst l;
      l.cls = kTrafficSign;
      l.shade = i == on ? kLight : kPlain;
      l.colour = i == on ? colours[i] : colours[i] * 0.2f;
      l.depth = float(z - cam_z_);
      ellipse(add(l), x, height - 0.15 - 0.29 * i, z - 0.02, 0.09, 0.09, 8);
    }
    return;
  }
  // A sign: its back (plain metal) counts as void, like Cityscapes' labelling.
  const double sy = height - 0.35;
  if (!front) {
    const int back = flat_inst(kVoid, kPlain, metal * 0.9f, x, sy, z, 0.05f);
    ellipse(back, x, sy, z + 0.02, 0.32, 0.32, 12);
    return;
  }
  const Vec3 red(0.75f, 0.08f, 0.07f), white(0.92f, 0.92f, 0.9f), blue(0.1f, 0.3f, 0.7f), yellow(0.95f, 0.78f, 0.15f);
  const int outer = flat_inst(kTrafficSign, kPlain, shape == 2 ? blue : (shape == 3 ? white : red), x, sy, z, 0.05f);
  const int inner = flat_inst(kTrafficSign, kPlain, shape == 3 ? yellow : white, x, sy, z, 0.05f);
  switch (shape) {
    case 0:  // round prohibition sign
      ellipse(outer, x, sy, z - 0.02, 0.32, 0.32, 12);
      ellipse(inner, x, sy, z - 0.03, 0.23, 0.23, 12);
      break;
    case 1:  // warning triangle
      flat(outer, x, z - 0.02, {{-0.38, sy - 0.3}, {0.38, sy - 0.3}, {0, sy + 0.36}});
      flat(inner, x, z - 0.03, {{-0.24, sy - 0.22}, {0.24, sy - 0.22}, {0, sy + 0.19}});
      break;
    case 2:  // blue information sign with a white arrow
      flat(outer, x, z - 0.02, {{-0.3, sy - 0.3}, {0.3, sy - 0.3}, {0.3, sy + 0.3}, {-0.3, sy + 0.3}});
      flat(inner, x, z - 0.03, {{-0.05, sy - 0.2}, {0.05, sy - 0.2}, {0.05, sy + 0.05}, {-0.05, sy + 0.05}});
      flat(inner, x, z - 0.03, {{-0.16, sy + 0.05}, {0.16, sy + 0.05}, {0, sy + 0.22}});
      break;
    case 3:  // priority road diamond
      flat(outer, x, z - 0.02, {{0, sy - 0.36}, {0.36, sy}, {0, sy + 0.36}, {-0.36, sy}});
      flat(inner, x, z - 0.03, {{0, sy - 0.24}, {0.24, sy}, {0, sy + 0.24}, {-0.24, sy}});
      break;
    default:  // street name plate
      flat(inner, x, z - 0.02, {{-0.5, sy - 0.12}, {0.5, sy - 0.12}, {0.5, sy + 0.12}, {-0.5, sy + 0.12}});
      flat(outer, x, z - 0.03, {{-0.45, sy - 0.07}, {0.45, sy - 0.07}, {0.45, sy - 0.05}, {-0.45, sy - 0.05}});
      break;
  }
}

void Renderer::clutter(double x, double z, Rng& r) {
  // Street clutter that Cityscapes labels "static" (void): bins, benches, advertising pillars.
  const int kind = r.below(3);
  const Vec3 colours[] = {{0.15f, 0.3f, 0.2f}, {0.4f, 0.28f, 0.18f}, {0.75f, 0.7f, 0.55f}};
  const Vec3 colour = vary(r, colours[kind], 0.15, 0.08);
  if (z - cam_z_ < kNear || z - cam_z_ > kFar) return;
  begin(kStreetLayer, z);
  const int id = flat_inst(kVoid, kPlain, colour, x, 0, z, 0.25f);
  const double hw = kind == 0 ? 0.3 : (kind == 1 ? 0.9 : 0.6), h = kind == 0 ? 1.0 : (kind == 1 ? 0.8 : 2.8);
  flat(id, x, z, {{-hw, 0}, {hw, 0}, {hw, h}, {-hw, h}});
  if (kind == 2) flat(id, x, z, {{-hw - 0.05, h}, {hw + 0.05, h}, {hw * 0.6, h + 0.3}, {-hw * 0.6, h + 0.3}});
}

void Renderer::gather_backdrop() {
  if (w_.backdrop == 0) return;
  Rng r(key(w_.key, kTagBackdrop));
  const double z = cam_z_ + kFar, span = kFar * (w_.width / w_.f) * 0.7;
  const double x_lo = w_.cam_x - span, x_hi = w_.cam_x + span;
  const bool city = w_.backdrop == 1;
  const int id = flat_inst(city ? kBuilding : kVegetation, city ? kPlain : kFoliage,
                           city ? vary(r, Vec3(0.55f, 0.55f, 0.57f), 0.15, 0.05) : w_.foliage * 0.9f, w_.cam_x, 0, z,
                           city ? 0.3f : 5.f);
  insts_[size_t(id)].depth = float(kFar * 1.5);  // further than it is drawn: a faint skyline
  begin(kBackdropLayer, z);
  std::vector<P3> p{{x_lo, 0, z}};
  for (double x = x_lo; x < x_hi;) {
    const double h = w_.backdrop == 1 ? r.range(6, 10 + 30 * w_.urban) : r.range(6, 14);
    const double next = std::min(x_hi, x + (w_.backdrop == 1 ? r.range(6, 25) : r.range(2, 6)));
    p.push_back({x, h, z});
    if (w_.backdrop == 1) p.push_back({next, h, z});
    x = next;
  }
  p.push_back({x_hi, p.back().y, z});
  p.push_back({x_hi, 0, z});
  poly3(id, p.data(), int(p.size()), false);
}

void Renderer::gather_hood() {
  if (!w_.hood) return;
  const double top = w_.height * (1 - w_.hood_h);
  Inst in;
  in.cls = kVoid;
  in.shade = kGlass;
  in.colour = w_.hood_colour;
  in.v0 = float(top - w_.height * w_.hood_h * 0.35);
  in.mpp = float(0.6 / (w_.height * w_.hood_h * 1.3));
  const int id = add(in);
  // Straight to pixels: the hood is fixed to the camera.
  begin(kHoodLayer, 0);
  polys_.push_back({int(pts_.size()), 0, id, true});
  constexpr int kN = 12;
  for (int i = 0; i <= kN; ++i) {
    const double u = w_.width * double(i) / kN, du = (u - w_.cx) / (w_.width / 2.0);
    const double v = top + w_.height * w_.hood_h * 0.35 * du * du;
    pts_.emplace_back(int(std::lround((u - 0.5) * 16)), int(std::lround((v - 0.5) * 16)));
  }
  pts_.emplace_back(int(std::lround((w_.width + 0.5) * 16)), int(std::lround((w_.height + 0.5) * 16)));
  pts_.emplace_back(int(std::lround(-1.5 * 16)), int(std::lround((w_.height + 0.5) * 16)));
  polys_.back().count = kN + 3;
  ++items_.back().count;
}

// ---------------------------------------------------------------------------
// Shading.

// Share of the pixel footprint [c - half, c + half] inside [lo, hi].
double cover(double c, double half, double lo, double hi) {
  return clamp01((std::min(c + half, hi) - std::max(c - half, lo)) / (2 * half));
}

Px Renderer::sky(double uc, double vc) const {
  const Noise& n = Noise::get();
  const double t = clamp01((w_.hor - vc) / (0.9 * w_.height));
  Vec3 c = lerp(w_.sky_horizon, w_.sky_top, float(std::sqrt(t)));
  const double k = 6.0 / w_.width;  // clouds stretched along the horizon, anchored to the image
  const double q = n.at(uc * k + double(w_.key % 97), vc * k * 2.5 + double(w_.key % 89));
  const double cloud = clamp01((q - (0.75 - 0.45 * w_.clouds)) * 4) * (0.4 + 0.6 * w_.clouds);
  c = lerp(c, w_.cloud * float(0.85 + 0.2 * q), float(cloud));
  return {Vec3(0, 0, 0), c, 0.f};
}

Px Renderer::ground(double uc, double vc, int* cls) const {
  const Noise& n = Noise::get();
  const double zr = std::min(w_.f * w_.cam_h / (vc - w_.hor), 4000.0);
  const double mpp = zr / w_.f, dz = zr * mpp / w_.cam_h;  // pixel footprint across and along (m)
  const double x = w_.cam_x + (uc - w_.cx) * mpp, z = cam_z_ + zr;
  const double fine = clamp01(1 - dz / 0.4);  // fine texture fades out with distance
  const double grain = n.at(x * 3.1, z * 3.1) - 0.5;
  Vec3 c;
  if (x >= w_.left && x <= w_.right) {
    *cls = kRoad;
    c = w_.asphalt * float(0.85 + 0.3 * n.at(x * 0.35, z * 0.35) + 0.25 * fine * grain);
    for (const auto& lane : w_.lanes) {  // darker tyre tracks
      const double d = std::abs(std::abs(x - lane.x) - 0.8);
      if (d < 0.4) c *= float(1 - 0.08 * (1 - d / 0.4));
    }
    double paint = 0;
    const Vec3* paint_colour = nullptr;
    for (const auto& m : w_.markings) {
      double a = cover(x, mpp / 2, m.x - m.width / 2, m.x + m.width / 2);
      if (a <= 0) continue;
      if (m.dashed) a *= dz > 0.5 * w_.dash_period ? w_.dash_len / w_.dash_period : (frac(z / w_.dash_period) * w_.dash_period < w_.dash_len);
      if (a > paint) paint = a, paint_colour = &m.colour;
    }
    const Vec3 white(0.86f, 0.86f, 0.83f);
    for (const auto& [z0, z1] : crossings_) {
      const double along = cover(z, dz / 2, z0, z1);
      if (along <= 0) continue;
      const double stripes = mpp > 0.5 ? 0.5 : (frac((x - w_.left) / 1.0) < 0.5);
      if (along * stripes > paint) paint = along * stripes, paint_colour = &white;
      const double stop = x > w_.lanes[size_t(w_.ego_lane)].x - 2 ? cover(z, dz / 2, z0 - 1.4, z0 - 1.0) : 0.0;
      if (stop > paint) paint = stop, paint_colour = &white;
    }
    if (paint_colour) c = lerp(c, *paint_colour * float(0.85 + 0.3 * n.at(x * 1.7, z * 1.7)), float(paint));
  } else {
    const int s = x > w_.right ? 1 : 0;
    const double d = s ? x - w_.right : w_.left - x;
    if (d < w_.kerb) {
      *cls = kSidewalk;
      c = w_.kerb_colour * float(0.9 + 0.2 * n.at(x, z * 0.5));
    } else if (d < w_.kerb + w_.strip[size_t(s)]) {
      *cls = kTerrain;
      c = w_.grass * float(0.75 + 0.45 * n.at(x * 0.8, z * 0.8) + 0.3 * fine * grain);
    } else {
      int beyond = *cls = kSidewalk;
      if (d >= w_.outer(s)) {
        const int64_t cell = int64_t(std::floor(z / kCell)) - ground_cell0_;
        const auto& cells = ground_cells_[size_t(s)];
        beyond = *cls = cell >= 0 && cell < int64_t(cells.size()) ? cells[size_t(cell)] : kTerrain;
      }
      if (beyond == kTerrain) {
        const float dirt = float(clamp01((n.at(x * 0.15 + 7, z * 0.15) - 0.6) * 4));
        c = lerp(w_.grass, w_.dirt, dirt) * float(0.75 + 0.45 * n.at(x * 0.8, z * 0.8) + 0.3 * fine * grain);
      } else {
        // Paving tiles: per-tile tone and dark joints, fading out with distance.
        const double tx = x / w_.tile, tz = z / w_.tile;
        const uint32_t h = hash32(uint32_t(int64_t(std::floor(tx))) * 73856093u ^ uint32_t(int64_t(std::floor(tz))) * 19349663u);
        const double joints = std::max(cover(frac(tx) * w_.tile, mpp / 2, -1, 0.03), cover(frac(tz) * w_.tile, dz / 2, -1, 0.03));
        const double detail = clamp01(1 - std::max(mpp, dz) / (0.5 * w_.tile));
        c = w_.paving * float((0.92 + 0.16 * n.at(x * 0.5, z * 0.5)) * (1 + detail * (0.1 * (unit(h) - 0.5) - 0.35 * joints)));
      }
    }
  }
  return {c, Vec3(0, 0, 0), float(zr)};
}

Px Renderer::facade(const Inst& in, double s, double y, double ds, double dy) const {
  const Facade& f = facades_[size_t(in.pattern)];
  const Noise& n = Noise::get();
  const double stain = n.at(s * 0.12 + in.seed % 61, y * 0.12);
  Vec3 wall = f.wall * float(in.light * (0.9 + 0.1 * stain + 0.12 * (n.at(s * 0.8, y * 0.8) - 0.5)));
  wall *= float(0.8 + 0.2 * std::min(1.0, y / 2.0));  // darker at the foot of the wall
  if (y > f.top - 0.45) wall *= 0.82f;                // cornice
  const Vec3 sky_tint = w_.sky_horizon * 0.25f;
  if (y < f.ground_h) {
    if (!f.shop) return {wall * 0.92f, Vec3(0, 0, 0), 0.f};
    const double period = 2 * f.win_dz, lod = clamp01(ds / period * 2 - 0.5);
    const bool glass = y > 0.5 && y < f.ground_h - 0.6 && std::abs(frac(s / period) - 0.5) < 0.42;
    const Vec3 shop = f.window * 0.8f + sky_tint * float(0.5 + 0.5 * y / f.ground_h);
    const Vec3 sharp = glass ? shop : wall * 0.85f;
    return {lerp(sharp, lerp(wall * 0.85f, shop, 0.55f), float(lod)), w_.night > 0 && glass ? Vec3(0.3f, 0.25f, 0.15f) : Vec3(0, 0, 0), 0.f};
  }
  const double fy_all = (y - f.ground_h) / f.floor_h, fs_all = s / f.win_dz;
  const double fl = std::floor(fy_all), col = std::floor(fs_all), fy = fy_all - fl, fs = fs_all - col;
  const double lod = clamp01(std::max(ds / f.win_dz, dy / f.floor_h) * 2.5 - 0.6);
  const double frame_s = 0.08 / f.win_dz, frame_y = 0.08 / f.floor_h;
  const bool below_roof = y < f.top - 0.8;
  const bool in_frame = below_roof && std::abs(fs - 0.5) < f.win_w / 2 + frame_s && fy > f.sill - frame_y &&
                        fy < f.sill + f.win_h + frame_y;
  const bool in_win = in_frame && std::abs(fs - 0.5) < f.win_w / 2 && fy > f.sill && fy < f.sill + f.win_h;
  const uint32_t h = hash32(in.seed ^ uint32_t(int64_t(col)) * 0x9E3779B1u ^ uint32_t(int64_t(fl)) * 0x85EBCA77u);
  const bool lit = unit(hash32(h)) < f.lit;
  const Vec3 glass = f.window * float(0.7 + 0.6 * unit(h)) + sky_tint * float(1 - (fy - f.sill) / f.win_h);
  Vec3 sharp = in_win ? glass : (in_frame ? f.frame * in.light : wall);
  const float area = f.win_w * f.win_h;
  const Vec3 average = lerp(wall, f.window + sky_tint * 0.5f, below_roof ? area : 0.f);
  const Vec3 glow = Vec3(0.95f, 0.78f, 0.45f) * float(0.6 + 0.4 * unit(h >> 3));
  const Vec3 e = lit && in_win ? glow * float(1 - lod) : Vec3(0, 0, 0);
  const Vec3 e_avg = below_roof ? glow * (area * f.lit) : Vec3(0, 0, 0);
  return {lerp(sharp, average, float(lod)), e + e_avg * float(lod), 0.f};
}

Px Renderer::shade(const Inst& in, double uc, double vc, int* cls) const {
  const Noise& n = Noise::get();
  *cls = in.cls;
  switch (in.shade) {
    case kPlain: {
      const double tx = (uc - in.u0) * in.mpp, ty = (vc - in.v0) * in.mpp;
      const float k = float(1 + in.tex * 2 * (n.at(tx * 2 + in.seed % 97, ty * 2) - 0.5));
      return {in.colour * k, Vec3(0, 0, 0), in.depth};
    }
    case kFoliage: {  // leafy blobs lit from above, anchored to the crown
      const double tx = (uc - in.u0) * in.mpp, ty = (vc - in.v0) * in.mpp;
      const double leaves = n.at(tx * 0.9 + in.seed % 89, ty * 0.9) + 0.5 * (n.at(tx * 3.3, ty * 3.3) - 0.5);
      const double top = 1.15 - 0.35 * clamp01(ty / (2 * in.tex) + 0.5);
      return {in.colour * float((0.45 + 0.75 * leaves) * top), Vec3(0, 0, 0), in.depth};
    }
    case kFacadeX:
    case kFenceX:
    case kFoliageX: {  // vertical planes along the street: back-project the pixel
      const double dx = in.plane - w_.cam_x, du = uc - w_.cx;
      double zr = du * dx > 0 ? w_.f * dx / du : 4000.0;
      zr = std::clamp(zr, kNear, 4000.0);
      const double y = w_.cam_h - (vc - w_.hor) * zr / w_.f, z = cam_z_ + zr;
      const double ds = zr * zr / (w_.f * std::max(std::abs(dx), 0.1)), dy = zr / w_.f;
      Px p;
      if (in.shade == kFacadeX) {
        p = facade(in, z - in.s0, y, ds, dy);
      } else if (in.shade == kFoliageX) {
        const double leaves = n.at(z * 0.9, y * 0.9) + 0.5 * (n.at(z * 3.3, y * 3.3) - 0.5) * clamp01(1 - ds);
        p = {in.colour * float(in.light * (0.45 + 0.75 * leaves) * (0.8 + 0.2 * std::min(1.0, y))), Vec3(0, 0, 0), 0.f};
      } else {
        const Fence& f = fences_[size_t(in.pattern)];
        const Vec3 gap = f.colour * 0.3f + Vec3(0.06f, 0.08f, 0.05f);
        double solid;
        const bool post = std::abs(frac(z / f.post_dz) - 0.5) * f.post_dz > f.post_dz / 2 - 0.05;
        const bool rail = y > f.top - 0.07 || (y > 0.08 && y < 0.16);
        if (f.kind == 2) {  // chain-link mesh
          const double a = frac((z + y) / 0.1), b = frac((z - y) / 0.1);
          solid = ds > 0.05 ? 0.35 : (a < 0.18 || b < 0.18);
        } else if (f.kind == 3) {  // railing: a band and posts
          solid = (y > 0.55 && y < 0.85) ? 1.0 : (ds > f.bar_dz ? f.bar_fill : (frac(z / f.bar_dz) < f.bar_fill));
        } else {
          solid = ds > 0.5 * f.bar_dz ? f.bar_fill : (frac(z / f.bar_dz) < f.bar_fill);
        }
        if (post || rail) solid = 1;
        p = {lerp(gap, f.colour * float(0.9 + 0.2 * n.at(z * 0.7, y)), float(solid)) * in.light, Vec3(0, 0, 0), 0.f};
      }
      p.depth = float(zr);
      return p;
    }
    case kFacadeZ: {  // end walls facing the camera
      const double zr = std::max(in.plane - cam_z_, kNear);
      const double x = w_.cam_x + (uc - w_.cx) * zr / w_.f, y = w_.cam_h - (vc - w_.hor) * zr / w_.f;
      Px p = facade(in, std::abs(x - in.s0), y, zr / w_.f, zr / w_.f);
      p.depth = float(zr);
      return p;
    }
    case kGlass: {  // dark glass (or paint) reflecting the sky, brightest at the top
      const double g = clamp01((vc - in.v0) * in.mpp / 0.6);
      const Vec3 c = in.colour + w_.sky_horizon * float(0.35 * (1 - g) + 0.05);
      return {c * float(0.95 + 0.1 * n.at(uc * 0.05, vc * 0.05)), Vec3(0, 0, 0), in.depth};
    }
    case kLight:
      return {Vec3(0, 0, 0), in.colour, in.depth};
    case kShadow: {
      Px p = ground(uc, vc, cls);
      p.c *= in.tex;
      return p;
    }
  }
  return {in.colour, Vec3(0, 0, 0), in.depth};
}

Scene Renderer::render() {
  const int H = w_.height, W = w_.width;
  gather_backdrop();
  gather_crossings();
  for (int s = 0; s < 2; ++s) {
    gather_lots(s);
    gather_street(s);
  }
  gather_cars();
  gather_hood();
  ids_ = cv::Mat(H, W, CV_32SC1, cv::Scalar(0));
  draw();

  // Shade every pixel into linear RGB, then a slight lens blur and sensor grain.
  std::vector<Vec3> rgb(size_t(H) * W);
  Scene scene{torch::empty({H, W}, torch::kLong), torch::empty({3, H, W}, torch::kFloat)};
  int64_t* labels = scene.labels.data_ptr<int64_t>();
  for (int v = 0; v < H; ++v) {
    const int* row = ids_.ptr<int>(v);
    const double vc = v + 0.5;
    for (int u = 0; u < W; ++u) {
      const double uc = u + 0.5;
      int cls;
      Px p;
      if (row[u] != 0) {
        p = shade(insts_[size_t(row[u])], uc, vc, &cls);
      } else if (vc <= w_.hor) {
        cls = kSky;
        p = sky(uc, vc);
      } else {
        p = ground(uc, vc, &cls);
      }
      const float haze = float(1 - std::exp(-p.depth / w_.fog));
      rgb[size_t(v) * W + u] = lerp(mul(p.c, w_.tint) + p.e, w_.haze, haze);
      labels[size_t(v) * W + u] = cls;
    }
  }
  float* out = scene.image.data_ptr<float>();
  const float k = float(w_.blur), centre = 1 - 4 * k;
  const uint32_t salt = uint32_t(mix64(w_.key ^ uint64_t(t_) * 0x9E3779B97F4A7C15ull));
  for (int v = 0; v < H; ++v)
    for (int u = 0; u < W; ++u) {
      auto at = [&](int uu, int vv) { return rgb[size_t(std::clamp(vv, 0, H - 1)) * W + size_t(std::clamp(uu, 0, W - 1))]; };
      const Vec3 c = at(u, v) * centre + (at(u - 1, v) + at(u + 1, v) + at(u, v - 1) + at(u, v + 1)) * k;
      const uint32_t h = hash32(uint32_t(v * W + u) ^ salt);
      const float g = float(w_.grain) * (unit(h) - 0.5f) * 2;
      for (int ch = 0; ch < 3; ++ch) {
        const float chroma = float(w_.grain) * 0.3f * (unit(hash32(h + uint32_t(ch))) - 0.5f);
        out[size_t(ch) * H * W + size_t(v) * W + u] = std::clamp((c[ch] + g + chroma) * 2 - 1, -1.f, 1.f);
      }
    }
  return scene;
}

// ---------------------------------------------------------------------------
// Cityscapes files.

cv::Mat read_file(const std::string& path, int flags, const char* what) {
  cv::Mat m = cv::imread(path, flags);
  if (m.empty()) throw InputError(path + ": cannot read the " + what);
  return m;
}

}  // namespace

const std::vector<std::string>& class_names() {
  static const std::vector<std::string> names = {"void",         "road",       "sidewalk", "building", "fence", "pole",
                                                 "traffic-sign", "vegetation", "terrain",  "sky",      "person", "car"};
  return names;
}

std::array<uint8_t, 3> class_colour(int cls) {
  static const std::array<uint8_t, 3> colours[kNumClasses] = {
      {0, 0, 0},       {128, 64, 128}, {244, 35, 232}, {70, 70, 70},  {190, 153, 153}, {153, 153, 153},
      {220, 220, 0},   {107, 142, 35}, {152, 251, 152}, {70, 130, 180}, {220, 20, 60},  {0, 0, 142}};
  return cls >= 0 && cls < kNumClasses ? colours[cls] : std::array<uint8_t, 3>{0, 0, 0};
}

cv::Mat colour_labels(const torch::Tensor& labels) {
  if (labels.dim() != 2) throw InputError("colour_labels: labels must be [H,W]");
  const auto l = labels.to(torch::kCPU, torch::kLong).contiguous();
  const int H = int(l.size(0)), W = int(l.size(1));
  cv::Mat out(H, W, CV_8UC3);
  const int64_t* p = l.data_ptr<int64_t>();
  for (int v = 0; v < H; ++v)
    for (int u = 0; u < W; ++u) {
      const auto c = class_colour(int(p[size_t(v) * W + u]));
      out.at<cv::Vec3b>(v, u) = cv::Vec3b(c[0], c[1], c[2]);
    }
  return out;
}

SceneBatch scene_batch(const SceneSource& source, uint64_t first, int n) {
  if (n < 1) throw InputError("scene_batch: n must be at least 1, got " + std::to_string(n));
  std::vector<torch::Tensor> labels, images;
  const uint64_t size = uint64_t(source.size());
  for (int i = 0; i < n; ++i) {
    const uint64_t index = size ? (first + uint64_t(i)) % size : first + uint64_t(i);
    Scene s = source.scene(index);
    labels.push_back(s.labels);
    images.push_back(s.image);
  }
  return {torch::stack(labels), torch::stack(images)};
}

StreetScenes::StreetScenes(int height, int width, uint64_t seed) : height_(height), width_(width), seed_(seed) {
  if (height < 16 || width < 16)
    throw InputError("street scenes: size " + std::to_string(height) + "x" + std::to_string(width) +
                     " is too small (at least 16x16; designed for 32x64 and up)");
  Noise::get();  // build the texture once, outside any timed loop
}

Scene StreetScenes::scene(uint64_t index) const {
  return Renderer(sample_world(key(seed_, 0x5CE7E, index), height_, width_), 0).render();
}

Scene StreetScenes::clip_frame(uint64_t clip, int t) const {
  return Renderer(sample_world(key(seed_, 0xC11B, clip), height_, width_), t).render();
}

int cityscapes_class(int id) {
  switch (id) {
    case 7: case 9: return kRoad;
    case 8: return kSidewalk;
    case 11: case 12: case 15: case 16: return kBuilding;
    case 13: case 14: return kFence;
    case 17: case 18: return kPole;
    case 19: case 20: return kTrafficSign;
    case 21: return kVegetation;
    case 22: return kTerrain;
    case 23: return kSky;
    case 24: case 25: return kPerson;
    case -1: case 26: case 27: case 28: case 29: case 30: case 31: case 32: case 33: return kCar;
    default: return kVoid;
  }
}

CityscapesFolder::CityscapesFolder(const std::string& root, const std::string& split, int height, int width)
    : height_(height), width_(width) {
  namespace fs = std::filesystem;
  if (height < 1 || width < 1) throw InputError("cityscapes: bad size " + std::to_string(height) + "x" + std::to_string(width));
  const fs::path labels = fs::path(root) / "gtFine" / split, images = fs::path(root) / "leftImg8bit" / split;
  if (!fs::is_directory(labels))
    throw InputError(labels.string() + ": no such folder (expected <root>/gtFine/<split>/<city>/*_gtFine_labelIds.png)");
  const std::string suffix = "_gtFine_labelIds.png";
  std::vector<fs::path> found;
  for (const auto& e : fs::recursive_directory_iterator(labels)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      found.push_back(e.path());
  }
  if (found.empty()) throw InputError(labels.string() + ": no *" + suffix + " files");
  std::sort(found.begin(), found.end());
  for (const auto& l : found) {
    const std::string name = l.filename().string();
    const fs::path image =
        images / fs::relative(l.parent_path(), labels) / (name.substr(0, name.size() - suffix.size()) + "_leftImg8bit.png");
    if (!fs::is_regular_file(image)) throw InputError(l.string() + ": no matching image " + image.string());
    labels_.push_back(l.string());
    images_.push_back(image.string());
  }
}

Scene CityscapesFolder::scene(uint64_t index) const {
  const std::string& lp = label_path(index);
  const std::string& ip = image_path(index);
  const cv::Mat ids = read_file(lp, cv::IMREAD_UNCHANGED, "label map");
  if (ids.channels() != 1 || (ids.depth() != CV_8U && ids.depth() != CV_16U))
    throw InputError(lp + ": label map must be single-channel 8- or 16-bit label ids");
  cv::Mat small;
  cv::resize(ids, small, cv::Size(width_, height_), 0, 0, cv::INTER_NEAREST);
  small.convertTo(small, CV_32S);
  Scene s{torch::empty({height_, width_}, torch::kLong), torch::Tensor()};
  int64_t* out = s.labels.data_ptr<int64_t>();
  for (int v = 0; v < height_; ++v)
    for (int u = 0; u < width_; ++u) {
      const int id = small.at<int>(v, u);
      out[size_t(v) * width_ + u] = cityscapes_class(id == 255 ? -1 : id);
    }
  const cv::Mat bgr = read_file(ip, cv::IMREAD_COLOR, "image");
  cv::Mat rgb;
  cv::resize(bgr, rgb, cv::Size(width_, height_), 0, 0, cv::INTER_AREA);
  cv::cvtColor(rgb, rgb, cv::COLOR_BGR2RGB);
  s.image = torch::from_blob(rgb.data, {height_, width_, 3}, torch::kUInt8).permute({2, 0, 1}).to(torch::kFloat) / 127.5 - 1.0;
  return s;
}

}  // namespace fiancee::synth
