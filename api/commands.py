"""POST → a command: `CommandView` validates the input serializer's data, runs the command
(under the Idempotency-Key contract when the header is sent, api.idempotency) and answers with
the consistency token in the body, the `X-Consistency-Token` header and `Location`."""

from __future__ import annotations

import inspect
from urllib import parse

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from api import idempotency
from api.errors import error_responses
from core.commands import CommandResult


class CommandOut(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    consistency_token = serializers.CharField(allow_null=True)


class VersionedIn(serializers.Serializer):
    expected_version = serializers.IntegerField(
        required=False, min_value=1, help_text="The version you last saw; a mismatch is a 409."
    )


IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255},
    OpenApiParameter.HEADER,
    description="Retrying with the same key and body replays the first response.",
)
COMMAND_ERRORS = error_responses(400, 401, 403, 404, 409, 415, 422, 429)


def command_response(
    result: CommandResult, *, location: str, created: bool = False, **extra
) -> Response:
    body = {
        "id": result.id,
        "version": result.version,
        **extra,
        "consistency_token": result.consistency_token,
    }
    headers = {"Location": location}
    if result.consistency_token:
        headers["X-Consistency-Token"] = result.consistency_token
        # Following Location then reads consistently: waiting (or 202) until the change shows.
        headers["Location"] = f"{location}?{parse.urlencode({'after': result.consistency_token})}"
    return Response(
        body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK, headers=headers
    )


class CommandView(APIView):
    """A POST that runs one command. Subclasses implement `run(request, data, **kwargs)` and
    set `input_serializer`; this class adds the Idempotency-Key contract."""

    input_serializer: type[serializers.Serializer] | None = None
    replayed_headers = ("Location", "X-Consistency-Token")

    def post(self, request, *args, **kwargs):
        data = self._validated(request)
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return self.run(request, data, **kwargs)
        return idempotency.replay_or_run(
            request,
            key,
            lambda: self.run(request, data, **kwargs),
            replayed_headers=self.replayed_headers,
        )

    def run(self, request, data, **kwargs) -> Response:
        raise NotImplementedError

    @classmethod
    def for_command(cls, command, input_serializer, *, response=None, permission_classes=None):
        """A view running `command` with `input_serializer`'s data: one per action of a
        resource (pay, ship, restock…), each with its own documented request body."""

        @extend_schema(
            request=input_serializer,
            parameters=[IDEMPOTENCY_HEADER],
            responses={200: response or CommandOut, **COMMAND_ERRORS},
            operation_id=command.__name__,
            description=inspect.getdoc(command),
        )
        def post(self, request, *args, **kwargs):
            return CommandView.post(self, request, *args, **kwargs)

        attributes = {
            "command": staticmethod(command),
            "input_serializer": input_serializer,
            "post": post,
        }
        if permission_classes is not None:
            attributes["permission_classes"] = permission_classes
        view = type(f"{command.__name__.title().replace('_', '')}View", (cls,), attributes)
        return view.as_view()

    def _validated(self, request) -> dict:
        if self.input_serializer is None:
            return {}
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data
