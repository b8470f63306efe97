"""Charts as inline SVG (matplotlib, Agg): deterministic, self-contained, colour-blind safe.

Colours are Okabe–Ito; every series also differs in marker, fill or stripes so the charts read in
greyscale. Charts carry no data labels — the exact figures are in the tagged tables beside them.
Stripes are drawn as clipped vector lines, not SVG <pattern>s, which Chromium would rasterise in the PDF.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import matplotlib
import matplotlib.colors
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend_handler import HandlerBase
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.transforms import Transform

from maturity.report.data import WaveData
from maturity.report.fmt import QUADRANTS, is_missing

BLUE, ORANGE, VERMILLION, SKY, GREEN, GREY, INK = ("#0072B2", "#E69F00", "#D55E00", "#56B4E9", "#009E73",
                                                   "#9a9a9a", "#222222")
BANDS = ((0, 25, "Basis"), (25, 50, "Gennemsnitlig"), (50, 75, "Moderat avanceret"), (75, 100, "Avanceret"))
RC = {
    "svg.hashsalt": "maturity-direktion-report",
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    "font.size": 8,
    "axes.titlesize": 8.5,
    "axes.labelsize": 8,
    "axes.edgecolor": "#555555",
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "path.simplify": False,
}


@contextmanager
def _figure(width: float, height: float) -> Iterator[Figure]:
    """A figure outside pyplot (no global state, no backend switch) with the report's rc settings."""
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, height))
        FigureCanvasAgg(fig)
        yield fig


