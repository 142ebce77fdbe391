// Layered networks (model/layered_snn, kernels lif_layer, im2col, gemm_rows, pool2d,
// dropout_mask): each kernel against a plain CPU reference or hand-computed values, the whole
// forward pass against a loop-by-loop reference network, gradients against central finite
// differences (exact where the network is piecewise linear), the surrogate gradient as a descent
// direction, dropout's masks, and the one-line refusals of layers that do not fit their input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/dropout_mask.hpp"
#include "kernels/event_conv.hpp"
#include "kernels/gemm_rows.hpp"
#include "kernels/im2col.hpp"
#include "kernels/lif_layer.hpp"
#include "kernels/pool2d.hpp"
#include "model/layered_snn.hpp"
#include "test_fixtures.hpp"

namespace supsnn {
namespace {

using test::expect_close;
using test::random_vec;
using test::to_host;

View1<double> dev(const std::vector<double>& v) {
  View1<double> out("v", v.size());
  auto h = Kokkos::create_mirror_view(out);
  for (std::size_t i = 0; i < v.size(); ++i) h(i) = v[i];
  Kokkos::deep_copy(out, h);
  return out;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  return std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
}

// ---- plain references ---------------------------------------------------------------------------

// The neuron of kernels/lif_layer.hpp, step by step: H and S of I (T x N).
void lif_ref(const LifLayerParams& p, int T, int N, const std::vector<double>& I,
             std::vector<double>& H, std::vector<double>& S) {
  H.assign(static_cast<std::size_t>(T) * N, 0);
  S = H;
  for (int i = 0; i < N; ++i) {
    double v = 0;
    for (int t = 0; t < T; ++t) {
      const double in = I[t * N + i];
      const double h = p.leaky ? v + (in - v) / p.tau : v + in;
      const double s = h >= p.threshold ? 1 : 0;
      H[t * N + i] = h;
      S[t * N + i] = s;
      v = p.soft_reset ? h - p.threshold * s : h * (1 - s);
    }
  }
}

// NHWC convolution, W (Co, K, K, C), zero padding.
std::vector<double> conv_ref(const ConvGeometry& g, int images, int Co,
                             const std::vector<double>& X, const std::vector<double>& W,
                             const std::vector<double>& b) {
  const int OH = g.out_h(), OW = g.out_w();
  std::vector<double> Y(static_cast<std::size_t>(images) * OH * OW * Co, 0);
  for (int n = 0; n < images; ++n)
    for (int oy = 0; oy < OH; ++oy)
      for (int ox = 0; ox < OW; ++ox)
        for (int co = 0; co < Co; ++co) {
          double s = b.empty() ? 0 : b[co];
          for (int dy = 0; dy < g.K; ++dy)
            for (int dx = 0; dx < g.K; ++dx)
              for (int c = 0; c < g.C; ++c) {
                const int y = oy * g.stride - g.pad + dy, x = ox * g.stride - g.pad + dx;
                if (y < 0 || y >= g.H || x < 0 || x >= g.W) continue;
                s += W[((co * g.K + dy) * g.K + dx) * g.C + c] *
                     X[((static_cast<std::size_t>(n) * g.H + y) * g.W + x) * g.C + c];
              }
          Y[((static_cast<std::size_t>(n) * OH + oy) * OW + ox) * Co + co] = s;
        }
  return Y;
}

std::vector<double> pool_ref(const PoolGeometry& g, int images, const std::vector<double>& X) {
  const int OH = g.out_h(), OW = g.out_w();
  std::vector<double> Y(static_cast<std::size_t>(images) * OH * OW * g.C);
  for (int n = 0; n < images; ++n)
    for (int oy = 0; oy < OH; ++oy)
      for (int ox = 0; ox < OW; ++ox)
        for (int c = 0; c < g.C; ++c) {
          double acc = g.max ? -1e300 : 0;
          for (int dy = 0; dy < g.size; ++dy)
            for (int dx = 0; dx < g.size; ++dx) {
              const double v = X[((static_cast<std::size_t>(n) * g.H + oy * g.stride + dy) * g.W +
                                  ox * g.stride + dx) *
                                     g.C +
                                 c];
              acc = g.max ? std::max(acc, v) : acc + v;
            }
          Y[((static_cast<std::size_t>(n) * OH + oy) * OW + ox) * g.C + c] =
              g.max ? acc : acc / (g.size * g.size);
        }
  return Y;
}

// Batch normalisation of a rows x C array: with the rows' own statistics (running == nullptr)
// or with running means and variances (C each, consumed from *running at *at).
std::vector<double> norm_ref(const std::vector<double>& X, int C, const double* gamma,
                             const double* beta, const std::vector<double>* running,
                             std::size_t* at) {
  const std::size_t rows = X.size() / C;
  std::vector<double> Y(X.size());
  for (int c = 0; c < C; ++c) {
    double mean = 0, var = 0;
    if (running) {
      mean = (*running)[*at + c];
      var = (*running)[*at + C + c];
    } else {
      for (std::size_t r = 0; r < rows; ++r) mean += X[r * C + c] / rows;
      for (std::size_t r = 0; r < rows; ++r)
        var += (X[r * C + c] - mean) * (X[r * C + c] - mean) / rows;
    }
    for (std::size_t r = 0; r < rows; ++r)
      Y[r * C + c] = gamma[c] * (X[r * C + c] - mean) / std::sqrt(var + 1e-5) + beta[c];
  }
  if (running) *at += 2 * C;
  return Y;
}

void neuron_ref(const LayerNeuron& n, int T, std::vector<double>& cur) {
  if (n.kind == NeuronKind::None) return;
  LifLayerParams p;
  p.leaky = n.kind == NeuronKind::Lif;
  p.tau = n.tau;
  p.threshold = n.threshold;
  p.soft_reset = n.reset == ResetKind::Soft;
  std::vector<double> Hs, S;
  lif_ref(p, T, static_cast<int>(cur.size() / T), cur, Hs, S);
  cur = S;
}

// The whole network, loop by loop: logits (B x n) of images x (B x C H W), params as the model's
// flat buffer (per weighted layer W then b, per norm gamma then beta). Dropout is the identity
// (evaluation); norm layers use the batch's statistics, or `running` when given.
std::vector<double> network_ref(const std::vector<LayerSpec>& specs, int C, int H, int W, int T,
                                int classes, int B, const std::vector<double>& x,
                                const std::vector<double>& params,
                                const std::vector<double>* running = nullptr) {
  std::size_t run_at = 0;
  std::vector<double> act;  // (T B) rows
  for (int t = 0; t < T; ++t) act.insert(act.end(), x.begin(), x.end());
  int c = C, h = H, w = W;
  std::size_t off = 0;
  for (const LayerSpec& s : specs) {
    const int images = T * B;
    if (s.kind == LayerKind::Conv || s.kind == LayerKind::Dense || s.kind == LayerKind::Readout) {
      const int fan_in = s.kind == LayerKind::Conv ? s.kernel * s.kernel * c : c * h * w;
      const int out = s.kind == LayerKind::Conv    ? s.channels
                      : s.kind == LayerKind::Dense ? s.units
                                                   : (s.units > 0 ? s.units : classes);
      const std::vector<double> Wt(params.begin() + off, params.begin() + off + out * fan_in);
      off += static_cast<std::size_t>(out) * fan_in;
      std::vector<double> b;
      if (s.bias) {
        b.assign(params.begin() + off, params.begin() + off + out);
        off += out;
      }
      std::vector<double> cur;
      if (s.kind == LayerKind::Conv) {
        const ConvGeometry g{c, h, w, s.kernel, s.stride, s.padding};
        cur = conv_ref(g, images, out, act, Wt, b);
        h = g.out_h();
        w = g.out_w();
      } else {
        const ConvGeometry g{c * h * w, 1, 1, 1, 1, 0};  // a dense layer is a 1 x 1 convolution
        cur = conv_ref(g, images, out, act, Wt, b);
        h = w = 1;
      }
      c = out;
      if (s.kind != LayerKind::Readout) neuron_ref(s.neuron, T, cur);
      act = cur;
    } else if (s.kind == LayerKind::Norm) {
      act = norm_ref(act, c, params.data() + off, params.data() + off + c, running, &run_at);
      off += 2 * static_cast<std::size_t>(c);
      neuron_ref(s.neuron, T, act);
    } else if (s.kind == LayerKind::Pool) {
      const PoolGeometry g{
          c, h, w, s.size, s.pool_stride > 0 ? s.pool_stride : s.size, s.mode == PoolMode::Max};
      act = pool_ref(g, images, act);
      h = g.out_h();
      w = g.out_w();
    }
  }
  std::vector<double> z(static_cast<std::size_t>(B) * c, 0);
  for (int t = 0; t < T; ++t)
    for (int q = 0; q < B * c; ++q) z[q] += act[static_cast<std::size_t>(t) * B * c + q] / T;
  return z;
}

// ---- helpers
// --------------------------------------------------------------------------------------

LayerSpec conv(int channels, int kernel, int stride, int pad, NeuronKind nk = NeuronKind::Lif) {
  LayerSpec s;
  s.bias = nk != NeuronKind::None;  // a current passed on (to a norm) needs no bias
  s.kind = LayerKind::Conv;
  s.channels = channels;
  s.kernel = kernel;
  s.stride = stride;
  s.padding = pad;
  s.neuron.kind = nk;
  return s;
}
LayerSpec dense(int units, NeuronKind nk = NeuronKind::Lif) {
  LayerSpec s;
  s.bias = nk != NeuronKind::None;
  s.kind = LayerKind::Dense;
  s.units = units;
  s.neuron.kind = nk;
  return s;
}
LayerSpec pool(int size, bool max, int stride = 0) {
  LayerSpec s;
  s.kind = LayerKind::Pool;
  s.size = size;
  s.pool_stride = stride;
  s.mode = max ? PoolMode::Max : PoolMode::Avg;
  return s;
}
LayerSpec readout(int units = 0) {
  LayerSpec s;
  s.kind = LayerKind::Readout;
  s.units = units;
  return s;
}
LayerSpec norm(NeuronKind nk = NeuronKind::Lif) {
  LayerSpec s;
  s.kind = LayerKind::Norm;
  s.neuron.kind = nk;
  return s;
}
LayerSpec dropout(double p) {
  LayerSpec s;
  s.kind = LayerKind::Dropout;
  s.p = p;
  return s;
}

// A batch of B random H x W images (one channel) and its pixel / 255 values.
struct Images {
  BatchBuilder<double> bb;
  std::vector<double> x;
  View1<std::int64_t> ids;
};
void make_images(Images& im, int B, int H, int W, std::uint64_t seed, bool training = false) {
  View3<std::uint8_t> img("img", B, H, W);
  auto h = Kokkos::create_mirror_view(img);
  im.x.clear();
  for (int b = 0; b < B; ++b)
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x) {
        const auto v = static_cast<std::uint8_t>(256 * uniform01(seed, 7, (b * H + y) * W + x));
        h(b, y, x) = v;
        im.x.push_back(v / 255.0);
      }
  Kokkos::deep_copy(img, h);
  im.bb.build_images(img, B);
  im.ids = View1<std::int64_t>("ids", B);
  auto hi = Kokkos::create_mirror_view(im.ids);
  for (int b = 0; b < B; ++b) hi(b) = 100 + b;
  Kokkos::deep_copy(im.ids, hi);
  im.bb.set_pass(training, 42, im.ids);
}

View1<int> labels_of(const std::vector<int>& y) {
  View1<int> v("labels", y.size());
  auto h = Kokkos::create_mirror_view(v);
  for (std::size_t i = 0; i < y.size(); ++i) h(i) = y[i];
  Kokkos::deep_copy(v, h);
  return v;
}

LossParams ce(double temperature = 1) {
  LossParams lp;
  lp.kind = LossKind::CrossEntropy;
  lp.temperature = temperature;
  return lp;
}

double total_loss(LayeredSnn<double>& net, Images& im, View1<int> labels, const LossParams& lp) {
  net.forward(im.bb);
  const auto l = net.loss({}, labels, lp, 1.0);
  return std::accumulate(l.begin(), l.end(), 0.0);
}

// ---- kernels
// --------------------------------------------------------------------------------------

TEST(LifLayer, HandComputedTwoSteps) {
  // I = (3, 0), tau 2, threshold 1, hard reset: H1 = 1.5 spikes (V1 = 0), H2 = 0.
  LifLayerParams p;
  const auto I = dev({3.0, 0.0});
  View1<double> H("H", 2), S("S", 2), dI("dI", 2);
  lif_layer_forward<double>(p, 2, 1, false, I, H, S);
  expect_close(to_host(H), {1.5, 0.0}, 1e-15, "H");
  expect_close(to_host(S), {1.0, 0.0}, 0, "S");
  lif_layer_backward<double>(p, 2, 1, false, H, S, dev({1.0, 1.0}), dI);
  const double pi = 3.141592653589793;
  const double sg2 = 1 / (1 + pi * pi), sg1 = 1 / (1 + pi * pi / 4);  // arctan, width 0.5
  const double dh2 = sg2, dh1 = sg1 + 0.5 * dh2 * (-1.5 * sg1);
  expect_close(to_host(dI), {dh1 / 2, dh2 / 2}, 1e-14, "dI");
}

TEST(LifLayer, MatchesReferenceAndBroadcastSumsTime) {
  const int T = 6, N = 40;
  const auto I = random_vec(T * N, -0.5, 2.5, 3, 1), dS = random_vec(T * N, -1, 1, 3, 2);
  for (int variant = 0; variant < 4; ++variant) {
    LifLayerParams p;
    p.leaky = variant % 2 == 0;
    p.soft_reset = variant >= 2;
    p.threshold = 1.2;
    std::vector<double> Hr, Sr;
    lif_ref(p, T, N, I, Hr, Sr);
    View1<double> H("H", T * N), S("S", T * N), dI("dI", T * N);
    lif_layer_forward<double>(p, T, N, false, dev(I), H, S);
    expect_close(to_host(H), Hr, 1e-15, "H");
    expect_close(to_host(S), Sr, 0, "S");
    lif_layer_backward<double>(p, T, N, false, H, S, dev(dS), dI);
    // Broadcast: the first step's current at every step; dI summed over time.
    std::vector<double> I0(T * N);
    for (int q = 0; q < T * N; ++q) I0[q] = I[q % N];
    lif_ref(p, T, N, I0, Hr, Sr);
    View1<double> Hb("Hb", T * N), Sb("Sb", T * N), dIb("dIb", N), dIfull("dIfull", T * N);
    lif_layer_forward<double>(p, T, N, true, dev(std::vector<double>(I.begin(), I.begin() + N)), Hb,
                              Sb);
    expect_close(to_host(Hb), Hr, 1e-15, "H broadcast");
    lif_layer_backward<double>(p, T, N, true, Hb, Sb, dev(dS), dIb);
    lif_layer_backward<double>(p, T, N, false, Hb, Sb, dev(dS), dIfull);
    const auto full = to_host(dIfull);
    std::vector<double> summed(N, 0);
    for (int q = 0; q < T * N; ++q) summed[q % N] += full[q];
    expect_close(to_host(dIb), summed, 1e-13, "dI broadcast");
    // Spikes happen and the surrogate passes gradient (the test would be vacuous otherwise).
    EXPECT_GT(std::accumulate(Sr.begin(), Sr.end(), 0.0), 10);
  }
}

TEST(ConvGemm, ForwardAndBothGradientsMatchReferences) {
  for (const auto& [K, stride, pad] :
       {std::tuple{3, 2, 1}, std::tuple{3, 1, 0}, std::tuple{2, 2, 1}}) {
    const ConvGeometry g{3, 7, 6, K, stride, pad};
    const int images = 2, Co = 4, M = images * static_cast<int>(g.positions());
    const auto X = random_vec(images * g.in_size(), -1, 1, 5, 1);
    const auto W = random_vec(Co * g.taps(), -1, 1, 5, 2), b = random_vec(Co, -1, 1, 5, 3);
    View1<double> col("col", static_cast<std::size_t>(M) * g.taps()), Y("Y", M * Co);
    im2col<double>(g, images, dev(X), col);
    const auto Wd = dev(W), bd = dev(b);
    rows_forward<double>(M, g.taps(), Co, col.data(), Wd.data(), bd.data(), Y.data());
    expect_close(to_host(Y), conv_ref(g, images, Co, X, W, b), 1e-13, "conv forward");
    // Input gradient: <conv(X), G> = <X, conv^T(G)> (bias off), via dcol = G W and col2im.
    const auto G = random_vec(M * Co, -1, 1, 5, 4);
    View1<double> dcol("dcol", col.extent(0)), dX("dX", X.size());
    rows_input_grad<double>(M, g.taps(), Co, dev(G).data(), Wd.data(), dcol.data());
    col2im<double>(g, images, dcol, dX);
    EXPECT_NEAR(dot(conv_ref(g, images, Co, X, W, {}), G), dot(X, to_host(dX)), 1e-11);
    // Weight and bias gradients of <conv(X), G>: dW = G^T col, db = column sums of G.
    View1<double> dW("dW", W.size()), db("db", Co);
    rows_weight_grad<double>(M, g.taps(), Co, dev(G).data(), col.data(), dW.data(), false);
    rows_bias_grad<double>(M, Co, dev(G).data(), dev(std::vector<double>(M, 1.0)), db.data(),
                           false);
    std::vector<double> dW_ref(W.size()), db_ref(Co, 0);
    for (std::size_t q = 0; q < W.size(); ++q) {  // linear in W: one difference is exact
      auto W1 = W;
      W1[q] += 1;
      dW_ref[q] =
          dot(conv_ref(g, images, Co, X, W1, {}), G) - dot(conv_ref(g, images, Co, X, W, {}), G);
    }
    for (int r = 0; r < M; ++r)
      for (int co = 0; co < Co; ++co) db_ref[co] += G[r * Co + co];
    expect_close(to_host(dW), dW_ref, 1e-11, "dW");
    expect_close(to_host(db), db_ref, 1e-13, "db");
  }
}

TEST(EventConv, ForwardAndWeightGradientMatchReferencesOnSparseInput) {
  // Conv geometries with strides and padding, and a dense layer (a 1 x 1 map of 11 channels).
  for (const auto& [g, Co] :
       {std::pair{ConvGeometry{3, 7, 6, 3, 2, 1}, 4}, std::pair{ConvGeometry{2, 6, 6, 3, 1, 0}, 5},
        std::pair{ConvGeometry{3, 5, 7, 2, 2, 1}, 3},
        std::pair{ConvGeometry{11, 1, 1, 1, 1, 0}, 6}}) {
    const int images = 5;
    // ~20 % nonzeros, of varied values (dropout and average pooling scale spikes); image 3 empty.
    auto X = random_vec(images * g.in_size(), -1, 1, 7, 1);
    for (std::size_t i = 0; i < X.size(); ++i)
      if (uniform01(7, 2, i) > 0.2 || static_cast<long>(i) / g.in_size() == 3) X[i] = 0;
    const auto W = random_vec(Co * g.taps(), -1, 1, 7, 3), b = random_vec(Co, -1, 1, 7, 4);
    EventRows<double> ev;
    const long n = events_count<double>(images, g.in_size(), dev(X), ev);
    EXPECT_EQ(n, std::count_if(X.begin(), X.end(), [](double v) { return v != 0; }));
    events_fill<double>(images, g.in_size(), dev(X), ev);
    const auto Wd = dev(W);
    View1<double> Wt("Wt", W.size());
    transpose_weights<double>(Co, g.taps(), Wd.data(), Wt);
    const long M = images * g.positions();
    View1<double> Y("Y", M * Co);
    event_conv_forward<double>(g, Co, images, ev, Wt, dev(b).data(), Y.data());
    expect_close(to_host(Y), conv_ref(g, images, Co, X, W, b), 1e-13, "event forward");
    // Weight gradient of <conv(X), G>: the same as the gemm path's dY^T col, and accumulating.
    const auto G = random_vec(M * Co, -1, 1, 7, 5);
    View1<double> col("col", M * g.taps()), dW_ref("dW_ref", W.size()), dW("dW", W.size());
    im2col<double>(g, images, dev(X), col);
    rows_weight_grad<double>(M, g.taps(), Co, dev(G).data(), col.data(), dW_ref.data(), false);
    View1<double> parts("parts", kEventGradBlocks * W.size());
    event_conv_weight_grad<double>(g, Co, images, ev, dev(G).data(), parts, dW.data(), false);
    expect_close(to_host(dW), to_host(dW_ref), 1e-12, "event dW");
    event_conv_weight_grad<double>(g, Co, images, ev, dev(G).data(), parts, dW.data(), true);
    auto twice = to_host(dW_ref);
    for (double& v : twice) v *= 2;
    expect_close(to_host(dW), twice, 1e-12, "event dW accumulated");
  }
}

TEST(Pool2d, MaxAndAverageForwardAndBackward) {
  for (const auto& [size, stride, max] :
       {std::tuple{2, 2, true}, std::tuple{3, 2, true}, std::tuple{2, 2, false},
        std::tuple{3, 2, false}, std::tuple{2, 3, true}, std::tuple{2, 3, false}}) {
    const PoolGeometry g{2, 7, 8, size, stride, max};
    const int images = 3;
    const long nin = images * 7 * 8 * 2, nout = images * g.out_h() * g.out_w() * 2;
    const auto X = random_vec(nin, -1, 1, 9, size + 10 * stride);
    View1<double> Y("Y", nout), dX("dX", nin);
    View1<int> arg("arg", nout);
    pool2d_forward<double>(g, images, dev(X), Y, arg);
    expect_close(to_host(Y), pool_ref(g, images, X), 1e-15, "pool forward");
    // Backward: the gradient of <pool(X), G>, by central differences (exact away from ties).
    const auto G = random_vec(nout, -1, 1, 9, 99);
    pool2d_backward<double>(g, images, dev(G), arg, dX);
    std::vector<double> fd(nin);
    for (long q = 0; q < nin; ++q) {
      auto a = X, b = X;
      a[q] += 1e-6;
      b[q] -= 1e-6;
      fd[q] = (dot(pool_ref(g, images, a), G) - dot(pool_ref(g, images, b), G)) / 2e-6;
    }
    expect_close(to_host(dX), fd, 1e-7, "pool backward");
  }
}

TEST(Dropout, MasksAreKeyedBySampleAndHeldOverTime) {
  const int B = 4, F = 500, T = 3;
  View1<std::int64_t> ids("ids", B), ids2("ids2", B);
  auto h = Kokkos::create_mirror_view(ids), h2 = Kokkos::create_mirror_view(ids2);
  for (int b = 0; b < B; ++b) {
    h(b) = 10 + b;
    h2(b) = 13 - b;  // the same samples in reverse order
  }
  Kokkos::deep_copy(ids, h);
  Kokkos::deep_copy(ids2, h2);
  View1<double> m1("m1", B * F), m2("m2", B * F);
  dropout_make_mask<double>(7, 0.3, B, F, ids, m1);
  dropout_make_mask<double>(7, 0.3, B, F, ids2, m2);
  const auto a = to_host(m1), b = to_host(m2);
  int dropped = 0;
  for (int s = 0; s < B; ++s)
    for (int f = 0; f < F; ++f) {
      EXPECT_EQ(a[s * F + f], b[(B - 1 - s) * F + f]);
      EXPECT_TRUE(a[s * F + f] == 0 || std::fabs(a[s * F + f] - 1 / 0.7) < 1e-15);
      dropped += a[s * F + f] == 0;
    }
  EXPECT_NEAR(dropped / double(B * F), 0.3, 0.05);
  View1<double> X("X", T * B * F);
  Kokkos::deep_copy(X, 1.0);
  dropout_apply<double>(T, B * F, m1, X);
  const auto x = to_host(X);
  for (int t = 0; t < T; ++t)
    for (int q = 0; q < B * F; ++q) ASSERT_EQ(x[t * B * F + q], a[q]);
}

// ---- the model
// --------------------------------------------------------------------------------------

std::vector<LayerSpec> small_cnn() {
  auto c2 = conv(3, 3, 1, 0, NeuronKind::If);
  c2.neuron.reset = ResetKind::Soft;
  c2.neuron.threshold = 0.7;
  auto d = dense(5);
  d.neuron.threshold = 0.2;
  return {conv(2, 3, 1, 1), pool(2, true), c2, pool(2, false, 1), d, readout()};
}

TEST(LayeredSnn, ForwardMatchesLoopReference) {
  const int B = 3, H = 10, W = 9, T = 4, classes = 3;
  LayeredSnn<double> net(small_cnn(), 1, H, W, T, classes);
  net.init_scaled(11, 4.0);
  Images im;
  make_images(im, B, H, W, 5);
  net.forward(im.bb);
  const auto want = network_ref(small_cnn(), 1, H, W, T, classes, B, im.x, net.weights_host());
  expect_close(net.logits_host(), want, 1e-12, "logits");
  // Not vacuous: the spiking layers fire, and the samples get different logits.
  for (double r : net.spike_rates()) EXPECT_GT(r, 0);
  EXPECT_NE(want[0], want[classes]);
}

TEST(LayeredSnn, GradientsOfAPiecewiseLinearNetworkMatchFiniteDifferences) {
  // No neurons: the network is piecewise linear (max pooling), so its gradient is exact.
  const std::vector<LayerSpec> specs = {conv(2, 3, 2, 1, NeuronKind::None), pool(2, true, 1),
                                        conv(2, 2, 1, 0, NeuronKind::None), pool(2, false),
                                        dense(4, NeuronKind::None),         readout()};
  const int B = 2, H = 9, W = 9, T = 2;
  LayeredSnn<double> net(specs, 1, H, W, T, 3);
  net.init_scaled(3, 1.0);
  auto w = net.weights_host();
  for (std::size_t q = 0; q < w.size(); ++q) w[q] += 0.1 * (uniform01(8, 8, q) - 0.5);  // biases
  net.set_weights_host(w);
  Images im;
  make_images(im, B, H, W, 6);
  const auto labels = labels_of({2, 0});
  const LossParams lp = ce(0.5);
  total_loss(net, im, labels, lp);
  net.backward(im.bb);
  const auto g = to_host(net.grads());
  std::vector<double> fd(w.size());
  for (std::size_t q = 0; q < w.size(); ++q) {
    auto a = w, b = w;
    a[q] += 1e-6;
    b[q] -= 1e-6;
    net.set_weights_host(a);
    const double la = total_loss(net, im, labels, lp);
    net.set_weights_host(b);
    fd[q] = (la - total_loss(net, im, labels, lp)) / 2e-6;
  }
  expect_close(g, fd, 1e-6, "gradient");
  EXPECT_GT(std::sqrt(dot(g, g)), 1e-3);
}

TEST(LayeredSnn, SpikingNetworkReadoutGradientExactAndSurrogateDescends) {
  const int B = 4, H = 10, W = 9, T = 4;
  LayeredSnn<double> net(small_cnn(), 1, H, W, T, 3);
  net.init_scaled(11, 4.0);
  Images im;
  make_images(im, B, H, W, 5);
  const auto labels = labels_of({0, 1, 2, 1});
  const LossParams lp = ce();
  const double l0 = total_loss(net, im, labels, lp);
  net.backward(im.bb);
  const auto g = to_host(net.grads());
  const auto w = net.weights_host();
  // The readout's weights and bias (the last blocks) do not change any spike: exact gradient.
  const std::size_t first = net.param_blocks()[net.param_blocks().size() - 2].offset;
  for (std::size_t q = first; q < w.size(); ++q) {
    auto a = w, b = w;
    a[q] += 1e-6;
    b[q] -= 1e-6;
    net.set_weights_host(a);
    const double la = total_loss(net, im, labels, lp);
    net.set_weights_host(b);
    EXPECT_NEAR(g[q], (la - total_loss(net, im, labels, lp)) / 2e-6, 1e-6) << q;
  }
  // The whole surrogate gradient: a small step against it lowers the loss, along it raises it.
  const double eps = 0.02 / std::sqrt(dot(g, g));
  auto down = w, up = w;
  for (std::size_t q = 0; q < w.size(); ++q) {
    down[q] -= eps * g[q];
    up[q] += eps * g[q];
  }
  net.set_weights_host(down);
  EXPECT_LT(total_loss(net, im, labels, lp), l0);
  net.set_weights_host(up);
  EXPECT_GT(total_loss(net, im, labels, lp), l0);
}

TEST(LayeredSnn, BatchNormTrainingEvaluationAndGradients) {
  const NeuronKind none = NeuronKind::None;
  const std::vector<LayerSpec> smooth = {conv(3, 3, 1, 1, none), norm(none), pool(2, false),
                                         dense(4, none),         norm(none), readout()};
  const int B = 3, H = 6, W = 6, T = 2;
  LayeredSnn<double> net(smooth, 1, H, W, T, 3);
  net.init_scaled(4, 1.0);
  auto w = net.weights_host();
  for (std::size_t q = 0; q < w.size(); ++q) w[q] += 0.2 * (uniform01(9, 9, q) - 0.5);
  net.set_weights_host(w);
  Images im;
  make_images(im, B, H, W, 2, true);
  // Training: the batch's statistics over time, samples and positions.
  const auto before = net.buffers_host();
  net.forward(im.bb);
  expect_close(net.logits_host(), network_ref(smooth, 1, H, W, T, 3, B, im.x, w), 1e-11,
               "training logits");
  // Running statistics: 0.9 old + 0.1 batch (unbiased variance), checked on layer 2's channel 0.
  const auto after = net.buffers_host();
  ASSERT_EQ(after.size(), 2u * 3 + 2u * 4);
  EXPECT_EQ(before[0], 0.0);
  EXPECT_EQ(before[3], 1.0);
  {  // channel 0 of layer 1's current: the same at every step, so the T copies change nothing
    const ConvGeometry g{1, H, W, 3, 1, 1};
    const auto y = conv_ref(g, B, 3, im.x, std::vector<double>(w.begin(), w.begin() + 27), {});
    const double n = static_cast<double>(y.size()) / 3;
    double mean = 0, var = 0;
    for (std::size_t q = 0; q < y.size(); q += 3) mean += y[q] / n;
    for (std::size_t q = 0; q < y.size(); q += 3) var += (y[q] - mean) * (y[q] - mean) / n;
    EXPECT_NEAR(after[0], 0.1 * mean, 1e-12);
    EXPECT_NEAR(after[3], 0.9 + 0.1 * var * (T * n) / (T * n - 1), 1e-12);
  }
  // Evaluation uses the running statistics.
  Images ev;
  make_images(ev, B, H, W, 2, false);
  net.forward(ev.bb);
  expect_close(net.logits_host(), network_ref(smooth, 1, H, W, T, 3, B, ev.x, w, &after), 1e-11,
               "evaluation logits");
  EXPECT_EQ(net.buffers_host(), after);  // evaluation leaves them alone
  // Gradients in training mode against central differences (the network is smooth).
  const auto labels = labels_of({1, 2, 0});
  const LossParams lp = ce();
  total_loss(net, im, labels, lp);
  net.backward(im.bb);
  const auto g = to_host(net.grads());
  for (std::size_t q = 0; q < w.size(); ++q) {
    auto a = w, b = w;
    a[q] += 1e-6;
    b[q] -= 1e-6;
    net.set_weights_host(a);
    const double la = total_loss(net, im, labels, lp);
    net.set_weights_host(b);
    EXPECT_NEAR(g[q], (la - total_loss(net, im, labels, lp)) / 2e-6, 1e-6 * (1 + std::fabs(g[q])))
        << q;
  }
  // With spiking neurons after the norms the forward pass still matches the reference.
  const std::vector<LayerSpec> spiking = {conv(3, 3, 1, 1, none), norm(), pool(2, true),
                                          dense(4, none),         norm(), readout()};
  LayeredSnn<double> snn(spiking, 1, H, W, T, 3);
  snn.set_weights_host(w);
  snn.forward(im.bb);
  expect_close(snn.logits_host(), network_ref(spiking, 1, H, W, T, 3, B, im.x, w), 1e-11,
               "spiking logits");
  EXPECT_GT(snn.spike_rates().at(0), 0);  // the normalised conv layer fires
  // Once the running statistics have converged to this batch's (many training passes over it),
  // evaluation on the same images fires like training: the same logits up to the unbiased
  // variance's factor n / (n - 1) (none of the potentials sits that close to a threshold here).
  const auto train_rates = snn.spike_rates();
  for (int pass = 0; pass < 300; ++pass) snn.forward(im.bb);
  snn.forward(ev.bb);
  const auto eval_rates = snn.spike_rates();
  for (std::size_t k = 0; k < train_rates.size(); ++k)
    EXPECT_NEAR(eval_rates[k], train_rates[k], 0.05 * train_rates[k] + 1e-9) << "layer " << k;
}

TEST(LayeredSnn, DropoutActsInTrainingOnly) {
  const std::vector<LayerSpec> specs = {dense(30), dropout(0.5), readout()};
  const int B = 3, H = 6, W = 5, T = 3;
  LayeredSnn<double> net(specs, 1, H, W, T, 3);
  net.init_scaled(2, 2.0);
  Images eval, train;
  make_images(eval, B, H, W, 4, false);
  make_images(train, B, H, W, 4, true);
  net.forward(eval.bb);
  const auto z_eval = net.logits_host();
  expect_close(z_eval, network_ref(specs, 1, H, W, T, 3, B, eval.x, net.weights_host()), 1e-12,
               "evaluation ignores dropout");
  net.forward(train.bb);
  const auto z_train = net.logits_host();
  net.forward(train.bb);
  expect_close(net.logits_host(), z_train, 0, "the same key draws the same masks");
  EXPECT_NE(z_train, z_eval);
}

TEST(LayeredSnn, EventPathEqualsGemmPathAndAutoFollowsTheDensity) {
  const int B = 4, H = 10, W = 9, T = 4;
  auto specs = small_cnn();
  specs.insert(specs.begin() + 3, dropout(0.3));  // scaled spikes into the second conv
  Images im;
  make_images(im, B, H, W, 5, true);
  const auto labels = labels_of({0, 1, 2, 1});
  std::vector<std::vector<double>> logits, grads;
  for (InputPath path : {InputPath::Dense, InputPath::Events}) {
    LayeredSnn<double> net(specs, 1, H, W, T, 3);
    net.init_scaled(11, 4.0);
    InputPathOptions io;
    io.path = path;
    net.set_input_path(io);
    total_loss(net, im, labels, ce());
    net.backward(im.bb);
    logits.push_back(net.logits_host());
    grads.push_back(to_host(net.grads()));
    const auto use = net.hidden_layers();
    ASSERT_EQ(use.size(), 3u);  // conv 2, dense, readout (the first conv reads the image)
    for (const auto& u : use) EXPECT_EQ(u.events, path == InputPath::Events) << u.layer;
  }
  expect_close(logits[1], logits[0], 1e-12, "logits");
  expect_close(grads[1], grads[0], 1e-11, "gradients");
  double norm = 0;  // not vacuous: the hidden layers' gradients are not all zero
  for (double g : grads[0]) norm += g * g;
  EXPECT_GT(norm, 0);
  // Auto: events below the threshold, gemm at or above it, per layer and pass.
  LayeredSnn<double> net(specs, 1, H, W, T, 3);
  net.init_scaled(11, 4.0);
  InputPathOptions io;
  io.dense_density = 1e-9;  // every layer's input is denser: gemm
  net.set_input_path(io);
  total_loss(net, im, labels, ce());
  for (const auto& u : net.hidden_layers()) {
    EXPECT_FALSE(u.events) << u.layer;
    EXPECT_GT(u.density, 0);
    EXPECT_LT(u.density, 1);
  }
  io.dense_density = 1;  // every density is below 1: events
  net.set_input_path(io);
  total_loss(net, im, labels, ce());
  for (const auto& u : net.hidden_layers()) EXPECT_TRUE(u.events) << u.layer;
  expect_close(net.logits_host(), logits[0], 1e-12, "logits (auto)");
  io.dense_density = 0;  // the built-in thresholds: conv layers by density, dense ones by gemm
  net.set_input_path(io);
  total_loss(net, im, labels, ce());
  for (const auto& u : net.hidden_layers())
    EXPECT_EQ(u.events,
              specs[u.layer - 1].kind == LayerKind::Conv && u.density < default_event_density(true))
        << u.layer;
}

TEST(LayeredSnn, FloatAgreesWithDouble) {
  const int B = 2, H = 10, W = 9, T = 3;
  // IF neurons with soft reset and no leak keep potentials away from the threshold rarely enough
  // that float rounding flips no spike here; the linear readout path is compared.
  const std::vector<LayerSpec> specs = {conv(2, 3, 1, 1, NeuronKind::None), pool(2, false),
                                        dense(6, NeuronKind::None), readout()};
  LayeredSnn<double> d(specs, 1, H, W, T, 3);
  LayeredSnn<float> f(specs, 1, H, W, T, 3);
  d.init_scaled(1, 1.0);
  f.init_scaled(1, 1.0);
  Images im;
  make_images(im, B, H, W, 3);
  BatchBuilder<float> fb;
  {
    View3<std::uint8_t> img("img", B, H, W);
    auto h = Kokkos::create_mirror_view(img);
    for (int q = 0; q < B * H * W; ++q)
      h.data()[q] = static_cast<std::uint8_t>(std::lround(im.x[q] * 255));
    Kokkos::deep_copy(img, h);
    fb.build_images(img, B);
  }
  d.forward(im.bb);
  f.forward(fb);
  expect_close(f.logits_host(), d.logits_host(), 1e-5, "float logits");
}

TEST(LayeredSnn, LayersThatDoNotFitAreRefusedNamingTheLayer) {
  auto refused = [](const std::vector<LayerSpec>& s, int H, const std::string& want) {
    try {
      LayeredSnn<double> net(s, 1, H, H, 4, 3);
      ADD_FAILURE() << "accepted; expected: " << want;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  };
  refused({conv(4, 7, 1, 0), readout()}, 5, "model.layers[1] (conv): kernel 7 is larger");
  refused({conv(4, 3, 1, 1), pool(8, true), readout()}, 5, "model.layers[2] (pool): window 8");
  refused({pool(2, true), readout()}, 8, "model.layers[1] (pool): the first layer must be");
  refused({dense(4), conv(2, 3, 1, 1), readout()}, 8, "model.layers[2] (conv): a convolution");
  refused({dense(4), readout(2)}, 8, "model.layers[2] (readout): units = 2 but the data has 3");
  refused({dense(4), readout(17)}, 8, "at most 16");
  refused({dense(4)}, 8, "the last layer must be a readout");
  auto biased = dense(4, NeuronKind::None);
  biased.bias = true;
  refused({biased, norm(), readout()}, 8, "model.layers[1] (dense): set bias = false");
}

}  // namespace
}  // namespace supsnn
