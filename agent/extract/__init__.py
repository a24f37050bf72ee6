"""Offline extraction from Chinese clinical documents: sections, dates, diagnoses with certainty,
ICD-10 codes, treatments, lab values, identity. Every finding keeps its span in the record."""
