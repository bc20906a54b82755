"""Typed wrappers around the compiled ops in ``torch.ops.fastocr``, with the fake kernels torch.compile needs.

The ops come from the C++ extension (``fastocr._C``; ``fastocr._C_cuda`` adds the CUDA kernels). When it is
not built, calling an op raises ``ExtensionMissingError`` saying how to build it; importing this module works.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from types import SimpleNamespace

import torch

from . import _ext, reference
from ._version import __version__
from .alphabet import EOS_TOKEN
from .errors import FastOCRError

MAX_BEAM = 32  # kMaxBeam in csrc/beam_step.h (tests/ops/test_beam_step.py ties the two)


class ExtensionMissingError(FastOCRError, RuntimeError):
    """The compiled extension that implements an op is not available."""


def _require_extension(device: torch.device) -> None:
    if _ext.C is None:
        raise ExtensionMissingError(
            "fastocr's C++ extension (fastocr._C) is not built: run `pip install --no-build-isolation -e .` "
            f"or `python setup.py build_ext --inplace` in the source tree (import error: {_ext.C_ERROR})"
        )
    if device.type == "cuda" and _ext.C_CUDA is None:
        raise ExtensionMissingError(
            "fastocr's CUDA extension (fastocr._C_cuda) is not built: rebuild with a CUDA toolkit and a CUDA "
            f"build of torch, e.g. FASTOCR_CUDA=1 (import error: {_ext.C_CUDA_ERROR})"
        )


def beam_step(
    log_probs: torch.Tensor,
    scores: torch.Tensor,
    done: torch.Tensor,
    history: torch.Tensor,
    history_logp: torch.Tensor,
    fin_scores: torch.Tensor,
    fin_tokens: torch.Tensor,
    fin_logp: torch.Tensor,
    fin_lengths: torch.Tensor,
    step: int,
    length_penalty: float = 0.0,
    eos: int = EOS_TOKEN,
    *,
    token_mask: torch.Tensor | None = None,
    dfa_offsets: torch.Tensor | None = None,
    dfa_tokens: torch.Tensor | None = None,
    dfa_next: torch.Tensor | None = None,
    dfa_state: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One batched beam-search step: picks each image's next beam and n-best updates, on the tensors' device.

    Follows the rules of ``fastocr/reference.py`` exactly; ``fastocr.engine.beam.beam_search`` is the loop around it.
    Sizes come from the shapes: B, K from ``scores``, V from ``log_probs``, L from ``history``, N from
    ``fin_scores``. Arguments marked *updated* are written in place (and must be contiguous); nothing is
    copied to the host, so a loop of steps can be captured in a CUDA graph.

    Args:
        log_probs: (B*K, V) float32, this step's log-probabilities (log-softmax applied), rows image-major.
        scores: (B, K) float32, updated: running log-prob sums; start with 0 for beam 0 and -inf elsewhere.
        done: (B,) bool, updated: rows whose n-best list is final; done rows are not touched.
        history: (B*K, L) int64, updated: tokens of each live hypothesis (positions < step are valid).
        history_logp: (B*K, L) float32, updated: their log-probs.
        fin_scores: (B, N) float64, updated: the n-best finished scores, best first; start -inf.
        fin_tokens: (B, N, L) int64, updated: their tokens, EOS included; start with EOS everywhere.
        fin_logp: (B, N, L) float32, updated: their per-token log-probs; start 0.
        fin_lengths: (B, N) int64, updated: their lengths (0: empty slot); start 0.
        step: the 0-based step index, < L. At step L-1 the live hypotheses of unfinished rows are finalised.
        length_penalty: alpha in ``score = sum(logp) / length ** alpha``.
        eos: the EOS class id.
        token_mask: (B*K, V) bool, optional: tokens each hypothesis may take (a masked token acts as log-prob
            -inf, without renormalising the others).
        dfa_offsets: (M+1,) int64, optional automaton in CSR form, with ``dfa_tokens``, ``dfa_next`` (E,)
            int64 and ``dfa_state`` (B*K,) int64 (updated; start 0). Edges of each state ascend and are
            unique; an EOS edge marks an accepting state. Build one with ``fastocr.engine.beam.TokenAutomaton``.

    Returns:
        (tokens, parents): (B*K,) int64 each, the next input tokens and the flat row (into this step's rows)
        each next hypothesis extends; reorder the decoder state with ``index_select(parents)``.

    Raises:
        ExtensionMissingError: the compiled extension for this device is not built.
        RuntimeError: a tensor has the wrong shape, dtype or device (the message names it).
    """
    _require_extension(log_probs.device)
    return torch.ops.fastocr.beam_step(
        log_probs, scores, done, history, history_logp, fin_scores, fin_tokens, fin_logp, fin_lengths,
        step, length_penalty, eos, token_mask, dfa_offsets, dfa_tokens, dfa_next, dfa_state,
    )


