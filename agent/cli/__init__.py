"""Subcommand groups of the command line (``certreview icd …``), each a typer app that cli.py adds
with one line. Parsing and rendering only: the work is done by the rooms below, imported inside
each command so that ``certreview --help`` stays fast.

May import: every room below it.
"""
