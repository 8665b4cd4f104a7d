"""What the handles to agents in other processes share (``ProcessRef``, ``RayRef``).

Identity, asking, statistics and the refusals are the same whether messages travel through a
shared-memory ring or in a Ray actor call; what differs (``tell`` and ``send``) stays in each
mode's ref. The subclass holds the state in its own ``__slots__``: ``id``, ``_name``,
``_cls_name``, ``_state`` and ``_host`` (what the ref asks of the process it lives in).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from perfkit_runtime._exceptions import AgentStopped, RuntimeClosed
from perfkit_runtime._portable import check_message

if TYPE_CHECKING:
    from perfkit_runtime._codec import Codec
    from perfkit_runtime._statistics import AgentStats

__all__ = ["RemoteHost", "RemoteRef"]


class RemoteHost(Protocol):
    """What every remote ref needs from the process it lives in."""

    @property
    def codec(self) -> Codec: ...
    @property
    def closed(self) -> bool: ...

    def ask(self, ref: Any, msg: Any, timeout: float | None) -> Any: ...
    def dead_letter(self, address: str, msg: Any, reason: str) -> None: ...
    def agent_statistics(self, ref: Any) -> AgentStats: ...
    def wait_stopped(self, ref: Any, timeout: float | None) -> bool: ...


class RemoteRef:
    """The base of the refs to agents that live in another process."""

    __slots__ = ()

    id: int
    _name: str | None
    _cls_name: str
    _state: str
    _host: RemoteHost

    def tell(self, msg: Any) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ identity

    @property
    def name(self) -> str:
        if self._name is None:
            return f"{self._cls_name.lower()}-{self.id}"
        return self._name

    @property
    def state(self) -> str:
        return self._state

    @property
    def is_alive(self) -> bool:
        return self._state != "stopped"

    # ------------------------------------------------------------------ sending

    def tell_batch(self, msgs: Iterable[Any]) -> None:
        """Deliver many messages; each one obeys the overflow policy."""
        for msg in msgs:
            self.tell(msg)

    def ask(self, msg: Any, timeout: float | None = None) -> Any:
        """Deliver ``msg`` and wait for the handler's return value (its exception is raised)."""
        if self._state != "running":
            self._refuse()
        check_message(self._host.codec, msg, self.name)
        return self._host.ask(self, msg, timeout)

    def _stopped_tell(self, msg: Any) -> None:
        """``tell`` never raises for a stopped agent (a dead letter), as in every mode; a closed
        runtime refuses (RuntimeClosed)."""
        if self._host.closed:
            self._refuse()
        self._host.dead_letter(self.name, msg, "agent stopped")

    def _refuse(self) -> None:
        if self._host.closed:
            raise RuntimeClosed(
                f"cannot deliver to {self.name!r}: the runtime is closed; create a new Runtime"
            )
        raise AgentStopped(f"agent {self.name!r} has stopped; spawn a new one to reach it")

    # ------------------------------------------------------------------ state and statistics

    def statistics(self) -> AgentStats:
        return self._host.agent_statistics(self)

    def wait_stopped(self, timeout: float | None = None) -> bool:
        return self._host.wait_stopped(self, timeout)
