"""Lab values and vital signs: eGFR, serum creatinine (μmol/L or mg/dL), blood pressure."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.extract.certainty import is_family
from agent.extract.document import DocView

MG_DL_TO_UMOL_L = 88.4

_EGFR = re.compile(
    r"(eGFR|e-GFR|GFR|估算肾小球滤过率|估算的肾小球滤过率|肾小球滤过率|估计肾小球滤过率)[^0-9\n]{0,40}?(\d+(?:\.\d+)?)(?![\d.\-/年月])"
)
_SCR = re.compile(
    r"(?<![尿U])(血清肌酐|血肌酐|肌酐|Scr|SCr|sCr|SCR|CREA|Crea|Cr)(?![A-Za-z])[^0-9\n]{0,40}?(\d+(?:\.\d+)?)(?![\d\-/年月]|\.\d*[\-/])"
    r"\s*[↑↓HL]?\s*(μmol/L|umol/L|µmol/L|μmol/l|umol/l|mg/dL|mg/dl)?"
)
_BP = re.compile(r"(?<!\d)(\d{2,3})\s*/\s*(\d{2,3})(?!\d)\s*(mmHg|mmhg)?")
_BP_CONTEXT = re.compile(r"BP|血压|SBP|收缩压|mmHg|mmhg|ABPM|动态血压|诊室", re.I)


@dataclass
class LabValue:
    """One measured value with its span."""

    view: DocView
    kind: str  # egfr | scr | bp
    value: float
    value2: float | None
    start: int
    end: int
    section: str
    family: bool


def lab_values(view: DocView) -> list[LabValue]:
    """eGFR, creatinine (converted to μmol/L) and blood-pressure readings in the document."""
    out: list[LabValue] = []
    half = view.half
    for m in _EGFR.finditer(half):
        if float(m.group(2)) > 200:  # a year or a formula version, not a filtration rate
            continue
        out.append(
            LabValue(
                view,
                "egfr",
                float(m.group(2)),
                None,
                m.start(),
                m.end(),
                view.section_at(m.start()).name,
                is_family(view, m.start(), m.end()),
            )
        )
    for m in _SCR.finditer(half):
        ctx = half[max(0, m.start() - 3) : m.start()]
        if "尿" in ctx or "清除" in half[m.end() : m.end() + 4]:
            continue
        v = float(m.group(2))
        unit = (m.group(3) or "").lower()
        if "mg" in unit or (not unit and v < 30):
            v = round(v * MG_DL_TO_UMOL_L, 1)
        out.append(
            LabValue(
                view,
                "scr",
                v,
                None,
                m.start(),
                m.end(),
                view.section_at(m.start()).name,
                is_family(view, m.start(), m.end()),
            )
        )
    for m in _BP.finditer(half):
        sbp, dbp = float(m.group(1)), float(m.group(2))
        if not (70 <= sbp <= 280 and 30 <= dbp <= 180 and sbp > dbp):
            continue
        line_s = half.rfind("\n", 0, m.start()) + 1
        ctx = half[max(line_s, m.start() - 30) : m.end() + 6]
        if not (_BP_CONTEXT.search(ctx) or m.group(3) or _in_bp_table(view, m.start())):
            continue
        out.append(
            LabValue(
                view,
                "bp",
                sbp,
                dbp,
                m.start(),
                m.end(),
                view.section_at(m.start()).name,
                is_family(view, m.start(), m.end()),
            )
        )
    return out


def _in_bp_table(view: DocView, offset: int) -> bool:
    """A reading in a table whose header row names blood pressure."""
    before = view.half[max(0, offset - 400) : offset]
    return bool(re.search(r"BP\s*\(mmHg\)|血压\s*\(mmHg\)|血压（mmHg）|收缩压/舒张压", before))
