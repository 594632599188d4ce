"""The benchmark's chart: bench/results/summary.json -> bench/results/chart.png.

Run by scripts/bench.sh with the matplotlib it installs (bench/requirements.txt)
into .tools/; by hand: python3 bench/chart.py [summary.json] [chart.png].
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

OPS = [("preview", "preview, no changes"), ("upEmpty", "up from empty"), ("upNoop", "up, no changes")]
OP_COLOURS = {"preview": "#1f77b4", "upEmpty": "#d62728", "upNoop": "#2ca02c"}
# The targets for the cost per extra resource, ms.
SLOPE_TARGETS = {"preview": 15, "upEmpty": 30, "upNoop": 20}
SCENARIOS = [
    ("empty", "empty program"),
    ("natsjs", "nats.js script"),
    ("fleet", "kanade fleet"),
    ("synthetic-24", "24 plain streams"),
]
SCENARIO_COLOURS = ["#9e9e9e", "#ff7f0e", "#6a3d9a", "#17becf"]


def timing(summary, scenario, op):
    for t in summary["timings"]:
        if t["scenario"] == scenario and t["op"] == op:
            return t
    return None


def side_by_side(ax, summary):
    present = [(s, label) for s, label in SCENARIOS if any(timing(summary, s, op) for op, _ in OPS)]
    width = 0.8 / max(len(present), 1)
    for i, (scenario, label) in enumerate(present):
        xs, ys, lo, hi = [], [], [], []
        for j, (op, _) in enumerate(OPS):
            t = timing(summary, scenario, op)
            if not t:
                continue
            xs.append(j - 0.4 + width * (i + 0.5))
            ys.append(t["median"] / 1000)
            lo.append((t["median"] - t["min"]) / 1000)
            hi.append((t["max"] - t["median"]) / 1000)
        bars = ax.bar(xs, ys, width, yerr=[lo, hi], capsize=3, label=label, color=SCENARIO_COLOURS[SCENARIOS.index((scenario, label))])
        for bar, y, up in zip(bars, ys, hi):
            ax.annotate(f"{y:.1f}" if y >= 1 else f"{y:.2f}", (bar.get_x() + bar.get_width() / 2, y + up),
                        xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(OPS)), [label for _, label in OPS])
    ax.set_ylabel("seconds (median, min–max)")
    ax.set_title("24 resources, side by side")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(axis="y", alpha=0.3)


def scaling(ax, summary):
    sizes = summary["sizes"]
    for op, label in OPS:
        pts = [(n, timing(summary, f"synthetic-{n}", op)) for n in sizes]
        pts = [(n, t) for n, t in pts if t]
        if not pts:
            continue
        xs = [n for n, _ in pts]
        ys = [t["median"] / 1000 for _, t in pts]
        err = [[(t["median"] - t["min"]) / 1000 for _, t in pts], [(t["max"] - t["median"]) / 1000 for _, t in pts]]
        fit = summary["slopes"].get(op)
        text = f"{label}: {fit['slope']:.1f} ms/resource" if fit else label
        ax.errorbar(xs, ys, yerr=err, fmt="o", capsize=3, color=OP_COLOURS[op], label=text)
        if fit:
            x0, x1 = 0, max(xs)
            ax.plot([x0, x1], [(fit["intercept"] + fit["slope"] * x0) / 1000, (fit["intercept"] + fit["slope"] * x1) / 1000],
                    "--", color=OP_COLOURS[op], alpha=0.7)
            # Where the target slope would have taken it from the smallest fleet.
            limit = SLOPE_TARGETS[op]
            ax.plot([xs[0], x1], [ys[0], ys[0] + limit * (x1 - xs[0]) / 1000], ":", color=OP_COLOURS[op], alpha=0.6)
        ax.plot(xs, ys, "-", color=OP_COLOURS[op], alpha=0.35, linewidth=1)
        if op == "upEmpty":
            nc = [(n, timing(summary, f"nocheckpoints-{n}", op)) for n in sizes]
            nc = [(n, t) for n, t in nc if t]
            if nc:
                fit_nc = summary.get("noCheckpointsSlope")
                nc_label = "up from empty, PULUMI_SKIP_CHECKPOINTS" + (f": {fit_nc['slope']:.1f} ms/resource" if fit_nc else "")
                ax.plot([n for n, _ in nc], [t["median"] / 1000 for _, t in nc], "o", mfc="none", color=OP_COLOURS[op], label=nc_label)
        fleet = timing(summary, "fleet", op)
        if fleet:
            ax.plot([24], [fleet["median"] / 1000], marker="*", markersize=11, color=OP_COLOURS[op], linestyle="none")
    ax.plot([], [], marker="*", linestyle="none", color="black", label="kanade fleet (24)")
    ax.plot([], [], ":", color="black", alpha=0.6, label="target: 15 ms (preview), 30 ms (up from empty), 20 ms (no-change up) per stream from the smallest")
    ax.set_xlabel("streams in the synthetic fleet")
    ax.set_ylabel("seconds (median, min–max; dashed: least-squares fit)")
    ax.set_title("Synthetic fleets: cost per extra resource")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)


def per_resource(ax, summary):
    state = [s for s in summary["state"] if s["kind"] == "synthetic"]
    memory = [m for m in summary["memory"] if m["kind"] == "synthetic" and m["providerPeakMiB"]["n"]]
    if state:
        xs = [s["size"] for s in state]
        ax.plot(xs, [s["perResource"] / 1024 for s in state], "o-", color="#8c564b", label="state per resource, KiB")
        ax.axhline(4, color="#8c564b", linestyle=":", alpha=0.8, label="state target, 4 KiB")
    fleet = next((s for s in summary["state"] if s["kind"] == "fleet"), None)
    if fleet:
        ax.plot([24], [fleet["perResource"] / 1024], marker="*", markersize=11, color="#8c564b", linestyle="none", label="kanade fleet, KiB")
    ax.set_xlabel("resources")
    ax.set_xlim(left=0)
    ax.set_ylabel("KiB of Pulumi state per resource")
    ax.set_ylim(bottom=0, top=max(5, ax.get_ylim()[1]))
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    if memory:
        ax2.plot([m["size"] for m in memory], [m["providerPeakMiB"]["median"] for m in memory], "s-", color="#e377c2", label="provider peak RSS, MiB")
    ax2.set_ylabel("MiB, largest provider process")
    ax2.set_ylim(bottom=0)
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=8, loc="lower right")
    ax.set_title("State and provider memory by fleet size")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    source = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "results", "summary.json")
    target = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(source), "chart.png")
    with open(source) as f:
        summary = json.load(f)
    env = summary["environment"]
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.2))
    side_by_side(axes[0], summary)
    scaling(axes[1], summary)
    per_resource(axes[2], summary)
    fig.suptitle(
        f"kanade-jetstream benchmark, {summary['started'][:16].replace('T', ' ')} UTC, {summary['reps']} repetition(s) - "
        f"Node.js {env['node']}, Pulumi {env['pulumi']}, nats-server {env['natsServer']} - {env['machine']}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(target, dpi=90)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
