"""One module per schema revision, oldest first: ``r<NNNN>_<slug>.py``."""
