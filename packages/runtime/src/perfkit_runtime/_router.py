"""The router: addresses, topics, groups and dead letters.

Routing algorithms and their cost per message:

- direct (name or id): one dict lookup;
- topic pub/sub: one dict lookup, then one tell per subscriber;
- round-robin group: an index increment;
- consistent-hash group: crc32 of the key and a binary search over a precomputed ring
  (``_hashring``), O(log n);
- broadcast group: one tell per member.

Nothing is routed silently nowhere: an unknown address, a topic nobody subscribes to, an empty
group and a stopped agent all produce a dead letter (counted by reason, newest kept).
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import count
from typing import TYPE_CHECKING, Any

from perfkit_runtime._exceptions import UnknownAddress
from perfkit_runtime._hashring import HashRing
from perfkit_runtime._statistics import RouterStats

if TYPE_CHECKING:
    from perfkit_runtime._ref import AgentRef

__all__ = [
    "GROUP_STRATEGIES",
    "BroadcastGroup",
    "ConsistentHashGroup",
    "DeadLetter",
    "DeadLetters",
    "Group",
    "RoundRobinGroup",
    "Router",
]

GROUP_STRATEGIES = ("round_robin", "consistent_hash", "broadcast")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that reached no agent, and why."""

    address: object
    message: Any
    reason: str


class DeadLetters:
    """Counts every dead letter and keeps the newest ``limit`` for inspection."""

    __slots__ = ("_kept", "reasons", "total")

    def __init__(self, limit: int = 1000) -> None:
        self._kept: deque[DeadLetter] = deque(maxlen=limit)
        self.total = 0
        self.reasons: Counter[str] = Counter()

    def add(self, address: object, message: Any, reason: str) -> None:
        self.total += 1
        self.reasons[reason] += 1
        self._kept.append(DeadLetter(address, message, reason))

    def __len__(self) -> int:
        return self.total

    def __iter__(self) -> Any:
        return iter(list(self._kept))

    def recent(self, n: int | None = None) -> list[DeadLetter]:
        """The newest ``n`` dead letters (all kept ones when ``n`` is None), oldest first."""
        kept = list(self._kept)
        return kept if n is None else kept[-n:] if n else []

    def clear(self) -> None:
        self._kept.clear()


class Group:
    """A named set of agents with one routing strategy."""

    strategy = ""

    def __init__(self, router: Router, name: str, members: Iterable[AgentRef]) -> None:
        self._router = router
        self.name = name
        self._members: list[AgentRef] = []
        for ref in members:
            self.add(ref)

    @property
    def members(self) -> list[AgentRef]:
        return list(self._members)

    def __len__(self) -> int:
        return len(self._members)

    def add(self, ref: AgentRef) -> None:
        if ref not in self._members:
            self._members.append(ref)

    def remove(self, ref: AgentRef) -> None:
        if ref in self._members:
            self._members.remove(ref)

    def route(self, key: object = None) -> AgentRef:
        """The member that the next message (with ``key``) goes to."""
        raise NotImplementedError

    def tell(self, msg: Any, key: object = None) -> None:
        """Deliver ``msg`` to the member(s) chosen by the strategy."""
        if not self._members:
            self._router.dead_letters.add(self.name, msg, "empty group")
            return
        self._router.routed += 1
        self.route(key).tell(msg)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} members={len(self._members)}>"


class RoundRobinGroup(Group):
    """Each message goes to the next member in turn."""

    strategy = "round_robin"

    def __init__(self, router: Router, name: str, members: Iterable[AgentRef]) -> None:
        self._next = count()
        super().__init__(router, name, members)

    def route(self, key: object = None) -> AgentRef:
        members = self._members
        if not members:
            raise UnknownAddress(f"group {self.name!r} has no members; add agents to it first")
        return members[next(self._next) % len(members)]


class ConsistentHashGroup(Group):
    """Messages with the same key go to the same member; membership changes move few keys."""

    strategy = "consistent_hash"

    def __init__(
        self,
        router: Router,
        name: str,
        members: Iterable[AgentRef],
        key: Callable[[Any], object] | None = None,
    ) -> None:
        self._ring: HashRing[AgentRef] = HashRing()
        self._key = key
        super().__init__(router, name, members)

    @property
    def key(self) -> Callable[[Any], object] | None:
        """The function that picks a message's key when ``tell`` is given none."""
        return self._key

    def add(self, ref: AgentRef) -> None:
        if ref not in self._members:
            self._members.append(ref)
            self._ring.add(f"{ref.id}", ref)

    def remove(self, ref: AgentRef) -> None:
        if ref in self._members:
            self._members.remove(ref)
            self._ring.remove(f"{ref.id}")

    def route(self, key: object = None) -> AgentRef:
        if not self._members:
            raise UnknownAddress(f"group {self.name!r} has no members; add agents to it first")
        return self._ring.lookup(key)

    def tell(self, msg: Any, key: object = None) -> None:
        if not self._members:
            self._router.dead_letters.add(self.name, msg, "empty group")
            return
        if key is None:
            key = self._key(msg) if self._key is not None else msg
        self._router.routed += 1
        self._ring.lookup(key).tell(msg)


