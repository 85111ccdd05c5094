"""The workloads: what each connection sends, and the tree they need.

A request-stream workload gives each connection an optional untimed `prepare` stream (nodes a
delete will remove, the node a set will write) and the timed stream. Two workloads are not
request streams and have their own drivers: `connect` (session connect + close) and `fanout`
(1,000 sessions watch one node; time from setData to the last notification).
"""

from __future__ import annotations

from dataclasses import dataclass

from zkserver.bench import protocol as p

ROOT = "/bench"
DATA_NODE = f"{ROOT}/n"
KIDS_NODE = f"{ROOT}/kids"
KID_NAMES = [f"k{i}" for i in range(10)]
SET_PARENT = f"{ROOT}/s"
SEQ_PARENT = f"{ROOT}/seq"
DEL_PARENT = f"{ROOT}/del"
MULTI_PARENT = f"{ROOT}/m"
MULTI_OPS = 10
MULTI_PATHS = [f"{MULTI_PARENT}/{i}" for i in range(MULTI_OPS)]
FANOUT_NODE = f"{ROOT}/fan"
LOAD_PARENT = "/load"
MIXED_PERIOD = 10  # 9 gets then 1 set

STREAM_WORKLOADS = (
    "get",
    "exists",
    "getChildren",
    "set",
    "create",
    "delete",
    "mixed",
    "multi",
)
ALL_WORKLOADS = (*STREAM_WORKLOADS, "connect", "fanout")
WRITE_WORKLOADS = frozenset({"set", "create", "delete", "mixed", "multi"})


def setup_nodes(data: bytes) -> list[tuple[str, bytes]]:
    """Nodes every workload expects, parents first (created once per server, untimed)."""
    nodes = [(ROOT, b""), (DATA_NODE, data), (KIDS_NODE, b"")]
    nodes += [(f"{KIDS_NODE}/{k}", b"") for k in KID_NAMES]
    nodes += [(SET_PARENT, b""), (SEQ_PARENT, b""), (DEL_PARENT, b""), (MULTI_PARENT, b"")]
    nodes += [(path, data) for path in MULTI_PATHS]
    nodes.append((FANOUT_NODE, data))
    nodes.append((LOAD_PARENT, b""))
    return nodes


class OpStream:
    """Up to `count` requests; `request(i)` is the opcode and body of the i-th."""

    def __init__(self, count: int) -> None:
        self.count = count

    def request(self, i: int) -> bytes:
        raise NotImplementedError

    def reply_len(self, i: int) -> int:
        raise NotImplementedError


class Cyclic(OpStream):
    """A fixed pattern of requests repeated: every read, set, create, multi and mixed stream."""

    def __init__(self, count: int, pattern: list[tuple[bytes, int]]) -> None:
        super().__init__(count)
        self.requests = [req for req, _ in pattern]
        self.lengths = [n for _, n in pattern]
        self.period = len(pattern)

    def request(self, i: int) -> bytes:
        return self.requests[i % self.period]

    def reply_len(self, i: int) -> int:
        return self.lengths[i % self.period]


class Numbered(OpStream):
    """Requests naming `prefix` + i: the creates that prepare a delete, and the deletes."""

    def __init__(self, count: int, prefix: str, data: bytes, deleting: bool) -> None:
        super().__init__(count)
        self.prefix = prefix
        self.data = data
        self.deleting = deleting
        self.create_len = p.create_reply_len(prefix + "0", sequential=False)

    def request(self, i: int) -> bytes:
        path = f"{self.prefix}{i}"
        return p.delete(path) if self.deleting else p.create(path, self.data)

    def reply_len(self, i: int) -> int:
        if self.deleting:
            return p.delete_reply_len()
        return self.create_len + len(str(i)) - 1


@dataclass(frozen=True)
class StreamPlan:
    prepare: OpStream | None
    measure: OpStream


def plan(workload: str, tag: str, worker: int, conn: int, ops: int, data: bytes) -> StreamPlan:
    """The streams of one connection; `tag` makes the paths of this run unique."""
    size = len(data)
    own = f"{tag}-{worker}-{conn}"
    get = (p.get_data(DATA_NODE), p.get_data_reply_len(size))
    if workload == "get":
        return StreamPlan(None, Cyclic(ops, [get]))
    if workload == "exists":
        return StreamPlan(None, Cyclic(ops, [(p.exists(DATA_NODE), p.stat_reply_len())]))
    if workload == "getChildren":
        kids = (p.get_children(KIDS_NODE), p.children_reply_len(KID_NAMES))
        return StreamPlan(None, Cyclic(ops, [kids]))
    if workload in ("set", "mixed"):
        node = f"{SET_PARENT}/{own}"
        make = Cyclic(1, [(p.create(node, data), p.create_reply_len(node, sequential=False))])
        put = (p.set_data(node, data), p.stat_reply_len())
        pattern = [put] if workload == "set" else [get] * (MIXED_PERIOD - 1) + [put]
        return StreamPlan(make, Cyclic(ops, pattern))
    if workload == "create":
        prefix = f"{SEQ_PARENT}/c-"
        seq = (p.create(prefix, data, p.FLAG_SEQUENTIAL), p.create_reply_len(prefix, True))
        return StreamPlan(None, Cyclic(ops, [seq]))
    if workload == "delete":
        prefix = f"{DEL_PARENT}/{own}-"
        return StreamPlan(
            Numbered(ops, prefix, data, deleting=False),
            Numbered(ops, prefix, data, deleting=True),
        )
    if workload == "load":
        return StreamPlan(None, Numbered(ops, f"{LOAD_PARENT}/{own}-", data, deleting=False))
    if workload == "multi":
        multi = (p.multi_set_data(MULTI_PATHS, data), p.multi_set_data_reply_len(MULTI_OPS))
        return StreamPlan(None, Cyclic(ops, [multi]))
    raise ValueError(f"not a request-stream workload: {workload}")
