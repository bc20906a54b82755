"""``fastocr serve``: an HTTP service with dynamic batching (``batcher``), request checks (``requests``), the app
and its metrics (``app``), and a page to read images in a browser (``page.html``). Needs the ``[serve]`` extra."""

from .app import ServeOptions, create_app
from .requests import Limits

__all__ = ["Limits", "ServeOptions", "create_app"]
