"""POST → a command: `CommandView` validates the input serializer's data, runs the command
(under the Idempotency-Key contract when the header is sent, api.idempotency) and answers with
the consistency token in the body, the `X-Consistency-Token` header and `Location`."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from urllib import parse

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
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
    """A POST that runs one command: the input serializer's data, under the Idempotency-Key
    contract when the header is sent (api.idempotency). A resource's subclass says how the URL's
    arguments reach the command (`arguments`) and what the answer carries (`answer`); each
    operation is then one view made by `for_command`."""

    command: Callable[..., CommandResult]
    input_serializer: type[serializers.Serializer] | None = None
    created = False
    tags: tuple[str, ...] = ()
    replayed_headers = ("Location", "X-Consistency-Token")

    def post(self, request, **kwargs):
        data = self._validated(request)

        def run() -> Response:
            result = type(self).command(actor=request.user, **self.arguments(**kwargs), **data)
            return self.answer(request, result, data, **kwargs)

        key = request.headers.get("Idempotency-Key")
        if key is None:
            return run()
        return idempotency.replay_or_run(request, key, run, replayed_headers=self.replayed_headers)

    def arguments(self, **kwargs) -> dict:
        """The command's arguments from the URL's (a product's SKU, an order's id)."""
        return kwargs

    def answer(self, request, result: CommandResult, data: dict, **kwargs) -> Response:
        raise NotImplementedError

    def respond(self, result: CommandResult, *, location: str, **extra) -> Response:
        return command_response(result, location=location, created=self.created, **extra)

    @classmethod
    def for_command(
        cls,
        command: Callable[..., CommandResult],
        *,
        input: type[serializers.Serializer],
        permissions: Sequence[type[BasePermission]],
        output: type[serializers.Serializer] = CommandOut,
        created: bool = False,
        description: str | None = None,
    ):
        """The view of one command: its operation id is the command's name, its description the
        command's docstring (or `description`, where the API says it otherwise), its request
        body `input`, and its answer `output` (201 when it `created` something)."""
        view = type(
            f"{command.__name__.title().replace('_', '')}View",
            (cls,),
            {
                "command": staticmethod(command),
                "input_serializer": input,
                "permission_classes": list(permissions),
                "created": created,
            },
        )
        schema = extend_schema(
            operation_id=command.__name__,
            description=description or inspect.getdoc(command),
            request=input,
            parameters=[IDEMPOTENCY_HEADER],
            responses={201 if created else 200: output, **COMMAND_ERRORS},
            tags=list(cls.tags),
        )
        return extend_schema_view(post=schema)(view).as_view()

    def _validated(self, request) -> dict:
        if self.input_serializer is None:
            return {}
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data
