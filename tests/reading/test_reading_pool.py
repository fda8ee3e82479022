"""OcrPool: reading in a worker process, off the event loop, with a hard time limit."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import reading_samples as rs

from bot.reading import OcrPool, OcrTimeout, ReadLimits, Unreadable, UnsupportedType
from bot.reading.pool import WorkerError

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def pool() -> AsyncIterator[OcrPool]:
    pool = OcrPool(ReadLimits(), workers=1)
    await pool.start()
    yield pool
    pool.close()


async def test_reads_pictures_and_documents(pool: OcrPool, chat_screenshot: rs.Sample, docx_notice: rs.Sample) -> None:
    result = await pool.read(chat_screenshot.data, chat_screenshot.file_name, chat_screenshot.mime_type, timeout=60)
    assert (result.kind, result.ocr) == ("image", True)
    for phrase in chat_screenshot.key_phrases:
        assert phrase in result.text
    document = await pool.read(docx_notice.data, docx_notice.file_name, docx_notice.mime_type, timeout=60)
    assert "家访登记表" in document.text


async def test_read_errors_keep_their_class_and_the_worker(pool: OcrPool) -> None:
    pids = pool.worker_pids
    with pytest.raises(UnsupportedType) as info:
        await pool.read(b"hello", "a.wps", None, timeout=10)
    assert info.value.code == "unsupported"
    assert pool.worker_pids == pids


async def test_time_out_recycles_the_worker(pool: OcrPool, clean_notice: rs.Sample, text_pdf: rs.Sample) -> None:
    [old] = pool.worker_pids
    start = time.perf_counter()
    with pytest.raises(OcrTimeout) as info:
        await pool.read(clean_notice.data, clean_notice.file_name, clean_notice.mime_type, timeout=0.01)
    assert info.value.code == "ocr_timeout"
    assert time.perf_counter() - start < 2.0
    assert pool.worker_pids == []  # killed, not left running
    with pytest.raises(ProcessLookupError):
        os.kill(old, 0)
    result = await pool.read(text_pdf.data, text_pdf.file_name, text_pdf.mime_type, timeout=60)
    assert "截图" in result.text
    assert pool.worker_pids != [old]


async def test_event_loop_stays_responsive_while_a_picture_is_read(pool: OcrPool, chat_screenshot: rs.Sample) -> None:
    lags: list[float] = []

    async def tick() -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - before - 0.01)

    ticker = asyncio.create_task(tick())
    await pool.read(chat_screenshot.data, "a.png", None, timeout=60)
    ticker.cancel()
    assert len(lags) > 20
    assert max(lags) < 0.25


async def test_reads_queue_for_the_worker(pool: OcrPool, clean_notice: rs.Sample, phone_photo: rs.Sample) -> None:
    results = await asyncio.gather(
        pool.read(clean_notice.data, "a.png", None, timeout=60),
        pool.read(phone_photo.data, "b.jpg", None, timeout=60),
        pool.read("截图上报".encode(), "c.txt", None, timeout=60),
    )
    assert [r.kind for r in results] == ["image", "image", "txt"]
    assert len(pool.worker_pids) == 1


async def test_a_worker_that_dies_gives_unreadable_and_is_replaced(pool: OcrPool, chat_screenshot: rs.Sample) -> None:
    [pid] = pool.worker_pids
    long_read = rs.scanned_pdf(pages=3).data  # a few seconds of OCR, so the kill lands mid-read
    reading = asyncio.create_task(pool.read(long_read, "scan.pdf", None, timeout=60))
    await asyncio.sleep(0.3)
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(Unreadable):
        await reading
    assert (await pool.read("收到".encode(), "a.txt", None, timeout=60)).text == "收到"


async def test_a_bug_in_the_worker_is_unreadable_with_the_traceback(pool: OcrPool) -> None:
    with pytest.raises(Unreadable) as info:
        await pool.read(None, "a.txt", None, timeout=60)  # type: ignore[arg-type]
    assert isinstance(info.value.__cause__, WorkerError)
    assert "Traceback" in str(info.value.__cause__)


async def test_close_ends_the_workers() -> None:
    pool = OcrPool(workers=1)
    await pool.start()
    [pid] = pool.worker_pids
    pool.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(RuntimeError):
        await pool.read(b"x", "a.txt", None, timeout=1)
    pool.close()
