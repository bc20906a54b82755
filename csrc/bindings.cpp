// The one translation unit that includes torch/extension.h: it defines the fastocr operator library
// (schemas only; each backend in cpu/ and cuda/ registers its own implementation) and the Python module.
#include <torch/extension.h>

#include <ATen/Parallel.h>

namespace fastocr {

// What this build holds, so `fastocr.backend_info()` can tell the truth about the compiled parts.
pybind11::dict build_info() {
  pybind11::dict info;
  info["torch_version"] = TORCH_VERSION;
  info["num_threads"] = at::get_num_threads();
#ifdef _OPENMP
  info["openmp"] = true;
#else
  info["openmp"] = false;
#endif
  return info;
}

}  // namespace fastocr

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "fastocr C++ extension: CPU implementations of the decoding ops";
  m.def("build_info", &fastocr::build_info, "What this compiled extension holds");
}
