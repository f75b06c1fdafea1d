"""A CA bundle read safely: one regular file of bounded size, never a FIFO or a device.

`ssl.create_default_context(cafile=...)` opens the path itself, blocking: a `ca_file` that is a
FIFO would hold the run forever, and `/dev/zero` would fill the memory. The bundle is read here
(non-blocking open, the kind and size checked first) and handed to ssl as text.
"""

from __future__ import annotations

import errno
import os
import ssl
import stat
from pathlib import Path

MAX_CA_BYTES = 4 * 1024 * 1024  # a system bundle is about 200 KiB


def read_ca_bundle(path: Path) -> str:
    """The PEM text of a CA bundle; OSError (with a reason) when it cannot be one."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise OSError(errno.EISDIR, "is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "is not a regular file (a FIFO, socket or device)")
        if info.st_size > MAX_CA_BYTES:
            raise OSError(errno.EFBIG, f"is larger than {MAX_CA_BYTES // 1024} KiB")
        raw = fh.read(MAX_CA_BYTES + 1)
    if len(raw) > MAX_CA_BYTES:
        raise OSError(errno.EFBIG, f"is larger than {MAX_CA_BYTES // 1024} KiB")
    return raw.decode("ascii", "replace")


def ca_context(ca_file: Path | None) -> ssl.SSLContext:
    """A client context verifying chain and name against `ca_file`, else the system store.

    Raises OSError or ssl.SSLError when the bundle cannot be read or holds no certificate."""
    if ca_file is None:
        return ssl.create_default_context()
    return ssl.create_default_context(cadata=read_ca_bundle(ca_file))
