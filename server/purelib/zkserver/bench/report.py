"""Figures of a comparison: the summary per workload and server, the table (rich or markdown),
JSON, and the plot."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from zkserver.bench import targets
from zkserver.bench.compare import SERVERS, Measured, Round, median, percentile, ratio


@dataclass(frozen=True)
class Summary:
    rounds: int
    ops: int
    ops_per_s: float  # median over rounds
    p50_us: float
    p99_us: float
    p999_us: float
    server_cpu_s_per_1k_ops: float
    generator_cpu: float  # the busiest worker, the worst round (1.0 = one core saturated)
    errors: int
    error_sample: str


def summarize(rounds: list[Round]) -> Summary:
    lat = sorted(x for r in rounds for x in r.latencies_us)
    ops = sum(r.ops for r in rounds)
    cpu = sum(r.server_cpu_s for r in rounds)
    gen = [r.generator_cpu for r in rounds if not math.isnan(r.generator_cpu)]
    return Summary(
        rounds=len(rounds),
        ops=ops,
        ops_per_s=median([r.ops / r.wall_s for r in rounds]),
        p50_us=percentile(lat, 0.5),
        p99_us=percentile(lat, 0.99),
        p999_us=percentile(lat, 0.999),
        server_cpu_s_per_1k_ops=cpu / ops * 1000 if ops else float("nan"),
        generator_cpu=max(gen, default=float("nan")),
        errors=sum(sum(r.errors.values()) for r in rounds),
        error_sample=next((r.error_sample for r in rounds if r.error_sample), ""),
    )


def summaries(m: Measured) -> dict[str, dict[str, Summary]]:
    """workload -> server -> summary, in the order the workloads ran."""
    out: dict[str, dict[str, Summary]] = {}
    for key, rounds in m.rounds.items():
        workload, server = key.split("/")
        out.setdefault(workload, {})[server] = summarize(rounds)
    return out


def to_json(m: Measured, machine: dict[str, str], command: str) -> dict[str, Any]:
    table = summaries(m)
    return {
        "command": command,
        "machine": machine,
        "floors": {k: asdict(v) for k, v in m.floors.items()},
        "workloads": {
            w: {
                **{s: asdict(v) for s, v in per.items()},
                "ratio_ops_per_s": ratio(per["ours"].ops_per_s, per["apache"].ops_per_s),
                "ratio_p99": ratio(per["ours"].p99_us, per["apache"].p99_us),
            }
            for w, per in table.items()
            if all(s in per for s in SERVERS)
        },
        "launch_s": m.launch_s,
        "loaded": m.loaded,
        "targets": [{**asdict(c), "met": c.met} for c in targets.checks(m, table)],
    }


# ---- text ----


def fmt(value: float, digits: int = 0) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}"


def ms3(s: Summary) -> str:
    return " / ".join(fmt(v / 1000, 2) for v in (s.p50_us, s.p99_us, s.p999_us))


def x(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}x"


Row = tuple[str, ...]
Table = tuple[str, tuple[str, ...], list[Row]]

THROUGHPUT_HEADER = (
    "workload",
    "Apache ops/s",
    "ours ops/s",
    "ours/Apache",
    "Apache CPU s/1k ops",
    "ours CPU s/1k ops",
    "CPU ours/Apache",
    "generator CPU A / o",
    "errors A / o",
)
LATENCY_HEADER = (
    "workload",
    "Apache p50 / p99 / p99.9 ms",
    "ours p50 / p99 / p99.9 ms",
    "p50 ours/Apache",
    "p99 ours/Apache",
)


def paired(m: Measured) -> list[tuple[str, Summary, Summary]]:
    return [
        (w, per["apache"], per["ours"])
        for w, per in summaries(m).items()
        if all(s in per for s in SERVERS)
    ]


def throughput_rows(m: Measured) -> list[Row]:
    rows: list[Row] = []
    for w, a, o in paired(m):
        rows.append(
            (
                w,
                fmt(a.ops_per_s),
                fmt(o.ops_per_s),
                x(ratio(o.ops_per_s, a.ops_per_s)),
                fmt(a.server_cpu_s_per_1k_ops, 4),
                fmt(o.server_cpu_s_per_1k_ops, 4),
                x(ratio(o.server_cpu_s_per_1k_ops, a.server_cpu_s_per_1k_ops)),
                f"{fmt(a.generator_cpu * 100)}% / {fmt(o.generator_cpu * 100)}%",
                f"{a.errors} / {o.errors}",
            )
        )
    return rows


def latency_rows(m: Measured) -> list[Row]:
    return [
        (w, ms3(a), ms3(o), x(ratio(o.p50_us, a.p50_us)), x(ratio(o.p99_us, a.p99_us)))
        for w, a, o in paired(m)
    ]


def mib(value: float) -> str:
    return fmt(value / (1024 * 1024), 1)


def lifecycle_rows(m: Measured) -> list[Row]:
    rows: list[Row] = []
    la = median(m.launch_s.get("apache", []))
    lo = median(m.launch_s.get("ours", []))
    rows.append(("launch to first answered session (s)", fmt(la, 3), fmt(lo, 3), x(ratio(lo, la))))
    a, o = m.loaded.get("apache", {}), m.loaded.get("ours", {})
    nan = float("nan")
    loaded = int(o.get("znodes_loaded", a.get("znodes_loaded", 0)))

    def row(label: str, key: str, show: Any) -> None:
        va, vo = a.get(key, nan), o.get(key, nan)
        rows.append((label, show(va), show(vo), x(ratio(vo, va))))

    row("RSS, empty tree (MiB)", "rss_empty_bytes", mib)
    row(f"RSS right after loading {loaded:,} znodes (MiB)", "rss_loaded_bytes", mib)
    row(f"RSS with {loaded:,} znodes, idle after the load (MiB)", "rss_settled_bytes", mib)
    row("load rate (creates/s)", "load_ops_per_s", fmt)
    row("zk_znode_count after load", "znode_count", fmt)
    row("dataDir on disk after load (MiB)", "data_dir_bytes", mib)
    row(f"restart with {loaded:,} znodes (s)", "restart_s", lambda v: fmt(v, 3))
    row("zk_znode_count after restart", "znode_count_restarted", fmt)
    row("RSS after restart (MiB)", "rss_restarted_bytes", mib)
    return rows


def floor_rows(m: Measured) -> list[Row]:
    rows: list[Row] = []
    labels = {"fsync": "fdatasync of a 1 KiB append", "rtt": "loopback TCP round trip"}
    for key, floor in m.floors.items():
        rows.append((labels.get(key, key), fmt(floor.p50_us), fmt(floor.p99_us)))
    return rows


def multiple_rows(m: Measured) -> list[Row]:
    """Single-request p50 latencies as multiples of their physical floor."""
    table = summaries(m)
    rows: list[Row] = []
    for workload, key in (("get-serial", "rtt"), ("set-serial", "fsync")):
        per, floor = table.get(workload, {}), m.floors.get(key)
        if floor is None or not all(s in per for s in SERVERS):
            continue
        a, o = per["apache"].p50_us, per["ours"].p50_us
        label = f"{workload} p50 / {key} p50"
        rows.append((label, x(a / floor.p50_us), x(o / floor.p50_us), x(ratio(o, a))))
    return rows


def target_rows(m: Measured) -> list[Row]:
    rows: list[Row] = []
    for c in targets.checks(m, summaries(m)):
        value = f"{c.measured:.3f} s" if c.target.endswith("(s)") else x(c.measured)
        bound = f"{c.bound:g} s" if c.target.endswith("(s)") else f"{c.bound:g}x"
        met = "yes" if c.met else "no"
        rows.append((c.target, f"{c.sense} {bound}", value, met, c.detail))
    return rows


def tables(m: Measured) -> list[Table]:
    return [
        ("throughput (median of rounds) and server CPU", THROUGHPUT_HEADER, throughput_rows(m)),
        ("latency (every reply of every round)", LATENCY_HEADER, latency_rows(m)),
        (
            "launch, memory, disk, restart",
            ("measure", "Apache", "ours", "ours/Apache"),
            lifecycle_rows(m),
        ),
        ("physical floors (µs)", ("floor", "p50", "p99"), floor_rows(m)),
        (
            "single-request latency over the floor",
            ("measure", "Apache", "ours", "ours/Apache"),
            multiple_rows(m),
        ),
        (
            "targets",
            ("target", "bound", "measured", "met", "note"),
            target_rows(m),
        ),
    ]


def markdown(m: Measured) -> str:
    lines: list[str] = []
    for title, header, rows in tables(m):
        lines += [f"**{title}**", "", "| " + " | ".join(header) + " |"]
        lines.append("|" + "---|" * len(header))
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        lines.append("")
    return "\n".join(lines)


def print_tables(m: Measured) -> None:
    """rich tables when rich is installed, else the markdown text."""
    try:
        from rich.console import Console
        from rich.table import Table as RichTable
    except ImportError:
        print(markdown(m))
        return
    console = Console()
    for title, header, rows in tables(m):
        t = RichTable(title=title)
        for i, h in enumerate(header):
            t.add_column(h, justify="left" if i == 0 else "right")
        for r in rows:
            t.add_row(*r)
        console.print(t)


def plot(m: Measured, path: Path) -> str | None:
    """Draws throughput per workload (log scale) and the ratio; returns why not, if it cannot."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install 'zkrecipes[bench]'): no plot drawn"
    table = {w: per for w, per in summaries(m).items() if all(s in per for s in SERVERS)}
    names = list(table)
    pos = list(range(len(names)))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True)
    width = 0.4
    for offset, server, color in ((-0.2, "apache", "#d95f02"), (0.2, "ours", "#1b9e77")):
        values = [table[w][server].ops_per_s for w in names]
        label = "Apache ZooKeeper 3.8" if server == "apache" else "zkrecipes"
        top.bar([p + offset for p in pos], values, width, label=label, color=color)
    top.set_yscale("log")
    top.set_ylabel("ops/s (median of rounds)")
    top.legend()
    ratios = [ratio(table[w]["ours"].ops_per_s, table[w]["apache"].ops_per_s) for w in names]
    bottom.bar(pos, ratios, 0.6, color="#7570b3")
    bottom.axhline(1.0, color="black", linewidth=0.8)
    bottom.set_ylabel("throughput ours / Apache")
    bottom.set_xticks(pos, names, rotation=30, ha="right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
