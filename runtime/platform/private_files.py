"""Owner-only directories (0700) and files (0600) for what Rapport keeps, whatever the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """`path` as an owner-only directory: created (with every missing parent, each 0700) or
    tightened if it exists. Parents that already exist are left as they are."""
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        try:
            directory.mkdir()
        except FileExistsError:  # another process made it meanwhile
            pass
    tighten(path)
    for directory in missing:
        tighten(directory)
    return path


def tighten(path: Path) -> None:
    """Owner-only permissions on an existing file or directory (not following symlinks)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        return
    wanted = DIR_MODE if stat.S_ISDIR(info.st_mode) else FILE_MODE
    if stat.S_IMODE(info.st_mode) != wanted:
        path.chmod(wanted)


def tighten_tree(root: Path) -> None:
    """`root` and everything below it, as an earlier version may have left them."""
    for folder, dirs, files in os.walk(root):
        tighten(Path(folder))
        for name in (*dirs, *files):
            tighten(Path(folder) / name)


def open_private(path: Path, exclusive: bool = False) -> int:
    """A file descriptor for writing `path` afresh, the file owner-only from its creation.
    `exclusive`: FileExistsError if it exists (another process may be writing it)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)  # the umask may have taken bits; an existing file keeps its own
    return fd


def write_private(path: Path, text: str) -> None:
    with os.fdopen(open_private(path), "w") as handle:
        handle.write(text)
