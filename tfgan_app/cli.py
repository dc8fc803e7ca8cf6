"""What every command line of the project shares (no TensorFlow import: errors come fast)."""

import argparse
import os
import sys


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad flag ends with one line `PROG: error: ...` and exit code 2 (no usage dump)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


TF_LOG_ENV = "TF_CPP_MIN_LOG_LEVEL"  # TensorFlow's own switch: set it (e.g. 0) to see every log


def import_tensorflow(show_logs: bool = False):
    """Imports TensorFlow without its start-up chatter on a CPU machine, and returns it.

    TensorFlow's C++ side prints lines before any log level applies (absl's "All log messages
    before absl::InitializeLog()", CUDA stub and cuInit errors, oneDNN notes): standard error
    is pointed at /dev/null while it imports and starts its devices, and the C++ log level is 2
    (errors) after.  Nothing is hidden when `show_logs` (a CLI's --tf-logs) or when the user
    set TF_CPP_MIN_LOG_LEVEL: TensorFlow then logs as it always does.  A Python exception
    raised by the import still shows: it propagates after standard error is restored.
    """
    if show_logs or TF_LOG_ENV in os.environ:
        if show_logs:
            os.environ[TF_LOG_ENV] = "0"
        import tensorflow as tf
        return tf
    os.environ[TF_LOG_ENV] = "2"
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow as tf
        tf.config.list_logical_devices()  # device start-up (cuInit) logs here
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tf


_UNSAFE_ADVICE = ("pickle", "safe_mode", "unsafe", "trust")


def error_reason(e: BaseException) -> str:
    """The first line of a library's error, for a one-line message -- unless it advises an unsafe
    option (numpy's "load it unsafely using allow_pickle", Keras's "pass safe_mode=False"):
    we never relay that advice, only what it means."""
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    if any(word in str(e).lower() for word in _UNSAFE_ADVICE):
        return "it holds Python objects or code, which are never loaded (only plain arrays and layers are)"
    return text
