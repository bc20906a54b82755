"""Image augmentations shared by the synthetic renderer and training on real crops.

``degrade`` adds what cameras and scanners do to a line (low resolution, blur, contrast, noise, JPEG);
``jitter_crop`` adds what a text detector does to a crop (rotation, perspective, tight or loose margins).
All randomness comes from the ``rng`` argument, so an augmented item depends only on its seed.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image


def degrade(img: np.ndarray, rng: np.random.Generator, blur_scale: float = 1.0) -> np.ndarray:
    """Photometric damage of an RGB float32 image in [0, 255]; returns a uint8 array.

    ``blur_scale`` scales the blur radius to the glyph size (1.0 for a 32 px line).
    """
    h, w = img.shape[:2]
    if rng.random() < 0.15:  # low-resolution capture
        f = rng.uniform(0.5, 0.8)
        small = cv2.resize(img, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
        img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.3:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.1) * blur_scale)
    if rng.random() < 0.4:  # contrast about mid-grey, and brightness: one multiply-add
        gain = rng.uniform(0.6, 1.3)
        img = img * np.float32(gain) + np.float32(128.0 * (1 - gain) + rng.uniform(-40, 40))
    if rng.random() < 0.35:
        img = img + rng.standard_normal(img.shape, dtype=np.float32) * np.float32(rng.uniform(2, 12))
    out = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        # Channel order is irrelevant: the same order goes in and comes out.
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(20, 91))])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out


def jitter_crop(image: Image.Image | np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A real crop as another detector might have cut it, then ``degrade``d; returns an RGB image.

    Rotates by up to 3 degrees (40% of crops; less for long lines, whose ends would otherwise leave the frame:
    at most atan(h / 3w), as ``synth.render_line``), moves the corners by up to 5% of the height (30%), and
    moves each side in or out by up to 8% of the height; the outside is filled by replicating the border.
    """
    arr = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image, dtype=np.float32)
    h, w = arr.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src.copy()
    if rng.random() < 0.4:
        limit = min(3.0, float(np.rad2deg(np.arctan(h / (3 * w)))))
        a, centre = np.deg2rad(rng.uniform(-limit, limit)), src.mean(0)
        dst = (dst - centre) @ np.float32([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]]) + centre
    if rng.random() < 0.3:
        dst = dst + rng.uniform(-0.05, 0.05, (4, 2)).astype(np.float32) * h
    # Side offsets: negative crops into the image, positive adds margin; never below 2 px of height/width.
    ml, mt, mr, mb = (rng.uniform(-0.08, 0.08, 4) * h).round().astype(int)
    out_w, out_h = max(2, w + ml + mr), max(2, h + mt + mb)
    dst = dst + np.float32([ml, mt])
    warp = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    arr = cv2.warpPerspective(arr, warp, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return Image.fromarray(np.ascontiguousarray(degrade(arr, rng, blur_scale=h / 32)), "RGB")
