"""Whether a model's quote supports the value it grounds: the value's term inside the quote, read
by the offline assertion engine (no negation, hedge, plan or other person around it)."""

from __future__ import annotations

from agent.core.models import Document
from agent.core.text import fold
from agent.extract.assertion import assert_mention
from agent.extract.document import DocView
from agent.extract.treatments import treatment_mentions


def _view(quote: str) -> DocView:
    return DocView(doc=Document(name="quote", text=quote, format="txt"))


def _term_at(value: str, quote: str) -> tuple[int, int] | None:
    """Where the value's term stands in the quote: the whole value (a Latin-script name) or its
    head, the last two characters of a Chinese name (腺癌, 尿病, 血压), else None."""
    if value.isascii():
        i = quote.lower().find(value.lower())
        return (i, i + len(value)) if i >= 0 else None
    head = fold(value)[-2:]
    i = quote.rfind(head) if len(head) == 2 else -1
    return (i, i + 2) if i >= 0 else None


def diagnosis_supported(value: str, quote: str) -> bool:
    """The diagnosis ``value`` is named in ``quote`` and asserted there as the applicant's own."""
    at = _term_at(value.strip(), quote)
    if at is None:
        return False
    return assert_mention(_view(quote), at[0], at[1], "diagnosis").certainty == "confirmed"


def supported_modalities(values: list[str], quote: str) -> list[str]:
    """The modalities of ``values`` that a treatment named in ``quote`` gives (not refused,
    conditional or continued)."""
    given = {m for t in treatment_mentions(_view(quote)) if t.counts for m in t.modalities}
    return [m for m in values if m in given]
