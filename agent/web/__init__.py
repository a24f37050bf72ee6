"""The reviewer's workbench: a small local web app (server-rendered pages) over the same review,
registry and audit code as the CLI — the ranked queue, a case with its evidence highlighted, and
sign-off.

May import: ``agent.report`` and below.
"""
