"""Subcommand groups of the command line that outgrew ``cli.py`` (which only mounts them): ICD-10
lookup (``icd``), the registry's commands and the reviewer's sign-off (``registry``), and their
rendering (``render``). Parsing and rendering only: the work is done by the rooms below, imported
inside each command so that ``certreview --help`` stays fast.

May import: every room of ``agent``; nothing imports it but ``cli.py``.
"""
