"""Where this machine's processes keep their metrics, so /metrics can add them up.

Kept apart from landline/metrics.py: prometheus-client decides at import whether it
counts in files, so the folder must be chosen before that module is imported.
"""

from __future__ import annotations

import os
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def use_process_files(data_dir: Path) -> Path:
    """Count in files shared by this machine's processes (before anything counts).

    Keeps an operator's PROMETHEUS_MULTIPROC_DIR; otherwise `<data_dir>/metrics`. Files
    of processes that have ended are removed, so the folder does not grow with every
    restart (their counts leave the totals, which Prometheus reads as a counter reset).
    """
    folder = Path(os.environ.get(MULTIPROC_ENV) or data_dir / "metrics")
    folder.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(folder)
    for path in folder.glob("*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            path.unlink(missing_ok=True)
    return folder


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
