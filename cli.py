"""`certreview`: the command line. Thin: parse, build what the command needs, call one task,
render. Heavy libraries (chromadb, langchain, jieba) are imported inside the commands; the
subcommand groups live in agent/cli/ and are mounted here."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

# typer only at import time: each group imports its libraries inside its commands
from agent.cli.audit import audit_app
from agent.cli.common import EXIT_PARTIAL, BackendOpt, echo_json, get_deps
from agent.cli.evaluate import eval_cmd
from agent.cli.icd import icd_app
from agent.cli.kb import kb_app
from agent.cli.llm import llm_app
from agent.cli.registry import decide, registry_app
from agent.cli.settle import settle_cmd
from agent.cli.supervise import supervise_cmd
from agent.cli.triage import triage_app
from agent.cli.web import serve, users_app

if TYPE_CHECKING:
    from agent.core.errors import CertreviewError

EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports it


def _report_error(exc: CertreviewError) -> int:
    """Print ``exc`` as the user sees it (message and hint, never a traceback); its exit code."""
    from agent.report.terminal import render_error

    render_error(exc)
    return exc.exit_code


class _Group(TyperGroup):
    """Turns user-fixable errors into a message, a hint and an exit code (never a traceback)."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        from agent.cli.helptext import translate_tree

        translate_tree(self)  # before the arguments are parsed: --help prints while parsing
        return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Any) -> Any:  # click.Context; typer vendors its own click
        from agent.core.errors import CertreviewError

        try:
            return super().invoke(ctx)
        except CertreviewError as exc:
            ctx.exit(_report_error(exc))


app = typer.Typer(
    cls=_Group,
    name="certreview",
    help=(
        "Draft and review certifications of outpatient special and chronic diseases (门特/门慢), "
        "every claim traced to the record and the policy clause.\n\n"
        "Physicians: `draft`. Reviewers: `review`, `triage`. Policy staff: `kb`. CI: `eval`.\n\n"
        "Exit codes: 0 done; 1 failed gate, kb check problems or tampered audit log; 2 bad input "
        "(a case field, a record, an output path); 3 knowledge base cannot be built; 5 partial (records, "
        "policy files or cases skipped); 6 results written but the audit log is damaged and did not "
        "record them (see `audit verify`); 75 busy (knowledge base refresh or output folder in use)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # never print locals: records hold patient data
    add_completion=False,
)
# the order of mounting is the order of `certreview --help`: commands first, then the groups
app.command("decide")(decide)


# ---------------------------------------------------------------- physicians and reviewers
@app.command("draft")
def draft(
    case_dir: Annotated[Path, typer.Argument(help="A case folder: case.json + records/.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the form as JSON (the shape in docs/CASES.md).")
    ] = False,
    out_file: Annotated[Path | None, typer.Option("--out", help="Also write the JSON form to this file.")] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write a printable 申请表 with evidence footnotes.")
    ] = None,
    backend: BackendOpt = None,
) -> None:
    """Fill the 门特 application form from the records: every field with the quote and document
    it came from, and what the records do not support listed as what to add."""
    from agent.records.case import load_case
    from agent.report.outputs import check_file_targets, write_file
    from agent.report.terminal import render_form

    check_file_targets({"--out": out_file, "--html": html})  # before any work: a bad path loses nothing
    deps = get_deps(backend)
    case = load_case(case_dir)
    form = deps.backend.draft(case, deps)
    data = form.model_dump(mode="json")
    if out_file:
        write_file(out_file, json.dumps(data, ensure_ascii=False, indent=2))
    if html:
        from agent.report.writers import form_html

        write_file(html, form_html(form))
    if as_json:
        echo_json(data)
    else:
        render_form(form)
    if case.skipped:
        raise typer.Exit(EXIT_PARTIAL)


@app.command("review")
def review(
    case_dir: Annotated[Path, typer.Argument(help="A case folder (with form.json, the physician's form is checked).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the Recommendation as JSON.")] = False,
    backend: BackendOpt = None,
    audit: Annotated[bool, typer.Option("--audit/--no-audit", help="Append the result to the audit log.")] = True,
) -> None:
    """Recommend approve / reject / need_info: every check of the reference policy with its status,
    the record quotes and the policy clauses (第X条) behind it, and a Chinese 审核意见.

    Exit code 5 when a record could not be read (each is listed with the reason); 6 when the result
    was printed but the audit log is damaged and did not record it."""
    from agent.records.case import load_case
    from agent.registry import audit as audit_log
    from agent.report.terminal import render_recommendation

    deps = get_deps(backend, registry=True)
    case = load_case(case_dir)
    rec = deps.backend.review(case, deps)
    if as_json:
        echo_json(rec.model_dump(mode="json"))
    else:
        render_recommendation(rec)
    if audit:  # after the result is out: a damaged log (AuditLogDamagedError, exit 6) loses nothing
        audit_log.append(deps.settings.audit_log, [rec])
    if case.skipped:
        raise typer.Exit(EXIT_PARTIAL)


app.add_typer(triage_app, name="triage")
app.command("settle")(settle_cmd)
app.command("supervise")(supervise_cmd)
app.command("eval")(eval_cmd)
app.command("serve")(serve)
app.add_typer(kb_app, name="kb")
app.add_typer(icd_app, name="icd")
app.add_typer(registry_app, name="registry")
app.add_typer(llm_app, name="llm")
app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")


def main() -> None:
    """Console entry point: run the app, turning user-fixable errors into messages and exit codes."""
    from agent.core.errors import CertreviewError

    try:
        app()
    except CertreviewError as exc:
        sys.exit(_report_error(exc))
    except KeyboardInterrupt:
        from agent.core.i18n import _

        sys.stderr.write(_("interrupted") + "\n")
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
