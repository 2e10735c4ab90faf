"""Geometry shared by the formats (pure Python, formats.md §3).

A *box mask* is (left, top, width, height, bits): `bits` a bytearray of width*height 0/1
values, row-major — the form CVAT's mask points describe. Full-image COCO RLE is handled as
run lists (column-major, first run background) without ever allocating a full-image bitmap,
so a 100-pixel mask on a 4K frame costs 100 pixels, not 8 million.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from workers.formats.model import FormatError


class BoxMask(NamedTuple):
    left: int
    top: int
    width: int
    height: int
    bits: bytearray

    def area(self) -> int:
        return sum(self.bits)


# ---------------------------------------------------------------------------------------------
# CVAT mask points (§3.1)

def decode_cvat_mask(points: list) -> BoxMask:
    if len(points) < 5:
        raise FormatError("A mask needs at least 5 numbers (runs, left, top, right, bottom)")
    left, top, right, bottom = (int(v) for v in points[-4:])
    w, h = right - left + 1, bottom - top + 1
    if w <= 0 or h <= 0:
        raise FormatError(f"A mask has an empty box ({left}, {top}, {right}, {bottom})")
    if w * h > MAX_MASK_PIXELS:
        raise FormatError(f"A mask box of {w}x{h} pixels is larger than any frame allowed")
    bits = bytearray(w * h)
    pos, val = 0, 0
    for run in points[:-4]:
        run = int(run)
        if run < 0:
            raise FormatError("A mask has a negative run length")
        end = min(pos + run, w * h)
        if val:
            bits[pos:end] = b"\x01" * (end - pos)
        pos, val = end, 1 - val
    return BoxMask(left, top, w, h, bits)


def tight(mask: BoxMask) -> BoxMask | None:
    """The same mask cropped to its set pixels; None when empty."""
    w, h, bits = mask.width, mask.height, mask.bits
    rows = [y for y in range(h) if 1 in bits[y * w:(y + 1) * w]]
    if not rows:
        return None
    y0, y1 = rows[0], rows[-1]
    x0, x1 = w, -1
    for y in range(y0, y1 + 1):
        row = bits[y * w:(y + 1) * w]
        if 1 in row:
            x0 = min(x0, row.index(1))
            x1 = max(x1, w - 1 - row[::-1].index(1))
    nw, nh = x1 - x0 + 1, y1 - y0 + 1
    if (nw, nh) == (w, h):
        return mask
    out = bytearray()
    for y in range(y0, y1 + 1):
        out += bits[y * w + x0:y * w + x1 + 1]
    return BoxMask(mask.left + x0, mask.top + y0, nw, nh, out)


def encode_cvat_mask(mask: BoxMask) -> list[float] | None:
    """Box mask → CVAT points over its tight box; None when the mask is empty."""
    m = tight(mask)
    if m is None:
        return None
    runs, val, count = [], 0, 0
    for b in m.bits:
        if b != val:
            runs.append(count)
            val, count = b, 1
        else:
            count += 1
    runs.append(count)
    return [float(r) for r in runs] + [float(m.left), float(m.top),
                                       float(m.left + m.width - 1), float(m.top + m.height - 1)]


def clip(mask: BoxMask, width: int, height: int) -> BoxMask | None:
    x0, y0 = max(mask.left, 0), max(mask.top, 0)
    x1, y1 = min(mask.left + mask.width, width), min(mask.top + mask.height, height)
    if x1 <= x0 or y1 <= y0:
        return None
    if (x0, y0, x1, y1) == (mask.left, mask.top, mask.left + mask.width, mask.top + mask.height):
        return mask
    out = bytearray()
    for y in range(y0, y1):
        start = (y - mask.top) * mask.width + (x0 - mask.left)
        out += mask.bits[start:start + (x1 - x0)]
    return BoxMask(x0, y0, x1 - x0, y1 - y0, out)


# ---------------------------------------------------------------------------------------------
# COCO RLE (§3.3): column-major runs over the full image

def intervals_to_counts(intervals: list[tuple[int, int]], total: int) -> list[int]:
    """Sorted, non-overlapping [start, end) foreground intervals → RLE counts."""
    counts, pos = [], 0
    for s, e in intervals:
        if counts and s == pos:  # touching the previous interval
            counts[-1] += e - s
        else:
            counts.append(s - pos)
            counts.append(e - s)
        pos = e
    if total > pos or not counts:
        counts.append(total - pos)
    return counts


def counts_to_intervals(counts: list[int]) -> list[tuple[int, int]]:
    out, pos = [], 0
    for i, c in enumerate(counts):
        c = int(c)
        if i % 2 and c:
            out.append((pos, pos + c))
        pos += c
    return out


def box_to_coco(mask: BoxMask, width: int, height: int) -> list[int]:
    """Box mask → full-image column-major RLE counts (clipped to the image)."""
    m = clip(mask, width, height)
    if m is None:
        return [width * height]
    intervals = []
    w = m.width
    for x in range(m.width):
        col = m.bits[x::w]
        base = (m.left + x) * height + m.top
        y = 0
        n = len(col)
        while y < n:
            if col[y]:
                start = y
                while y < n and col[y]:
                    y += 1
                s, e = base + start, base + y
                if intervals and intervals[-1][1] == s:
                    intervals[-1] = (intervals[-1][0], e)
                else:
                    intervals.append((s, e))
            else:
                y += 1
    return intervals_to_counts(intervals, width * height)


def coco_to_box(counts: list[int], height: int, width: int) -> BoxMask | None:
    """Full-image column-major RLE → tight box mask; None when empty. Each run is written as
    strided slices of the row-major box (one C-level copy per column segment, not per pixel)."""
    total = height * width
    segments = []  # (x, y_start, y_end) per column piece of each run
    for s, e in counts_to_intervals(counts):
        e = min(e, total)
        while s < e:
            x, y = divmod(s, height)
            end = min(e, (x + 1) * height)
            segments.append((x, y, y + end - s))
            s = end
    if not segments:
        return None
    x0 = min(seg[0] for seg in segments)
    x1 = max(seg[0] for seg in segments)
    y0 = min(seg[1] for seg in segments)
    y1 = max(seg[2] for seg in segments) - 1
    w, h = x1 - x0 + 1, y1 - y0 + 1
    bits = bytearray(w * h)
    for x, ys, ye in segments:
        start = (ys - y0) * w + (x - x0)
        n = ye - ys
        bits[start:start + (n - 1) * w + 1:w] = b"\x01" * n
    return BoxMask(x0, y0, w, h, bits)


def counts_area(counts: list[int]) -> int:
    return sum(counts[1::2])


def counts_bbox(counts: list[int], height: int) -> list[float]:
    """[x, y, w, h] of an RLE as pycocotools' toBbox computes it."""
    intervals = counts_to_intervals(counts)
    if not intervals:
        return [0.0, 0.0, 0.0, 0.0]
    xs0, xs1, ys0, ys1 = [], [], [], []
    for s, e in intervals:
        x_s, y_s = divmod(s, height)
        x_e, y_e = divmod(e - 1, height)
        xs0.append(x_s)
        xs1.append(x_e)
        if x_s == x_e:
            ys0.append(y_s)
            ys1.append(y_e)
        else:  # spans a column boundary: covers the full height
            ys0.append(0)
            ys1.append(height - 1)
    x0, x1, y0, y1 = min(xs0), max(xs1), min(ys0), max(ys1)
    return [float(x0), float(y0), float(x1 - x0 + 1), float(y1 - y0 + 1)]


