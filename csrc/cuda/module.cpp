// fastocr._C_cuda as an importable Python module: importing it loads this shared object, whose static
// initialisers run the TORCH_LIBRARY_IMPL(fastocr, CUDA) registrations. It has no Python functions (those live
// in fastocr._C), so it needs only Python.h, not pybind11 (as pytorch/extension-cpp extension_cpp/csrc/muladd.cpp).
#include <Python.h>

// setup.py passes the architectures as one shell-safe token (8.0_9.0+PTX); stringified here
#ifndef FASTOCR_CUDA_ARCHS
#define FASTOCR_CUDA_ARCHS
#endif
#define FASTOCR_STR2(x) #x
#define FASTOCR_STR(x) FASTOCR_STR2(x)

extern "C" {
PyMODINIT_FUNC PyInit__C_cuda(void) {
  static struct PyModuleDef module_def = {
      PyModuleDef_HEAD_INIT,
      "_C_cuda",                                                       // name
      "fastocr CUDA kernels, registered into torch.ops.fastocr",       // doc
      -1,                                                              // no per-interpreter state
      nullptr,                                                         // no methods
  };
  PyObject* m = PyModule_Create(&module_def);
  // the architectures this object holds code for (setup.py passes TORCH_CUDA_ARCH_LIST), so that fastocr can
  // fall back, with a warning, on a GPU it was not built for instead of failing with "no kernel image"
  if (m != nullptr && PyModule_AddStringConstant(m, "cuda_archs", FASTOCR_STR(FASTOCR_CUDA_ARCHS)) != 0) {
    Py_DECREF(m);
    return nullptr;
  }
  return m;
}
}
