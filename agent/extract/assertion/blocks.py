"""Text of another patient pasted into a record: a second patient line (姓名：王某某) naming someone
other than the record's own patient, or a line that says it was pasted by mistake (误粘贴). The
block runs to the next blank line (or the end of the record); every mention in it is another
person's."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, cast

from agent.extract.assertion.rules import ruleset

if TYPE_CHECKING:
    from agent.extract.assertion.engine import Trigger
    from agent.extract.document import DocView

_CACHE_KEY = "assertion_foreign_blocks"
_ROLE_BEFORE = re.compile(r"(配偶|父|母|子|女|亲属|监护|紧急|联系|家属|代理|委托|经办|医|护|审|签|人|者)[ \t]*$")
_MARKER = re.compile(r"误粘贴|误贴|误录|非本人|非本患者|他人的|其他患者的|另一患者的|另一位患者的|同病房患者的")


def names_match(record: str, own: str) -> bool:
    """Equal, or equal where one side masks characters (张**, 张某某, 张XX)."""
    a, b = (x.replace("＊", "*").replace("Ｘ", "X") for x in (record, own))
    if a == b:
        return True
    if any(ch in a + b for ch in "*X某"):
        return a[:1] == b[:1]
    return False


def _block_end(view: DocView, start: int) -> int:
    blank = re.compile(r"\n[ \t\u3000]*\n").search(view.half, start)
    return blank.start() if blank else len(view.half)


def foreign_blocks(view: DocView) -> list[tuple[int, int, Trigger]]:
    """(start, end, trigger) of each block of another person's text in the record."""
    found = view.cache.get(_CACHE_KEY)
    if found is not None:
        return cast("list[tuple[int, int, Trigger]]", found)
    from agent.extract.assertion.engine import Trigger
    from agent.extract.identity import NAME_RE
    ruleset()  # the rules file must be readable before anything is asserted
    out: list[tuple[int, int, Trigger]] = []
    names = [(m, m.group(1).rstrip("性年")) for m in NAME_RE.finditer(view.half)]
    own = names[0][1] if names else None
    for m, name in names[1:]:
        if _ROLE_BEFORE.search(view.half[max(0, m.start() - 4) : m.start()]):
            continue  # 配偶姓名, 紧急联系人姓名: a person named in the patient's record, not a patient
        if own and not names_match(name, own) and not any(s <= m.start() < e for s, e, _ in out):
            ls = view.half.rfind("\n", 0, m.start()) + 1
            out.append((ls, _block_end(view, m.start()), Trigger(view.text[m.start() : m.end()], m.start(), m.end())))
    for m in _MARKER.finditer(view.half):
        if not any(s <= m.start() < e for s, e, _ in out):
            ls = view.half.rfind("\n", 0, m.start()) + 1
            out.append((ls, _block_end(view, m.start()), Trigger(view.text[m.start() : m.end()], m.start(), m.end())))
    out.sort(key=lambda t: t[0])
    view.cache[_CACHE_KEY] = out
    return out
