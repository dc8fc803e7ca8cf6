"""The Keras dtype policy networks are built under (--precision)."""

from __future__ import annotations

import contextlib

import keras


@contextlib.contextmanager
def precision_policy(name: str):
    """Builds layers under the Keras dtype policy `name`, then restores the previous policy.

    Layers keep the policy they were built with (compute dtype float16/bfloat16, variables
    float32); the output layers set dtype="float32" themselves.
    """
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)