def merge_counts(all_counts: list[list[int]], total: int) -> list[int]:
    """Union of several RLEs of the same image."""
    intervals = sorted(iv for c in all_counts for iv in counts_to_intervals(c))
    merged: list[list[int]] = []
    for s, e in intervals:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return intervals_to_counts([(s, e) for s, e in merged], total)


def rle_to_string(counts: list[int]) -> str:
    """pycocotools rleToString (compressed counts)."""
    out = []
    for i, c in enumerate(counts):
        x = int(c)
        if i > 2:
            x -= int(counts[i - 2])
        more = True
        while more:
            g = x & 0x1F
            x >>= 5
            more = (x != -1) if (g & 0x10) else (x != 0)
            if more:
                g |= 0x20
            out.append(chr(g + 48))
    return "".join(out)


def rle_from_string(s: str) -> list[int]:
    counts: list[int] = []
    p = 0
    n = len(s)
    while p < n:
        x, k, more = 0, 0, True
        while more:
            if p >= n:
                raise FormatError("A compressed RLE string ends in the middle of a number")
            c = ord(s[p]) - 48
            if c < 0 or c > 63:
                raise FormatError("A compressed RLE string has an invalid character")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


# ---------------------------------------------------------------------------------------------
# Polygons: pycocotools' rasteriser (rleFrPoly), so areas equal what annToMask sums to

