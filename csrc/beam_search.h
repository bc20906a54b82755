// What the beam_step backends share: argument checks (TORCH_CHECK messages name the op and the argument) and the
// raw-pointer view handed to beam_step.h. Header-only, because the CPU (fastocr._C) and CUDA (fastocr._C_cuda)
// implementations live in two separate shared objects.
#pragma once

#include <ATen/ATen.h>

#include <cmath>
#include <optional>
#include <string>

#include "beam_step.h"

namespace fastocr {

// Tensors of one call that must outlive the launch: contiguous copies of read-only inputs, the two outputs.
struct BeamStepCall {
  at::Tensor log_probs, token_mask, dfa_offsets, dfa_tokens, dfa_next;
  at::Tensor tokens, parents;  // [B*K] int64 each
  BeamStepPtrs ptrs;
};

inline std::string beam_describe(const at::Tensor& t) {
  std::string s = std::string(c10::toString(t.scalar_type())) + " [";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + "] on " + t.device().str();
}

// Checks one tensor argument: dtype, exact shape (-1: any size), device; `mutated` ones must be contiguous,
// since the op writes through their data pointer.
inline void beam_check(const at::Tensor& t, const char* name, at::ScalarType dtype, std::vector<int64_t> shape,
                       const char* shape_doc, const at::Device& device, bool mutated) {
  bool ok = t.scalar_type() == dtype && t.dim() == static_cast<int64_t>(shape.size()) && t.device() == device;
  for (size_t d = 0; ok && d < shape.size(); ++d) ok = shape[d] < 0 || t.size(d) == shape[d];
  TORCH_CHECK(ok, "beam_step: ", name, " must be ", c10::toString(dtype), " ", shape_doc, " on ", device.str(),
              ", got ", beam_describe(t));
  TORCH_CHECK(!mutated || t.is_contiguous(), "beam_step: ", name, " is written in place and must be contiguous");
}

// Validates a beam_step call (schema in bindings.cpp) and builds its pointer view. Sizes come from the shapes:
// B, K from scores, V from log_probs, L from history, N from fin_scores.
inline BeamStepCall beam_step_prepare(const at::Tensor& log_probs, const at::Tensor& scores, const at::Tensor& done,
                                      const at::Tensor& history, const at::Tensor& history_logp,
                                      const at::Tensor& fin_scores, const at::Tensor& fin_tokens,
                                      const at::Tensor& fin_logp, const at::Tensor& fin_lengths, int64_t step,
                                      double length_penalty, int64_t eos,
                                      const std::optional<at::Tensor>& token_mask,
                                      const std::optional<at::Tensor>& dfa_offsets,
                                      const std::optional<at::Tensor>& dfa_tokens,
                                      const std::optional<at::Tensor>& dfa_next,
                                      const std::optional<at::Tensor>& dfa_state, c10::DeviceType backend) {
  TORCH_CHECK(log_probs.dim() == 2 && log_probs.scalar_type() == at::kFloat,
              "beam_step: log_probs must be float32 [B*K, V], got ", beam_describe(log_probs));
  TORCH_CHECK(log_probs.device().type() == backend, "beam_step: expected tensors on ", c10::DeviceTypeName(backend),
              ", got log_probs on ", log_probs.device().str());
  const at::Device dev = log_probs.device();
  TORCH_CHECK(scores.dim() == 2, "beam_step: scores must be float32 [B, K], got ", beam_describe(scores));
  const int64_t B = scores.size(0), K = scores.size(1), V = log_probs.size(1);
  TORCH_CHECK(K >= 1 && K <= kMaxBeam, "beam_step: beam size K = scores.size(1) must be in 1..", kMaxBeam,
              ", got ", K);
  beam_check(scores, "scores", at::kFloat, {B, K}, "[B, K]", dev, true);
  TORCH_CHECK(log_probs.size(0) == B * K, "beam_step: log_probs must be [B*K, V] = [", B * K, ", V], got ",
              beam_describe(log_probs));
  TORCH_CHECK(V >= 2 && K * V < (int64_t{1} << 31), "beam_step: need 2 <= V and K*V < 2^31, got V = ", V);
  TORCH_CHECK(eos >= 0 && eos < V, "beam_step: eos must be a class id in 0..", V - 1, ", got ", eos);
  TORCH_CHECK(std::isfinite(length_penalty), "beam_step: length_penalty must be finite, got ", length_penalty);
  beam_check(done, "done", at::kBool, {B}, "[B]", dev, true);
  TORCH_CHECK(history.dim() == 2 && history.size(1) >= 1, "beam_step: history must be int64 [B*K, L], got ",
              beam_describe(history));
  const int64_t L = history.size(1);
  beam_check(history, "history", at::kLong, {B * K, L}, "[B*K, L]", dev, true);
  beam_check(history_logp, "history_logp", at::kFloat, {B * K, L}, "[B*K, L]", dev, true);
  TORCH_CHECK(step >= 0 && step < L, "beam_step: step must be in 0..L-1 = 0..", L - 1, " (L = history.size(1)), got ",
              step);
  TORCH_CHECK(fin_scores.dim() == 2, "beam_step: fin_scores must be float64 [B, N], got ", beam_describe(fin_scores));
  const int64_t N = fin_scores.size(1);
  TORCH_CHECK(N >= 1 && N <= K, "beam_step: n-best size N = fin_scores.size(1) must be in 1..K = 1..", K, ", got ", N);
  beam_check(fin_scores, "fin_scores", at::kDouble, {B, N}, "[B, N]", dev, true);
  beam_check(fin_tokens, "fin_tokens", at::kLong, {B, N, L}, "[B, N, L]", dev, true);
  beam_check(fin_logp, "fin_logp", at::kFloat, {B, N, L}, "[B, N, L]", dev, true);
  beam_check(fin_lengths, "fin_lengths", at::kLong, {B, N}, "[B, N]", dev, true);

  BeamStepCall call;
  call.log_probs = log_probs.contiguous();
  if (token_mask.has_value()) {
    beam_check(*token_mask, "token_mask", at::kBool, {B * K, V}, "[B*K, V]", dev, false);
    call.token_mask = token_mask->contiguous();
  }
  const int given = dfa_offsets.has_value() + dfa_tokens.has_value() + dfa_next.has_value() + dfa_state.has_value();
  TORCH_CHECK(given == 0 || given == 4,
              "beam_step: dfa_offsets, dfa_tokens, dfa_next and dfa_state go together (all or none), got ", given);
  BeamDfa dfa{nullptr, nullptr, nullptr, 0, 0};
  if (given == 4) {
    TORCH_CHECK(dfa_offsets->dim() == 1 && dfa_offsets->size(0) >= 2,
                "beam_step: dfa_offsets must be int64 [M+1] with M >= 1 states, got ", beam_describe(*dfa_offsets));
    beam_check(*dfa_offsets, "dfa_offsets", at::kLong, {-1}, "[M+1]", dev, false);
    beam_check(*dfa_tokens, "dfa_tokens", at::kLong, {-1}, "[E]", dev, false);
    beam_check(*dfa_next, "dfa_next", at::kLong, {dfa_tokens->size(0)}, "[E] (as dfa_tokens)", dev, false);
    beam_check(*dfa_state, "dfa_state", at::kLong, {B * K}, "[B*K]", dev, true);
    call.dfa_offsets = dfa_offsets->contiguous();
    call.dfa_tokens = dfa_tokens->contiguous();
    call.dfa_next = dfa_next->contiguous();
    dfa = BeamDfa{call.dfa_offsets.data_ptr<int64_t>(), call.dfa_tokens.data_ptr<int64_t>(),
                  call.dfa_next.data_ptr<int64_t>(), call.dfa_offsets.size(0) - 1, call.dfa_tokens.size(0)};
  }
  call.tokens = at::empty({B * K}, log_probs.options().dtype(at::kLong));
  call.parents = at::empty({B * K}, log_probs.options().dtype(at::kLong));
  call.ptrs = BeamStepPtrs{call.log_probs.data_ptr<float>(),
                           scores.data_ptr<float>(),
                           done.data_ptr<bool>(),
                           history.data_ptr<int64_t>(),
                           history_logp.data_ptr<float>(),
                           fin_scores.data_ptr<double>(),
                           fin_tokens.data_ptr<int64_t>(),
                           fin_logp.data_ptr<float>(),
                           fin_lengths.data_ptr<int64_t>(),
                           token_mask.has_value() ? call.token_mask.data_ptr<bool>() : nullptr,
                           dfa,
                           given == 4 ? dfa_state->data_ptr<int64_t>() : nullptr,
                           call.tokens.data_ptr<int64_t>(),
                           call.parents.data_ptr<int64_t>(),
                           static_cast<int>(B),
                           static_cast<int>(K),
                           static_cast<int>(V),
                           static_cast<int>(N),
                           L,
                           step,
                           eos,
                           length_penalty};
  return call;
}

}  // namespace fastocr
