"""``fastocr serve``: an HTTP service with dynamic batching (``batcher``), request checks (``requests``), the app
and its metrics (``app``), and a page to read images in a browser (``page.html``). The app needs the ``[serve]``
extra; its options (``options``) and limits do not, so the CLI reads their defaults without it."""

from .options import ServeOptions
from .requests import Limits

__all__ = ["Limits", "ServeOptions", "create_app"]


def __getattr__(name: str):
    if name == "create_app":  # Starlette and prometheus_client: the [serve] extra
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
