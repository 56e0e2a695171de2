"""One rule for every address the build derives from sources: post slugs and aliases, landing
page and variant names, tag slugs, image names, tenant domains.

Each becomes a file (or folder) under the build's output folder, so each must be a URL path
that can only name a file there, and one every file system can hold. Checked when the sources
are loaded, so ``build.py check`` and ``build`` report the same problems; the writer checks
the resolved path again as a second wall.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

#: The longest file name ext4, APFS, NTFS and most others hold, in bytes of UTF-8.
MAX_SEGMENT_BYTES = 255
#: A percent-encoded dot, slash, backslash or NUL: decoded by a server or by the writer, it
#: could climb out of the output folder.
_ENCODED = re.compile(r"%(?:2e|2f|5c|00)", re.IGNORECASE)
#: Decoding more times than this is itself a sign of an attack.
_MAX_DECODES = 4
#: Not in file names on Windows, or not meant for a path (query, fragment, Werkzeug rules).
_FORBIDDEN = frozenset('<>:"|?*#')
_DRIVE = re.compile(r"^/?[A-Za-z]:")

#: What to tell the writer, after the reason.
HINT = "use letters, digits, '-', '_' and '.' in each part, and '/' only between parts"


def output_path_problem(path: str) -> str | None:
    """Why ``path`` is not safe to become a file under the output folder, or None if it is.

    ``path`` is a URL path from the site's root (``/blog/old-name/``; the leading and trailing
    ``/`` are optional) or a single name (a slug, a page name). Refused: empty, ``.`` or ``..``
    parts (also percent-encoded, once or more), a backslash, control characters, characters no
    Windows file name has, a drive letter, empty parts (``//``, which would make the rest an
    absolute path), and parts longer than :data:`MAX_SEGMENT_BYTES` bytes of UTF-8.
    """
    text = path
    for _ in range(_MAX_DECODES):
        if _ENCODED.search(text):
            return "has a percent-encoded '.', '/', '\\' or NUL"
        try:
            decoded = unquote(text, errors="strict") if "%" in text else text
        except UnicodeDecodeError:
            return "has a percent-encoded byte that is not UTF-8"
        if decoded == text:
            break
        text = decoded
    else:
        return "is percent-encoded too many times"
    inner = text.removeprefix("/")
    inner = inner[:-1] if inner.endswith("/") else inner
    if not inner:
        return "is empty"
    bad = next((c for c in text if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F), None)
    if bad is not None:
        return f"has a control character ({ord(bad):#04x})"
    if "\\" in text:
        return "has a backslash"
    if _DRIVE.match(text):
        return "starts with a drive letter"
    bad = next((c for c in text if c in _FORBIDDEN), None)
    if bad is not None:
        return f"has the character {bad!r}"
    if text != text.strip() or any(c.isspace() for c in text):
        return "has a space"
    for part in inner.split("/"):
        if part in ("", ".", ".."):
            return "has an empty part ('//')" if not part else f"has a {part!r} part"
        if len(part.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES:
            return f"has a part longer than {MAX_SEGMENT_BYTES} bytes"
    return None
