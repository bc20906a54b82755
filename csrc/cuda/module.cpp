// fastocr._C_cuda as an importable Python module: importing it loads this shared object, whose static
// initialisers run the TORCH_LIBRARY_IMPL(fastocr, CUDA) registrations. It has no Python functions (those live
// in fastocr._C), so it needs only Python.h, not pybind11 (as pytorch/extension-cpp extension_cpp/csrc/muladd.cpp).
#include <Python.h>

extern "C" {
PyMODINIT_FUNC PyInit__C_cuda(void) {
  static struct PyModuleDef module_def = {
      PyModuleDef_HEAD_INIT,
      "_C_cuda",                                                       // name
      "fastocr CUDA kernels, registered into torch.ops.fastocr",       // doc
      -1,                                                              // no per-interpreter state
      nullptr,                                                         // no methods
  };
  return PyModule_Create(&module_def);
}
}
