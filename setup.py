"""Build fastocr's C++ extension (always) and its CUDA extension (when a CUDA toolkit and a CUDA torch exist).

Environment:
    FASTOCR_CUDA=auto|0|1   auto (default): build csrc/cuda when torch is a CUDA build and CUDA_HOME is set;
                            1: require it (fail loudly without a toolkit); 0: never.
    TORCH_CUDA_ARCH_LIST    CUDA targets; defaults to "8.0;9.0+PTX".
    DEBUG=1                 -O0 -g instead of -O3.
The CUDA decision never uses torch.cuda.is_available(): a GPU-less CI still compiles the CUDA part.
"""

import glob
import os

from setuptools import setup

from torch.utils import cpp_extension

ROOT = os.path.dirname(os.path.abspath(__file__))


def _want_cuda() -> bool:
    mode = os.environ.get("FASTOCR_CUDA", "auto").lower()
    if mode not in ("auto", "0", "1"):
        raise SystemExit(f"FASTOCR_CUDA must be auto, 0 or 1, got {mode!r}")
    available = bool(cpp_extension.CUDA_HOME) and import_torch_cuda_version() is not None
    if mode == "1" and not available:
        raise SystemExit(
            "FASTOCR_CUDA=1 but no CUDA build is possible: "
            f"torch.version.cuda={import_torch_cuda_version()!r}, CUDA_HOME={cpp_extension.CUDA_HOME!r}"
        )
    return mode != "0" and available


def import_torch_cuda_version():
    import torch

    return torch.version.cuda


def _sources(pattern: str) -> list[str]:
    return sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, pattern)))


def extensions():
    debug = os.environ.get("DEBUG", "0") == "1"
    cxx = ["-O0", "-g"] if debug else ["-O3"]
    # No -std flag: cpp_extension adds the one its torch needs (-std=c++20; torch 2.14's headers #error on c++17).
    cxx += ["-fopenmp"]
    include = [os.path.join(ROOT, "csrc")]
    exts = [
        cpp_extension.CppExtension(
            "fastocr._C",
            _sources("csrc/bindings.cpp") + _sources("csrc/cpu/*.cpp"),
            include_dirs=include,
            extra_compile_args={"cxx": cxx},
            extra_link_args=["-fopenmp"],
        )
    ]
    cuda_sources = _sources("csrc/cuda/*.cu") + _sources("csrc/cuda/*.cpp")
    if cuda_sources and _want_cuda():
        os.environ.setdefault("TORCH_CUDA_ARCH_LIST", "8.0;9.0+PTX")
        nvcc = ["-O0", "-g", "-G"] if debug else ["-O3", "--use_fast_math"]
        exts.append(
            cpp_extension.CUDAExtension(
                "fastocr._C_cuda",
                cuda_sources,
                include_dirs=include,
                extra_compile_args={"cxx": cxx, "nvcc": nvcc},
            )
        )
    return exts


setup(
    ext_modules=extensions(),
    cmdclass={"build_ext": cpp_extension.BuildExtension.with_options(use_ninja=True)},
)