def to_svg(fig: Figure, chart_id: str, title: str) -> str:
    """The figure as an inline <svg>: no XML header or metadata, ids made unique per chart, scalable."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r'\sid="([^"]+)"', rf' id="{chart_id}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{chart_id}-\1)", svg)
    svg = re.sub(r'xlink:href="#([^"]+)"', rf'xlink:href="#{chart_id}-\1"', svg)
    svg = re.sub(r'<svg([^>]*?)\swidth="[^"]*"\sheight="[^"]*"', r"<svg\1", svg, count=1)
    safe = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    svg = svg.replace("<svg", f'<svg class="chart" role="img" aria-label="{safe}"', 1)
    return svg.strip() + "\n"


class StripedPatch(Patch):
    """A legend handle drawn as a box with diagonal stripes (see `StripedHandler`)."""


class StripedHandler(HandlerBase):
    def create_artists(self, legend: object, orig_handle: Artist, xdescent: float, ydescent: float, width: float,
                       height: float, fontsize: float, trans: Transform) -> list[Artist]:
        assert isinstance(orig_handle, Patch)
        x0, y0 = -xdescent, -ydescent
        box = Rectangle((x0, y0), width, height, fc=orig_handle.get_facecolor(), ec=orig_handle.get_edgecolor(),
                        lw=0.8, transform=trans)
        artists: list[Artist] = [box]
        step = height * 0.8
        x = x0 - height
        while x < x0 + width:
            line = Line2D([x, x + height], [y0, y0 + height], color=orig_handle.get_edgecolor(), lw=0.8,
                          transform=trans)
            line.set_clip_path(box)
            artists.append(line)
            x += step
        return artists


def _stripe(fig: Figure, ax: Axes, bar: Rectangle, colour: str, spacing_in: float = 0.055) -> None:
    """Diagonal vector stripes inside `bar` (call after the layout is final)."""
    ax.autoscale(False)
    pos = ax.get_position()
    width_in, height_in = pos.width * fig.get_figwidth(), pos.height * fig.get_figheight()
    (xa, xb), (ya, yb) = ax.get_xlim(), ax.get_ylim()
    x_per_in, y_per_in = abs(xb - xa) / width_in, abs(yb - ya) / height_in
    x0, y0, w, h = bar.get_x(), bar.get_y(), bar.get_width(), bar.get_height()
    rise_x = h / y_per_in * x_per_in  # the x distance that makes a 45° line over the bar's height
    step = spacing_in * x_per_in
    x = x0 - rise_x
    while x < x0 + w:
        line = Line2D([x, x + rise_x], [y0 + h, y0], color=colour, lw=0.8, zorder=bar.get_zorder() + 0.1)
        ax.add_line(line)
        line.set_clip_path(bar)
        x += step


def _wrap(text: str, width: int = 24) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def _band_background(ax: Axes, vertical: bool = True, labels: bool = True) -> None:
    for i, (lo, hi, name) in enumerate(BANDS):
        shade = "#f1f1f1" if i % 2 == 0 else "#ffffff"
        if vertical:
            ax.axvspan(lo, hi, color=shade, zorder=0, lw=0)
            if labels:
                ax.text((lo + hi) / 2, 1.01, name, transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                        fontsize=7, color="#555555")
        else:
            ax.axhspan(lo, hi, color=shade, zorder=0, lw=0)


def _val(row: dict | None, column: str) -> float | None:
    if not row:
        return None
    value = row.get(column)
    return None if is_missing(value) else float(value)


def current_vs_target(data: WaveData) -> str:
    """Dumbbell per dimension at the root: current (filled circle) → target (open diamond)."""
    dims = data.dimensions
    with _figure(7.0, 0.42 * len(dims) + 0.9) as fig:
        ax = fig.add_subplot(111)
        _band_background(ax)
        for y, dim in enumerate(dims):
            row = data.root_scores.get(dim.dimension_id)
            cur, tgt = _val(row, "maturity_index"), _val(row, "target_index")
            if cur is None:
                ax.text(2, y, "ikke vist (for få besvarelser)", va="center", fontsize=7, color="#555555")
                continue
            if tgt is not None:
                ax.annotate("", xy=(tgt, y), xytext=(cur, y),
                            arrowprops={"arrowstyle": "-", "color": GREY, "lw": 2.2, "shrinkA": 4, "shrinkB": 4})
                ax.plot(tgt, y, marker="D", ms=7, mfc="white", mec=VERMILLION, mew=1.8, ls="none", zorder=3)
            ax.plot(cur, y, marker="o", ms=8, color=BLUE, ls="none", zorder=4)
        ax.set_yticks(range(len(dims)), [_wrap(d.name, 30) for d in dims])
        ax.set_ylim(len(dims) - 0.5, -0.6)
        ax.set_xlim(0, 100)
        ax.set_xticks([0, 25, 50, 75, 100])
        ax.set_xlabel("Indeks 0–100")
        ax.tick_params(axis="y", length=0)
        handles = [Line2D([], [], marker="o", ms=7, color=BLUE, ls="none", label="Nu (modenhedsindeks)"),
                   Line2D([], [], marker="D", ms=6, mfc="white", mec=VERMILLION, mew=1.6, ls="none",
                          label="Ønsket (målindeks)"),
                   Line2D([], [], color=GREY, lw=2.2, label="Gab")]
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16 - 0.9 / (len(dims) + 2)), ncol=3)
        fig.tight_layout()
        return to_svg(fig, "c-dumbbell", "Nuværende og ønsket modenhed pr. dimension for hele kommunen")


def importance_performance(data: WaveData) -> str | None:
    """IPA scatter: maturity (x) against importance (y) with the means as quadrant lines."""
    points = []
    for dim in data.dimensions:
        row = data.priorities.get(dim.dimension_id)
        x, y = _val(row, "maturity_index"), _val(row, "importance_index")
        if x is not None and y is not None:
            points.append((dim, x, y, (row or {}).get("ipa_quadrant")))
    if not points:
        return None
    mx = sum(p[1] for p in points) / len(points)
    my = sum(p[2] for p in points) / len(points)
    xs, ys = [p[1] for p in points], [p[2] for p in points]
    pad_x = max(6.0, (max(xs) - min(xs)) * 0.25)
    pad_y = max(6.0, (max(ys) - min(ys)) * 0.25)
    markers = {"concentrate_here": ("o", VERMILLION, True), "keep_up": ("s", BLUE, True),
               "low_priority": ("^", GREY, False), "possible_overkill": ("D", GREEN, False)}
    with _figure(7.0, 3.5) as fig:
        ax = fig.add_subplot(111)
        x0, x1 = max(0, min(xs) - pad_x), min(100, max(xs) + pad_x)
        y0, y1 = max(0, min(ys) - pad_y), min(100, max(ys) + pad_y)
        ax.axvline(mx, color="#777777", lw=0.8, ls="--")
        ax.axhline(my, color="#777777", lw=0.8, ls="--")
        corner = {"concentrate_here": (x0, y1, "left", "top"), "keep_up": (x1, y1, "right", "top"),
                  "low_priority": (x0, y0, "left", "bottom"), "possible_overkill": (x1, y0, "right", "bottom")}
        for quad, (cx, cy, ha, va) in corner.items():
            ax.text(cx, cy, QUADRANTS[quad], ha=ha, va=va, fontsize=7.5, color="#444444", style="italic",
                    bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "none", "alpha": 0.9})
        for _dim, x, y, quad in points:
            marker, colour, filled = markers.get(quad or "", ("o", INK, True))
            ax.plot(x, y, marker=marker, ms=8, ls="none", mec=colour, mew=1.6,
                    mfc=colour if filled else "white", zorder=3)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_xlabel("Modenhed nu (indeks) — stiplet linje: gennemsnit")
        ax.set_ylabel("Vigtighed (indeks)")
        fig.tight_layout()
        _place_labels(fig, ax, [(_wrap(d.name, 22), x, y) for d, x, y, _ in points])
        return to_svg(fig, "c-ipa", "Vigtighed og modenhed pr. dimension (importance–performance)")


def _place_labels(fig: Figure, ax: Axes, labels: list[tuple[str, float, float]]) -> None:
    """Put each point's label where it overlaps no other label, marker or the axes edge (greedy)."""
    renderer = fig.canvas.get_renderer()
    to_px = ax.transData.transform
    box = ax.get_window_extent(renderer)
    markers = [to_px((x, y)) for _, x, y in labels]
    taken: list = []
    offsets = ((9, 0, "left", "center"), (-9, 0, "right", "center"), (0, 9, "center", "bottom"),
               (0, -9, "center", "top"), (9, 9, "left", "bottom"), (-9, 9, "right", "bottom"),
               (9, -9, "left", "top"), (-9, -9, "right", "top"), (16, 14, "left", "bottom"),
               (-16, -14, "right", "top"))
    for i, (text, x, y) in enumerate(labels):
        best = None
        for dx, dy, ha, va in offsets:
            ann = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va, fontsize=7.5)
            ext = ann.get_window_extent(renderer).expanded(1.06, 1.12)
            hits = sum(ext.overlaps(t) for t in taken)
            hits += sum(1 for j, (mx, my) in enumerate(markers) if j != i and ext.contains(mx, my))
            inside = box.x0 <= ext.x0 and ext.x1 <= box.x1 and box.y0 <= ext.y0 and ext.y1 <= box.y1
            score = hits * 10 + (0 if inside else 5)
            if best is None or score < best[0]:
                if best is not None:
                    best[1].remove()
                best = (score, ann, ext)
            else:
                ann.remove()
            if score == 0:
                break
        if best is not None:
            taken.append(best[2])


