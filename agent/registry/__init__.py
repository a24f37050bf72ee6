"""What outlives one run: the hash-chained audit log (``audit``), and the registry of a
certification's life on a real database (SQLAlchemy 2 typed tables in ``tables``, Alembic
migrations in ``migrations/`` run on open by ``store``): reviewer sign-off beside the
recommendation (``decisions``), certifications and their validity, the read-only lookup check 6
uses (``certs``), status events and dynamic exit (``events``), show / renewals / stats / exports
(``queries``), AI–human agreement (``agreement``), named writer locks as rows (``locks``: the
knowledge base's refresh lock across machines). Import lines are validated in ``lines``.

May import: ``agent.review`` and below. SQLAlchemy and Alembic are imported by these modules, so
nothing above imports them at start-up (``agent.cli.registry`` imports them inside commands).
"""
