"""Offline reading of Chinese clinical documents: ``DocView`` (kind, own date, sections, sentence
bounds), diagnosis mentions with their assertion (negated, suspected, family, history), treatments
and modalities, lab values, identity, prompt-injection spans. ``CaseAnalysis`` gathers them for a
case. Every finding keeps its span (document, offsets) in the record. The word lists live in
``lexicon.yaml`` beside this file.

May import: ``agent.coding``, ``agent.records``, ``agent.core``. Never: assess, review, kb, llm.
"""
