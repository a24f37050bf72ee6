"""Smart supervision of 门特 claims: rules as data (SV01–SV09 in ``knowledge_base/``) run as SQL
over the claims file and the registry — on DuckDB embedded by default, on Spark past one machine.

May import: ``agent.claims``, ``agent.registry``, ``agent.llm`` and below.
"""
