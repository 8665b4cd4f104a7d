"""``python -m perfkit_bench``: the same command as ``perfkit-bench``."""

from __future__ import annotations

import sys

from perfkit_bench._cli import main

sys.exit(main())
