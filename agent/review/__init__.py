"""Reviewing: the draft application form (``draft``), the eight checks of the reference policy
(``checks``), the decision, deciding citations and the recommendation (``recommend``), the templated
Chinese 审核意见 (``rationale``), batch triage into a ranked queue (``triage``),
stable slices of a batch for n machines (``shard``), and the offline ``Backend``
(``offline``) that runs them.

May import: ``agent.assess``, ``agent.kb``, ``agent.extract``, ``agent.coding``, ``agent.records``,
``agent.core``. Never: llm, registry, report, cli (a backend reaches it through ``Deps``).
"""
