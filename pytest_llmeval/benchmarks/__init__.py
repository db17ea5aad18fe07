"""Standard benchmark datasets turned into evaluation requests."""