def trend_panels(data: WaveData) -> str:
    """Small multiples: maturity (solid, circles) and target (dashed, open diamonds) per wave, plus overall."""
    waves = [w.wave_id for w in data.waves_to_date]
    panels: list[tuple[str, list[float | None], list[float | None]]] = []
    for dim in data.dimensions:
        cur = [_val(data.trend.get((w, dim.dimension_id)), "maturity_index") for w in waves]
        tgt = [_val(data.root_scores_by_wave.get((w, dim.dimension_id)), "target_index") for w in waves]
        panels.append((dim.name, cur, tgt))
    panels.append(("Samlet modenhedsindeks", [_val(data.overall_by_wave.get(w), "overall_index") for w in waves],
                   []))
    ncols = 4
    nrows = math.ceil(len(panels) / ncols)
    with _figure(7.0, 1.75 * nrows + 0.45) as fig:
        axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
        xs = list(range(len(waves)))
        for i, ax in enumerate(axes.flat):
            if i >= len(panels):
                ax.set_visible(False)
                continue
            title, cur, tgt = panels[i]
            _band_background(ax, vertical=False, labels=False)
            if tgt and any(v is not None for v in tgt):
                ax.plot(xs, [math.nan if v is None else v for v in tgt], ls="--", lw=1.2, color=VERMILLION,
                        marker="D", ms=4, mfc="white", mec=VERMILLION)
            ax.plot(xs, [math.nan if v is None else v for v in cur], lw=1.8, color=BLUE if tgt else INK,
                    marker="o" if tgt else "s", ms=4.5)
            ax.set_title(_wrap(title, 26), loc="left", fontsize=7.5)
            ax.set_ylim(0, 100)
            ax.set_yticks([0, 25, 50, 75, 100])
            ax.set_xticks(xs, waves)
            ax.set_xlim(-0.4, max(len(waves) - 0.6, 0.4))
            ax.grid(axis="y", color="#dddddd", lw=0.5)
        handles = [Line2D([], [], color=BLUE, marker="o", ms=4.5, lw=1.8, label="Nu (modenhedsindeks)"),
                   Line2D([], [], color=VERMILLION, ls="--", marker="D", ms=4, mfc="white", lw=1.2,
                          label="Ønsket (målindeks)"),
                   Line2D([], [], color=INK, marker="s", ms=4.5, lw=1.8, label="Samlet indeks (vægtet)")]
        fig.legend(handles=handles, loc="lower center", ncol=3)
        fig.tight_layout(rect=(0, 0.06, 1, 1))
        return to_svg(fig, "c-trend", "Udvikling i modenhed pr. dimension over målingerne")


