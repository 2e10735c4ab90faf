"""Images: safe opening (Pillow's decompression-bomb guard as an error), EXIF
orientation, JPEG encoding of compressed frames, original bytes."""
from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image, ImageOps

EXTENSIONS = {".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"}
_ORIENTATION = 0x0112
DEFAULT_MAX_PIXELS = 178956970


class MediaError(Exception):
    """Bad or unsupported media; the message names the file."""


def set_pixel_limit(max_pixels: int) -> None:
    Image.MAX_IMAGE_PIXELS = max_pixels or DEFAULT_MAX_PIXELS


def is_image(name: str) -> bool:
    return Path(name).suffix.lower() in EXTENSIONS


def _open(path: Path, label: str) -> Image.Image:
    with warnings.catch_warnings():
        # Above MAX_IMAGE_PIXELS Pillow only warns; a server must refuse.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(path)
            image.load()
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
            raise MediaError(f"Image {label} is too large: {e}") from None
        except (OSError, SyntaxError, ValueError) as e:
            raise MediaError(f"Can't read image {label}: {e}") from None
    return image


def orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(_ORIENTATION, 1) or 1)
    except Exception:
        return 1


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGB", "L"):
        return image
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        return image.point(lambda v: v / 256).convert("L") if image.mode != "F" else image.convert("L")
    return image.convert("RGB")


class Frame:
    """One decoded image: size after EXIF orientation, compressed JPEG and the
    original-quality frame: the path of the file itself (streamed into its
    chunk, never read whole), or the bytes of its PNG re-encoding when it is
    EXIF-rotated or TIFF, as CVAT does."""

    __slots__ = ("width", "height", "compressed", "original", "original_ext")

    def __init__(self, width, height, compressed, original, original_ext):
        self.width, self.height = width, height
        self.compressed, self.original, self.original_ext = compressed, original, original_ext


def encode_jpeg(image: Image.Image, quality: int, optimize: bool = False) -> bytes:
    out = io.BytesIO()
    _to_rgb(image).save(out, format="JPEG", quality=max(1, min(100, quality)), optimize=optimize)
    return out.getvalue()


def process(path: Path, label: str, quality: int, optimize: bool = False, keep_original: bool = True) -> Frame:
    """Decode once: the compressed JPEG, the upright size, and the original
    frame (re-encoded bytes, else the path when keep_original, else b"")."""
    image = _open(path, label)
    try:
        turn = orientation(image)
        upright = ImageOps.exif_transpose(image) if turn not in (0, 1) else image
        compressed = encode_jpeg(upright, quality, optimize)
        ext = Path(label).suffix.lower().lstrip(".") or path.suffix.lower().lstrip(".") or "bin"
        if reencoded(image.format, turn):
            buf = io.BytesIO()
            keep = upright if upright.mode in ("RGB", "RGBA", "L", "LA", "P", "1", "I;16") else _to_rgb(upright)
            keep.save(buf, format="PNG")
            original, ext = buf.getvalue(), "png"
        else:
            original = path if keep_original else b""
        return Frame(upright.width, upright.height, compressed, original, ext)
    except MediaError:
        raise
    except (OSError, ValueError) as e:
        raise MediaError(f"Can't process image {label}: {e}") from None
    finally:
        image.close()


def header(source, label: str) -> tuple[str, int, int, int]:
    """Format, stored width and height, and EXIF orientation of a path or a
    binary file, from its header alone (no pixels decoded; the bomb guard holds)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(source) as image:
                return image.format, image.width, image.height, orientation(image)
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
            raise MediaError(f"Image {label} is too large: {e}") from None
        except (OSError, SyntaxError, ValueError) as e:
            raise MediaError(f"Can't read image {label}: {e}") from None


def reencoded(image_format: str, turn: int) -> bool:
    """Whether the original-quality frame is a PNG re-encoding instead of the
    file itself: EXIF-rotated or TIFF images, as CVAT does."""
    return turn not in (0, 1) or image_format == "TIFF"


def size(path: Path, label: str) -> tuple[int, int]:
    """Width, height after EXIF orientation (header only, no full decode)."""
    _, w, h, turn = header(path, label)
    return (h, w) if turn in (5, 6, 7, 8) else (w, h)


def preview(jpeg_or_path, max_side: int = 256) -> bytes:
    """A JPEG thumbnail fitting max_side × max_side (never enlarged)."""
    source = io.BytesIO(jpeg_or_path) if isinstance(jpeg_or_path, (bytes, bytearray)) else jpeg_or_path
    with Image.open(source) as image:
        image = ImageOps.exif_transpose(image)
        image.thumbnail((max_side, max_side))
        return encode_jpeg(image, 85)


def placeholder(width: int = 256, height: int = 256) -> bytes:
    return encode_jpeg(Image.new("RGB", (width, height), (128, 128, 128)), 85)


def to_png(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()
