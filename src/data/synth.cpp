// Synthetic SAR-like chips: see synth.hpp. Image model, per chip (intensity domain):
//   I(x, y) = level * r(x, y) * E(x, y) + S(x, y),   pixel = min(255, round(gain * sqrt(I)))
// r = 1 on clutter, hull_gain on the vehicle footprint, shadow_gain in its radar shadow;
// E ~ Exp(1) is single-look speckle; S is the sum of the point scatterers' responses (separable
// Cauchy-like PSF, giving the cross-shaped sidelobes of SAR point targets). The radar looks from
// the top of the chip (y = 0), so shadows fall toward +y.
//
// Determinism: xoshiro256** seeded by splitmix64 (both written here), and only +, -, *, /, sqrt
// and frexp (all exact or correctly rounded under IEEE 754) -- log, sin and cos are computed
// here by series, never by the platform's libm.
#include "data/synth.hpp"

#include "common/rng.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace supsnn {
namespace {

constexpr int kMaxClasses = 10;
constexpr int kMinSize = 16;
constexpr int kMaxSize = 4096;

const char* const kClassNames[kMaxClasses] = {"tank", "apc",   "truck",  "bulldozer", "howitzer",
                                              "jeep", "radar", "aa_gun", "launcher",  "sedan"};

// ---- PRNG -------------------------------------------------------------------------------------

// Sequential splitmix64 stream over the shared mixing function of common/rng.hpp.
uint64_t splitmix64_next(uint64_t& state) {
  const uint64_t r = supsnn::splitmix64(state);
  state += 0x9E3779B97F4A7C15ULL;
  return r;
}

uint64_t mix64(uint64_t x) {
  return supsnn::splitmix64(x);
}

class Xoshiro256ss {
 public:
  explicit Xoshiro256ss(uint64_t seed) {
    uint64_t s = seed;
    for (auto& w : s_) w = splitmix64_next(s);
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in the open interval (0, 1), 53 random bits.
  double uniform() {
    return (static_cast<double>(next() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
  }
  double uniform(double a, double b) { return a + (b - a) * uniform(); }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// ---- libm-free math ---------------------------------------------------------------------------

constexpr double kPi = 3.14159265358979323846;
constexpr double kLn2 = 0.69314718055994530942;

// Natural log for finite x > 0: x = m 2^e, m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s).
double det_log(double x) {
  int e = 0;
  double m = std::frexp(x, &e);  // exact; m in [0.5, 1)
  if (m < 0.70710678118654752) {
    m *= 2.0;
    e -= 1;
  }
  const double s = (m - 1.0) / (m + 1.0), s2 = s * s;  // |s| <= 0.172
  double term = s, sum = 0.0;
  for (int k = 1; k <= 19; k += 2) {
    sum += term / k;
    term *= s2;
  }
  return 2.0 * sum + e * kLn2;
}

// sin and cos of an angle in degrees, by Taylor series after reduction to [-45, 45] degrees.
void det_sincos_deg(double deg, double* s, double* c) {
  double q = deg / 90.0;
  long n = static_cast<long>(q >= 0 ? q + 0.5 : q - 0.5);                  // nearest quadrant
  const double r = (deg - 90.0 * static_cast<double>(n)) * (kPi / 180.0);  // |r| <= pi/4
  const double r2 = r * r;
  double ts = r, tc = 1.0, ss = 0.0, cc = 0.0;
  for (int k = 0; k < 12; ++k) {
    ss += ts;
    cc += tc;
    ts *= -r2 / ((2 * k + 2) * (2 * k + 3));
    tc *= -r2 / ((2 * k + 1) * (2 * k + 2));
  }
  switch (((n % 4) + 4) % 4) {
    case 0:
      *s = ss;
      *c = cc;
      break;
    case 1:
      *s = cc;
      *c = -ss;
      break;
    case 2:
      *s = -ss;
      *c = -cc;
      break;
    default:
      *s = -cc;
      *c = ss;
      break;
  }
}

// ---- vehicle models (body frame, pixels at 128 x 128: u along the hull, +u = front) -----------

struct Rect {
  double u0, u1, v0, v1;
};
struct Scatterer {
  double u, v, amp;
};
struct Vehicle {
  std::vector<Rect> hull;
  std::vector<Scatterer> scat;
  double height = 7.0;     // shadow length = height * kShadowPerHeight (pixels)
  double hull_gain = 3.0;  // diffuse hull reflectivity relative to clutter
};

void add_line(Vehicle& m, double u0, double v0, double u1, double v1, int n, double amp) {
  for (int i = 0; i < n; ++i) {
    const double t = n == 1 ? 0.5 : static_cast<double>(i) / (n - 1);
    m.scat.push_back({u0 + t * (u1 - u0), v0 + t * (v1 - v0), amp});
  }
}
void add_corners(Vehicle& m, const Rect& r, double amp) {
  m.scat.push_back({r.u0, r.v0, amp});
  m.scat.push_back({r.u0, r.v1, amp});
  m.scat.push_back({r.u1, r.v0, amp});
  m.scat.push_back({r.u1, r.v1, amp});
}
void add_ring(Vehicle& m, double uc, double vc, double radius, int n, double amp) {
  for (int i = 0; i < n; ++i) {
    double s, c;
    det_sincos_deg(360.0 * i / n, &s, &c);
    m.scat.push_back({uc + radius * c, vc + radius * s, amp});
  }
}

Vehicle make_vehicle(int cls) {
  Vehicle m;
  switch (cls) {
    case 0: {  // tank: hull, strong turret ring, gun barrel beyond the front
      const Rect h{-11, 11, -6, 6};
      m.hull = {h};
      m.height = 7;
      add_corners(m, h, 0.7);
      add_line(m, -5, -6, 5, -6, 3, 0.45);
      add_line(m, -5, 6, 5, 6, 3, 0.45);
      add_ring(m, -1, 0, 3.5, 6, 1.0);
      add_line(m, 12, 0, 21, 0, 4, 0.6);
      add_line(m, -9, -3, -9, 3, 2, 0.5);
      break;
    }
    case 1: {  // apc: boxy hull, scatterers spread evenly along the edges, rear door, no turret
      const Rect h{-11, 11, -5.5, 5.5};
      m.hull = {h};
      m.height = 6.5;
      add_corners(m, h, 1.0);
      add_line(m, -7, -5.5, 5, -5.5, 4, 0.6);
      add_line(m, -7, 5.5, 5, 5.5, 4, 0.6);
      add_line(m, 9, -4, 9, 4, 4, 0.55);
      add_line(m, -11, -2, -11, 2, 2, 0.9);
      break;
    }
    case 2: {  // truck: bright cab, gap, long cargo bed with weaker edges
      const Rect cab{9, 15, -4.5, 4.5}, bed{-15, 6, -4.5, 4.5};
      m.hull = {cab, bed};
      m.height = 9;
      m.hull_gain = 2.6;
      add_corners(m, cab, 1.0);
      m.scat.push_back({12, 0, 0.9});
      add_line(m, -12, -4.5, 6, -4.5, 7, 0.5);
      add_line(m, -12, 4.5, 6, 4.5, 7, 0.5);
      add_line(m, -15, -4.5, -15, 4.5, 2, 0.9);
      break;
    }
    case 3: {  // bulldozer: short wide hull, very bright blade across the front, cab at the rear
      const Rect h{-9, 7, -6, 6}, blade{9, 11, -7.5, 7.5};
      m.hull = {h, blade};
      m.height = 9;
      m.hull_gain = 3.2;
      add_line(m, 10, -7, 10, 7, 9, 0.9);
      add_corners(m, Rect{-6, -3, -2, 2}, 0.8);
      add_line(m, -9, -6, -9, 6, 2, 0.5);
      break;
    }
    case 4: {  // howitzer: hull, gun shield, very long barrel, split trails at the rear
      const Rect h{-10, 8, -5.5, 5.5};
      m.hull = {h};
      m.height = 6;
      add_line(m, 6, -4, 6, 4, 2, 0.9);
      add_line(m, 10, 0, 30, 0, 6, 0.55);
      add_line(m, -11, -3, -20, -7, 3, 0.5);
      add_line(m, -11, 3, -20, 7, 3, 0.5);
      add_corners(m, h, 0.4);
      break;
    }
    case 5: {  // jeep: small, low, few scatterers
      const Rect h{-7, 7, -3.5, 3.5};
      m.hull = {h};
      m.height = 5;
      m.hull_gain = 2.2;
      add_corners(m, h, 0.7);
      add_line(m, 2, -3, 2, 3, 3, 0.6);
      m.scat.push_back({-7.5, 0, 0.5});
      break;
    }
    case 6: {  // radar: long narrow body, cab, large dish ring
      const Rect h{-12, 12, -4.5, 4.5};
      m.hull = {h};
      m.height = 10;
      m.hull_gain = 2.6;
      add_corners(m, Rect{9, 12, -4.5, 4.5}, 0.9);
      add_ring(m, -4, 0, 5, 8, 0.8);
      add_line(m, -12, -4.5, -12, 4.5, 2, 0.5);
      break;
    }
    case 7: {  // aa_gun: tracked hull, square turret, twin barrels
      const Rect h{-11, 11, -6, 6};
      m.hull = {h};
      m.height = 7.5;
      add_corners(m, Rect{-3.5, 3.5, -3.5, 3.5}, 1.0);
      add_line(m, 8, -1.5, 17, -1.5, 4, 0.55);
      add_line(m, 8, 1.5, 17, 1.5, 4, 0.55);
      add_corners(m, h, 0.5);
      break;
    }
    case 8: {  // launcher: long hull, two parallel rails, bright cab
      const Rect h{-14, 14, -5.5, 5.5};
      m.hull = {h};
      m.height = 8;
      add_line(m, -12, -3, 9, -3, 8, 0.6);
      add_line(m, -12, 3, 9, 3, 8, 0.6);
      add_corners(m, Rect{11, 14, -5.5, 5.5}, 0.9);
      break;
    }
    default: {  // sedan: small, weak return, rounded roof
      const Rect h{-7.5, 7.5, -3.5, 3.5};
      m.hull = {h};
      m.height = 4.5;
      m.hull_gain = 1.8;
      add_corners(m, h, 0.4);
      add_corners(m, Rect{-2, 2, -2, 2}, 0.35);
      break;
    }
  }
  return m;
}

// ---- rendering --------------------------------------------------------------------------------

constexpr double kGain = 22.0;            // 8-bit units per unit amplitude (clutter mean ~ 19)
constexpr double kShadowGain = 0.1;       // shadow reflectivity relative to clutter
constexpr double kShadowPerHeight = 2.2;  // shadow length per unit height (low grazing angle)
constexpr double kScatterPeak = 250.0;    // peak intensity of a scatterer with amp 1
constexpr double kPsfWidth = 0.6;         // PSF half width, pixels
constexpr int kPsfRadius = 5;             // PSF support, pixels
constexpr double kDropout = 0.15;         // probability that a scatterer is occluded
constexpr int kMaxDistractors = 2;        // bright clutter points (rocks, posts) per chip

struct Scratch {
  std::vector<double> scat;
  std::vector<uint8_t> foot;
};

void splat(double px, double py, double peak, int H, int W, double* S) {
  const int cx = static_cast<int>(px + 0.5), cy = static_cast<int>(py + 0.5);
  for (int y = cy - kPsfRadius; y <= cy + kPsfRadius; ++y) {
    if (y < 0 || y >= H) continue;
    const double dy = (y - py) / kPsfWidth;
    const double fy = peak / (1.0 + dy * dy);
    for (int x = cx - kPsfRadius; x <= cx + kPsfRadius; ++x) {
      if (x < 0 || x >= W) continue;
      const double dx = (x - px) / kPsfWidth;
      S[y * W + x] += fy / (1.0 + dx * dx);
    }
  }
}

// Renders one chip into out (H*W). Fixed draw order, so a chip depends only on its stream.
double render_chip(const Vehicle& veh, int H, int W, Xoshiro256ss& rng, Scratch& sc, uint8_t* out) {
  const double g = (H < W ? H : W) / 128.0;  // geometry scale
  const double az = rng.uniform(0.0, 360.0);
  const double shift_x = rng.uniform(-3.0, 3.0) * g, shift_y = rng.uniform(-3.0, 3.0) * g;
  const double size = rng.uniform(0.92, 1.08) * g;
  const double level = rng.uniform(0.7, 1.4);
  double s, c;
  det_sincos_deg(az, &s, &c);
  const double x0 = 0.5 * (W - 1) + shift_x, y0 = 0.5 * (H - 1) + shift_y;

  // Footprint mask: pixel -> body frame (u, v) in model units.
  sc.foot.assign(static_cast<size_t>(H) * W, 0);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const double X = (x - x0) / size, Y = (y - y0) / size;
      const double u = c * X + s * Y, v = -s * X + c * Y;
      for (const Rect& r : veh.hull)
        if (u >= r.u0 && u <= r.u1 && v >= r.v0 && v <= r.v1) {
          sc.foot[y * W + x] = 1;
          break;
        }
    }

  // Scatterers: amplitude jitter, sub-pixel position jitter, random occlusion.
  sc.scat.assign(static_cast<size_t>(H) * W, 0.0);
  for (const Scatterer& p : veh.scat) {
    const double jitter = rng.uniform(0.35, 1.3);
    const double du = rng.uniform(-0.4, 0.4), dv = rng.uniform(-0.4, 0.4);
    const bool occluded = rng.uniform() < kDropout;
    if (occluded) continue;
    const double u = p.u + du, v = p.v + dv;
    const double px = x0 + size * (c * u - s * v), py = y0 + size * (s * u + c * v);
    splat(px, py, kScatterPeak * p.amp * jitter, H, W, sc.scat.data());
  }
  const int distractors = static_cast<int>(rng.uniform() * (kMaxDistractors + 1));
  for (int i = 0; i < kMaxDistractors; ++i) {
    const double px = rng.uniform(0.0, W - 1.0), py = rng.uniform(0.0, H - 1.0);
    const double amp = rng.uniform(0.1, 0.5);
    if (i < distractors) splat(px, py, kScatterPeak * amp, H, W, sc.scat.data());
  }

  // Clutter, hull and shadow with speckle; shadow runs down each column behind the footprint.
  const double shadow_len = veh.height * kShadowPerHeight * size;
  for (int x = 0; x < W; ++x) {
    double last_foot = -1e9;
    for (int y = 0; y < H; ++y) {
      const int i = y * W + x;
      double r = 1.0;
      if (sc.foot[i]) {
        last_foot = y;
        r = veh.hull_gain;
      } else if (y - last_foot <= shadow_len) {
        r = kShadowGain;
      }
      const double speckle = -det_log(rng.uniform());
      const double a = kGain * std::sqrt(level * r * speckle + sc.scat[i]);
      out[i] = a >= 254.5 ? 255 : static_cast<uint8_t>(a + 0.5);
    }
  }
  return az;
}

void check_options(const SynthOptions& opt) {
  if (opt.classes < 2 || opt.classes > kMaxClasses)
    throw std::invalid_argument("synth: classes must be in 2..10, got " +
                                std::to_string(opt.classes));
  if (opt.height < kMinSize || opt.width < kMinSize || opt.height > kMaxSize ||
      opt.width > kMaxSize)
    throw std::invalid_argument("synth: height and width must be in 16..4096, got " +
                                std::to_string(opt.height) + " x " + std::to_string(opt.width));
  if (opt.train_per_class < 1 || opt.test_per_class < 1)
    throw std::invalid_argument("synth: train_per_class and test_per_class must be >= 1, got " +
                                std::to_string(opt.train_per_class) + " and " +
                                std::to_string(opt.test_per_class));
}

}  // namespace

std::vector<std::string> synth_class_names(int classes) {
  if (classes < 2 || classes > kMaxClasses)
    throw std::invalid_argument("synth: classes must be in 2..10, got " + std::to_string(classes));
  return std::vector<std::string>(kClassNames, kClassNames + classes);
}

SynthSplit synth_generate(const SynthOptions& opt, bool test_split) {
  check_options(opt);
  const int per_class = test_split ? opt.test_per_class : opt.train_per_class;
  SynthSplit out;
  out.count = opt.classes * per_class;
  out.height = opt.height;
  out.width = opt.width;
  const size_t chip = static_cast<size_t>(opt.height) * opt.width;
  out.images.resize(chip * out.count);
  out.labels.resize(out.count);
  out.azimuth_deg.resize(out.count);

  std::vector<Vehicle> vehicles;
  for (int k = 0; k < opt.classes; ++k) vehicles.push_back(make_vehicle(k));

  const uint64_t split_key = mix64(mix64(opt.seed) ^ (test_split ? 0x7E57ULL : 0x7A1EULL));
  Scratch sc;
  for (int k = 0; k < out.count; ++k) {
    const int label = k % opt.classes;
    Xoshiro256ss rng(mix64(split_key + static_cast<uint64_t>(k)));
    out.labels[k] = label;
    out.azimuth_deg[k] =
        render_chip(vehicles[label], opt.height, opt.width, rng, sc, out.images.data() + chip * k);
  }
  return out;
}

Split random_spike_split(int count, int height, int width, int raw_steps, int rows, double p,
                         std::uint64_t seed) {
  Split s;
  s.name = "train";
  s.count = count;
  s.height = height;
  s.width = width;
  s.raw_steps = raw_steps;
  s.guide_rows = rows;
  const int m = height * width;
  for (int b = 0; b < count; ++b) {
    for (int k = 0; k <= raw_steps; ++k)
      for (int i = 0; i < m; ++i)
        if (uniform01(seed, 100 + b, static_cast<std::uint64_t>(k) * m + i) < p) {
          s.events.neuron.push_back(i);
          s.events.step.push_back(static_cast<std::uint8_t>(k));
        }
    s.events.offsets.push_back(static_cast<std::int64_t>(s.events.neuron.size()));
    s.labels.push_back(static_cast<int>(uniform01(seed, 7, b) * rows));
    for (int r = 0; r < rows; ++r)
      for (int t = 0; t < raw_steps; ++t)
        s.guidance.push_back(40.0 * (uniform01(seed, 8, b * 1000 + r * 100 + t) - 0.3));
  }
  return s;
}

}  // namespace supsnn
