"""Compiles every Triton kernel of fastocr.kernels for sm_80 and sm_90 without a GPU (ahead of time).

Each kernel is compiled for every dtype and block configuration its launcher can choose (the choices live in
``kernels/_common.py``), so a kernel that only the interpreter accepts (a ``tl.dot`` tile under 16, an op
missing on one target) fails here instead of on the first GPU. See shared/notes/gpu-compile-check.md.

Runs in the CUDA-torch venv, which lacks fastocr's other dependencies (Pillow, OpenCV...): ``kernels/`` is
loaded by file path as a stand-alone package, so only torch and triton are imported.

Usage: /root/venv-cuda/bin/python tests/gpu_compile/aot_compile_triton.py [--targets 80,90] [--jobs 2]
Exit status 1 if any compile fails; every failure is printed with its configuration.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

KERNELS_DIR = Path(__file__).resolve().parents[2] / "kernels"


def load_kernels():
    """Imports kernels/ as the package ``fastocr_kernels`` (relative imports inside it keep working)."""
    if "fastocr_kernels" not in sys.modules:
        spec = importlib.util.spec_from_file_location("fastocr_kernels", KERNELS_DIR / "__init__.py",
                                                      submodule_search_locations=[str(KERNELS_DIR)])
        pkg = importlib.util.module_from_spec(spec)
        sys.modules["fastocr_kernels"] = pkg
        spec.loader.exec_module(pkg)
    import fastocr_kernels._common as common
    from fastocr_kernels import attn_additive, attn_slot, gru_step, logits_argmax

    return common, attn_slot, attn_additive, gru_step, logits_argmax


def signature(fn, dtype_name: str, constexprs: dict, overrides: dict) -> dict:
    """Triton's AOT signature from the kernel's own argument list: ``*_ptr`` arguments point to the activation
    dtype unless overridden, the other runtime arguments (sizes, strides) are i32."""
    sig = {}
    for name in fn.arg_names:
        if name in constexprs:
            sig[name] = "constexpr"
        else:
            sig[name] = overrides.get(name, f"*{dtype_name}" if name.endswith("_ptr") else "i32")
    return sig


def configs():
    """(kernel name, signature, constexprs, num_warps) for every launch the dispatchers can make."""
    common, attn_slot, attn_additive, gru_step, logits_argmax = load_kernels()
    out = []
    for dtype, ty in common.TRITON_DTYPE_NAMES.items():
        for block_h in common.ATTN_BLOCK_H_CHOICES:  # next_pow2(H) for every H up to MAX_HIDDEN
            block_t, _, num_warps = common.attn_blocks(block_h)
            ce = {"BLOCK_T": block_t, "BLOCK_H": block_h}
            for kernel in (attn_slot._attn_slot_kernel, attn_additive._attn_additive_kernel):
                sig = signature(kernel, ty, ce, {"scores_ptr": "*fp32", "lengths_ptr": "*i64"})
                out.append((kernel.fn.__name__, sig, ce, num_warps))
        gru_choices = sorted({common.gru_blocks(rows) for rows in (1, 1 << 20)})  # BLOCK_M 16 and 32
        for block_m, block_j, block_k, num_warps in gru_choices:
            ce = {"BLOCK_M": block_m, "BLOCK_J": block_j, "BLOCK_K": block_k,
                  "PRECISION": gru_step.precision(dtype), "UPCAST": False}  # UPCAST: interpreter only
            out.append(("_gru_step_kernel", signature(gru_step._gru_step_kernel, ty, ce, {}), ce, num_warps))
        block_m, block_v, block_k, num_warps = common.head_blocks(1)
        ce = {"BLOCK_M": block_m, "BLOCK_V": block_v, "BLOCK_K": block_k, "PRECISION": gru_step.precision(dtype),
              "UPCAST": False}
        sig = signature(logits_argmax._logits_argmax_kernel, ty, ce, {"idx_ptr": "*i64", "logp_ptr": "*fp32"})
        out.append(("_logits_argmax_kernel", sig, ce, num_warps))
    return out


def compile_one(job):
    """Compiles one (config, cc); returns an error string or None, and the seconds it took."""
    import triton
    from triton.backends.compiler import GPUTarget

    (name, sig, constexprs, num_warps), cc = job
    _, *modules = load_kernels()
    fn = next(getattr(m, name) for m in modules if hasattr(m, name))
    start = time.perf_counter()
    try:
        src = triton.compiler.ASTSource(fn=fn, signature=sig, constexprs=constexprs)
        kernel = triton.compile(src, target=GPUTarget("cuda", cc, 32), options={"num_warps": num_warps})
        assert kernel.asm["cubin"], "empty cubin"
        err = None
    except Exception as e:  # noqa: BLE001 -- report every failure, not only the first
        err = f"{type(e).__name__}: {e}"
    return err, time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", default="80,90", help="compute capabilities, comma-separated")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="parallel compiles")
    args = ap.parse_args()
    jobs = [(c, int(cc)) for c in configs() for cc in args.targets.split(",")]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(pool.map(compile_one, jobs))
    failed = 0
    for ((name, sig, constexprs, num_warps), cc), (err, _) in zip(jobs, results):
        dtype = sig.get("values_ptr", sig.get("x_ptr"))
        if err:
            failed += 1
            print(f"FAIL sm_{cc} {name} {dtype} {constexprs} num_warps={num_warps}: {err}")
    wall = time.perf_counter() - start
    targets = "sm_" + args.targets.replace(",", "/sm_")
    print(f"{len(jobs) - failed}/{len(jobs)} kernel configs compiled for {targets} "
          f"in {wall:.1f} s ({sum(s for _, s in results):.1f} s of compile time, {args.jobs} jobs)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
