"""The version the wheel, `fastocr --version` and `backend_info()` report (pyproject reads it from here)."""

__version__ = "0.2.0.dev0"
