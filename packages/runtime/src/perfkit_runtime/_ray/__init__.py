"""Ray mode: agents on Ray actors, for programs that outgrow one machine.

- ``_host``: the host actor: a sync-mode runtime holding the agents placed on it;
- ``_cloudpickle``: encoding as Ray does (checked in the driver, used by the hosts);
- ``_ref``: ``RayRef`` and the per-host batch that turns many tells into one actor call.

The mode's delivery (``_modes/ray.py``: starts or joins Ray, places agents, restarts) uses
them. Ray is imported only when a ray-mode Runtime is created (the ``perfkit-runtime[ray]``
extra).
"""
