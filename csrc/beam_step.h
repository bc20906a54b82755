// The per-row logic of torch.ops.fastocr.beam_step, shared by cpu/beam_step_cpu.cpp and cuda/beam_step_cuda.cu:
// plain structs and FASTOCR_HD inline functions over raw pointers for ONE batch row, no torch includes, so the
// CPU tests run the very code the GPU runs. The rules are those of fastocr/reference.py (its module docstring);
// each function says which rule it implements. Shapes: B images, K beam, V classes, N n-best, L = max_len.
#pragma once

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define FASTOCR_HD __host__ __device__
#else
#define FASTOCR_HD
#endif

namespace fastocr {

// Largest beam: a row's plan and each CUDA thread's candidate list are fixed arrays of 2 * kMaxBeam entries.
constexpr int kMaxBeam = 32;
constexpr int kMaxCand = 2 * kMaxBeam;

// One candidate (parent k, token v): score[k] + logp[k, v], its flat id k * V + v, and the automaton edge that
// emits v from k's state (-1 without an automaton, and for the -inf fillers).
struct BeamCand {
  float score;
  int32_t id;
  int32_t edge;
};

// The token constraint as a deterministic automaton in CSR form; offsets == nullptr means unconstrained.
// An edge labelled EOS marks an accepting state (EOS allowed there); its `next` is never read.
struct BeamDfa {
  const int64_t* offsets;  // [M+1] edges of state s are offsets[s] .. offsets[s+1]-1
  const int64_t* tokens;   // [E] token of each edge, ascending and unique per state
  const int64_t* next;     // [E] state reached along each edge
  int64_t num_states;      // M
  int64_t num_edges;       // E
};

// Raw pointers and sizes of one beam_step call (the tensor shapes are checked in beam_search.h).
struct BeamStepPtrs {
  const float* log_probs;  // [B*K, V]
  float* scores;           // [B, K] running sum of log-probs of each live hypothesis
  bool* done;              // [B]
  int64_t* history;        // [B*K, L] tokens of each live hypothesis
  float* history_logp;     // [B*K, L] their log-probs
  double* fin_scores;      // [B, N] n-best finished scores, best first (-inf: empty)
  int64_t* fin_tokens;     // [B, N, L]
  float* fin_logp;         // [B, N, L]
  int64_t* fin_lengths;    // [B, N] tokens incl. EOS (0: empty slot)
  const bool* token_mask;  // [B*K, V] or nullptr
  BeamDfa dfa;
  int64_t* dfa_state;      // [B*K] automaton state of each live hypothesis, or nullptr
  int64_t* tokens_out;     // [B*K] next input tokens
  int64_t* parents_out;    // [B*K] flat parent row of each next hypothesis
  int B, K, V, N;
  int64_t L, step, eos;
  double alpha;
};

// What one step decides for a row (filled by beam_row_plan, applied by beam_row_copy_column / beam_row_write).
struct BeamRowPlan {
  int32_t live_parent[kMaxBeam];  // the next beam j = 0..K-1: row-local parent k
  int64_t live_token[kMaxBeam];
  float live_score[kMaxBeam];
  float live_logp[kMaxBeam];
  int64_t live_state[kMaxBeam];
  // hypotheses ending this step (EOS, or cut at max_len): the parent's history followed by item_token
  int32_t item_parent[kMaxCand];
  int64_t item_token[kMaxCand];
  float item_logp[kMaxCand];
  // the n-best list after this step: fin_src >= 0 keeps old slot fin_src, fin_src < 0 takes item -1-fin_src
  int32_t fin_src[kMaxBeam];
  double fin_score[kMaxBeam];
  int64_t fin_len[kMaxBeam];
  int num_items;
  bool done;
};

FASTOCR_HD inline bool beam_row_finite(float x) { return x > -INFINITY && x < INFINITY; }

// The candidate order: higher score first, ties to the lower flat id (the reference's stable descending sort).
FASTOCR_HD inline bool beam_row_better(float a, int32_t ia, float b, int32_t ib) {
  return a > b || (a == b && ia < ib);
}

FASTOCR_HD inline void beam_row_split(int32_t id, int V, int& parent, int64_t& token) {
  parent = id / V;
  token = id - parent * V;
}

// Inserts a candidate into top[0..count) (best first), keeping the best cap. Only scores above -inf enter:
// beam_row_fill_dead places the -inf ones afterwards (NaN is treated as -inf; the reference sorts it first).
FASTOCR_HD inline void beam_row_push(BeamCand* top, int& count, int cap, float score, int32_t id, int32_t edge) {
  if (!(score > -INFINITY)) return;
  if (count == cap && !beam_row_better(score, id, top[cap - 1].score, top[cap - 1].id)) return;
  int i = count < cap ? count++ : cap - 1;
  for (; i > 0 && beam_row_better(score, id, top[i - 1].score, top[i - 1].id); --i) top[i] = top[i - 1];
  top[i] = BeamCand{score, id, edge};
}

// Candidates per block of the CPU pre-check below.
constexpr int kScanBlock = 32;

// The largest of kScanBlock log-probs, as 8 independent running maxima so the compiler vectorises it without
// fast-math. NaN never wins a comparison, so it is skipped (NaN candidates are never pushed anyway).
FASTOCR_HD inline float beam_row_block_max(const float* x) {
  float m[8];
  for (int j = 0; j < 8; ++j) m[j] = -INFINITY;
  for (int i = 0; i < kScanBlock; i += 8)
    for (int j = 0; j < 8; ++j) m[j] = x[i + j] > m[j] ? x[i + j] : m[j];
  float best = m[0];
  for (int j = 1; j < 8; ++j) best = m[j] > best ? m[j] : best;
  return best;
}

// Pushes parent k's candidates owned by this lane (tokens or edges lane, lane + lanes, ...; the CPU is lane 0
// of 1). Masked tokens count as -inf, exactly as if the log-prob were -inf. logp, mask: [V] rows of parent k.
FASTOCR_HD inline void beam_row_scan_parent(const float* logp, float score, const bool* mask, const BeamDfa& dfa,
                                            int64_t state, int k, int V, int lane, int lanes, BeamCand* top,
                                            int& count, int cap) {
  if (!(score > -INFINITY)) return;  // a dead parent's candidates are all -inf
  const int32_t base = k * V;
  if (dfa.offsets == nullptr) {
    // A candidate must reach thr (the worst kept, once full) to enter; ties are settled by beam_row_push.
    float thr = count == cap ? top[cap - 1].score : -INFINITY;
    int v = lane;
    // CPU: skip whole blocks below thr (rounding is monotone: score + max >= each sum). One call at B=64, K=5,
    // V=5991 on one thread: 1.10 ms without this pre-check, 0.50 ms with it.
    if (lanes == 1) {
      for (; v + kScanBlock <= V; v += kScanBlock) {
        if (!(score + beam_row_block_max(logp + v) >= thr)) continue;
        for (int i = v; i < v + kScanBlock; ++i) {
          const float s = score + logp[i];
          if (!(s >= thr) || (mask != nullptr && !mask[i])) continue;
          beam_row_push(top, count, cap, s, base + i, -1);
          thr = count == cap ? top[cap - 1].score : -INFINITY;
        }
      }
    }
    for (; v < V; v += lanes) {
      const float s = score + logp[v];
      if (!(s >= thr) || (mask != nullptr && !mask[v])) continue;  // the common case: one compare
      beam_row_push(top, count, cap, s, base + v, -1);
      thr = count == cap ? top[cap - 1].score : -INFINITY;
    }
    return;
  }
  if (state < 0 || state >= dfa.num_states) return;  // a dead hypothesis (or a corrupt state): nothing allowed
  const int64_t begin = dfa.offsets[state] < 0 ? 0 : dfa.offsets[state];
  const int64_t end = dfa.offsets[state + 1] > dfa.num_edges ? dfa.num_edges : dfa.offsets[state + 1];
  for (int64_t e = begin + lane; e < end; e += lanes) {
    const int64_t v = dfa.tokens[e];
    if (v < 0 || v >= V || (mask != nullptr && !mask[v])) continue;
    beam_row_push(top, count, cap, score + logp[v], base + static_cast<int32_t>(v), static_cast<int32_t>(e));
  }
}

// Merges two best-first lists into out, keeping the best cap (the CUDA block's tree reduction). Returns the count.
FASTOCR_HD inline int beam_row_merge(const BeamCand* a, int na, const BeamCand* b, int nb, BeamCand* out, int cap) {
  int i = 0, j = 0, n = 0;
  while (n < cap && (i < na || j < nb)) {
    const bool take_a = j >= nb || (i < na && beam_row_better(a[i].score, a[i].id, b[j].score, b[j].id));
    out[n++] = take_a ? a[i++] : b[j++];
  }
  return n;
}

// Fills the list up to cap with -inf candidates in flat-id order, which is where the reference's stable sort puts
// them: it always keeps 2K candidates, even when fewer are finite (step 0, or a narrow constraint). Every finite
// candidate is already in the list when count < cap, so the others are exactly the ids not in it.
FASTOCR_HD inline void beam_row_fill_dead(BeamCand* top, int& count, int cap, int32_t total) {
  const int finite = count;
  for (int32_t id = 0; count < cap && id < total; ++id) {
    bool taken = false;
    for (int i = 0; i < finite; ++i) taken = taken || top[i].id == id;
    if (!taken) top[count++] = BeamCand{-INFINITY, id, -1};
  }
}

// The length penalty, applied only when a hypothesis is finalised: sum(logp) / L^alpha, in double as the
// reference computes it in Python floats.
FASTOCR_HD inline double beam_row_penalised(double logp_sum, int64_t length, double alpha) {
  return logp_sum / pow(static_cast<double>(length), alpha);
}

// Adds a finished hypothesis (parent k's history + token) to the row's n-best list. Equal scores keep the order
// in which they finished (the reference's final sort is stable), so a new one goes after them.
FASTOCR_HD inline void beam_row_finish(BeamRowPlan& p, int N, double score, int64_t length, int32_t parent,
                                       int64_t token, float logp) {
  int count = 0;
  while (count < N && p.fin_len[count] > 0) ++count;
  int pos = count;
  while (pos > 0 && p.fin_score[pos - 1] < score) --pos;
  if (pos >= N) return;  // worse than the N kept: it can never be returned
  const int item = p.num_items++;
  p.item_parent[item] = parent;
  p.item_token[item] = token;
  p.item_logp[item] = logp;
  for (int i = count < N ? count : N - 1; i > pos; --i) {
    p.fin_src[i] = p.fin_src[i - 1];
    p.fin_score[i] = p.fin_score[i - 1];
    p.fin_len[i] = p.fin_len[i - 1];
  }
  p.fin_src[pos] = -1 - item;
  p.fin_score[pos] = score;
  p.fin_len[pos] = length;
}

// The row-done rule: N finished, and the N-th best at least best_live / max_len^alpha, the most any live
// hypothesis can still reach (log-probs only fall; the penalty's largest divisor is max_len^alpha).
FASTOCR_HD inline bool beam_row_is_done(const BeamRowPlan& p, int N, float best_live, int64_t max_len,
                                        double alpha) {
  return p.fin_len[N - 1] > 0 && p.fin_score[N - 1] >= beam_row_penalised(best_live, max_len, alpha);
}

// Decides the row's step from its 2K best candidates top[0..2K) (best first, -inf fillers included):
// an EOS candidate ranked within the first K finishes its hypothesis if its score is finite; the first K
// non-EOS candidates form the next beam (2K candidates hold K of them: each parent has one EOS); after the
// last step, live hypotheses with finite scores are finalised without EOS. logp: [K, V] rows of this image;
// fin_scores, fin_lengths: [N] the row's list before the step; dfa_next: [E] or nullptr.
FASTOCR_HD inline void beam_row_plan(const BeamCand* top, const float* logp, const double* fin_scores,
                                     const int64_t* fin_lengths, const int64_t* dfa_next, int K, int V, int N,
                                     int64_t eos, int64_t step, int64_t max_len, double alpha, BeamRowPlan& p) {
  p.num_items = 0;
  for (int i = 0; i < N; ++i) {
    p.fin_src[i] = i;
    p.fin_score[i] = fin_scores[i];
    p.fin_len[i] = fin_lengths[i];
  }
  int n_live = 0;
  for (int r = 0; r < 2 * K; ++r) {
    int k;
    int64_t v;
    beam_row_split(top[r].id, V, k, v);
    const float s = top[r].score;
    if (v == eos) {
      if (r < K && beam_row_finite(s))
        beam_row_finish(p, N, beam_row_penalised(s, step + 1, alpha), step + 1, k, v, logp[k * V + v]);
    } else if (n_live < K) {
      p.live_parent[n_live] = k;
      p.live_token[n_live] = v;
      p.live_score[n_live] = s;
      p.live_logp[n_live] = logp[k * V + v];
      p.live_state[n_live] = (dfa_next != nullptr && top[r].edge >= 0) ? dfa_next[top[r].edge] : -1;
      ++n_live;
    }
  }
  float best_live = -INFINITY;
  for (int j = 0; j < K; ++j) best_live = p.live_score[j] > best_live ? p.live_score[j] : best_live;
  p.done = beam_row_is_done(p, N, best_live, max_len, alpha);
  if (!p.done && step == max_len - 1) {
    for (int j = 0; j < K; ++j)
      if (beam_row_finite(p.live_score[j]))
        beam_row_finish(p, N, beam_row_penalised(p.live_score[j], max_len, alpha), max_len, p.live_parent[j],
                        p.live_token[j], p.live_logp[j]);
    p.done = true;  // the row's n-best list is final
  }
}

// Rewrites token position `pos` (0 <= pos <= step) of the row's n-best list and of its beam history. Positions
// are independent, so CUDA threads take one each with no barrier between reads and writes. The n-best list is
// rewritten before the history it reads from. hist, hist_logp: [K, L] this row's block; fin_*: [N, L].
FASTOCR_HD inline void beam_row_copy_column(const BeamRowPlan& p, int K, int N, int64_t L, int64_t step, int64_t pos,
                                            int64_t* hist, float* hist_logp, int64_t* fin_tok, float* fin_logp) {
  int64_t tok[kMaxBeam];
  float lp[kMaxBeam];
  if (p.num_items > 0) {
    for (int i = 0; i < N; ++i) {
      const int32_t src = p.fin_src[i];
      if (src >= 0) {
        tok[i] = fin_tok[src * L + pos];
        lp[i] = fin_logp[src * L + pos];
      } else {
        const int item = -1 - src;
        const bool last = pos == step;
        tok[i] = last ? p.item_token[item] : hist[p.item_parent[item] * L + pos];
        lp[i] = last ? p.item_logp[item] : hist_logp[p.item_parent[item] * L + pos];
      }
    }
    for (int i = 0; i < N; ++i) {
      fin_tok[i * L + pos] = tok[i];
      fin_logp[i * L + pos] = lp[i];
    }
  }
  for (int j = 0; j < K; ++j) {
    tok[j] = pos == step ? p.live_token[j] : hist[p.live_parent[j] * L + pos];
    lp[j] = pos == step ? p.live_logp[j] : hist_logp[p.live_parent[j] * L + pos];
  }
  for (int j = 0; j < K; ++j) {
    hist[j * L + pos] = tok[j];
    hist_logp[j * L + pos] = lp[j];
  }
}

// Writes next-beam entry j of row b: input token, flat parent row, running score, automaton state.
FASTOCR_HD inline void beam_row_write_live(const BeamRowPlan& p, const BeamStepPtrs& a, int b, int j) {
  const int64_t row = static_cast<int64_t>(b) * a.K + j;
  a.tokens_out[row] = p.live_token[j];
  a.parents_out[row] = static_cast<int64_t>(b) * a.K + p.live_parent[j];
  a.scores[row] = p.live_score[j];
  if (a.dfa_state != nullptr) a.dfa_state[row] = p.live_state[j];
}

// A done row keeps its rows in place and feeds EOS (the reference's identity parents, EOS tokens).
FASTOCR_HD inline void beam_row_write_idle(const BeamStepPtrs& a, int b, int j) {
  const int64_t row = static_cast<int64_t>(b) * a.K + j;
  a.tokens_out[row] = a.eos;
  a.parents_out[row] = row;
}

FASTOCR_HD inline void beam_row_write_finished(const BeamRowPlan& p, const BeamStepPtrs& a, int b) {
  for (int i = 0; i < a.N; ++i) {
    a.fin_scores[static_cast<int64_t>(b) * a.N + i] = p.fin_score[i];
    a.fin_lengths[static_cast<int64_t>(b) * a.N + i] = p.fin_len[i];
  }
  a.done[b] = p.done;
}

}  // namespace fastocr
