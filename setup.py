"""Build fastocr's C++ extension (always) and its CUDA extension (when a CUDA toolkit and a CUDA torch exist).

Environment:
    FASTOCR_CUDA=auto|0|1   auto (default): build csrc/cuda when torch is a CUDA build, CUDA_HOME is set and the
                            toolkit's major version is torch's (else the CUDA part is skipped, with a message);
                            1: require it (fail loudly without a matching toolkit); 0: never.
    TORCH_CUDA_ARCH_LIST    CUDA targets; default: this machine's GPUs when it has any, else every architecture
                            the toolkit supports from sm_70 (sm_75 with CUDA 13) to sm_120, with PTX for the newest.
    DEBUG=1                 -O0 -g instead of -O3.
The CUDA decision never needs a GPU: a GPU-less CI still compiles the CUDA part.
"""

import glob
import os
import re
import subprocess

from setuptools import setup

from torch.utils import cpp_extension

ROOT = os.path.dirname(os.path.abspath(__file__))


def _nvcc_version() -> tuple[int, int] | None:
    nvcc = os.path.join(cpp_extension.CUDA_HOME or "", "bin", "nvcc")
    try:
        out = subprocess.run([nvcc, "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    found = re.search(r"release (\d+)\.(\d+)", out)
    return (int(found[1]), int(found[2])) if found else None


def _want_cuda() -> bool:
    mode = os.environ.get("FASTOCR_CUDA", "auto").lower()
    if mode not in ("auto", "0", "1"):
        raise SystemExit(f"FASTOCR_CUDA must be auto, 0 or 1, got {mode!r}")
    if mode == "0":
        return False
    torch_cuda, toolkit = import_torch_cuda_version(), _nvcc_version() if cpp_extension.CUDA_HOME else None
    problem = None
    if torch_cuda is None or toolkit is None:
        problem = f"torch.version.cuda={torch_cuda!r}, CUDA_HOME={cpp_extension.CUDA_HOME!r}, nvcc {toolkit}"
    elif int(torch_cuda.split(".")[0]) != toolkit[0]:
        problem = (f"the CUDA toolkit at {cpp_extension.CUDA_HOME} is {toolkit[0]}.{toolkit[1]}, torch was built with "
                   f"CUDA {torch_cuda}: install a {torch_cuda.split('.')[0]}.x toolkit (or the matching torch)")
    if problem and mode == "1":
        raise SystemExit(f"FASTOCR_CUDA=1 but no CUDA build is possible: {problem}")
    if problem and torch_cuda is not None:  # a CUDA torch that will run without fastocr's CUDA kernels
        print(f"fastocr: building without the CUDA extension ({problem}); beam search on CUDA tensors will use "
              "the Python reference")
    return problem is None


def _default_cuda_archs(toolkit: tuple[int, int]) -> str:
    """This machine's GPUs when it has any; otherwise every architecture the toolkit compiles from sm_70 to
    sm_120, PTX for the newest (the driver compiles that for GPUs newer still)."""
    import torch

    if torch.cuda.is_available():
        caps = sorted({"%d.%d" % torch.cuda.get_device_capability(i) for i in range(torch.cuda.device_count())})
    else:
        caps = ["7.0", "7.5", "8.0", "8.6", "8.9", "9.0"]
        if toolkit >= (12, 8):
            caps += ["10.0", "12.0"]
        if toolkit >= (13, 0):
            caps.remove("7.0")  # CUDA 13 dropped Volta
    return ";".join(caps[:-1] + [caps[-1] + "+PTX"])


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
        os.environ.setdefault("TORCH_CUDA_ARCH_LIST", _default_cuda_archs(_nvcc_version()))
        print(f"fastocr: CUDA extension for TORCH_CUDA_ARCH_LIST={os.environ['TORCH_CUDA_ARCH_LIST']}")
        nvcc = ["-O0", "-g", "-G"] if debug else ["-O3", "--use_fast_math"]
        # the module reports them; shell-safe spelling ("8.0;9.0+PTX" -> 8.0_9.0+PTX), stringified in C++
        archs = "-DFASTOCR_CUDA_ARCHS=" + re.sub(r"[;\s]+", "_", os.environ["TORCH_CUDA_ARCH_LIST"].strip())
        exts.append(
            cpp_extension.CUDAExtension(
                "fastocr._C_cuda",
                cuda_sources,
                include_dirs=include,
                extra_compile_args={"cxx": cxx + [archs], "nvcc": nvcc},
            )
        )
    return exts


if __name__ == "__main__":  # pip's build backend runs this file as __main__; tests import its helpers
    setup(
        ext_modules=extensions(),
        cmdclass={"build_ext": cpp_extension.BuildExtension.with_options(use_ninja=True)},
    )
