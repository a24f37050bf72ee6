"""``--help`` in the user's language. The help of every command, argument and option stays
English in the source (typer's ``help=`` and the commands' docstrings); each is a msgid of the
catalogue, translated when the command tree is built for a run, so a command added later needs
no marker, only its entry in the catalogue (``make i18n`` collects every help text from the tree,
and tests/test_i18n.py fails on one without a translation)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agent.core.i18n import N_, _

# typer's and click's own words in a help page (they ship no Chinese)
FRAME = {
    "ARGUMENTS_PANEL_TITLE": N_("Arguments"),
    "OPTIONS_PANEL_TITLE": N_("Options"),
    "COMMANDS_PANEL_TITLE": N_("Commands"),
    "REQUIRED_LONG_STRING": N_("[required]"),
    "DEFAULT_STRING": N_("[default: {}]"),
}
HELP_OPTION = N_("Show this message and exit.")


def _commands(cmd: Any) -> Iterator[Any]:
    """``cmd`` and every command below it (a group's subcommands, depth first)."""
    yield cmd
    for sub in getattr(cmd, "commands", {}).values():
        yield from _commands(sub)


def help_texts(root: Any) -> Iterator[str]:
    """Every help text of the click command tree ``root``: commands' help and short help, and
    their parameters' help."""
    for cmd in _commands(root):
        for text in (cmd.help, cmd.short_help):
            if text:
                yield text
        for param in cmd.params:
            if getattr(param, "help", None):
                yield param.help


def translate_tree(root: Any) -> None:
    """Put the help of the tree ``root`` (built afresh for each run) and typer's frame words into
    the current language, in place."""
    from typer import rich_utils

    for attr, text in FRAME.items():
        setattr(rich_utils, attr, _(text))
    for cmd in _commands(root):
        cmd.help = _(cmd.help) if cmd.help else cmd.help
        cmd.short_help = _(cmd.short_help) if cmd.short_help else cmd.short_help
        for param in cmd.params:
            if getattr(param, "help", None):
                param.help = _(param.help)
        option = cmd.get_help_option(cmd.context_class(cmd))  # created once and cached by the command
        if option is not None and option.help == HELP_OPTION:
            option.help = _(HELP_OPTION)
