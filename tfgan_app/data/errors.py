"""The one error every data source raises: a spec or its files are not usable."""


class DataError(ValueError):
    """A dataset spec or its files are not usable; the message names the flag or file."""
