"""What processes mode and ray mode share: agents built elsewhere, an address book kept here.

Both keep the address book (names, ids, groups, topics) in the process that created the
``Runtime`` and send every change to the places where agents run (worker processes, Ray host
actors). ``RemoteDelivery`` holds the half of the delivery protocol that does not depend on how
messages travel: refusing coroutine hooks, turning ``spawn``'s arguments into a spec, choosing a
place, stopping, forgetting a stopped agent, and the routes a re-created place replays. Each
mode adds how a spec reaches its place (``_spawn_at``), how a stop travels (``_send_stop``) and
how a change is broadcast (``changed``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from perfkit_runtime._exceptions import ModeError, SpawnError, UnknownAddress
from perfkit_runtime._modes.local import async_hook

if TYPE_CHECKING:
    from collections.abc import Callable

    from perfkit_runtime._agent import Agent
    from perfkit_runtime._hashring import HashRing
    from perfkit_runtime._router import Router

__all__ = ["RemoteDelivery"]


class RemoteDelivery:
    """The base of ``ProcessesDelivery`` and ``RayDelivery``."""

    mode: ClassVar[str] = ""
    # Said after "<Agent>.<hook> is 'async def'; " when an agent class has a coroutine hook.
    plain_hooks: ClassVar[str] = ""
    # What a place is called in errors ("worker", "host"), which is also the ref's attribute
    # holding its place's number, and the number of the first place.
    place_word: ClassVar[str] = ""
    first_place: ClassVar[int] = 0

    router: Router
    _placement: HashRing[int]
    _specs: dict[int, tuple[Any, ...]]
    _retired: list[int]

    def enter(self, asynchronous: bool) -> None:
        if asynchronous:
            raise ModeError(f"a {self.mode}-mode Runtime is used with 'with', not 'async with'")

    def admit(self, cls: type[Agent]) -> None:
        hook = async_hook(cls)
        if hook is not None:
            raise ModeError(f"{cls.__name__}.{hook} is 'async def'; {self.plain_hooks}")

    # ------------------------------------------------------------------ spawning

    @property
    def ref_class(self) -> Callable[..., Any]:
        """Spawns at a place and hands back a proxy (not an ``AgentRef`` class: see ``_spawn``)."""
        return self._spawn

    def _spawn(
        self,
        delivery: Any,
        agent: Agent,
        ident: int,
        name: str | None,
        capacity: int | None,
        overflow: str,
        supervision: str,
        cls: type[Agent],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        mailbox: Any = None,
        placement: object = None,
    ) -> Any:
        label = name if name is not None else f"{cls.__name__.lower()}-{ident}"
        place = self._place(label if placement is None else placement)
        options = {"capacity": capacity, "overflow": overflow, "supervision": supervision}
        return self._spawn_at(place, (ident, name, cls, args, kwargs, options, 0))

    def _spawn_at(self, place: int, spec: tuple[Any, ...]) -> Any:
        """Build and start the agent of ``spec`` at ``place``; its ref, once registered."""
        raise NotImplementedError

    def _place(self, key: object) -> int:
        """``placement=``: a place's number as given, any other key by consistent hash."""
        if isinstance(key, int) and not isinstance(key, bool):
            places = len(self._placement)
            if not 0 <= key < places:
                raise SpawnError(
                    f"placement={key} is not a {self.place_word} number; use 0..{places - 1} "
                    "or a key"
                )
            return key + self.first_place
        return self._placement.lookup(key)

    def start(self, ref: Any, agent: Agent) -> None:
        """Nothing: ``on_start`` ran where the agent lives before ``ref_class`` returned."""

    # ------------------------------------------------------------------ stopping

    def stop(self, ref: Any) -> None:
        if ref.state != "running":
            return
        ref._state = "stopping"
        self._send_stop(ref)

    def _send_stop(self, ref: Any) -> None:
        raise NotImplementedError

    def changed(self, change: tuple[Any, ...]) -> None:
        raise NotImplementedError

    def agent_stopped(self, gid: int, counters: tuple[int, int, int]) -> None:
        """An agent stopped where it lived (rt.stop or supervision 'stop'): keep its counters,
        forget it here and at every place."""
        ref = self._ref(gid)
        self._specs.pop(gid, None)
        for i, n in enumerate(counters):
            self._retired[i] += n
        if ref is not None:
            ref._state = "stopped"
            self.router.forget(ref)
        self.changed(("forget", gid))

    def _respawn_specs(self, place: int) -> list[tuple[Any, ...]]:
        """The place ``place`` died: the specs of its agents to re-create there.

        Supervision decides: ``stop`` agents stay stopped; ``resume`` and ``restart`` agents are
        re-created from their spawn arguments (the instance died with the process), counted as
        restarts.
        """
        specs = []
        for gid, spec in list(self._specs.items()):
            ref = self._ref(gid)
            if ref is None or getattr(ref, self.place_word) != place:
                continue
            if spec[5]["supervision"] == "stop":
                self.agent_stopped(gid, (0, 0, 0))
                continue
            spec = (*spec[:6], spec[6] + 1)
            self._specs[gid] = spec
            specs.append(spec)
        return specs

    def _ref(self, gid: int) -> Any:
        try:
            return self.router.lookup(gid)
        except UnknownAddress:
            return None

    # ------------------------------------------------------------------ replaying

    def _routes(self) -> list[Any]:
        """The address book as changes, for a place that starts over."""
        router = self.router
        routes: list[Any] = [("register", [self._entry(r) for r in router.agents()])]
        for topic in router.topics():
            routes += [("subscribe", topic, ref.id) for ref in router.subscribers(topic)]
        for group in router.groups():
            key = self._sendable_key(getattr(group, "key", None))
            routes.append(("group", group.name, group.strategy, [m.id for m in group.members], key))
        return routes

    def _entry(self, ref: Any) -> tuple[Any, ...]:
        """What a place needs to know of an agent to address it."""
        raise NotImplementedError

    def _sendable_key(self, key: Any) -> Any:
        """A group's key as it can travel (a mode that cannot send it replaces it)."""
        return key
