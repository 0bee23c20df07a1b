"""The data folder: the SQLite store and everything else kept on disk, readable by the
server's own user only, whatever the umask."""

from __future__ import annotations

import os
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def prepare(folder: Path) -> Path:
    """Create the folder (or tighten an existing one) for this user alone."""
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    os.chmod(folder, FOLDER_MODE)
    return folder


def private_file(path: Path) -> Path:
    """Create `path` if missing, readable and writable by this user alone.

    SQLite gives its -wal and -shm files the mode of the database file, so creating the
    database this way keeps all three private.
    """
    descriptor = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
    os.close(descriptor)
    os.chmod(path, FILE_MODE)
    return path
