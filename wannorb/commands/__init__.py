"""Command-line commands, one module each with ``register(subparsers)``."""
