"""The benchmark's replicated records, as morango SyncableModels, and the peer's user.

The partition of every record is `<dataset>:records`, where <dataset> is the id of
the server's root certificate (the primary partition, as in Kolibri's facilities).
"""

from django.contrib.auth.models import AbstractUser
from django.db import models
from morango.models.core import SyncableModel


class PeerUser(AbstractUser):
    """Signs certificate requests at the server (morango asks the user model for permission)."""

    def has_morango_certificate_scope_permission(self, scope_definition_id, scope_params):
        return self.is_superuser


class BenchRecord(SyncableModel):
    morango_profile = "benchdata"

    dataset = models.CharField(max_length=32)

    class Meta:
        abstract = True

    def calculate_source_id(self):
        return None  # a random id, like faplink's and PouchDB's UUIDs

    def calculate_partition(self):
        return f"{self.dataset}:records"


class Patient(BenchRecord):
    morango_model_name = "patient"

    last_name = models.CharField(max_length=100)
    first_name = models.CharField(max_length=100)
    middle_name = models.CharField(max_length=100, blank=True, default="")
    birth_date = models.DateField()
    sex = models.CharField(max_length=8)
    snils = models.CharField(max_length=11, null=True, blank=True)
    enp = models.CharField(max_length=16, null=True, blank=True)
    phone = models.CharField(max_length=16, null=True, blank=True)
    address = models.CharField(max_length=500, blank=True, default="")
    organization = models.CharField(max_length=36)
    representative = models.CharField(max_length=36, null=True, blank=True)


class AttachmentMeta(BenchRecord):
    """A file's metadata only: morango has no blob transfer."""

    morango_model_name = "attachment"

    appeal = models.CharField(max_length=36)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
