"""The performance targets of the project, checked against the figures of one run.

Each target is a bound on a figure of this run: a ratio ours / Apache, or our latency as a
multiple of a physical floor measured in the same run. A target whose figures are missing (a
`--workloads` subset) is left out. Whether a target is met is reported, never asserted: the
machine is shared, and a test does not decide on a timing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from zkserver.bench.compare import SERVERS, Measured, median, ratio

AT_LEAST = ">="
AT_MOST = "<="
# The memory and restart targets are stated for a tree of this many znodes.
TARGET_ZNODES = 1_000_000


class Figures(Protocol):
    @property
    def ops_per_s(self) -> float: ...
    @property
    def p50_us(self) -> float: ...
    @property
    def p99_us(self) -> float: ...


Table = Mapping[str, Mapping[str, Figures]]


@dataclass(frozen=True)
class Check:
    target: str
    bound: float
    sense: str  # AT_LEAST or AT_MOST
    measured: float
    detail: str = ""

    @property
    def met(self) -> bool:
        if math.isnan(self.measured):
            return False
        if self.sense == AT_LEAST:
            return self.measured >= self.bound
        return self.measured <= self.bound


THROUGHPUT_BOUNDS = (
    (("get", "exists", "getChildren"), 3.0),
    (("set", "create", "delete", "mixed"), 1.5),
    (("connect",), 1.0),
)
P99_BOUND = 0.5
P99_WORKLOADS = ("get-paced", "set-paced")
GET_OVER_RTT_BOUND = 4.0
SET_OVER_FSYNC_BOUND = 1.5
LAUNCH_BOUND_S = 0.1
RSS_BOUND = 0.3
RESTART_BOUND = 0.33


def checks(m: Measured, table: Table) -> list[Check]:
    out: list[Check] = []
    paired = {w: per for w, per in table.items() if all(s in per for s in SERVERS)}
    for names, bound in THROUGHPUT_BOUNDS:
        for w in names:
            if w in paired:
                r = ratio(paired[w]["ours"].ops_per_s, paired[w]["apache"].ops_per_s)
                out.append(Check(f"{w} throughput, ours / Apache", bound, AT_LEAST, r))
    for w in P99_WORKLOADS:
        if w in paired:
            r = ratio(paired[w]["ours"].p99_us, paired[w]["apache"].p99_us)
            out.append(
                Check(f"{w} p99 at the same offered load, ours / Apache", P99_BOUND, AT_MOST, r)
            )
    out += floor_checks(m, paired)
    launch = median(m.launch_s.get("ours", []))
    if not math.isnan(launch):
        out.append(Check("launch to first answered session (s)", LAUNCH_BOUND_S, AT_MOST, launch))
    out += lifecycle_checks(m)
    return out


def floor_checks(m: Measured, paired: Table) -> list[Check]:
    out: list[Check] = []
    rtt, fsync = m.floors.get("rtt"), m.floors.get("fsync")
    if rtt is not None and "get-serial" in paired:
        got = paired["get-serial"]["ours"].p50_us / rtt.p50_us
        out.append(Check("get-serial p50 / loopback RTT p50", GET_OVER_RTT_BOUND, AT_MOST, got))
    if fsync is not None and "set-serial" in paired:
        got = paired["set-serial"]["ours"].p50_us / fsync.p50_us
        detail = ""
        if rtt is not None:
            # A write cannot be answered sooner than a round trip plus one fsync.
            least = (rtt.p50_us + fsync.p50_us) / fsync.p50_us
            detail = f"physical floor (RTT + fsync) / fsync = {least:.2f}x"
        out.append(Check("set-serial p50 / fsync p50", SET_OVER_FSYNC_BOUND, AT_MOST, got, detail))
    return out


def lifecycle_checks(m: Measured) -> list[Check]:
    a, o = m.loaded.get("apache", {}), m.loaded.get("ours", {})
    if not a or not o:
        return []
    loaded = int(o.get("znodes_loaded", 0))
    note = "" if loaded >= TARGET_ZNODES else f"measured with {loaded:,} znodes, not 1M"
    out = []
    for label, key in (
        ("RSS idle after the load, ours / Apache", "rss_settled_bytes"),
        ("RSS after a restart, ours / Apache", "rss_restarted_bytes"),
    ):
        if key in a and key in o:
            out.append(Check(label, RSS_BOUND, AT_MOST, ratio(o[key], a[key]), note))
    if "restart_s" in a and "restart_s" in o:
        r = ratio(o["restart_s"], a["restart_s"])
        out.append(Check("restart time, ours / Apache", RESTART_BOUND, AT_MOST, r, note))
    return out
