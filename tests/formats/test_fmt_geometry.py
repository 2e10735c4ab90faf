"""Mask/RLE/polygon geometry against the spec's worked examples and pycocotools."""
import random

import pytest

from workers.formats import geometry as g

WORKED = [1, 4, 1, 40, 5, 42, 6]


def test_cvat_mask_worked_example():
    m = g.decode_cvat_mask(WORKED)
    assert (m.left, m.top, m.width, m.height) == (40, 5, 3, 2)
    assert list(m.bits) == [0, 1, 1, 1, 1, 0]
    assert g.encode_cvat_mask(m) == [float(v) for v in WORKED]


def test_coco_rle_worked_example():
    counts = g.box_to_coco(g.decode_cvat_mask(WORKED), 64, 48)
    assert counts == [1926, 1, 46, 2, 46, 1, 1050]
    assert g.rle_to_string(counts) == "Vl11^110O\\o0"
    assert g.rle_from_string("Vl11^110O\\o0") == counts
    assert g.coco_to_box(counts, 48, 64) == g.decode_cvat_mask(WORKED)


def test_short_run_list_is_padded_with_background():
    m = g.decode_cvat_mask([1, 2, 0, 0, 2, 1])
    assert list(m.bits) == [0, 1, 1, 0, 0, 0]


def test_garbage_mask_is_a_format_error():
    with pytest.raises(g.FormatError):
        g.decode_cvat_mask([1, 2])
    with pytest.raises(g.FormatError):
        g.decode_cvat_mask([1, 5, 5, 4, 4])


def test_against_pycocotools():
    np = pytest.importorskip("numpy")
    mu = pytest.importorskip("pycocotools.mask")
    rnd = random.Random(7)
    for _ in range(150):
        h, w = rnd.randint(1, 25), rnd.randint(1, 25)
        full = (np.random.RandomState(rnd.randint(0, 10**6)).rand(h, w) > 0.55).astype(np.uint8)
        if not full.any():
            continue
        ys, xs = np.nonzero(full)
        l, t, r, b = xs.min(), ys.min(), xs.max(), ys.max()
        box = g.BoxMask(int(l), int(t), int(r - l + 1), int(b - t + 1),
                        bytearray(full[t:b + 1, l:r + 1].flatten().tolist()))
        pts = g.encode_cvat_mask(box)
        assert sum(pts[:-4]) == box.width * box.height
        assert pts[0] == 0 or not box.bits[0]
        assert g.decode_cvat_mask(pts) == box
        counts = g.box_to_coco(box, w, h)
        ref = mu.encode(np.asfortranarray(full))
        assert g.rle_to_string(counts).encode() == ref["counts"]
        assert g.counts_area(counts) == int(mu.area(ref))
        assert g.counts_bbox(counts, h) == [float(v) for v in mu.toBbox(ref)]
        assert g.coco_to_box(counts, h, w) == box
        assert g.coco_to_box(g.rle_from_string(ref["counts"].decode()), h, w) == box
    for i in range(1500):  # small and large, float and integer vertices, repeated points, outside the image
        h, w = rnd.randint(1, 300), rnd.randint(1, 300)
        n = rnd.randint(3, 10)
        if i % 3 == 0:
            poly = [float(rnd.randint(-3, (w if j % 2 == 0 else h) + 3)) for j in range(2 * n)]
        else:
            poly = [round(rnd.uniform(-10, (w if j % 2 == 0 else h) + 10), 2) for j in range(2 * n)]
        if i % 5 == 0:
            poly[2:4] = poly[0:2]
        ref = mu.frPyObjects([poly], h, w)[0]
        assert g.rle_to_string(g.polygon_counts(poly, h, w)).encode() == ref["counts"], poly


def test_mask_polygons_cover_the_mask():
    bits = bytearray([0, 1, 1, 0,
                      1, 1, 1, 1,
                      0, 1, 0, 0])
    m = g.BoxMask(10, 20, 4, 3, bits)
    polys = g.mask_polygons(m)
    assert len(polys) == 1
    got = {(x, y) for y in range(15, 30) for x in range(5, 20) if _inside_or_on(x, y, polys[0])}
    want = {(10 + i % 4, 20 + i // 4) for i, b in enumerate(bits) if b}
    assert got == want


def test_ellipse_mask_is_symmetric_and_sized():
    m = g.ellipse_mask([32, 24, 40, 18], 0.0, 64, 48)
    assert (m.left, m.width) == (24, 17) and (m.top, m.height) == (18, 13)
    rot = g.ellipse_mask([32, 24, 40, 18], 90.0, 64, 48)
    assert (rot.width, rot.height) == (13, 17)


def _inside_or_on(x, y, poly):
    pts = list(zip(poly[0::2], poly[1::2]))
    n = len(pts)
    for i in range(n):  # on an edge
        (x1, y1), (x2, y2) = pts[i - 1], pts[i]
        if (x2 - x1) * (y - y1) == (y2 - y1) * (x - x1) and min(x1, x2) <= x <= max(x1, x2) \
                and min(y1, y2) <= y <= max(y1, y2):
            return True
    inside = False
    for i in range(n):
        (x1, y1), (x2, y2) = pts[i - 1], pts[i]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def test_mask_polygons_round_trip_random_blobs():
    rnd = random.Random(3)
    for _ in range(30):
        w, h = rnd.randint(2, 12), rnd.randint(2, 12)
        bits = bytearray(w * h)
        x0, y0 = rnd.randrange(w), rnd.randrange(h)
        cells = {(x0, y0)}
        for _ in range(rnd.randint(1, w * h)):
            cx, cy = rnd.choice(sorted(cells))
            nx, ny = cx + rnd.choice((-1, 0, 1)), cy + rnd.choice((-1, 0, 1))
            if 0 <= nx < w and 0 <= ny < h and (nx == cx or ny == cy):
                cells.add((nx, ny))
        for x, y in cells:
            bits[y * w + x] = 1
        m = g.BoxMask(0, 0, w, h, bits)
        polys = g.mask_polygons(m)
        covered = {(x, y) for x in range(w) for y in range(h) if any(_inside_or_on(x, y, p) for p in polys)}
        # every pixel of the blob is covered (holes aside, which are filled)
        assert cells <= covered


def test_huge_mask_boxes_are_refused():
    with pytest.raises(g.FormatError, match="larger than any frame"):
        g.decode_cvat_mask([0, 1, 0, 0, 10**6, 10**6])


@pytest.mark.parametrize("mode", ["L", "P", "RGB", "I;16", "I"])
def test_image_to_masks_fast_path_equals_per_pixel(mode):
    from PIL import Image
    rnd = random.Random(mode)
    for _ in range(15):
        w, h = rnd.randint(1, 30), rnd.randint(1, 30)
        if mode == "RGB":
            img = Image.new("RGB", (w, h))
            img.putdata([rnd.choice([(0, 0, 0), (128, 0, 0), (0, 128, 0), (1, 2, 3)]) for _ in range(w * h)])
        elif mode in ("I;16", "I"):
            img = Image.new("I", (w, h))
            img.putdata([rnd.choice([0, 1001, 2002, 65535, 256, 1]) for _ in range(w * h)])
            img = img.convert("I;16") if mode == "I;16" else img
        else:
            img = Image.new("L", (w, h))
            img.putdata([rnd.choice([0, 1, 2, 255]) for _ in range(w * h)])
            img = img.convert("P") if mode == "P" else img
        assert g.image_to_masks(img) == g._image_to_masks_slow(img)
