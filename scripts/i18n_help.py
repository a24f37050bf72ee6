"""Add the --help texts of certreview's command tree to a gettext template (``make i18n``):
typer's ``help=`` strings and the commands' docstrings carry no marker, so pybabel cannot find
them in the source; they are read from the tree the CLI builds, as agent.cli.helptext translates it."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout, not an installed copy


def main(pot: Path) -> int:
    """Read ``pot``, add every help text of ``cli.app`` that is not in it, write it back."""
    import typer

    import cli
    from agent.cli.helptext import help_texts

    with pot.open("rb") as fh:
        catalog = read_po(fh)
    added = 0
    for text in help_texts(typer.main.get_command(cli.app)):
        if text not in catalog:
            catalog.add(text, auto_comments=["--help"])
            added += 1
    with pot.open("wb") as fh:
        write_po(fh, catalog, width=120, sort_output=True, omit_header=False)
    print(f"{pot}: {added} help texts added")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
