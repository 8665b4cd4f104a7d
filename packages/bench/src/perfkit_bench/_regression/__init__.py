"""``perfkit-bench regression``: the regression gate's driver. It composes the toolkit's command
lines (``perfkit-bench instructions`` / ``ab`` in each side's environment, ``perfkit-report
check``, ``perfkit-profile``) as processes, never by importing them; one small module per step
(the sequence is in ``_driver``)."""

from __future__ import annotations

from perfkit_bench._regression._command import add_regression_command

__all__ = ["add_regression_command"]
