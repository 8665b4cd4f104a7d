"""``python -m perfkit_report``: the same as the ``perfkit-report`` command."""

from __future__ import annotations

from perfkit_report._cli import main

raise SystemExit(main())
