"""ICD-10: finding codes written in a record (WHO, 医保版, full-width forms) and normalising them to
the WHO subcategory; the code a diagnosis name means.

May import: ``agent.core``.
"""
