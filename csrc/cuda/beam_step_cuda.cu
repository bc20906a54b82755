// CUDA implementation of torch.ops.fastocr.beam_step: one thread block per image row, running the beam_step.h
// functions the CPU runs. Each thread keeps the best 2K of a strided share of the K*V candidates, a tree of
// merges leaves the row's best 2K, one thread plans the step, and the threads rewrite one token position each.
// c10/cuda headers rather than ATen/cuda/CUDAContext.h: the latter pulls in cuSPARSE/cuBLAS headers, which a
// bare toolkit (nvcc + runtime, as on the compile-check machine) does not ship.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include "beam_search.h"
#include "beam_step.h"

namespace fastocr {
namespace {

constexpr int kMaxThreads = 128;
// Per-thread candidate lists live in dynamic shared memory; 32 KiB keeps two blocks per SM on sm_80 and leaves
// the 48 KiB default without an opt-in. K=5: 128 threads; K=16: 64; K=32: 32.
constexpr int kListBytes = 32 * 1024;

int threads_for(int K) {
  int threads = kMaxThreads;
  while (threads > 32 && threads * 2 * K * static_cast<int>(sizeof(BeamCand)) > kListBytes) threads /= 2;
  return threads;
}

__global__ void beam_step_kernel(BeamStepPtrs a) {
  extern __shared__ BeamCand lists[];  // [blockDim.x, 2K] each thread's best 2K, best first
  __shared__ int counts[kMaxThreads];
  __shared__ BeamRowPlan plan;
  const int b = blockIdx.x, tid = threadIdx.x, lanes = blockDim.x;
  const int K = a.K, V = a.V, cap = 2 * K;
  if (a.done[b]) {  // uniform across the block, so returning before the barriers is safe
    for (int j = tid; j < K; j += lanes) beam_row_write_idle(a, b, j);
    return;
  }
  const int64_t row0 = static_cast<int64_t>(b) * K;
  const float* logp = a.log_probs + row0 * V;  // [K, V]
  BeamCand* mine = lists + tid * cap;
  int count = 0;
  for (int k = 0; k < K; ++k) {
    const bool* mask = a.token_mask != nullptr ? a.token_mask + (row0 + k) * V : nullptr;
    const int64_t state = a.dfa_state != nullptr ? a.dfa_state[row0 + k] : -1;
    beam_row_scan_parent(logp + static_cast<int64_t>(k) * V, a.scores[row0 + k], mask, a.dfa, state, k, V, tid,
                         lanes, mine, count, cap);
  }
  counts[tid] = count;
  __syncthreads();
  // Tree merge: in each round thread tid < half reads list tid + half (never written this round) and
  // rewrites its own list, so one barrier per round suffices. The order is total, so the result is the
  // same best 2K the CPU's single pass finds.
  for (int half = lanes / 2; half > 0; half /= 2) {
    if (tid < half) {
      BeamCand merged[kMaxCand];
      const int n = beam_row_merge(mine, counts[tid], lists + (tid + half) * cap, counts[tid + half], merged, cap);
      for (int i = 0; i < n; ++i) mine[i] = merged[i];
      counts[tid] = n;
    }
    __syncthreads();
  }
  if (tid == 0) {
    int total = counts[0];
    beam_row_fill_dead(lists, total, cap, K * V);
    beam_row_plan(lists, logp, a.fin_scores + static_cast<int64_t>(b) * a.N,
                  a.fin_lengths + static_cast<int64_t>(b) * a.N, a.dfa.offsets != nullptr ? a.dfa.next : nullptr, K,
                  V, a.N, a.eos, a.step, a.L, a.alpha, plan);
  }
  __syncthreads();
  int64_t* fin_tok = a.fin_tokens + static_cast<int64_t>(b) * a.N * a.L;  // [N, L]
  float* fin_logp = a.fin_logp + static_cast<int64_t>(b) * a.N * a.L;
  for (int64_t pos = tid; pos <= a.step; pos += lanes)
    beam_row_copy_column(plan, K, a.N, a.L, a.step, pos, a.history + row0 * a.L, a.history_logp + row0 * a.L,
                         fin_tok, fin_logp);
  for (int j = tid; j < K; j += lanes) beam_row_write_live(plan, a, b, j);
  if (tid == 0) beam_row_write_finished(plan, a, b);
}

// Shapes of every argument: see the schema comment in bindings.cpp; the checks are shared with the CPU.
std::tuple<at::Tensor, at::Tensor> beam_step_cuda(
    const at::Tensor& log_probs,     // [B*K, V] float32
    const at::Tensor& scores,        // [B, K] float32, updated
    const at::Tensor& done,          // [B] bool, updated
    const at::Tensor& history,       // [B*K, L] int64, updated
    const at::Tensor& history_logp,  // [B*K, L] float32, updated
    const at::Tensor& fin_scores,    // [B, N] float64, updated
    const at::Tensor& fin_tokens,    // [B, N, L] int64, updated
    const at::Tensor& fin_logp,      // [B, N, L] float32, updated
    const at::Tensor& fin_lengths,   // [B, N] int64, updated
    int64_t step, double length_penalty, int64_t eos,
    const std::optional<at::Tensor>& token_mask,   // [B*K, V] bool
    const std::optional<at::Tensor>& dfa_offsets,  // [M+1] int64
    const std::optional<at::Tensor>& dfa_tokens,   // [E] int64
    const std::optional<at::Tensor>& dfa_next,     // [E] int64
    const std::optional<at::Tensor>& dfa_state) {  // [B*K] int64, updated
  const c10::cuda::CUDAGuard guard(log_probs.device());
  BeamStepCall call = beam_step_prepare(log_probs, scores, done, history, history_logp, fin_scores, fin_tokens,
                                        fin_logp, fin_lengths, step, length_penalty, eos, token_mask, dfa_offsets,
                                        dfa_tokens, dfa_next, dfa_state, c10::DeviceType::CUDA);
  const BeamStepPtrs& a = call.ptrs;
  if (a.B == 0) return {call.tokens, call.parents};
  const int threads = threads_for(a.K);
  const size_t list_bytes = static_cast<size_t>(threads) * 2 * a.K * sizeof(BeamCand);
  beam_step_kernel<<<a.B, threads, list_bytes, c10::cuda::getCurrentCUDAStream()>>>(a);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return {call.tokens, call.parents};
}

}  // namespace

TORCH_LIBRARY_IMPL(fastocr, CUDA, m) { m.impl("beam_step", &beam_step_cuda); }

}  // namespace fastocr
