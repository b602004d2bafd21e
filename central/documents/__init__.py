"""Documents the consultation centre hands out: the consultation protocol as PDF."""
