"""`make bench`: duban against bare Temporal, on this machine, in one run (issue 6)."""
