"""Loaded by a test's build process (PYTHONPATH): kills it just before its Nth rename.

``FLOE_TEST_KILL_AT_RENAME=N`` counts the calls of ``os.rename``, ``os.replace`` and
``os.symlink`` (``Path.rename`` and ``Path.replace`` go through them) made by the first process
(not by forked workers), and sends SIGKILL to it instead of making the Nth: a kill between any
two steps of the build that change what the build folder holds. ``FLOE_TEST_RENAMES`` names a
file where each call is recorded, so the test knows when N is past the last one.
"""

import os
import signal

_limit = int(os.environ.get("FLOE_TEST_KILL_AT_RENAME", "0") or 0)
_record = os.environ.get("FLOE_TEST_RENAMES")
_main = os.getpid()
_count = 0


def _counted(call):
    def wrapper(*args, **kwargs):
        global _count
        if os.getpid() == _main:
            _count += 1
            if _record:
                with open(_record, "a") as log:
                    log.write(f"{_count} {call.__name__} {args[:2]}\n")
            if _count == _limit:
                os.kill(_main, signal.SIGKILL)
        return call(*args, **kwargs)

    return wrapper


if _limit or _record:
    os.rename = _counted(os.rename)
    os.replace = _counted(os.replace)
    os.symlink = _counted(os.symlink)
