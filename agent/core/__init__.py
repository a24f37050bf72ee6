"""The ground floor: domain models (pydantic, no I/O), errors a user can fix (message, hint, exit
code), the language they are shown in (``i18n``: gettext catalogue in ``locale/``), settings
(``CERTREVIEW_*``), the typed disease catalogue, text normalisation, the ``Deps`` bundle with
the ``Backend`` protocol that every task receives, and the ``WriterLock`` protocol (``locks``) a
shared lock is injected through.

May import: the standard library and third-party packages only — nothing else of ``agent``.
"""
