"""How a build or a deploy reports its progress: the command line shows a bar on a terminal,
plain lines otherwise; library callers and tests pass nothing and see nothing."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, phase: str, total: int) -> None:
        """A phase of ``total`` steps begins (converting markdown, rendering pages; comparing,
        uploading, deleting)."""

    def advance(self, steps: int = 1) -> None:
        """``steps`` more steps of the current phase are done."""


class Silent:
    def start(self, phase: str, total: int) -> None:
        pass

    def advance(self, steps: int = 1) -> None:
        pass
