"""``python -m perfkit_profile``: the same command as ``perfkit-profile``."""

from __future__ import annotations

import sys

from perfkit_profile._cli import main

sys.exit(main())
