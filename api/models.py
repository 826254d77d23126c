"""The API's own state: the Idempotency-Key store (api.idempotency)."""

from django.db import models


class IdempotentRequest(models.Model):
    """An API POST made with an Idempotency-Key: a retry replays `response_*` instead of
    running the command again. Claimed and answered in the command's own transaction
    (api.idempotency), so a committed row always has its response. Kept
    IDEMPOTENCY_KEY_TTL (24 h) at least, then purged by a periodic task."""

    scope = models.CharField(max_length=100, help_text="user:<id>, or anon:<address>")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="method, path and body digest")
    response_status = models.PositiveSmallIntegerField(
        null=True, help_text="null only inside the claiming transaction"
    )
    response_body = models.JSONField(null=True)
    response_headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # Created by the read side's migrations before the API had an app of its own.
        db_table = "readmodels_idempotentrequest"
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="one_request_per_idempotency_key")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self):
        return f"{self.scope} {self.key}"
