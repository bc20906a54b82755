"""Parity assertions that explain a failure: mismatch count, first indices, NaN/inf disagreements."""

import torch

FP32_TOL = 1e-5
LOW_PRECISION_TOL = {torch.float16: 1e-2, torch.bfloat16: 4e-2}  # atol = rtol, on top of the 2x rule


def assert_close_verbose(actual: torch.Tensor, expected: torch.Tensor, atol: float, rtol: float, what=""):
    """assert_close that reports the mismatch count, the first bad indices and NaN/inf disagreements."""
    actual, expected = actual.float(), expected.float()
    bad = ~torch.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
    if bad.any():
        idx = bad.nonzero()[:5].tolist()
        pairs = [(i, actual[tuple(i)].item(), expected[tuple(i)].item()) for i in idx]
        nan = (actual.isnan() != expected.isnan()).sum().item()
        inf = (actual.isinf() != expected.isinf()).sum().item()
        raise AssertionError(
            f"{what}: {bad.sum().item()}/{bad.numel()} mismatched (atol={atol}, rtol={rtol}), "
            f"max abs diff {(actual - expected).abs().nan_to_num().max().item():.3g}; "
            f"nan/inf disagreements {nan}/{inf}; first (index, actual, expected): {pairs}"
        )


def assert_within_2x_of_torch(kernel_out, torch_lowp_out, ref32_out, dtype, what=""):
    """flash-attention's rule: max |kernel - ref32| <= 2 max |torch in dtype - ref32| (+ one output ulp, the
    rounding of the result itself), and the plain per-dtype tolerance as well."""
    assert kernel_out.dtype == dtype, what
    err = (kernel_out.float() - ref32_out).abs().max().item()
    torch_err = (torch_lowp_out.float() - ref32_out).abs().max().item()
    ulp = torch.finfo(dtype).eps * ref32_out.abs().max().item()
    assert err <= 2 * torch_err + ulp, f"{what}: kernel err {err:.3g}, torch {torch_err:.3g}, ulp {ulp:.3g}"
    tol = LOW_PRECISION_TOL[dtype]
    assert_close_verbose(kernel_out, ref32_out, tol, tol, what)
