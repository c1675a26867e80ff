"""LTI 1.3 in Pathways' vocabulary, wrapping pylti1p3."""
