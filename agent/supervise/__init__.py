"""Smart supervision of 门特 claims: rules as data (SV01–SV09 in ``knowledge_base/supervision.yaml``,
loaded by ``agent.core.supervision``) run as SQL over the claims file and the registry — on DuckDB
embedded by default, on Spark past one machine.

``reader`` (the claims file as flat rows, bad lines named) · ``tables`` (the columns the SQL reads)
· ``shapes`` (one portable SQL template per rule shape) · ``engines`` (DuckDB, Spark) · ``flags``
(rows grouped into findings, Chinese explanations) · ``run`` (the whole run and its summary).

May import: ``agent.claims``, ``agent.registry``, ``agent.llm`` and below.
"""
