"""``python -m fastocr.cli``: the ``fastocr`` command."""

import sys

from . import main

sys.exit(main())