class BroadcastGroup(Group):
    """Every message goes to every member."""

    strategy = "broadcast"

    def route(self, key: object = None) -> AgentRef:
        if not self._members:
            raise UnknownAddress(f"group {self.name!r} has no members; add agents to it first")
        return self._members[0]

    def tell(self, msg: Any, key: object = None) -> None:
        if not self._members:
            self._router.dead_letters.add(self.name, msg, "empty group")
            return
        self._router.routed += 1
        for ref in list(self._members):
            ref.tell(msg)


class Router:
    """Address book and routing for one runtime."""

    def __init__(self, dead_letter_limit: int = 1000) -> None:
        self._by_id: dict[int, AgentRef] = {}
        self._by_name: dict[str, AgentRef] = {}
        self._groups: dict[str, Group] = {}
        self._topics: dict[str, dict[int, AgentRef]] = {}
        self.dead_letters = DeadLetters(dead_letter_limit)
        self.routed = 0
        self.published = 0
        # Guards changes to the address book: in threads mode an agent stopping on a worker
        # (forget) may race a subscribe or group change in another thread. Routing reads copy.
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ registry

    def register(self, ref: AgentRef, name: str | None) -> None:
        if name is not None:
            self._by_name[name] = ref
        self._by_id[ref.id] = ref  # one dict store: atomic under the GIL, no lock on the spawn path

    def name_taken(self, name: str) -> bool:
        return name in self._by_name or name in self._groups

    def forget(self, ref: AgentRef) -> None:
        """Drop a stopped agent from the address book, its topics and its groups."""
        self._by_id.pop(ref.id, None)
        name = ref._name
        if name is not None and self._by_name.get(name) is ref:
            del self._by_name[name]
        if not self._topics and not self._groups:
            return
        with self._lock:
            for subscribers in list(self._topics.values()):
                subscribers.pop(ref.id, None)
            for group in list(self._groups.values()):
                group.remove(ref)

    def agents(self) -> list[AgentRef]:
        return list(self._by_id.values())

    # ------------------------------------------------------------------ direct

    def lookup(self, address: str | int) -> AgentRef:
        """The agent registered under a name or id."""
        ref = self._by_id.get(address) if isinstance(address, int) else self._by_name.get(address)
        if ref is None:
            raise UnknownAddress(
                f"no agent is registered as {address!r}; spawn it with name={address!r} first "
                "or check Runtime.names()"
            )
        return ref

    def tell(self, address: object, msg: Any, key: object = None) -> None:
        """Route to an agent (name, id or ref) or a group (name); unknown: dead letter + error."""
        if isinstance(address, str):
            ref = self._by_name.get(address)
            if ref is None:
                group = self._groups.get(address)
                if group is not None:
                    group.tell(msg, key)
                    return
        elif isinstance(address, int):
            ref = self._by_id.get(address)
        else:
            target: Any = address
            if hasattr(target, "tell"):  # an AgentRef or a Group
                self.routed += 1
                target.tell(msg)
                return
            ref = None
        if ref is None:
            self.dead_letters.add(address, msg, "unknown address")
            raise UnknownAddress(
                f"no agent or group is registered as {address!r} (the message was recorded as a "
                "dead letter); spawn it first or check Runtime.names()"
            )
        self.routed += 1
        ref.tell(msg)

    # ------------------------------------------------------------------ topics

    def subscribe(self, topic: str, ref: AgentRef) -> None:
        with self._lock:
            self._topics.setdefault(topic, {})[ref.id] = ref

    def unsubscribe(self, topic: str, ref: AgentRef) -> bool:
        with self._lock:
            subscribers = self._topics.get(topic)
            if not subscribers or subscribers.pop(ref.id, None) is None:
                return False
            if not subscribers:
                del self._topics[topic]
            return True

    def topics(self) -> list[str]:
        """Every topic that has subscribers."""
        return list(self._topics)

    def groups(self) -> list[Group]:
        return list(self._groups.values())

    def subscribers(self, topic: str) -> list[AgentRef]:
        return list(self._topics.get(topic, {}).values())

    def publish(self, topic: str, msg: Any) -> int:
        """Deliver to every subscriber of ``topic``; returns how many. None: a dead letter."""
        subscribers = self._topics.get(topic)
        if not subscribers:
            self.dead_letters.add(topic, msg, "no subscribers")
            return 0
        self.published += 1
        for ref in list(subscribers.values()):
            ref.tell(msg)
        return len(subscribers)

    # ------------------------------------------------------------------ groups

    def add_group(self, group: Group) -> None:
        with self._lock:
            self._groups[group.name] = group

    def group(self, name: str) -> Group:
        try:
            return self._groups[name]
        except KeyError:
            raise UnknownAddress(
                f"no group is named {name!r}; create it with Runtime.group({name!r}, members)"
            ) from None

    def remove_group(self, name: str) -> None:
        with self._lock:
            self._groups.pop(name, None)

    def names(self) -> list[str]:
        return sorted([*self._by_name, *self._groups])

    def statistics(self) -> RouterStats:
        return RouterStats(
            agents=len(self._by_id),
            named=len(self._by_name),
            groups=len(self._groups),
            topics=len(self._topics),
            routed=self.routed,
            published=self.published,
            dead_letters=self.dead_letters.total,
            dead_letter_reasons=dict(self.dead_letters.reasons),
        )
