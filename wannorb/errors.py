"""Errors that the command line turns into one clear line and exit code 2."""


class InputError(ValueError):
    """Bad user input: missing/malformed file, unknown name, impossible parameter.

    The CLI prints ``wannorb: error: <message>`` on stderr and exits with code 2.
    Library callers get an ordinary ``ValueError`` subclass.
    """
