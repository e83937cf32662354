"""Progress of a long command on stderr: what it is doing and how far, on one rewritten line.

Silent when stderr is not a terminal (CI logs, pipes) or when the command prints data
(``-o json``): progress is for a person watching, never part of the output.
"""

import sys
import threading
import time
from types import TracebackType
from typing import TextIO


class Progress:
    """``update(text)`` rewrites the status line; ``ticker`` adds the elapsed seconds while a
    step gives no news of its own; ``close()`` clears the line before the summary prints."""

    def __init__(self, enabled: bool, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.started = time.monotonic()
        self._text = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_command(cls, output: str = "text", stream: TextIO | None = None) -> "Progress":
        stream = stream or sys.stderr
        return cls(output == "text" and _is_terminal(stream), stream)

    def update(self, text: str) -> None:
        with self._lock:
            self._text = text
            self._write()

    def _write(self) -> None:
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.started
        self.stream.write(f"\r\033[K{self._text} [{elapsed:.0f} s]")
        self.stream.flush()

    def ticker(self, every: float = 1.0) -> "Progress":
        """Refresh the elapsed time every ``every`` seconds until close (a daemon thread)."""
        if self.enabled and self._thread is None:

            def tick() -> None:
                while not self._stop.wait(every):
                    with self._lock:
                        self._write()

            self._thread = threading.Thread(target=tick, name="samuctl-progress", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