def polygon_counts(xy: list[float], height: int, width: int) -> list[int]:
    """pycocotools' rleFrPoly, bit for bit (tests compare with pycocotools), computed per edge
    without its 5x-upsampled boundary lists: only the samples whose column is a pixel centre
    contribute, so x-dominant edges are walked in steps of 5 and y-dominant edges binary-search
    the rows where the column changes."""
    k = len(xy) // 2
    if k < 1:
        return [height * width]
    scale = 5.0
    x = [int(scale * xy[2 * j] + .5) for j in range(k)]
    y = [int(scale * xy[2 * j + 1] + .5) for j in range(k)]
    x.append(x[0])
    y.append(y[0])
    a: list[int] = []
    h, w = height, width

    def emit(xd: int, yd: int) -> None:
        col = (xd - 2) // 5
        if (xd - 2) % 5 or col < 0 or col > w - 1:
            return
        yf = (yd + .5) / scale - .5
        yf = 0.0 if yf < 0 else (float(h) if yf > h else yf)
        a.append(col * h + math.ceil(yf))

    for j in range(k):
        xs, xe, ys, ye = x[j], x[j + 1], y[j], y[j + 1]
        dx, dy = abs(xe - xs), abs(ys - ye)
        flip = (dx >= dy and xs > xe) or (dx < dy and ys > ye)
        if flip:
            xs, xe, ys, ye = xe, xs, ye, ys
        if dx >= dy:
            if dx == 0:
                continue
            sl = (ye - ys) / dx
            t = (2 - xs) % 5
            while t < dx:
                v0 = int(ys + sl * t + .5)
                v1 = int(ys + sl * (t + 1) + .5)
                emit(xs + t, v0 if v0 < v1 else v1)
                t += 5
        else:
            sl = (xe - xs) / dy

            def u(t):
                return int(xs + sl * t + .5)
            u0, u1 = u(0), u(dy)
            lo, hi = (u0, u1) if u0 <= u1 else (u1, u0)
            m = lo + (2 - lo) % 5
            while m < hi:
                # first t in [1, dy] where the column has moved past the step m ↔ m+1: start from
                # the analytic estimate, then settle it with the exact expression (monotone in t)
                if sl > 0:
                    t = math.ceil((m + 0.5 - xs) / sl)
                    t = 1 if t < 1 else (dy if t > dy else t)
                    while t > 1 and u(t - 1) >= m + 1:
                        t -= 1
                    while t < dy and u(t) < m + 1:
                        t += 1
                else:
                    t = math.floor((m + 0.5 - xs) / sl) + 1
                    t = 1 if t < 1 else (dy if t > dy else t)
                    while t > 1 and u(t - 1) <= m:
                        t -= 1
                    while t < dy and u(t) > m:
                        t += 1
                emit(m, ys + t - 1)
                m += 5
    a.append(h * w)
    a.sort()
    p = 0
    for j in range(len(a)):
        t = a[j]
        a[j] -= p
        p = t
    b = [a[0]]
    j = 1
    while j < len(a):
        if a[j] > 0:
            b.append(a[j])
            j += 1
        else:
            j += 1
            if j < len(a):
                b[-1] += a[j]
                j += 1
    return b


