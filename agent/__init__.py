"""certreview: drafting and review of outpatient special-disease (门特/门慢) certifications."""

__version__ = "0.1.0"
