"""Reading a case folder: case.json -> ``CaseInfo`` (named errors for bad fields) and records/ ->
``Document`` text (txt/md in UTF-8 or GB18030, EMR JSON, PDF text layers, .docx); unreadable
files become ``SkippedDocument`` with a reason, never a crash.

May import: ``agent.core``.
"""
