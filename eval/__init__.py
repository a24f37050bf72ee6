"""The eval harness: decision and field accuracy, citation coverage, grounding, turnaround
(RULES.md §4), retrieval quality, gates and comparisons."""
