"""Shared test setup: quiet TF, CPU only, and where the shared MNIST lives."""

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# The MNIST test split CI provides beside the repository (a user's clone has none).
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"
