"""An order pipeline: a router, a sharded group of workers, pub/sub, history and a SQLite store.

    ingest --> validate --(consistent hash on customer)--> shard-0..3 --> ledger (store)
                                                             \\--> topic "audit" --> auditor

Run it with ``python examples/pipeline.py [--mode sync|threads|asyncio] [--orders N]``. It prints
what each agent did and the runtime's statistics, and exits non-zero if any order went missing.
"""

from __future__ import annotations

import argparse
import asyncio
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any

from perfkit_runtime import Agent, History, Runtime, Store


class Validate(Agent):
    """Drops malformed orders, forwards good ones to the shard group by customer."""

    def __init__(self) -> None:
        self.rejected = 0

    def handle(self, order: dict[str, Any]) -> None:
        if order.get("qty", 0) <= 0:
            self.rejected += 1
            self.runtime.publish("audit", ("rejected", order["id"]))
            return
        self.runtime.tell("shards", order, key=order["customer"])


class Shard(Agent):
    """Keeps a running total per customer; every customer lands on exactly one shard."""

    def __init__(self) -> None:
        self.totals: dict[str, int] = {}

    def handle(self, order: dict[str, Any]) -> None:
        customer = order["customer"]
        self.totals[customer] = self.totals.get(customer, 0) + order["qty"]
        self.runtime.tell("ledger", (customer, order["id"], order["qty"]))


class Ledger(Agent):
    """Writes accepted orders to the SQLite store in batches of 100."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.pending: list[tuple[str, str | None, float, str, bytes]] = []
        self.written = 0

    def handle(self, entry: tuple[str, int, int]) -> int:
        if entry == ("flush",):  # type: ignore[comparison-overlap]
            self.flush()
            return self.written
        customer, order_id, qty = entry
        self.pending.append((customer, "ledger", float(order_id), "pickle", pickle.dumps(qty)))
        if len(self.pending) >= 100:
            self.flush()
        return self.written

    def flush(self) -> None:
        if self.pending:
            self.written += self.store.append_messages(self.pending)
            self.pending.clear()

    def on_stop(self) -> None:
        self.flush()


class Auditor(Agent):
    def __init__(self) -> None:
        self.events: list[Any] = []

    def handle(self, event: Any) -> None:
        self.events.append(event)


def orders(n: int) -> list[dict[str, Any]]:
    return [
        {"id": i, "customer": f"c{i % 13}", "qty": -1 if i % 50 == 0 else 1 + i % 4}
        for i in range(n)
    ]


async def pipeline(mode: str, n: int, store: Store) -> dict[str, Any]:
    history = History(max_messages=1000)
    rt = Runtime(mode, history=history)
    validate = rt.spawn(Validate, name="validate")
    shards = rt.spawn_many(Shard, 4)
    rt.group("shards", shards, "consistent_hash")
    ledger = rt.spawn(Ledger, store, name="ledger")
    auditor = rt.spawn(Auditor, name="auditor")
    rt.subscribe("audit", auditor)

    for order in orders(n):
        if mode == "asyncio":
            await validate.send(order)
        else:
            validate.send(order)

    if mode == "asyncio":
        await rt.wait_idle_async(30)
        await ledger.ask(("flush",), timeout=30)
    else:
        rt.wait_idle(30)
        ledger.ask(("flush",), timeout=30)

    stats = rt.statistics()
    result = {
        "rejected": validate._agent.rejected,
        "audited": len(auditor._agent.events),
        "written": ledger._agent.written,
        "customers_per_shard": [len(s._agent.totals) for s in shards],
        "total_qty": sum(sum(s._agent.totals.values()) for s in shards),
        "history": len(history),
        "stats": stats,
    }
    report = await rt.aclose() if mode == "asyncio" else rt.close()
    result["clean_close"] = report.clean
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["sync", "threads", "asyncio", "all"], default="all")
    parser.add_argument("--orders", type=int, default=2000)
    args = parser.parse_args(argv)
    modes = ["sync", "threads", "asyncio"] if args.mode == "all" else [args.mode]
    expected = orders(args.orders)
    good = [o for o in expected if o["qty"] > 0]
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            with Store(Path(tmp) / f"{mode}.db") as store:
                r = asyncio.run(pipeline(mode, args.orders, store))
                stored = store.count_messages()
            ok = (
                r["written"] == len(good) == stored
                and r["rejected"] == r["audited"] == len(expected) - len(good)
                and r["total_qty"] == sum(o["qty"] for o in good)
                and r["clean_close"]
            )
            failed |= not ok
            s = r["stats"]
            print(
                f"{mode:8} {'ok' if ok else 'MISMATCH':8} orders={args.orders} stored={stored} "
                f"rejected={r['rejected']} shards={r['customers_per_shard']} "
                f"handled={s.messages_out} errors={s.errors} dead_letters={s.dead_letters} "
                f"history={r['history']}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
