"""The FHIR API's errors: one root, each answered as an OperationOutcome."""

from __future__ import annotations

from sync.errors import SyncError

__all__ = ["FhirError", "SearchError", "NotFound"]


class FhirError(SyncError):
    """Root of the FHIR API's errors; the message is fit to show a МИС's developer."""

    code = "fhir_error"
    status = 400
    issue = "processing"


class SearchError(FhirError):
    """A search the server does not support or cannot read."""

    code = "invalid"
    issue = "invalid"


class NotFound(FhirError):
    """No such resource, or not one this reader may see (the two are not told apart)."""

    code = "not_found"
    status = 404
    issue = "not-found"