def alignment(data: WaveData) -> str | None:
    """Dot plot: top management (filled square) vs leaders (open circle) on the item scale."""
    rows = [(d, data.alignment.get(d.dimension_id)) for d in data.dimensions]
    shown = [(d, r) for d, r in rows if r and not r.get("is_suppressed") and _val(r, "top_mean") is not None]
    if not shown:
        return None
    lows = [_val(data.root_scores.get(d.dimension_id), "scale_min") for d, _ in shown]
    highs = [_val(data.root_scores.get(d.dimension_id), "scale_max") for d, _ in shown]
    lo = min((v for v in lows if v is not None), default=1.0)
    hi = max((v for v in highs if v is not None), default=5.0)
    with _figure(7.0, 0.42 * len(shown) + 1.05) as fig:
        ax = fig.add_subplot(111)
        for y, (_dim, row) in enumerate(shown):
            top, leader = float(row["top_mean"]), float(row["leader_mean"])
            ax.plot([leader, top], [y, y], color=GREY, lw=2, zorder=1)
            ax.plot(top, y, marker="s", ms=7.5, color=BLUE, ls="none", zorder=3)
            ax.plot(leader, y, marker="o", ms=7.5, mfc="white", mec=ORANGE, mew=1.8, ls="none", zorder=3)
        ax.set_yticks(range(len(shown)), [_wrap(d.name, 30) for d, _ in shown])
        ax.set_ylim(len(shown) - 0.5, -0.6)
        ax.set_xlim(lo, hi)
        ax.set_xticks([v for v in range(int(lo), int(hi) + 1)])
        ax.set_xlabel("Gennemsnitlig vurdering af modenheden nu (svarskala)")
        ax.grid(axis="x", color="#dddddd", lw=0.5)
        ax.tick_params(axis="y", length=0)
        handles = [Line2D([], [], marker="s", ms=7, color=BLUE, ls="none", label="Topledelse (direktion og chefer)"),
                   Line2D([], [], marker="o", ms=7, mfc="white", mec=ORANGE, mew=1.6, ls="none", label="Ledere")]
        fig.legend(handles=handles, loc="upper center", ncol=2)
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / (0.42 * len(shown) + 0.95)))
        return to_svg(fig, "c-align", "Topledelsens og ledernes vurdering pr. dimension")


