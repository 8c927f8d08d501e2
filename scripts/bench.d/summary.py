#!/usr/bin/env python3
"""scripts/bench.d/summary.py — scripts/bench's summary from summary.tsv.

    summary.py TSV table          the headline table, grouped, on stdout
    summary.py TSV chart PNG [NOTE]   the same as a chart

Each row compares nktls with a peer (another server or library), with the
crypto floor, or with itself in another mode (io_uring vs epoll, kernel TLS
vs software), in one of four groups. The advantage is oriented so that above
1 nktls does better; its range comes from the repeats (lowest nktls over
highest peer to highest over lowest, for more-is-better figures). The chart
puts each group on its own panel, peers, floor and nktls's own modes apart, on a log scale with
1.0 marked, so 0.5 and 2 lie as far from parity on either side.
"""
import csv
import sys

GROUPS = ["handshakes", "bulk", "memory", "latency"]
KINDS = {"peer": "against peers", "floor": "against the crypto floor",
         "self": "nktls against itself in another mode"}


def nums(text):
    out = []
    for t in (text or "").split():
        try:
            out.append(float(t))
        except ValueError:
            pass
    return out


def num(text):
    v = nums(text)
    return v[0] if v else None


def load(path):
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            nk, peer = num(r["nk"]), num(r["peer"])
            adv = lo = hi = None
            if nk and peer:
                # oriented: above 1 is better for nktls
                adv = nk / peer if r["dir"] == "hi" else peer / nk
                nks = nums(r["nk_all"]) or [nk]
                ps = nums(r["peer_all"]) or [peer]
                if min(nks) > 0 and min(ps) > 0:
                    if r["dir"] == "hi":
                        lo, hi = min(nks) / max(ps), max(nks) / min(ps)
                    else:
                        lo, hi = min(ps) / max(nks), max(ps) / min(nks)
                    if hi - lo < 1e-9:       # one repeat each: no range to show
                        lo = hi = None
            r.update(nkv=nk, peerv=peer, adv=adv, lo=lo, hi=hi,
                     nktp=num(r.get("nk_tp")), peertp=num(r.get("peer_tp")))
            rows.append(r)
    return rows


def fmt(v, digits=None):
    if v is None:
        return "-"
    if digits is None:
        digits = 0 if abs(v) >= 100 else 2 if abs(v) < 10 else 1
    return f"{v:,.{digits}f}".replace(",", "")


def table(rows):
    head = f"   {'figure':<40} {'nktls':>9} {'peer':>9} {'nk adv.':>7} {'range':>11}" \
           f" {'nktls tput':>11} {'peer tput':>11}"
    for g in GROUPS:
        for k in KINDS:
            sel = [r for r in rows if r["group"] == g and r["kind"] == k]
            if not sel:
                continue
            print(f"-- {g}, {KINDS[k]}")
            print(head)
            for r in sel:
                rng = f"{r['lo']:.2f}-{r['hi']:.2f}" if r["lo"] is not None else ""
                unit = r.get("tp_unit") or ""
                tp = [f"{fmt(v)} {unit}" if v is not None else "" for v in (r["nktp"], r["peertp"])]
                print(f"   {r['label']:<40} {fmt(r['nkv']):>9} {fmt(r['peerv']):>9}"
                      f" {fmt(r['adv'], 2):>7} {rng:>11} {tp[0]:>11} {tp[1]:>11}")
            print()


def chart(rows, png, note):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("   chart: not drawn (no matplotlib: apt-get install python3-matplotlib)")
        return
    panels = []
    for g in GROUPS:
        for k in KINDS:
            sel = [r for r in rows if r["group"] == g and r["kind"] == k and r["adv"]]
            if sel:
                panels.append((g, k, sel))
    if not panels:
        print("   chart: not drawn (no figures)")
        return
    vals = [v for _, _, sel in panels for r in sel
            for v in (r["adv"], r["lo"], r["hi"]) if v]
    xmin, xmax = min(vals + [1.0]) / 1.5, max(vals + [1.0]) * 1.5
    fig, axes = plt.subplots(len(panels), 1, sharex=True, squeeze=False,
                             figsize=(10, 1.2 + 0.38 * sum(len(s) + 2 for *_, s in panels)),
                             gridspec_kw={"height_ratios": [len(s) + 1 for *_, s in panels]})
    for ax, (g, k, sel) in zip(axes[:, 0], panels):
        y = list(range(len(sel)))[::-1]
        adv = [r["adv"] for r in sel]
        colour = {"peer": "#3070b0", "floor": "#909090", "self": "#70a070"}[k]
        ax.barh(y, [a - 1 for a in adv], left=1, color=colour, height=0.6)
        ranged = [(yi, r) for yi, r in zip(y, sel) if r["lo"] is not None]
        if ranged:
            ax.errorbar([r["adv"] for _, r in ranged], [yi for yi, _ in ranged],
                        xerr=[[r["adv"] - r["lo"] for _, r in ranged],
                              [r["hi"] - r["adv"] for _, r in ranged]],
                        fmt="none", ecolor="black", capsize=3, lw=1)
        for yi, r in zip(y, sel):
            a = r["adv"]
            end = (r["hi"] or a) if a >= 1 else (r["lo"] or a)   # past the error bar
            ax.annotate(f"{a:.2f}", (end, yi), xytext=(4 if a >= 1 else -4, 0),
                        textcoords="offset points", va="center",
                        ha="left" if a >= 1 else "right", fontsize=8)
        ax.set_yticks(y)
        ax.set_yticklabels([r["label"] for r in sel], fontsize=8)
        ax.axvline(1.0, color="red", lw=1.2)
        ax.set_title(f"{g}, {KINDS[k]}", fontsize=9, loc="left")
        ax.set_xscale("log")
        ax.set_xlim(xmin, xmax)
        ticks = [t for t in (0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32) if xmin <= t <= xmax]
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        ax.minorticks_off()
        ax.grid(axis="x", which="both", alpha=0.3)
    axes[-1, 0].set_xlabel("nktls advantage (log scale; 1.0 = parity, above 1: nktls better;"
                           " bars: range over repeats)", fontsize=8)
    title = "nktls vs peers, the crypto floor and its own modes, same run"
    fig.suptitle(title + (f" [{note}]" if note else ""), fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()))   # room for the title
    fig.savefig(png, dpi=110)
    print(f"   chart: {png}")


def main():
    rows = load(sys.argv[1])
    if sys.argv[2] == "table":
        table(rows)
    else:
        chart(rows, sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "")


main()
