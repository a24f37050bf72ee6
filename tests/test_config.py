"""Configuration that fails clearly: every bad setting, from the environment or the command line,
is a named error with a hint and exit code 2, with the exact words the user sees; never a
traceback, never a silent fall back to the defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import cli
from agent.core.backend import Backend
from agent.core.config import ConfigError, Settings, load_settings
from agent.review.offline import OfflineBackend
from tests.conftest import CLINIC_PLAN, PATHOLOGY, base_case, write_case

runner = CliRunner()


@pytest.fixture()
def case(home: Path, cases_dir: Path) -> Path:
    return write_case(cases_dir, base_case(), {"病理.txt": PATHOLOGY, "门诊.txt": CLINIC_PLAN})


def review(case: Path, *args: str, **env: str) -> tuple[int, str]:
    r = runner.invoke(cli.app, ["review", str(case), "--no-audit", *args], env={"COLUMNS": "200", **env})
    return r.exit_code, r.stderr


def test_unknown_backend_in_the_environment(case: Path) -> None:
    code, err = review(case, CERTREVIEW_BACKEND="foo")
    assert code == 2
    assert err.splitlines() == [
        "error: CERTREVIEW_BACKEND='foo' is not valid: Input should be 'offline' or 'openai'",
        "hint: CERTREVIEW_BACKEND takes one of: offline, openai. "
        "Extraction/rationale backend: 'offline' (deterministic) or 'openai'.",
    ]


def test_unknown_backend_on_the_command_line_is_refused_not_run_offline(case: Path) -> None:
    code, err = review(case, "--backend", "foo")
    assert code == 2
    assert "│ Invalid value for '--backend': Value error, 'foo' is not one of 'offline', 'openai'." in err
    code, _ = review(case, "--backend", "OFFLINE")  # the choice is case-insensitive
    assert code == 0


def test_data_home_that_is_a_file(case: Path, tmp_path: Path) -> None:
    afile = tmp_path / "home.txt"
    afile.write_text("not a folder", encoding="utf-8")
    code, err = review(case, CERTREVIEW_HOME=str(afile))
    assert code == 2
    assert err.splitlines() == [
        f"error: data home {afile} is not a folder",
        "hint: Set CERTREVIEW_HOME (or XDG_DATA_HOME) to a folder; it is created when missing.",
    ]
    code, err = review(case, CERTREVIEW_HOME=str(afile / "sub"))
    assert code == 2 and err.splitlines()[0] == f"error: data home {afile / 'sub'} is not a folder ({afile} is a file)"


def test_unknown_embedder(home: Path) -> None:
    r = runner.invoke(cli.app, ["kb", "list"], env={"CERTREVIEW_EMBEDDER": "bert"})
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [
        "error: CERTREVIEW_EMBEDDER='bert' is not valid: Input should be 'use' or 'openai'",
        "hint: CERTREVIEW_EMBEDDER takes one of: use, openai. "
        "Dense embedder: 'use' (USE-multilingual v3 shipped in its package, offline) or 'openai'.",
    ]


def test_a_misspelt_variable_is_named_with_the_likely_one(case: Path) -> None:
    code, err = review(case, CERTREVIEW_BAKEND="openai")
    assert code == 2
    lines = err.splitlines()
    assert lines[0] == "error: unknown setting CERTREVIEW_BAKEND"
    assert lines[1].startswith("hint: Did you mean CERTREVIEW_BACKEND? Settings: CERTREVIEW_BACKEND, ")


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        (
            "CERTREVIEW_LLM_TIMEOUT_S",
            "0",
            "error: CERTREVIEW_LLM_TIMEOUT_S='0' is not valid: must be more than 0 seconds",
        ),
        (
            "CERTREVIEW_LLM_TOTAL_TIMEOUT_S",
            "soon",
            "error: CERTREVIEW_LLM_TOTAL_TIMEOUT_S='soon' is not valid: "
            "Input should be a valid number, unable to parse string as a number",
        ),
        ("CERTREVIEW_LLM_MAX_RETRIES", "-1", "error: CERTREVIEW_LLM_MAX_RETRIES='-1' is not valid: must be 0 or more"),
        ("CERTREVIEW_LLM_CONCURRENCY", "0", "error: CERTREVIEW_LLM_CONCURRENCY='0' is not valid: must be 1 or more"),
        (
            "CERTREVIEW_LLM_BASE_URL",
            "127.0.0.1:8080/v1",
            "error: CERTREVIEW_LLM_BASE_URL='127.0.0.1:8080/v1' is not valid: must start with http:// or https://",
        ),
        (
            "CERTREVIEW_LLM_STRUCTURED_METHOD",
            "xml",
            "error: CERTREVIEW_LLM_STRUCTURED_METHOD='xml' is not valid: "
            "Input should be 'json_schema', 'json_mode' or 'function_calling'",
        ),
    ],
)
def test_bad_model_settings(case: Path, var: str, value: str, message: str) -> None:
    code, err = review(case, **{var: value})
    assert code == 2 and err.splitlines()[0] == message


def test_openai_backend_without_an_endpoint(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CERTREVIEW_LLM_BASE_URL", "CERTREVIEW_LLM_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    code, err = review(case, "--backend", "openai")
    assert code == 2
    assert err.splitlines() == [
        "error: backend 'openai' has no endpoint: neither a base URL nor an API key is set",
        "hint: Set CERTREVIEW_LLM_BASE_URL (e.g. http://127.0.0.1:8080/v1 from `certreview llm serve`) "
        "or OPENAI_API_KEY; or use --backend offline.",
    ]


def test_folders_that_are_files_and_a_catalogue_that_is_a_folder(case: Path, tmp_path: Path) -> None:
    afile = tmp_path / "policies.md"
    afile.write_text("x", encoding="utf-8")
    code, err = review(case, CERTREVIEW_POLICIES_DIR=str(afile))
    assert code == 2 and err.splitlines()[0] == f"error: CERTREVIEW_POLICIES_DIR={afile} is a file, not a folder"
    code, err = review(case, CERTREVIEW_CATALOG_PATH=str(tmp_path))
    assert code == 2 and err.splitlines()[0] == f"error: CERTREVIEW_CATALOG_PATH={tmp_path} is a folder, not a file"


def test_an_option_is_named_as_the_option(home: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(backend="foo")
    assert info.value.message == "--backend='foo' is not valid: Input should be 'offline' or 'openai'"
    assert info.value.exit_code == 2 and info.value.hint


def test_good_settings_load(home: Path) -> None:
    s = load_settings(backend="offline")
    assert isinstance(s, Settings) and s.home == home


def test_deps_always_carry_a_backend(deps: Any) -> None:
    assert isinstance(deps.backend, OfflineBackend) and isinstance(deps.backend, Backend)
    assert deps.backend_name == "offline" and deps.backend.model is None and not deps.backend.io_bound
