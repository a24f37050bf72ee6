"""Offline reading of Chinese clinical documents: ``DocView`` (kind, own date, sections, sentence
bounds), diagnosis, finding and treatment mentions each with its assertion (affirmed, negated,
possible, hypothetical, historical, another person's, administrative) and the trigger that set it
(``assertion/``: the ConText engine and its rules file), treatments and modalities, lab values,
identity, prompt-injection spans. ``CaseAnalysis`` gathers them for a case; only diagnosis
statements reach the assessors as diagnoses. Every finding keeps its span (document, offsets) in
the record. The word lists live in ``lexicon.yaml`` and ``assertion/rules.yaml``.

May import: ``agent.coding``, ``agent.records``, ``agent.core``. Never: assess, review, kb, llm.
"""
