"""Processes mode: agents on worker processes that talk through the shared-memory transport.

- ``_cluster``: the parent's side: the zygote, the workers, the hub thread, restarts;
- ``_worker``: a worker process: its agents in a sync-mode runtime, its loop over the rings;
- ``_ref``: ``ProcessRef``, the handle to an agent in another process;
- ``_zygote``: the fork server every worker comes from.

The mode's delivery (``_modes/processes.py``) uses them.
"""