def portfolio(data: WaveData) -> str | None:
    """Gap (index points, uncovered striped) beside the active budget per dimension."""
    rows = [r for r in data.coverage if r["dimension_id"] in data.all_dimensions]
    if not rows:
        return None
    names = [_wrap(data.name(r["dimension_id"]), 30) for r in rows]
    with _figure(7.0, 0.36 * len(rows) + 1.1) as fig:
        left, right = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [1, 1]})
        ys = list(range(len(rows)))
        striped = []
        for y, row in zip(ys, rows, strict=True):
            gap = _val(row, "gap_index")
            uncovered = bool(row.get("is_uncovered"))
            if gap is None:
                left.text(1, y, "intet gab opgjort", va="center", fontsize=7, color="#555555")
            else:
                bars = left.barh(y, gap, color="#f6c8a8" if uncovered else "#bcd3e6",
                                 edgecolor=VERMILLION if uncovered else BLUE, lw=1.0 if uncovered else 0.8, height=0.62)
                if uncovered:
                    striped.extend(bars.patches)
            budget = _val(row, "active_budget_dkk") or 0.0
            right.barh(y, budget / 1e6, color=SKY, edgecolor=BLUE, lw=0.8, height=0.62)
            if uncovered:
                right.annotate("UDÆKKET: intet aktivt projekt", (0, y), xytext=(6, 0), textcoords="offset points",
                               va="center", fontsize=7, color=VERMILLION,
                               fontweight="bold")
        left.axvline(25, color=INK, lw=0.9, ls="--")
        left.text(25, -0.75, " grænse for udækket gab", fontsize=6.8, va="bottom", color=INK)
        left.set_yticks(ys, names)
        left.set_ylim(len(rows) - 0.5, -0.9)
        gaps = [v for r in rows if (v := _val(r, "gap_index")) is not None]
        left.set_xlim(min(0.0, *gaps) if gaps else 0, max(30.0, *(g * 1.1 for g in gaps)) if gaps else 30)
        left.set_xlabel("Gab i hele kommunen (indekspoint)")
        right.set_xlabel("Aktivt budget (mio. kr.)")
        for ax in (left, right):
            ax.tick_params(axis="y", length=0)
            ax.grid(axis="x", color="#dddddd", lw=0.5)
            ax.set_axisbelow(True)
        handles = [Patch(fc="#bcd3e6", ec=BLUE, label="Gab med aktive projekter"),
                   StripedPatch(fc="#f6c8a8", ec=VERMILLION, label="Udækket gab (≥ 25 point, intet aktivt projekt)")]
        fig.legend(handles=handles, loc="lower center", ncol=2, handler_map={StripedPatch: StripedHandler()})
        fig.tight_layout(rect=(0, 0.09, 1, 1))
        for bar in striped:
            _stripe(fig, left, bar, VERMILLION)
        return to_svg(fig, "c-portfolio", "Gab og aktivt budget pr. dimension")


def capacity(data: WaveData, units: Sequence[str]) -> str | None:
    """Stacked bars per forvaltning: dedicated FTE (solid) and part-time FTE (striped)."""
    names = {u.org_unit_id: u.name for u in data.units}
    rows = [(u, data.capacity_units.get(u)) for u in units]
    if not rows:
        return None
    with _figure(7.0, 0.32 * len(rows) + 1.0) as fig:
        ax = fig.add_subplot(111)
        striped = []
        for y, (_unit, row) in enumerate(rows):
            total, dedicated = _val(row, "transformation_fte"), _val(row, "dedicated_fte")
            if row is None or row.get("is_suppressed") or total is None or dedicated is None:
                ax.text(0.02, y, "ikke vist (for få personer)", va="center", fontsize=7, color="#555555")
                continue
            ax.barh(y, dedicated, color=BLUE, edgecolor=BLUE, height=0.6, lw=0.8)
            part = ax.barh(y, total - dedicated, left=dedicated, color="#fdf1d8", edgecolor=ORANGE, height=0.6, lw=0.8)
            striped.extend(part.patches)
        ax.set_yticks(range(len(rows)), [_wrap(names.get(u, u), 30) for u, _ in rows])
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_xlabel("Årsværk i transformationsteamet")
        ax.tick_params(axis="y", length=0)
        ax.grid(axis="x", color="#dddddd", lw=0.5)
        ax.set_axisbelow(True)
        handles = [Patch(fc=BLUE, ec=BLUE, label="Dedikeret (mindst 80 % af tiden)"),
                   StripedPatch(fc="#fdf1d8", ec=ORANGE, label="Deltid ved siden af driften")]
        fig.legend(handles=handles, loc="lower center", ncol=2, handler_map={StripedPatch: StripedHandler()})
        fig.tight_layout(rect=(0, 0.1, 1, 1))
        for bar in striped:
            _stripe(fig, ax, bar, ORANGE)
        return to_svg(fig, "c-capacity", "Transformationsårsværk pr. forvaltning, dedikeret og deltid")


def heat_colour(value: float) -> tuple[str, str]:
    """Background (viridis over 0–100) and a readable text colour for a heatmap cell."""
    r, g, b, _ = matplotlib.colormaps["viridis"](max(0.0, min(1.0, value / 100)))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return matplotlib.colors.to_hex((r, g, b)), ("#111111" if luminance > 0.5 else "#ffffff")


def heat_ramp() -> str:
    """The viridis ramp as a CSS gradient for the heatmap legend."""
    stops = ", ".join(f"{heat_colour(v)[0]} {v}%" for v in range(0, 101, 10))
    return f"linear-gradient(90deg, {stops})"
