"""Projection health for staff (GET /api/projections/) and for monitoring (GET /healthz and
/healthz/projections). Liveness and readiness probes are in api.health."""

from celery import current_app
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import error_responses
from api.health import database_ok
from readmodels import replicas, status, tasks


class ProjectionOut(serializers.Serializer):
    name = serializers.CharField()
    position = serializers.CharField()
    events_behind = serializers.IntegerField()
    seconds_behind = serializers.FloatField()
    dead_letters = serializers.IntegerField()
    lagging = serializers.BooleanField()
    last_run_at = serializers.DateTimeField(allow_null=True)


class HorizonHolderOut(serializers.Serializer):
    pid = serializers.IntegerField()
    seconds = serializers.FloatField()
    state = serializers.CharField(allow_null=True)
    query = serializers.CharField(allow_null=True)


class ReplicaOut(serializers.Serializer):
    alias = serializers.CharField()
    status = serializers.ChoiceField(choices=["ok", "lagging", "unreachable"])
    lag_seconds = serializers.FloatField(allow_null=True)
    in_rotation = serializers.BooleanField()
    error = serializers.CharField(allow_blank=True)


class RunFlagOut(serializers.Serializer):
    age_seconds = serializers.FloatField()
    expires_in_seconds = serializers.FloatField()


class ProjectionsOut(serializers.Serializer):
    projections = ProjectionOut(many=True)
    held_back_by = HorizonHolderOut(many=True)
    replicas = ReplicaOut(many=True)
    # The queued-run flag: null when no run is queued or draining. A worker that died holding
    # it delays wake-ups until it expires (PROJECTION_RUN_FLAG_SECONDS).
    run_flag = RunFlagOut(allow_null=True)


class HealthOut(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "failing"])
    database = serializers.BooleanField()
    broker = serializers.BooleanField()
    projections_lagging = serializers.ListField(child=serializers.CharField())
    # A replica out of rotation does not fail the check: its reads go to the primary.
    replicas = ReplicaOut(many=True)


class Projections(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="projection_status",
        tags=["operations"],
        responses={200: ProjectionsOut, **error_responses(401, 403, 429)},
    )
    def get(self, request):
        """Staff: each projection's position, events and seconds behind, and dead letters, any
        transaction holding the projections back, and each read replica's lag."""
        statuses, holders = status.projection_status()
        flag = tasks.run_flag()
        body = {
            "projections": statuses,
            "held_back_by": holders,
            "replicas": replicas.report(),
            "run_flag": flag and {"age_seconds": flag[0], "expires_in_seconds": flag[1]},
        }
        return Response(ProjectionsOut(body).data)


def _broker_ok() -> bool:
    try:
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


def _report() -> dict:
    database, broker = database_ok(), _broker_ok()
    lagging = [s.name for s in status.projection_status()[0] if s.lagging] if database else []
    return {
        "status": "ok" if database and broker and not lagging else "failing",
        "database": database,
        "broker": broker,
        "projections_lagging": lagging,
        "replicas": ReplicaOut(replicas.report(), many=True).data,
    }


class Health(APIView):
    """Public: the database, the broker and the projections' lag. 503 only when the database
    is down (the instance cannot serve); a lagging projection or an unreachable broker shows in
    the body (`status: failing`) and in /healthz/projections, not here, so a long rebuild does
    not take the web instances out of a load balancer."""

    authentication_classes = []
    throttle_classes = []

    @extend_schema(
        tags=["operations"],
        responses={200: HealthOut, 503: OpenApiResponse(HealthOut, "The database is down")},
    )
    def get(self, request):
        body = _report()
        return Response(body, status=200 if body["database"] else 503)


class ProjectionHealth(APIView):
    """Public: are the projections keeping up (and the broker that wakes them reachable)?
    503 when not: an alert for the read side, not a reason to restart or drain web instances."""

    authentication_classes = []
    throttle_classes = []

    @extend_schema(
        tags=["operations"],
        responses={
            200: HealthOut,
            503: OpenApiResponse(HealthOut, "A projection is lagging or the broker is down"),
        },
    )
    def get(self, request):
        body = _report()
        return Response(body, status=200 if body["status"] == "ok" else 503)
