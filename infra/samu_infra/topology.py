"""A self-contained SVG of the plan: zones as columns, tiers as rows, counts by kind in cells.

Hand-written SVG on purpose: no graphviz or browser binary is needed to draw it, and any
browser opens the file. Pure: input is the plan's summary dict.
"""

from html import escape
from typing import Any

COL_W = 230
ROW_LABEL_W = 150
LINE_H = 16
PAD = 10
HEADER_H = 60
FOOT_H = 40
#: Fill of each tier's row, so the eye finds the database or the edge at once.
COLORS = {
    "admin": "#fde2e2",
    "tenancy": "#eef1f5",
    "k8s-control": "#dbeafe",
    "k8s-worker": "#e0f2fe",
    "sip-edge": "#fef3c7",
    "database": "#dcfce7",
    "database-standby": "#d1fae5",
    "recordings": "#ede9fe",
    "operator": "#fce7f3",
}


def render_svg(summary: dict[str, Any], *, title: str, passed: bool) -> str:
    columns, rows, cells = summary["columns"], summary["rows"], summary["cells"]
    heights = []
    for tier in rows:
        lines = max((len(cells.get(z, {}).get(tier, {})) for z in columns), default=1)
        heights.append(max(lines, 1) * LINE_H + 2 * PAD)
    width = ROW_LABEL_W + COL_W * len(columns) + PAD
    height = HEADER_H + sum(heights) + FOOT_H
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{PAD}" y="22" font-size="16" font-weight="bold">{escape(title)}</text>',
    ]
    for i, zone in enumerate(columns):
        x = ROW_LABEL_W + i * COL_W
        total = summary["totals"].get(zone, 0)
        out.append(
            f'<text x="{x + COL_W / 2}" y="{HEADER_H - 10}" text-anchor="middle" '
            f'font-weight="bold">{escape(zone)} ({total})</text>'
        )
    y = HEADER_H
    for tier, h in zip(rows, heights, strict=True):
        fill = COLORS.get(tier, "#f5f5f5")
        out.append(
            f'<rect x="{PAD}" y="{y}" width="{width - 2 * PAD}" height="{h - 4}" '
            f'fill="{fill}" stroke="#94a3b8" rx="6"/>'
        )
        out.append(
            f'<text x="{PAD * 2}" y="{y + PAD + 12}" font-weight="bold">{escape(tier)}</text>'
        )
        for i, zone in enumerate(columns):
            x = ROW_LABEL_W + i * COL_W
            for j, (kind, n) in enumerate(cells.get(zone, {}).get(tier, {}).items()):
                out.append(
                    f'<text x="{x + PAD}" y="{y + PAD + 12 + j * LINE_H}">'
                    f"{n} × {escape(kind)}</text>"
                )
        y += h
    for i in range(1, len(columns)):
        x = ROW_LABEL_W + i * COL_W - PAD / 2
        out.append(
            f'<line x1="{x}" y1="{HEADER_H - 30}" x2="{x}" y2="{y}" stroke="#64748b" '
            'stroke-dasharray="4 4"/>'
        )
    verdict = "all guardrails pass" if passed else "GUARDRAILS FAILED: see the plan output"
    color = "#166534" if passed else "#b91c1c"
    out.append(
        f'<text x="{PAD}" y="{y + 24}" fill="{color}" font-weight="bold">{verdict} · '
        "offline plan: provider-side validation needs a real pulumi preview</text>"
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"
