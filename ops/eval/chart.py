"""A PNG chart of evaluate.py's rows drawn with PIL only (no matplotlib on this machine).

Left panel: class fidelity and CAS/reference ratio (0..1) against truncation, with the real
classifier's accuracy as a dashed line. Right panel: classifier Frechet distance against
truncation (its own axis, 0..max).
"""
from PIL import Image, ImageDraw

W, H, M = 360, 260, 44
BLUE, RED, GREEN, GREY = (31, 119, 180), (214, 39, 40), (44, 160, 44), (128, 128, 128)


def _panel(d, x0, title, xs, series, ymax, yfmt, hlines=()):
    # axes
    L, T, R, B = x0 + M, M // 2 + 10, x0 + W - 12, H - M
    d.rectangle([L, T, R, B], outline=(0, 0, 0))
    d.text((L, 4), title, fill=(0, 0, 0))
    xmin, xmax = min(xs + [0.0]), 1.0
    px = lambda v: L + (v - xmin) / (xmax - xmin or 1) * (R - L)  # noqa: E731
    py = lambda v: B - v / (ymax or 1) * (B - T)  # noqa: E731
    for k in range(5):
        v = ymax * k / 4
        d.line([L - 4, py(v), L, py(v)], fill=(0, 0, 0))
        d.text((x0 + 2, py(v) - 6), yfmt % v, fill=(0, 0, 0))
    for k in range(6):
        v = xmin + (xmax - xmin) * k / 5
        d.line([px(v), B, px(v), B + 4], fill=(0, 0, 0))
        d.text((px(v) - 10, B + 6), "%.2f" % v, fill=(0, 0, 0))
    d.text(((L + R) // 2 - 24, B + 20), "truncation", fill=(0, 0, 0))
    for v, col, name in hlines:
        x = L
        while x < R:
            d.line([x, py(v), min(x + 6, R), py(v)], fill=col)
            x += 10
        d.text((L + 6, py(v) + 3), name, fill=col)
    ly = T + 4
    for name, col, pts in series:
        pts = [(px(x), py(y)) for x, y in pts if y is not None]
        if len(pts) > 1:
            d.line(pts, fill=col, width=2)
        for x, y in pts:
            d.ellipse([x - 3, y - 3, x + 3, y + 3], fill=col)
        d.text((L + 6, ly), name, fill=col)
        ly += 12


def draw(rows, real_acc, cas_ref, path):
    img = Image.new("RGB", (2 * W, H), (255, 255, 255))
    d = ImageDraw.Draw(img)
    xs = [r["truncation"] for r in rows]
    fid = [(r["truncation"], r.get("fidelity")) for r in rows]
    cas = [(r["truncation"], r.get("cas_ratio")) for r in rows]
    _panel(d, 0, "class fidelity / CAS ratio", xs,
           [("class fidelity", BLUE, fid), ("CAS / real-trained (same recipe)", RED, cas)],
           1.0, "%.2f", [(real_acc, GREY, "real clf acc %.2f" % real_acc)])
    cfd = [(r["truncation"], r.get("cfd")) for r in rows]
    top = max([y for _, y in cfd if y is not None] + [1.0]) * 1.1
    _panel(d, W, "classifier Frechet distance (not FID)", xs,
           [("classifier FD", GREEN, cfd)], top, "%.1f")
    img.save(path, optimize=True)
