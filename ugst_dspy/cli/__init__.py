"""The ``ugst`` command line."""
