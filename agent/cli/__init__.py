"""The command line's subcommand groups (``cli.py`` only mounts them and maps errors to exit
codes): the knowledge base (``kb``), the audit log (``audit``), the local model (``llm``), the eval
harness with its gates (``evaluate``), ICD-10 lookup (``icd``),
batch triage and the merge of its shards (``triage``), the registry's commands and the
reviewer's sign-off (``registry``), their rendering (``render``), and what they share (``common``:
settings, deps, JSON output, --json and --backend, exit code 5). Parsing and rendering only: the
work is done by the rooms below, imported inside each command so that ``certreview --help`` stays
fast.

May import: every room of ``agent``; nothing imports it but ``cli.py``.
"""