def polygon_area(xy: list[float], height: int, width: int) -> int:
    return counts_area(polygon_counts(xy, height, width))


def points_bbox(xy: list[float]) -> list[float]:
    """[x, y, w, h] of a flat point list."""
    xs, ys = xy[0::2], xy[1::2]
    x0, y0 = min(xs), min(ys)
    return [x0, y0, max(xs) - x0, max(ys) - y0]


def rotate_point(x, y, cx, cy, degrees):
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    dx, dy = x - cx, y - cy
    return cx + dx * c - dy * s, cy + dx * s + dy * c


def rectangle_polygon(points: list[float], rotation: float = 0.0) -> list[float]:
    """Corners tl, tr, br, bl of a (rotated, clockwise about the centre) rectangle."""
    x1, y1, x2, y2 = points[:4]
    corners = [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]
    if rotation % 360:
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        corners = [rotate_point(x, y, cx, cy, rotation) for x, y in corners]
    return [v for p in corners for v in p]


def ellipse_mask(points: list[float], rotation: float, width: int, height: int) -> BoxMask | None:
    """Rasterise a CVAT ellipse ([cx, cy, cx+rx, cy-ry], rotation) like cv2.ellipse does:
    rounded centre and axes, pixels whose centre lies inside; clipped to the image."""
    cx, cy = round(points[0]), round(points[1])
    rx, ry = max(round(abs(points[2] - points[0])), 0), max(round(abs(points[1] - points[3])), 0)
    a = math.radians(rotation or 0.0)
    c, s = math.cos(a), math.sin(a)
    ext_x = math.ceil(math.hypot(rx * c, ry * s))
    ext_y = math.ceil(math.hypot(rx * s, ry * c))
    x0, x1 = max(cx - ext_x, 0), min(cx + ext_x, width - 1)
    y0, y1 = max(cy - ext_y, 0), min(cy + ext_y, height - 1)
    if x1 < x0 or y1 < y0:
        return None
    w, h = x1 - x0 + 1, y1 - y0 + 1
    bits = bytearray(w * h)
    rx2, ry2 = max(rx, 0.5) ** 2, max(ry, 0.5) ** 2
    for y in range(y0, y1 + 1):
        dy = y - cy
        row = (y - y0) * w
        for x in range(x0, x1 + 1):
            dx = x - cx
            u = dx * c + dy * s
            v = -dx * s + dy * c
            if u * u / rx2 + v * v / ry2 <= 1.0:
                bits[row + x - x0] = 1
    m = BoxMask(x0, y0, w, h, bits)
    return tight(m)


def shape_mask(shape: dict, width: int, height: int) -> BoxMask | None:
    """Box mask of a mask or ellipse shape, clipped to the image."""
    if shape["type"] == "mask":
        m = decode_cvat_mask(shape["points"])
        m = clip(m, width, height)
        return tight(m) if m is not None else None
    if shape["type"] == "ellipse":
        return ellipse_mask(shape["points"], shape.get("rotation") or 0.0, width, height)
    raise ValueError(shape["type"])


def mask_to_image(mask: BoxMask):
    """Box mask → Pillow 'L' image of its box (255 = set)."""
    from PIL import Image
    return Image.frombytes("L", (mask.width, mask.height), bytes(b * 255 for b in mask.bits))


MAX_MASK_PIXELS = 50_000_000  # a mask image larger than any plausible frame is refused, not read