if _ext.C is not None:

    @torch.library.register_fake("fastocr::beam_step")
    def _beam_step_fake(log_probs, scores, done, history, history_logp, fin_scores, fin_tokens, fin_logp,
                        fin_lengths, step, length_penalty, eos, token_mask=None, dfa_offsets=None,
                        dfa_tokens=None, dfa_next=None, dfa_state=None):
        rows = log_probs.shape[0]
        torch._check(rows == scores.shape[0] * scores.shape[1])
        return log_probs.new_empty(rows, dtype=torch.long), log_probs.new_empty(rows, dtype=torch.long)


# An extension built before the Winograd op lacks it; winograd_unusable() says so.
_HAS_WINOGRAD_OP = _ext.C is not None and hasattr(torch.ops.fastocr, "conv3x3_winograd")
# Winograd F(4x4, 3x3)'s weight transform G (6x3); csrc/cpu/winograd_cpu.cpp holds the input and output transforms.
_WINOGRAD_G = ((1 / 4, 0, 0), (-1 / 6, -1 / 6, -1 / 6), (-1 / 6, 1 / 6, -1 / 6), (1 / 24, 1 / 12, 1 / 6),
               (1 / 24, -1 / 12, 1 / 6), (0, 0, 1))


def winograd_unusable() -> str | None:
    """Why 3x3 convolutions cannot run by Winograd on the CPU (None: they can)."""
    if force_reference():
        return "FASTOCR_FORCE_REFERENCE=1"
    if _ext.C is None:
        return f"fastocr._C is not built ({_ext.C_ERROR})"
    if not _HAS_WINOGRAD_OP:
        return "fastocr._C predates the Winograd convolution: rebuild it (pip install --no-build-isolation -e .)"
    return None


def winograd_weight(weight: torch.Tensor) -> torch.Tensor:
    """A 3x3 convolution's weight [K, C, 3, 3] -> G w G^T [36, C, K] float32 (computed in float64), the form
    ``conv3x3_winograd`` multiplies by: 36 matrices C x K, one per point of the 6x6 transformed tile."""
    g = torch.tensor(_WINOGRAD_G, dtype=torch.float64, device=weight.device)
    u = torch.einsum("ij,kcjl,ml->imck", g, weight.detach().double(), g)  # [6, 6, C, K]
    return u.reshape(36, weight.shape[1], weight.shape[0]).float().contiguous()


