"""Optical character recognition with RapidOCR (PP-OCRv6 small, Chinese and English) on onnxruntime.

The models come inside the `rapidocr` wheel; the engine is given their paths explicitly, so it never
reaches the code that would download one. The engine is built once per process, on first use.
"""

from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from .errors import Unreadable
from .layout import Line

#: The bundled model files; pyproject pins rapidocr to the minor release that ships these.
MODEL_FILES = {
    "Det": "PP-OCRv6_det_small.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",
    "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}
#: A picture taller than this many times its width (a long screenshot) is read in slices, because
#: the detector shrinks its longest side to 2,000 pixels and the text of a long strip would vanish.
TALL_RATIO = 2.5
SLICE_RATIO = 2.0

_engine: Any = None
_engine_lock = threading.Lock()
_run_lock = threading.Lock()
_threads = 0


class OcrUnavailable(RuntimeError):
    """The OCR models are missing from the installed rapidocr package (an installation fault)."""


def model_dir() -> Path:
    import rapidocr

    return Path(rapidocr.__file__).resolve().parent / "models"


def set_threads(threads: int) -> None:
    """Threads onnxruntime may use in this process; must be called before the first recognition."""
    global _threads
    _threads = threads


def _build() -> Any:
    from rapidocr import RapidOCR

    models = model_dir()
    params: dict[str, Any] = {
        "Global.log_level": "error",
        "Global.model_root_dir": str(models),
        # Screenshots and notices are upright; the angle classifier turned whole lines upside down
        # on clean notices (and dropped them), so it is off. EXIF orientation is applied before.
        "Global.use_cls": False,
        "EngineConfig.onnxruntime.intra_op_num_threads": _threads or min(2, os.cpu_count() or 1),
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    }
    for stage, name in MODEL_FILES.items():
        path = models / name
        if not path.is_file():
            raise OcrUnavailable(f"OCR model {path} is missing; reinstall the pinned rapidocr release")
        params[f"{stage}.model_path"] = str(path)
    return RapidOCR(params=params)


def engine() -> Any:
    """The process's OCR engine, built on first use (about 0.1 s; the models load on the first picture)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = _build()
    return _engine


def warm_up() -> None:
    """Build the engine and load its models, so the first user does not wait for it.

    The recogniser loads only once the detector has found text, so the picture carries some.
    """
    img = Image.new("RGB", (480, 96), "white")
    ImageDraw.Draw(img).text((16, 16), "OCR 2024", fill="black", font=ImageFont.load_default(56))
    recognize(img)


def _slices(img: Image.Image) -> list[tuple[int, Image.Image]]:
    """(top, slice) pieces of a tall picture, cut across the emptiest row near each boundary."""
    w, h = img.size
    if h <= TALL_RATIO * w:
        return [(0, img)]
    gray = img.convert("L")
    step = int(SLICE_RATIO * w)
    window = max(16, w // 5)
    cuts = [0]
    while h - cuts[-1] > TALL_RATIO * w:
        target = cuts[-1] + step
        band = gray.crop((0, target - window, w, target)).resize((max(1, w // 4), window))
        data = band.tobytes()
        width = band.width
        # The row whose pixels vary least is the likeliest gap between two lines of text.
        best, best_spread = target, 256
        for r in range(window):
            row = data[r * width : (r + 1) * width]
            spread = max(row) - min(row)
            if spread < best_spread:
                best, best_spread = target - window + r, spread
        cuts.append(best)
    cuts.append(h)
    return [(top, img.crop((0, top, w, bottom))) for top, bottom in itertools.pairwise(cuts)]


def recognize(img: Image.Image) -> list[Line]:
    """The lines of text in an RGB picture, with their boxes in the picture's pixels."""
    eng = engine()
    lines: list[Line] = []
    for top, piece in _slices(img):
        # rapidocr keeps per-call state on the engine object; one recognition at a time per process.
        try:
            with _run_lock:
                result = eng(piece)
        except Exception as e:  # onnxruntime and OpenCV errors on a picture they cannot take
            raise Unreadable("OCR failed on this picture") from e
        boxes, texts = getattr(result, "boxes", None), getattr(result, "txts", None)
        if boxes is None or texts is None:
            continue
        for box, text in zip(boxes, texts, strict=False):
            xs = [float(p[0]) for p in box]
            ys = [float(p[1]) + top for p in box]
            lines.append(Line(str(text), min(xs), min(ys), max(xs), max(ys)))
    return lines