def pixels(img) -> list:
    """Pixel values row-major: ints for one-channel images, (r, g, b) tuples for RGB."""
    if img.size[0] * img.size[1] > MAX_MASK_PIXELS:
        raise FormatError(f"A mask image of {img.size[0]}x{img.size[1]} pixels is larger than any frame allowed")
    if img.mode == "1":
        img = img.convert("L")
    if img.mode in ("L", "P"):
        return list(img.tobytes())
    if img.mode == "RGB":
        b = img.tobytes()
        return list(zip(b[0::3], b[1::3], b[2::3]))
    if img.mode in ("RGBA", "CMYK", "YCbCr", "LA", "PA"):
        return pixels(img.convert("RGB"))
    flat = getattr(img, "get_flattened_data", None)
    return list(flat() if flat else img.getdata())


def _image_to_masks_slow(img, values=None) -> dict:
    """Per-pixel reference implementation (kept for modes the fast path does not cover)."""
    w, h = img.size
    data = pixels(img)
    per: dict = {}
    for idx, v in enumerate(data):
        if v == 0 or v == (0, 0, 0):
            continue
        if values is not None and v not in values:
            continue
        y, x = divmod(idx, w)
        b = per.get(v)
        if b is None:
            per[v] = b = [x, y, x, y, []]
        b[0], b[1], b[2], b[3] = min(b[0], x), min(b[1], y), max(b[2], x), max(b[3], y)
        b[4].append((x, y))
    out = {}
    for v, (x0, y0, x1, y1, pix) in per.items():
        bw = x1 - x0 + 1
        bits = bytearray(bw * (y1 - y0 + 1))
        for x, y in pix:
            bits[(y - y0) * bw + (x - x0)] = 1
        out[v] = BoxMask(x0, y0, bw, y1 - y0 + 1, bits)
    return out




def _select(planes: list[bytes], key: tuple) -> bytes:
    """0/1 bytes: 1 where every plane holds its byte of `key` (bytes.translate + big-int AND,
    both in C)."""
    out = None
    for plane, v in zip(planes, key):
        table = bytes(1 if i == v else 0 for i in range(256))
        sel = plane.translate(table)
        out = sel if out is None else (int.from_bytes(out, "little") & int.from_bytes(sel, "little")).to_bytes(
            len(sel), "little")
    return out


def image_to_masks(img, values=None) -> dict:
    """Pillow image (L, P, I, I;16 or RGB) → {pixel value: BoxMask} for each value present
    (except 0 / black). RGB values are (r, g, b) tuples. Works plane by plane in C (translate,
    big-int AND, getbbox), so a 1080p mask image costs milliseconds per value, not a Python
    loop over its pixels."""
    from array import array
    from PIL import Image
    w, h = img.size
    if w * h > MAX_MASK_PIXELS:
        raise FormatError(f"A mask image of {w}x{h} pixels is larger than any frame allowed")
    if img.mode == "1":
        img = img.convert("L")
    elif img.mode in ("RGBA", "CMYK", "YCbCr", "LA", "PA"):
        img = img.convert("RGB")
    if img.mode == "I":
        lo_v, hi_v = img.getextrema()
        if lo_v < 0 or hi_v > 65535:
            return _image_to_masks_slow(img, values)
        img = img.convert("I;16")
    if img.mode in ("L", "P"):
        data = img.tobytes()
        planes = [data]
        found = {c for _, c in img.getcolors(256)}
        keys = {v: (v,) for v in found}
    elif img.mode == "RGB":
        data = img.tobytes()
        planes = [data[0::3], data[1::3], data[2::3]]
        found = {c for _, c in img.getcolors(w * h)}
        keys = {v: v for v in found}
    elif img.mode in ("I;16", "I;16L"):
        data = img.tobytes()
        planes = [data[0::2], data[1::2]]
        found = set(array("H", data)) if array("H").itemsize == 2 else set()
        keys = {v: (v & 255, v >> 8) for v in found}
    else:
        return _image_to_masks_slow(img, values)
    out = {}
    for v, key in keys.items():
        if v == 0 or v == (0, 0, 0) or (values is not None and v not in values):
            continue
        sel = _select(planes, key)
        box = Image.frombytes("L", (w, h), sel).getbbox()
        if box is None:
            continue
        x0, y0, x1, y1 = box
        bits = bytearray().join(sel[y * w + x0:y * w + x1] for y in range(y0, y1))
        out[v] = BoxMask(x0, y0, x1 - x0, y1 - y0, bits)
    return out


