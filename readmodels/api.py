"""Projection health for staff (GET /api/projections/) and for load balancers (GET /healthz)."""

from celery import current_app
from django.db import connection
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import error_responses
from readmodels import engine


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


class ProjectionsOut(serializers.Serializer):
    projections = ProjectionOut(many=True)
    held_back_by = HorizonHolderOut(many=True)


class HealthOut(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "failing"])
    database = serializers.BooleanField()
    broker = serializers.BooleanField()
    projections_lagging = serializers.ListField(child=serializers.CharField())


class Projections(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="projection_status",
        responses={200: ProjectionsOut, **error_responses(401, 403, 429)},
    )
    def get(self, request):
        """Staff: each projection's position, events and seconds behind, and dead letters, and
        any transaction holding the projections back."""
        statuses, holders = engine.projection_status()
        return Response(ProjectionsOut({"projections": statuses, "held_back_by": holders}).data)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def _broker_ok() -> bool:
    try:
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


class Health(APIView):
    """Public: is the database up, the broker reachable, and is any projection lagging?"""

    authentication_classes = []
    throttle_classes = []

    @extend_schema(
        responses={200: HealthOut, 503: OpenApiResponse(HealthOut, "Something is failing")}
    )
    def get(self, request):
        database, broker = _database_ok(), _broker_ok()
        lagging = [s.name for s in engine.projection_status()[0] if s.lagging] if database else []
        ok = database and broker and not lagging
        body = {
            "status": "ok" if ok else "failing",
            "database": database,
            "broker": broker,
            "projections_lagging": lagging,
        }
        return Response(body, status=200 if ok else 503)
