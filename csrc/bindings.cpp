// The one translation unit that includes torch/extension.h: it defines the fastocr operator library
// (schemas only; each backend in cpu/ and cuda/ registers its own implementation) and the Python module.
#include <torch/extension.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#include "beam_step.h"

namespace fastocr {

// What this build holds, so `fastocr.backend_info()` can tell the truth about the compiled parts.
pybind11::dict build_info() {
  pybind11::dict info;
  info["torch_version"] = TORCH_VERSION;
  info["num_threads"] = at::get_num_threads();
  info["max_beam"] = kMaxBeam;
#ifdef _OPENMP
  info["openmp"] = true;
#else
  info["openmp"] = false;
#endif
  return info;
}

// Test hook: the CUDA kernel's candidate selection for one row (each of `lanes` threads scans a strided share,
// then a tree of pairwise merges), run sequentially on the CPU with the same beam_step.h functions, so the merge
// path is tested on machines without a GPU. log_probs [K, V] f32, scores [K] f32 -> (ids [2K] i64, scores [2K]).
std::tuple<at::Tensor, at::Tensor> emulate_block_topk(const at::Tensor& log_probs, const at::Tensor& scores,
                                                      int64_t lanes) {
  TORCH_CHECK(log_probs.dim() == 2 && log_probs.scalar_type() == at::kFloat && log_probs.is_cpu(),
              "emulate_block_topk: log_probs must be float32 [K, V] on cpu");
  const int K = static_cast<int>(log_probs.size(0)), V = static_cast<int>(log_probs.size(1)), cap = 2 * K;
  TORCH_CHECK(K >= 1 && K <= kMaxBeam && V >= 2, "emulate_block_topk: need 1 <= K <= ", kMaxBeam, " and V >= 2");
  TORCH_CHECK(scores.numel() == K && scores.scalar_type() == at::kFloat, "emulate_block_topk: scores must be [K]");
  TORCH_CHECK(lanes >= 1 && (lanes & (lanes - 1)) == 0, "emulate_block_topk: lanes must be a power of 2");
  const at::Tensor lp = log_probs.contiguous(), sc = scores.contiguous();
  std::vector<BeamCand> lists(lanes * cap);
  std::vector<int> counts(lanes, 0);
  const BeamDfa none{nullptr, nullptr, nullptr, 0, 0};
  for (int tid = 0; tid < lanes; ++tid)
    for (int k = 0; k < K; ++k)
      beam_row_scan_parent(lp.data_ptr<float>() + static_cast<int64_t>(k) * V, sc.data_ptr<float>()[k], nullptr,
                           none, -1, k, V, tid, static_cast<int>(lanes), &lists[tid * cap], counts[tid], cap);
  for (int half = static_cast<int>(lanes) / 2; half > 0; half /= 2)
    for (int tid = 0; tid < half; ++tid) {
      BeamCand merged[kMaxCand];
      const int n = beam_row_merge(&lists[tid * cap], counts[tid], &lists[(tid + half) * cap], counts[tid + half],
                                   merged, cap);
      std::copy(merged, merged + n, &lists[tid * cap]);
      counts[tid] = n;
    }
  beam_row_fill_dead(lists.data(), counts[0], cap, K * V);
  at::Tensor ids = at::empty({cap}, at::kLong), out = at::empty({cap}, at::kFloat);
  for (int i = 0; i < cap; ++i) {
    ids.data_ptr<int64_t>()[i] = lists[i].id;
    out.data_ptr<float>()[i] = lists[i].score;
  }
  return {ids, out};
}

}  // namespace fastocr

// One schema per op; each backend registers its implementation (cpu/beam_step_cpu.cpp, cuda/beam_step_cuda.cu).
TORCH_LIBRARY(fastocr, m) {
  // beam_step: one batched beam-search step (rules: fastocr/reference.py; per-row logic: beam_step.h).
  // Shapes: B images, K beam (<= 32), V classes, L = max_len, N n-best (<= K), M automaton states, E edges.
  //   log_probs [B*K, V] f32          this step's log-probs (log-softmax already applied), rows image-major
  //   scores [B, K] f32 (!)           running log-prob sums; start 0 for beam 0 and -inf for the others
  //   done [B] bool (!)               rows whose n-best list is final; done rows are left untouched
  //   history, history_logp [B*K, L] i64, f32 (!)   tokens / log-probs of each live hypothesis (cols < step)
  //   fin_scores [B, N] f64 (!)       n-best finished scores, best first; start -inf
  //   fin_tokens, fin_logp [B, N, L] i64, f32 (!)   their tokens (EOS included) / log-probs; start EOS / 0
  //   fin_lengths [B, N] i64 (!)      their lengths; 0 marks an empty slot; start 0
  //   step                            0-based step index (< L); at step L-1 live rows are finalised
  //   token_mask [B*K, V] bool        optional: tokens each hypothesis may take (masked = log-prob -inf)
  //   dfa_offsets [M+1], dfa_tokens [E], dfa_next [E] i64   optional automaton (CSR; an EOS edge = accepting)
  //   dfa_state [B*K] i64 (!)         each hypothesis's automaton state; start 0 (with the dfa_* above)
  // Returns (tokens [B*K] i64: the next input tokens, parents [B*K] i64: flat row to reorder decoder state by).
  m.def(
      "beam_step(Tensor log_probs, Tensor(a!) scores, Tensor(b!) done, Tensor(c!) history, "
      "Tensor(d!) history_logp, Tensor(e!) fin_scores, Tensor(f!) fin_tokens, Tensor(g!) fin_logp, "
      "Tensor(h!) fin_lengths, int step, float length_penalty, int eos, Tensor? token_mask=None, "
      "Tensor? dfa_offsets=None, Tensor? dfa_tokens=None, Tensor? dfa_next=None, Tensor(i!)? dfa_state=None) "
      "-> (Tensor, Tensor)");
  // conv3x3_winograd: a 3x3, stride 1, padding 1 convolution by Winograd F(4x4, 3x3) (cpu/winograd_cpu.cpp).
  //   input [N, C, H, W] f32 (read as NHWC), weight_t [36, C, K] f32 (ops.winograd_weight), bias [K] f32
  // Returns [N, K, H, W] f32, channels_last.
  m.def("conv3x3_winograd(Tensor input, Tensor weight_t, Tensor? bias=None) -> Tensor");
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "fastocr C++ extension: CPU implementations of the decoding ops and the Winograd convolution";
  m.def("build_info", &fastocr::build_info, "What this compiled extension holds");
  m.def("emulate_block_topk", &fastocr::emulate_block_topk, "Test hook: the CUDA kernel's top-2K selection on the CPU",
        pybind11::arg("log_probs"), pybind11::arg("scores"), pybind11::arg("lanes"));
}