def mask_polygons(mask: BoxMask) -> list[list[float]]:
    """Outer boundaries of the mask's connected regions as polygons (pixel-corner coordinates,
    collinear vertices removed): CVAT's `conv_mask_to_poly`. Holes are not represented."""
    w, h, bits = mask.width, mask.height, mask.bits

    def on(x, y):
        return 0 <= x < w and 0 <= y < h and bits[y * w + x]

    # Directed boundary edges with the set pixel on the left-hand side when walking, on the
    # pixel-corner lattice; then chain them into loops.
    nxt: dict = {}
    for y in range(h):
        for x in range(w):
            if not bits[y * w + x]:
                continue
            if not on(x, y - 1):
                nxt.setdefault((x + 1, y), []).append((x, y))
            if not on(x, y + 1):
                nxt.setdefault((x, y + 1), []).append((x + 1, y + 1))
            if not on(x - 1, y):
                nxt.setdefault((x, y), []).append((x, y + 1))
            if not on(x + 1, y):
                nxt.setdefault((x + 1, y + 1), []).append((x + 1, y))
    loops = []
    while nxt:
        start = next(iter(nxt))
        loop = [start]
        cur = start
        while True:
            targets = nxt.get(cur)
            if not targets:
                break
            t = targets.pop()
            if not targets:
                del nxt[cur]
            if t == start:
                break
            loop.append(t)
            cur = t
        # drop collinear vertices
        pts = []
        n = len(loop)
        for i in range(n):
            (ax, ay), (bx, by), (cx2, cy2) = loop[i - 1], loop[i], loop[(i + 1) % n]
            if (bx - ax) * (cy2 - by) - (by - ay) * (cx2 - bx) != 0:
                pts.append((bx, by))
        if len(pts) >= 3:
            area2 = sum(pts[i - 1][0] * pts[i][1] - pts[i][0] * pts[i - 1][1] for i in range(len(pts)))
            if area2 < 0:  # clockwise in image coordinates = outer boundary here
                pass
            loops.append((abs(area2), pts))
    loops.sort(key=lambda t: -t[0])
    out = []
    # Outer boundaries only: skip loops that lie inside a bigger loop (holes).
    kept: list[list[tuple]] = []
    for _, pts in loops:
        if any(_inside(pts[0], k) for k in kept):
            continue
        kept.append(pts)
        out.append(_centre_path(pts, mask.left, mask.top))
    return out


def _sign(v) -> int:
    return (v > 0) - (v < 0)


def _centre_path(pts: list[tuple], left: int, top: int) -> list[float]:
    """A pixel-corner outline moved half a pixel inwards: the path through the centres of the
    boundary pixels, in pixel-index coordinates (what cv2.findContours gives CVAT)."""
    n = len(pts)
    out = []
    for i in range(n):
        (ax, ay), (bx, by), (cx, cy) = pts[i - 1], pts[i], pts[(i + 1) % n]
        d1 = (_sign(bx - ax), _sign(by - ay))
        d2 = (_sign(cx - bx), _sign(cy - by))
        # interior is on the left of the walking direction in image coordinates: (dy, -dx)
        nx = (d1[1] + d2[1]) * 0.5
        ny = (-d1[0] - d2[0]) * 0.5
        out += [float(bx + nx - 0.5 + left), float(by + ny - 0.5 + top)]
    return out


def _inside(pt, poly) -> bool:
    x, y = pt[0] + 0.25, pt[1] + 0.25
    inside = False
    n = len(poly)
    for i in range(n):
        x1, y1 = poly[i - 1]
        x2, y2 = poly[i]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside
