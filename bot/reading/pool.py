"""OcrPool: extract_text in worker processes, off the event loop, with a hard time limit.

Each worker is a spawned process that loads the OCR models once and then reads files one at a time
over a pipe. At most `workers` files are read at once; others wait their turn. A read that outlasts
its time limit gets OcrTimeout and its worker is killed (PDFium, pypdf and onnxruntime cannot be
interrupted any other way) and replaced on the next read, so stuck work never piles up.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import multiprocessing
import os
import signal
import traceback
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from .base import Extracted, ReadLimits
from .errors import OcrTimeout, ReadError, Unreadable

log = logging.getLogger(__name__)

#: Share of a read's time limit the worker may spend on OCR before it returns the pages it has,
#: so a long scanned PDF gives a partial text rather than a time-out.
SOFT_SHARE = 0.8


class WorkerError(Exception):
    """What went wrong inside a worker, carried back as text (kept as the `__cause__` for the log)."""


def _serve(conn: Connection, threads: int) -> None:
    """A worker's life: load the models, then answer (data, name, mime, limits) until told to stop."""
    # Ctrl+C in a terminal reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Below the bot in the scheduler's eyes: on 2 cores a reply to a text must not wait for a picture.
    with contextlib.suppress(OSError):
        os.nice(5)
    from . import ocr
    from .extract import extract_text

    try:
        ocr.set_threads(threads)
        ocr.warm_up()
    except BaseException:
        conn.send(("failed", traceback.format_exc()))
        return
    conn.send(("ready", None))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        data, file_name, mime_type, limits = message
        try:
            reply: tuple[str, Any] = ("ok", extract_text(data, file_name, mime_type, limits=limits))
        except ReadError as e:
            cause = e.__cause__
            reply = ("error", (e, f"{type(cause).__name__}: {cause}" if cause else None))
        except Exception:
            reply = ("crashed", traceback.format_exc())
        conn.send(reply)


@dataclasses.dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection

    def alive(self) -> bool:
        return self.process.is_alive() and not self.conn.closed

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(1.0)
        self.conn.close()

    def stop(self) -> None:
        """Ask an idle worker to finish; kill it if it does not within a second."""
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(1.0)
        self.kill()


class OcrPool:
    """Reads files in up to `workers` processes (default 1), each with `threads` onnxruntime threads.

    Workers start on the first read (or on `start()`), load the models once and are kept for
    the next reads. `close()` ends them all.
    """

    def __init__(
        self,
        limits: ReadLimits | None = None,
        *,
        workers: int = 1,
        threads: int | None = None,
        start_timeout: float = 120.0,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.limits = limits or ReadLimits()
        self.workers = workers
        self.threads = threads or max(1, (os.cpu_count() or 1) // workers)
        self.start_timeout = start_timeout
        self._ctx = multiprocessing.get_context("spawn")
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._slots = asyncio.Semaphore(workers)
        # Sending a 10 MB file down a pipe blocks; it is done here, not on the event loop.
        self._io = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ocr-pool")
        self._closed = False

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the running workers, idle and busy (for logs and tests)."""
        return [w.process.pid for w in (*self._idle, *self._busy) if w.process.pid is not None and w.alive()]

    async def start(self) -> None:
        """Start the workers now instead of on the first read (the first start takes a second or two)."""
        async with asyncio.TaskGroup() as group:
            for _ in range(self.workers - len(self._idle) - len(self._busy)):
                group.create_task(self._add_idle())

    async def _add_idle(self) -> None:
        async with self._slots:
            self._idle.append(await self._spawn())

    async def read(self, data: bytes, file_name: str | None, mime_type: str | None, timeout: float) -> Extracted:
        """extract_text in a worker, within `timeout` seconds from when a worker takes it.

        Raises the same ReadError subclasses as extract_text, OcrTimeout when time runs out, and
        Unreadable when a worker dies or fails unexpectedly (the cause is chained for the log).
        """
        if self._closed:
            raise RuntimeError("OcrPool is closed")
        limits = dataclasses.replace(self.limits, ocr_timeout=min(self.limits.ocr_timeout, timeout * SOFT_SHARE))
        async with self._slots:
            worker = self._take_idle() or await self._spawn()
            self._busy.add(worker)
            keep = False
            try:
                status, payload = await asyncio.wait_for(
                    self._exchange(worker, (data, file_name, mime_type, limits)), timeout
                )
                keep = status in ("ok", "error")
            except TimeoutError:
                raise OcrTimeout(f"reading took longer than {timeout:g} s") from None
            except (EOFError, OSError) as e:
                raise Unreadable("the reading worker stopped") from e
            finally:
                self._busy.discard(worker)
                if keep and not self._closed:
                    self._idle.append(worker)
                else:
                    worker.kill()  # SIGKILL and reap: milliseconds, even for a worker stuck in C code
        if status == "ok":
            result: Extracted = payload
            return result
        if status == "error":
            error, cause = payload
            raise error from (WorkerError(cause) if cause else None)
        raise Unreadable("reading failed") from WorkerError(payload)

    def _take_idle(self) -> _Worker | None:
        while self._idle:
            worker = self._idle.pop()
            if worker.alive():
                return worker
            worker.kill()
        return None

    async def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(target=_serve, args=(child, self.threads), name="jianfu-reader", daemon=True)
        process.start()  # a fork and exec of a fresh interpreter: milliseconds; the imports happen over there
        child.close()
        worker = _Worker(process, parent)
        try:
            status, payload = await asyncio.wait_for(self._receive(worker), self.start_timeout)
        except (TimeoutError, EOFError, OSError) as e:
            worker.kill()
            raise Unreadable("the reading worker did not start") from e
        except BaseException:  # cancelled while the worker was starting: do not leave it behind
            worker.kill()
            raise
        if status != "ready":
            worker.kill()
            raise Unreadable("the reading worker did not start") from WorkerError(payload)
        log.info("reading worker %s started", process.pid)
        return worker

    async def _exchange(self, worker: _Worker, message: tuple[Any, ...]) -> tuple[str, Any]:
        await asyncio.get_running_loop().run_in_executor(self._io, worker.conn.send, message)
        return await self._receive(worker)

    @staticmethod
    async def _receive(worker: _Worker) -> tuple[str, Any]:
        """The worker's next message, awaited on the event loop without a thread."""
        loop = asyncio.get_running_loop()
        readable = loop.create_future()
        fd = worker.conn.fileno()

        def wake() -> None:
            if not readable.done():
                readable.set_result(None)

        loop.add_reader(fd, wake)
        try:
            await readable
        finally:
            loop.remove_reader(fd)
        reply: tuple[str, Any] = worker.conn.recv()
        return reply

    def close(self) -> None:
        """End every worker: idle ones are asked to stop, busy ones are killed. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for worker in list(self._busy):
            worker.kill()
        while self._idle:
            self._idle.pop().stop()
        self._io.shutdown(wait=False, cancel_futures=True)
