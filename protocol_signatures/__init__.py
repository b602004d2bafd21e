"""Signatures on the consultant's protocol (PAdES, detached CMS/GOST): checked offline at either side."""
