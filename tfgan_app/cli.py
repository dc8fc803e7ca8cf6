"""What every command line of the project shares (no TensorFlow import: errors come fast)."""

import argparse


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad flag ends with one line `PROG: error: ...` and exit code 2 (no usage dump)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")
