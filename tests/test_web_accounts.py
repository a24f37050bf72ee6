"""Reviewer accounts and who may reach the workbench: `certreview users …`, the refusal to serve
beyond loopback without accounts, the login gate, and `certreview serve` as a real process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

import cli
from agent.core.config import PROJECT_ROOT
from agent.web.accounts import AccountError, Accounts, hash_password, verify_password
from agent.web.server import free_port
from tests.web_support import csrf_of, make_workbench, shown_sha_of, web_batch

PASSWORD = "correct horse battery"


def _cli(home: Path, *args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(cli.app, list(args), input=stdin, env={"CERTREVIEW_HOME": str(home)})


def test_password_hashes_verify_and_differ_by_salt() -> None:
    a, b = hash_password(PASSWORD), hash_password(PASSWORD)
    assert a != b and a.startswith("scrypt$32768$8$1$")
    assert verify_password(PASSWORD, a) and not verify_password(PASSWORD + "x", a)
    assert not verify_password(PASSWORD, "garbage") and not verify_password(PASSWORD, "md5$1$2$3$4$5")


def test_users_add_list_remove_and_their_named_errors(tmp_path: Path) -> None:
    r = _cli(tmp_path, "users", "add", "R-01", "--password-stdin", stdin=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    stored = (tmp_path / "reviewers.json").read_text(encoding="utf-8")
    assert PASSWORD not in stored and "scrypt$" in stored
    assert (tmp_path / "reviewers.json").stat().st_mode & 0o777 == 0o600
    assert _cli(tmp_path, "users", "list").stdout == "R-01\n"
    cases = [
        (("users", "add", "R-01", "--password-stdin"), PASSWORD, "reviewer R-01 already has an account"),
        (("users", "add", "R-02", "--password-stdin"), "short", "the password for R-02 is shorter than 10 characters"),
        (("users", "add", "bad name", "--password-stdin"), PASSWORD, "reviewer name 'bad name' is not allowed"),
        (("users", "remove", "R-09"), None, "no reviewer account R-09"),
    ]
    for args, stdin, message in cases:
        r = _cli(tmp_path, *args, stdin=None if stdin is None else stdin + "\n")
        assert r.exit_code == 2 and message in " ".join(r.output.split()), (args, r.output)
    assert _cli(tmp_path, "users", "remove", "R-01").exit_code == 0
    assert _cli(tmp_path, "users", "list").stdout == ""


def test_a_damaged_accounts_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "reviewers.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(AccountError) as exc:
        Accounts(tmp_path)
    assert exc.value.message == f"{tmp_path / 'reviewers.json'} is not a reviewer accounts file"
    (tmp_path / "reviewers.json").unlink()
    running = Accounts(tmp_path)
    running.add("R-01", PASSWORD)
    (tmp_path / "reviewers.json").write_text('{"users": 3}', encoding="utf-8")  # damaged while serving
    running.reload_if_changed()
    assert running.users == {} and not running.check("R-01", PASSWORD)  # fails closed


def test_serving_beyond_loopback_without_accounts_is_refused(tmp_path: Path, cases_dir: Path) -> None:
    r = _cli(tmp_path, "serve", "--host", "0.0.0.0", str(web_batch(cases_dir)))
    assert r.exit_code == 2
    said = " ".join(r.output.split())
    assert (
        "--host 0.0.0.0 would let other machines reach the workbench, and there are no reviewer accounts" in said
    )
    assert "certreview users add NAME" in said
    assert not (tmp_path / "kb").exists()  # refused before any work
    Accounts(tmp_path).add("R-01", PASSWORD)
    r = _cli(tmp_path, "serve", "--host", "0.0.0.0", "--reviewer", "R-01", str(cases_dir))
    assert r.exit_code == 2
    assert "--reviewer is not used when reviewer accounts exist: each reviewer logs in" in " ".join(r.output.split())


def test_serve_names_a_missing_batch_folder_and_a_lone_tls_file(tmp_path: Path) -> None:
    r = _cli(tmp_path, "serve", str(tmp_path / "nowhere"))
    assert r.exit_code == 2 and f"not a folder: {tmp_path / 'nowhere'}" in " ".join(r.output.split())
    r = _cli(tmp_path, "serve", "--ssl-certfile", str(tmp_path / "c.pem"), str(tmp_path))
    assert r.exit_code == 2 and "--ssl-certfile and --ssl-keyfile go together" in " ".join(r.output.split())


def test_with_accounts_every_page_needs_a_login_and_the_login_signs(home: Path, cases_dir: Path) -> None:
    accounts = Accounts(home)
    accounts.add("R-07", PASSWORD)
    app, batch = make_workbench(home, web_batch(cases_dir), accounts=accounts)
    client = TestClient(app, base_url="http://127.0.0.1")
    r = client.get("/case/W-approve", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.post("/case/W-approve/decide", data={"decision": "approve"}).status_code == 403
    login = client.get("/login").text
    bad = client.post("/login", data={"csrf_token": csrf_of(login), "name": "R-07", "password": "wrong password"})
    assert bad.status_code == 401 and "Wrong reviewer name or password" in bad.text
    no_csrf = client.post("/login", data={"name": "R-07", "password": PASSWORD})
    assert no_csrf.status_code == 403
    ok = client.post(
        "/login", data={"csrf_token": csrf_of(login), "name": "R-07", "password": PASSWORD}, follow_redirects=False
    )
    assert ok.status_code == 303 and "httponly" in ok.headers["set-cookie"].lower()
    page = client.get("/case/W-approve").text
    assert '<b id="reviewer">R-07</b>' in page
    data = {"csrf_token": csrf_of(page), "shown_sha256": shown_sha_of(page), "decision": "approve"}
    assert client.post("/case/W-approve/decide", data=data, follow_redirects=False).status_code == 303
    assert batch.sign_offs()["W-approve"].reviewer == "R-07"  # the login, not a name typed in a form
    # an account removed while the server runs: its session no longer opens a page
    assert _cli(home, "users", "remove", "R-07").exit_code == 0
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    Accounts(home).add("R-07", PASSWORD)
    login = client.get("/login").text
    client.post("/login", data={"csrf_token": csrf_of(login), "name": "R-07", "password": PASSWORD})
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/").text)})
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_certreview_serve_dev_as_a_process_logs_paths_only(tmp_path: Path) -> None:
    """`certreview serve eval/datasets/dev`, as the README says, in a real process on loopback."""
    port = free_port()
    env = {**os.environ, "CERTREVIEW_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "eval/datasets/dev", "--port", str(port), "--reviewer", "R-01"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url, body = f"http://127.0.0.1:{port}", ""
        for _ in range(600):
            try:
                body = httpx.get(url + "/", timeout=2).text
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert len(re.findall(r'class="case-row"', body)) == 62
        case = httpx.get(url + "/case/DEV-N01", timeout=5)
        assert case.status_code == 200 and "<mark id=" in case.text
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert "Serving 62 cases on http://127.0.0.1:" in err and "GET /case/DEV-N01 200" in err
    assert "透析" not in err and "?" not in err.split("Serving", 1)[1]  # no record text, no query string


def test_what_counts_as_loopback() -> None:
    from agent.web.security import is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "127.3.4.5", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.20", "example.org", ""))


def test_two_folders_with_one_case_id_are_refused(home: Path, tmp_path: Path) -> None:
    from agent.web.batch import DuplicateCaseError

    one, two = web_batch(tmp_path / "one"), web_batch(tmp_path / "two")
    with pytest.raises(DuplicateCaseError) as exc:
        make_workbench(home, one, extra_dirs=[two])
    assert exc.value.message == f"case id W-approve is in both {one / 'W-approve'} and {two / 'W-approve'}"