def conv3x3_winograd(x: torch.Tensor, weight_t: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``F.conv2d(x, w, bias, padding=1)`` for a 3x3 kernel by Winograd F(4x4, 3x3), on the CPU in float32:
    36 multiplies per 4x4 output tile and channel pair instead of 144, values within ~1e-5 relative of float64
    (the direct convolution's error is ~2e-6). ``weight_t`` = ``winograd_weight(w)``. Returns [N, K, H, W] in
    NHWC (channels_last) memory."""
    _require_extension(x.device)
    return torch.ops.fastocr.conv3x3_winograd(x, weight_t, bias)


if _HAS_WINOGRAD_OP:

    @torch.library.register_fake("fastocr::conv3x3_winograd")
    def _conv3x3_winograd_fake(input, weight_t, bias=None):
        n, _, h, w = input.shape
        return torch.empty((n, weight_t.shape[2], h, w), dtype=input.dtype, device=input.device,
                           memory_format=torch.channels_last)


# ---------------------------------------------------------------------------------------------------------------
# Decoder-step kernels: Triton on CUDA (fastocr.kernels), the ``*_ref`` twins of reference.py everywhere else.
# ---------------------------------------------------------------------------------------------------------------

_kernels_module = None  # fastocr.kernels' op modules once imported (lazily: triton is optional)
_kernels_error: str | None = None  # why they could not be imported
_triton_on_cpu = False  # tests only: run the kernels on CPU tensors (through TRITON_INTERPRET=1)
LAST_PATH: dict[str, str] = {}  # op name -> "triton" | "reference": the path its latest call took


def _load_kernels():
    """Imports the kernel modules on first use, so ``import fastocr`` works without triton and the test conftest
    can set TRITON_INTERPRET=1 before any @triton.jit runs."""
    global _kernels_module, _kernels_error
    if _kernels_module is None and _kernels_error is None:
        try:
            # fastocr.kernels is the repository's top-level kernels/ folder (pyproject maps it into the package)
            from .kernels import _common, attn_additive, attn_slot, gru_step, logits_argmax

            _kernels_module = SimpleNamespace(common=_common, attn_slot=attn_slot, attn_additive=attn_additive,
                                              gru_step=gru_step, logits_argmax=logits_argmax)
        except (ImportError, RuntimeError) as e:  # no triton, or a triton that cannot initialise here
            _kernels_error = f"{type(e).__name__}: {e}"
    return _kernels_module


_forced_reference = False  # set by reference_ops(): the environment variable without touching the environment


def force_reference() -> bool:
    """True under ``FASTOCR_FORCE_REFERENCE=1`` (or ``reference_ops()``): every op and decoding rule takes its
    ``reference.py`` twin. The one place that reads the variable."""
    return _forced_reference or os.environ.get("FASTOCR_FORCE_REFERENCE", "0") == "1"


def extension_built() -> bool:
    """True when the C++ extension (``fastocr._C``) imported."""
    return _ext.C is not None


_WARNED: set[str] = set()  # the fallbacks already announced, each once per process


def extension_unusable(device: torch.device | str | None = None) -> str | None:
    """Why beam search and constraints cannot run in the compiled extension on ``device`` (None: they can).

    On CUDA that needs ``fastocr._C_cuda`` built for this GPU's architecture: a CUDA torch on a machine where only
    the CPU extension was built (no nvcc: the common cloud image), or a GPU newer or older than the build's
    targets, falls back to the Python reference instead of failing at the first beam search."""
    if force_reference():
        return "FASTOCR_FORCE_REFERENCE=1"
    if _ext.C is None:
        return f"fastocr._C is not built ({_ext.C_ERROR})"
    device = torch.device(device or "cpu")
    if device.type != "cuda":
        return None
    if _ext.C_CUDA is None:
        return f"fastocr._C_cuda is not built ({_ext.C_CUDA_ERROR}): rebuild with a CUDA toolkit, FASTOCR_CUDA=1"
    capability = torch.cuda.get_device_capability(device)
    archs = _ext.cuda_archs()
    if archs and not _ext.runs_on(capability, archs):
        return (f"fastocr._C_cuda was built for {';'.join(archs)}, not for this GPU (sm_{capability[0]}"
                f"{capability[1]}): rebuild on this machine, or with TORCH_CUDA_ARCH_LIST naming it")
    return None


def extension_decoding(device: torch.device | str | None = None) -> bool:
    """True when beam search and constraints on ``device`` run in the compiled extension; when they cannot, the
    reason is warned once (``extension_unusable``) and the caller takes the Python reference."""
    reason = extension_unusable(device)
    if reason is not None and not force_reference() and reason not in _WARNED and _ext.C is not None:
        _WARNED.add(reason)
        warnings.warn(f"fastocr: beam search runs in Python on {device}: {reason}", RuntimeWarning, stacklevel=2)
    return reason is None


@contextlib.contextmanager
def reference_ops():
    """Routes the decoder-step ops to their references for the duration (e.g. to time the eager step)."""
    global _forced_reference
    previous, _forced_reference = _forced_reference, True
    try:
        yield
    finally:
        _forced_reference = previous


# Kernels measured slower than their reference on a GPU run only when named in FASTOCR_TRITON_OPT_IN
# (comma-separated) or under triton_on_cpu(). The fused output head walks all V classes serially per block of
# 16 rows: 1.1 ms per call at 64 rows on an H200, against 39 us for cuBLAS + log_softmax + max
# (benchmarks/bench_logits_argmax.py); a split-V grid is the fix still to make.
OPT_IN = frozenset({"logits_argmax"})


def _opted_in(op: str) -> bool:
    return op not in OPT_IN or _triton_on_cpu or op in os.environ.get("FASTOCR_TRITON_OPT_IN", "").split(",")


def on_device_of(t: torch.Tensor):
    """Makes ``t``'s GPU the current one for what runs inside (Triton launches on the current device and its
    current stream, whatever device the tensors are on); nothing for CPU tensors."""
    return torch.cuda.device(t.device) if t.is_cuda else contextlib.nullcontext()


def _use_triton(op: str, hidden_size: int, *tensors: torch.Tensor) -> bool:
    """The dispatch rule, in order: FASTOCR_FORCE_REFERENCE=1 -> reference; any input not on CUDA, or inputs on
    different devices -> reference;
    an ``OPT_IN`` kernel not opted in -> reference; grad enabled and an input requiring grad -> reference (the
    kernels have no backward); triton missing, an unsupported dtype or hidden size -> reference; else Triton.
    Records the choice in ``LAST_PATH``."""
    use = (
        not force_reference()
        and (_triton_on_cpu or all(t.is_cuda for t in tensors))
        and len({t.device for t in tensors}) == 1
        and _opted_in(op)
        and not (torch.is_grad_enabled() and any(t.requires_grad for t in tensors))
        and _load_kernels() is not None
        and all(t.dtype in _kernels_module.common.SUPPORTED_DTYPES for t in tensors if t.is_floating_point())
        and hidden_size <= _kernels_module.common.MAX_HIDDEN
    )
    LAST_PATH[op] = "triton" if use else "reference"
    return use


@contextlib.contextmanager
def triton_on_cpu():
    """Tests only: route CPU tensors to the Triton kernels (TRITON_INTERPRET=1 must be set before they load)."""
    global _triton_on_cpu
    previous, _triton_on_cpu = _triton_on_cpu, True
    try:
        yield
    finally:
        _triton_on_cpu = previous


def kernel_info() -> dict:
    """What ``fastocr.backend_info()`` reports about the decoder-step kernels.

    ``decoder_kernels``: the path CUDA inference takes, "triton" or "reference"; ``decoder_kernels_reason``:
    why it is the reference (forced, no CUDA device, triton missing); ``decoder_kernels_last``: the path
    each op's latest call took in this process. Triton is imported only when a CUDA device is present.
    """
    if force_reference():
        reason = "FASTOCR_FORCE_REFERENCE=1"
    elif not torch.cuda.is_available():
        reason = "no CUDA device"
    elif _load_kernels() is None:
        reason = f"fastocr.kernels did not import ({_kernels_error})"
    else:
        reason = None
    info = {"decoder_kernels": "reference" if reason else "triton"}
    if reason:
        info["decoder_kernels_reason"] = reason
    info["decoder_kernels_opt_in"] = sorted(op for op in OPT_IN if not _opted_in(op))
    info["decoder_kernels_last"] = dict(LAST_PATH)
    return info


def attn_slot(embedded: torch.Tensor, hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
              values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The original fixed-slot attention of one decoder step: softmax(W [e; h] + b) over T slots, and the context.

    Triton (one launch: Linear, softmax and context fused, fp32 accumulation) for CUDA inference, else
    ``reference.attn_slot_ref``, which keeps the original's float operations exactly.

    Args:
        embedded: (N, H) embedded previous tokens, N = images x beam.
        hidden: (N, H) GRU hidden state.
        weight: (T, 2H) and bias: (T,) of the decoder's ``attn`` Linear.
        values: (T, N, H) encoder outputs; any strides (an expanded view is read without a copy).

    Returns:
        context (N, H) and attention weights (N, T), in ``values.dtype``.

    >>> e = h = torch.zeros(2, 4)  # N=2 rows, H=4
    >>> ctx, w = attn_slot(e, h, torch.zeros(3, 8), torch.zeros(3), torch.ones(3, 2, 4))  # T=3 slots
    >>> ctx.shape, w.shape
    (torch.Size([2, 4]), torch.Size([2, 3]))
    """
    if _use_triton("attn_slot", values.shape[-1], embedded, hidden, weight, bias, values):
        with on_device_of(values):
            return _kernels_module.attn_slot.attn_slot_triton(embedded, hidden, weight, bias, values)
    return reference.attn_slot_ref(embedded, hidden, weight, bias, values)


def attn_additive(keys: torch.Tensor, query: torch.Tensor, v: torch.Tensor, values: torch.Tensor,
                  lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Additive attention of one decoder step: masked softmax_t(v . tanh(keys_t + query)), and the context.

    Triton (one launch; columns past a row's length are not read) for CUDA inference, else
    ``reference.attn_additive_ref``.

    Args:
        keys: (T, N, H) ``W_k e_t``, computed once per image.
        query: (N, H) ``W_q h + b`` of the current hidden state.
        v: (H,) the scoring vector.
        values: (T, N, H) encoder outputs.
        lengths: (N,) int64 valid columns per row, 1..T.

    Returns:
        context (N, H) and weights (N, T), 0 past each row's length, in ``values.dtype``.
    """
    if _use_triton("attn_additive", values.shape[-1], keys, query, v, values, lengths):
        with on_device_of(values):
            return _kernels_module.attn_additive.attn_additive_triton(keys, query, v, values, lengths)
    return reference.attn_additive_ref(keys, query, v, values, lengths)


def gru_step(x: torch.Tensor, h: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor,
             b_ih: torch.Tensor | None = None, b_hh: torch.Tensor | None = None, *, train: bool = False
             ) -> torch.Tensor:
    """One step of a one-layer GRU (PyTorch's gates, order r, z, n).

    Triton (one launch: both projections and the gates fused) for CUDA inference with biases, else
    ``reference.gru_step_ref``: the op ``nn.GRU`` itself calls, so the reference is bit-identical to it.

    Args:
        x: (N, I) input; h: (N, H) previous hidden state.
        w_ih: (3H, I), w_hh: (3H, H), b_ih, b_hh: (3H,) or None: ``gru.weight_ih_l0`` etc.
        train: the GRU module's ``training`` flag (passed to the reference op).

    Returns:
        the new hidden state (N, H).
    """
    if b_ih is None or b_hh is None:  # the kernel always adds biases; bias-free GRUs take the reference
        LAST_PATH["gru_step"] = "reference"
    elif _use_triton("gru_step", h.shape[-1], x, h, w_ih, w_hh, b_ih, b_hh):
        with on_device_of(h):
            return _kernels_module.gru_step.gru_step_triton(x, h, w_ih, w_hh, b_ih, b_hh)
    return reference.gru_step_ref(x, h, w_ih, w_hh, b_ih, b_hh, train)


def logits_argmax(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Greedy decoding's output head: the best class of ``log_softmax(h @ weight.T + bias)`` and its log-prob.

    Triton (projection, log-softmax and argmax in one launch, no [N, V] logits written) for CUDA inference,
    else ``reference.logits_argmax_ref``. Ties go to the lower class id on both paths.

    Args:
        h: (N, H) decoder hidden states; weight: (V, H) and bias: (V,), the decoder's ``out`` layer.

    Returns:
        class ids (N,) int64 and their log-probabilities (N,) float32.
    """
    if _use_triton("logits_argmax", h.shape[-1], h, weight, bias):
        with on_device_of(h):
            return _kernels_module.logits_argmax.logits_argmax_triton(h, weight, bias)
    return reference.logits_argmax_ref(h, weight, bias)


def backend_info() -> dict:
    """Which compiled parts and accelerators this installation has, and why a part is missing."""
    info = {
        "fastocr": __version__,
        "torch": torch.__version__,
        "cuda_available": torch.cuda.is_available(),
        "extension": _ext.C is not None,
        "extension_cuda": _ext.C_CUDA is not None,
    }
    for device in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
        reason = extension_unusable(device)
        info[f"beam_search_{device}"] = "extension" if reason is None else "reference"
        if reason is not None:
            info[f"beam_search_{device}_reason"] = reason
    info["beam_search"] = info["beam_search_cuda" if torch.cuda.is_available() else "beam_search_cpu"]
    reason = winograd_unusable()
    info["cpu_convolutions"] = "winograd" if reason is None else "direct"
    if reason is not None:
        info["cpu_convolutions_reason"] = reason
    if _ext.C is None:
        info["extension_error"] = _ext.C_ERROR
    else:
        info.update({f"extension_{k}": v for k, v in _ext.C.build_info().items()})
    if _ext.C_CUDA is not None:
        info["extension_cuda_archs"] = _ext.cuda_archs()
    elif _ext.C is not None:
        info["extension_cuda_error"] = _ext.C_CUDA_ERROR
    info.update(kernel_info())  # decoder_kernels, decoder_kernels_reason, decoder_kernels_last
    return info
