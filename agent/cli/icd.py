"""``certreview icd``: the physician's ICD-10 lookup — search by name, show a code."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agent.cli.common import echo_json
from agent.core.i18n import _

if TYPE_CHECKING:
    from agent.coding.coder import CodeInfo, CodeMatch

icd_app = typer.Typer(
    help="ICD-10 (WHO, Chinese names): find the code a diagnosis name means, show a code.",
    no_args_is_help=True,
)

_METHOD_CN = {"code": "编码", "exact": "标准名称", "rule": "临床规则", "fuzzy": "模糊匹配", "related": "同类目"}


@icd_app.command("search")
def icd_search(
    query: Annotated[str, typer.Argument(help="A diagnosis name as written, e.g. 右肺上叶腺癌.")],
    k: Annotated[int, typer.Option("-k", help="How many matches to list.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the matches as JSON.")] = False,
) -> None:
    """Ranked codes for a diagnosis name: the code the name means first (method 编码 / 标准名称 /
    临床规则), the other codes of its category (同类目), then the closest official names (模糊匹配);
    the score is how close the official name is to what was typed."""
    from agent.coding.coder import search

    matches = search(query, k)
    if as_json:
        echo_json({"query": query, "matches": [m.as_dict() for m in matches]})
    else:
        render_matches(query, matches)


@icd_app.command("show")
def icd_show(
    code: Annotated[str, typer.Argument(help="A WHO or 医保版 code, e.g. C34.1 or C34.100x001.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the code as JSON.")] = False,
) -> None:
    """Official Chinese and English name of a code, its parent and its subcategories."""
    from agent.coding.coder import show

    info = show(code)
    if as_json:
        echo_json(
            {
                "code": info.code,
                "name_zh": info.name_zh,
                "name_en": info.name_en,
                "parent": {"code": info.parent, "name": info.parent_name} if info.parent else None,
                "children": [{"code": c, "name": n} for c, n in info.children],
            }
        )
    else:
        render_code(info)


@icd_app.command("eval")
def icd_eval(
    names: Annotated[Path, typer.Argument(help="A YAML list of {name, code} (e.g. eval/icd/official.yaml).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures and every miss as JSON.")] = False,
    min_category: Annotated[float | None, typer.Option(help="Gate: category (3-character) accuracy.")] = None,
    min_code: Annotated[float | None, typer.Option(help="Gate: full-code accuracy.")] = None,
) -> None:
    """Score the coder on labelled names: category and full-code accuracy (RULES.md §4 conventions),
    each miss with what was expected; a failed gate exits 1 and is named."""
    from eval.icd_names import load_names, score_names

    res = score_names(load_names(names))
    failed = []
    if min_category is not None and res["category_accuracy"] < min_category:
        failed.append(f"--min-category {min_category}: measured {res['category_accuracy']}")
    if min_code is not None and res["code_accuracy"] < min_code:
        failed.append(f"--min-code {min_code}: measured {res['code_accuracy']}")
    res["failed_gates"] = failed
    if as_json:
        echo_json(res)
    else:
        from agent.report.terminal import out

        out.print(
            _(
                "{file}: {n} names, category {category}, code {code} (p95 {p95} ms)",
                file=names,
                n=res["names"],
                category=res["category_accuracy"],
                code=res["code_accuracy"],
                p95=res["p95_ms"],
            )
        )
        for m in res["misses"]:
            miss = _("  {name}: expected {expected}, got {got}", name=m["name"], expected=m["expected"], got=m["got"])
            out.print(miss, soft_wrap=True, markup=False)
        for f in failed:
            out.print(_("[red]gate failed[/red] {gate}", gate=f))
    if failed:
        raise typer.Exit(1)


def render_matches(query: str, matches: list[CodeMatch]) -> None:
    """The ranked matches as a table on stdout."""
    from rich.markup import escape
    from rich.table import Table

    from agent.report.terminal import out

    if not matches:
        out.print(f"未找到与「{escape(query)}」相符的ICD-10编码", soft_wrap=True)
        return
    table = Table(title=f"ICD-10 检索：{escape(query)}", box=None, title_justify="left", pad_edge=False)
    for col in ("#", "编码", "标准名称", "方法", "得分"):
        table.add_column(col, no_wrap=col != "标准名称")
    for i, m in enumerate(matches, 1):
        # a fuzzy match names what it was compared with where that is not the code's own name
        name = m.name if not m.matched or m.matched == m.name else f"{m.name}（匹配：{m.matched}）"
        table.add_row(str(i), m.code, escape(name), _METHOD_CN[m.method], f"{m.confidence:.2f}")
    out.print(table)


def render_code(info: CodeInfo) -> None:
    """One code: names, parent, children."""
    from rich.markup import escape
    from rich.table import Table

    from agent.report.terminal import out

    out.print(f"[bold]{info.code}[/bold]  {escape(info.name_zh)}", soft_wrap=True)
    out.print(f"       {escape(info.name_en)}", soft_wrap=True)
    if info.parent:
        out.print(f"上级  {info.parent}  {escape(info.parent_name)}", soft_wrap=True)
    if not info.children:
        out.print("下级  （无：这是最细一级编码）")
        return
    table = Table(title="下级", box=None, title_justify="left", pad_edge=False, show_header=False)
    table.add_column("编码", no_wrap=True)
    table.add_column("名称")
    for c, n in info.children:
        table.add_row(c, escape(n))
    out.print(table)
