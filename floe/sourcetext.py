"""Reading a source file's text: UTF-8, or a problem naming the line and byte that is not."""

from __future__ import annotations

from pathlib import Path

from floe.errors import Problem, SourceError

HINT = "save the file as UTF-8"


def not_utf8(data: bytes, shown: str) -> Problem | None:
    """The problem with ``data`` (the bytes of the file shown as ``shown``), if it is not UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = f"not UTF-8 at byte {exc.start} ({data[exc.start]:#04x})"
        return Problem(shown, line, None, message, HINT)
    return None


def decode_source(data: bytes, shown: str) -> str:
    """``data`` as text; raise :class:`SourceError` naming ``shown`` if it is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        problem = not_utf8(data, shown)
        assert problem is not None
        raise SourceError([problem]) from None


def read_source(path: Path, shown: str) -> str:
    """The text of the file at ``path`` (universal newlines, as ``open`` gives), or
    :class:`SourceError` when it is not UTF-8. A missing file raises FileNotFoundError."""
    return universal_newlines(decode_source(path.read_bytes(), shown))


def universal_newlines(text: str) -> str:
    """``text`` with ``\r\n`` and ``\r`` line ends made ``\n``, as ``open`` reads text."""
    return text.replace("\r\n", "\n").replace("\r", "\n")
