"""Command groups of the CLI that outgrew ``cli.py`` (``cli.py`` only mounts them): the
registry's commands and the reviewer's sign-off (``registry``), and their rendering (``render``).

May import: every room of ``agent``; nothing imports it but ``cli.py``.
"""
