"""Where tfgan_app keeps what it derives once and reuses: classifiers, reference statistics,
measurements of datasets.  $TFGAN_APP_CACHE, or ~/.cache/tfgan_app."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """$TFGAN_APP_CACHE or ~/.cache/tfgan_app (not created here)."""
    return Path(os.environ.get("TFGAN_APP_CACHE") or Path.home() / ".cache" / "tfgan_app")
