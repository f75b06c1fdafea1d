"""The mode a new output file or folder gets: what `open()` or `mkdir` would give it.

`tempfile.mkstemp` and `mkdtemp` create 0600 and 0700 whatever the umask; a report or a snippet
written through a temporary file for atomicity must still be shared as a normal file would be.
(Secrets are never written by the auditor; the lab's keys set their own 0600.)
"""

from __future__ import annotations

import os


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """0666 less the umask (0644 under the usual 022)."""
    return 0o666 & ~_umask()


def folder_mode() -> int:
    """0777 less the umask (0755 under the usual 022)."""
    return 0o777 & ~_umask()
