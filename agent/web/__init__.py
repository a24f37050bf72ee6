"""The reviewer's workbench: a small local web app (server-rendered pages) over the same review,
registry and audit code as the CLI — the ranked queue, a case with its evidence highlighted, and
sign-off.

``batch`` the cases served (reviewed once, again when a folder changes; sign-off through the
registry's ``record_decision``) · ``highlight`` record text with each quote marked at its offsets ·
``app`` the Starlette app, session and login gate · ``pages`` the handlers · ``security`` headers,
the path-only access log, CSRF · ``accounts`` reviewer accounts (scrypt) · ``server`` uvicorn, who
may reach it · ``templates/``, ``static/`` the pages and their stylesheet.

May import: ``agent.report`` and below.
"""
