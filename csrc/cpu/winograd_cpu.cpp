// CPU implementation of torch.ops.fastocr.conv3x3_winograd: a 3x3, stride 1, padding 1 convolution as Winograd
// F(4x4, 3x3) (Lavin & Gray, 2015). Each 4x4 output tile comes from a 6x6 input tile with 36 multiplies per
// channel pair instead of 144: the input tiles are transformed here (V = B^T d B, channels innermost, so the
// compiler vectorises across channels), the 36 products are one batched GEMM (at::bmm: [36, tiles, C] x
// [36, C, K], U = G g G^T transformed once per weight in Python), and the output transform (A^T m A) adds the
// bias and writes NHWC. On the CPU the direct convolution already runs at the cores' FMA peak, so fewer
// multiplies are what makes the CNN faster (fastocr/model.py: Conv3x3).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <optional>

namespace fastocr {
namespace {

constexpr int64_t kChannelBlock = 64;  // channels transformed together: a 6x6 block of them stays in L1

// One 6-point input transform B^T d (rows of B^T: 4,0,-5,0,1,0 / 0,-4,-4,1,1,0 / 0,4,-4,-1,1,0 / 0,-2,-1,2,1,0 /
// 0,2,-1,-2,1,0 / 0,4,0,-5,0,1), over n channels at stride `in` apart, written `out` apart.
inline void input_points(const float* d, int64_t in, float* r, int64_t out, int64_t n) {
#pragma omp simd
  for (int64_t c = 0; c < n; ++c) {
    const float d0 = d[c], d1 = d[in + c], d2 = d[2 * in + c], d3 = d[3 * in + c], d4 = d[4 * in + c],
                d5 = d[5 * in + c];
    r[c] = 4.f * d0 - 5.f * d2 + d4;
    r[out + c] = -4.f * (d1 + d2) + d3 + d4;
    r[2 * out + c] = 4.f * (d1 - d2) - d3 + d4;
    r[3 * out + c] = 2.f * (d3 - d1) - d2 + d4;
    r[4 * out + c] = 2.f * (d1 - d3) - d2 + d4;
    r[5 * out + c] = 4.f * d1 - 5.f * d3 + d5;
  }
}

// One 6-point output transform A^T m (rows of A^T: 1,1,1,1,1,0 / 0,1,-1,2,-2,0 / 0,1,1,4,4,0 / 0,1,-1,8,-8,1).
inline void output_points(const float* m, int64_t in, float* r, int64_t out, int64_t n) {
#pragma omp simd
  for (int64_t c = 0; c < n; ++c) {
    const float m0 = m[c], m1 = m[in + c], m2 = m[2 * in + c], m3 = m[3 * in + c], m4 = m[4 * in + c],
                m5 = m[5 * in + c];
    const float s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4;
    r[c] = m0 + s12 + s34;
    r[out + c] = d12 + 2.f * d34;
    r[2 * out + c] = s12 + 4.f * s34;
    r[3 * out + c] = d12 + 8.f * d34 + m5;
  }
}

// A tile's image and the top-left output pixel of its 4x4 block; tiles run image-major, then row, then column.
struct TileOrigin {
  int64_t n, y, x;
};
inline TileOrigin tile_origin(int64_t tile, int64_t th, int64_t tw) {
  return {tile / (th * tw), (tile / tw) % th * 4, tile % tw * 4};
}

at::Tensor conv3x3_winograd_cpu(const at::Tensor& input, const at::Tensor& weight_t,
                                const std::optional<at::Tensor>& bias) {
  TORCH_CHECK(input.dim() == 4 && input.scalar_type() == at::kFloat,
              "conv3x3_winograd: input must be float32 [N, C, H, W], got ", input.sizes(), " ", input.scalar_type());
  TORCH_CHECK(weight_t.dim() == 3 && weight_t.size(0) == 36 && weight_t.size(1) == input.size(1) &&
                  weight_t.scalar_type() == at::kFloat,
              "conv3x3_winograd: weight_t must be float32 [36, C, K] with C = ", input.size(1), ", got ",
              weight_t.sizes());
  const int64_t N = input.size(0), C = input.size(1), H = input.size(2), W = input.size(3), K = weight_t.size(2);
  TORCH_CHECK(!bias.has_value() || (bias->numel() == K && bias->scalar_type() == at::kFloat),
              "conv3x3_winograd: bias must be float32 [", K, "]");
  const at::Tensor x = input.contiguous(at::MemoryFormat::ChannelsLast);  // NHWC: a pixel's channels adjacent
  const int64_t th = (H + 3) / 4, tw = (W + 3) / 4, tiles = N * th * tw;
  at::Tensor out = at::empty({N, K, H, W}, input.options().memory_format(at::MemoryFormat::ChannelsLast));
  if (tiles == 0 || K == 0) return out;
  at::Tensor v = at::empty({36, tiles, C}, input.options());
  const float* xp = x.data_ptr<float>();
  float* vp = v.data_ptr<float>();

  at::parallel_for(0, tiles, 1, [&](int64_t begin, int64_t end) {
    float d[36 * kChannelBlock], t[36 * kChannelBlock];  // [6][6][block]
    for (int64_t tile = begin; tile < end; ++tile) {
      const auto [n, oy, ox] = tile_origin(tile, th, tw);
      const int64_t y0 = oy - 1, x0 = ox - 1;  // the input tile starts one pixel up and left (padding 1)
      for (int64_t c0 = 0; c0 < C; c0 += kChannelBlock) {
        const int64_t cb = std::min(kChannelBlock, C - c0);
        for (int64_t r = 0; r < 6; ++r)
          for (int64_t s = 0; s < 6; ++s) {
            float* dst = d + (r * 6 + s) * kChannelBlock;
            const int64_t yy = y0 + r, xx = x0 + s;
            if (yy < 0 || yy >= H || xx < 0 || xx >= W)
              std::fill(dst, dst + cb, 0.f);
            else
              std::copy_n(xp + ((n * H + yy) * W + xx) * C + c0, cb, dst);
          }
        for (int64_t s = 0; s < 6; ++s)  // down the columns: t[i][s] = sum_j B^T[i][j] d[j][s]
          input_points(d + s * kChannelBlock, 6 * kChannelBlock, t + s * kChannelBlock, 6 * kChannelBlock, cb);
        for (int64_t i = 0; i < 6; ++i) {  // along the rows: v[i][l] = sum_k t[i][k] B^T[l][k]
          float row[6 * kChannelBlock];
          input_points(t + i * 6 * kChannelBlock, kChannelBlock, row, kChannelBlock, cb);
          for (int64_t l = 0; l < 6; ++l)
            std::copy_n(row + l * kChannelBlock, cb, vp + ((i * 6 + l) * tiles + tile) * C + c0);
        }
      }
    }
  });

  const at::Tensor m = at::bmm(v, weight_t.contiguous());  // [36, tiles, K]
  const float* mp = m.data_ptr<float>();
  const at::Tensor b = bias.has_value() ? bias->contiguous() : at::Tensor();  // kept alive while bp is read
  const float* bp = b.defined() ? b.data_ptr<float>() : nullptr;
  float* op = out.data_ptr<float>();

  at::parallel_for(0, tiles, 1, [&](int64_t begin, int64_t end) {
    float g[36 * kChannelBlock], t[24 * kChannelBlock], y[16 * kChannelBlock];  // [6][6], [4][6], [4][4] x block
    for (int64_t tile = begin; tile < end; ++tile) {
      const auto [n, y0, x0] = tile_origin(tile, th, tw);
      for (int64_t k0 = 0; k0 < K; k0 += kChannelBlock) {
        const int64_t kb = std::min(kChannelBlock, K - k0);
        for (int64_t e = 0; e < 36; ++e) std::copy_n(mp + (e * tiles + tile) * K + k0, kb, g + e * kChannelBlock);
        for (int64_t s = 0; s < 6; ++s)  // t[a][s] = sum_j A^T[a][j] g[j][s]
          output_points(g + s * kChannelBlock, 6 * kChannelBlock, t + s * kChannelBlock, 6 * kChannelBlock, kb);
        for (int64_t a = 0; a < 4; ++a)  // y[a][b] = sum_s t[a][s] A^T[b][s]
          output_points(t + a * 6 * kChannelBlock, kChannelBlock, y + a * 4 * kChannelBlock, kChannelBlock, kb);
        for (int64_t a = 0; a < 4 && y0 + a < H; ++a)
          for (int64_t b = 0; b < 4 && x0 + b < W; ++b) {
            float* dst = op + ((n * H + y0 + a) * W + x0 + b) * K + k0;
            const float* src = y + (a * 4 + b) * kChannelBlock;
            if (bp != nullptr) {
#pragma omp simd
              for (int64_t k = 0; k < kb; ++k) dst[k] = src[k] + bp[k0 + k];
            } else {
              std::copy_n(src, kb, dst);
            }
          }
      }
    }
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(fastocr, CPU, m) { m.impl("conv3x3_winograd", &conv3x3_winograd_cpu); }

}  // namespace fastocr
