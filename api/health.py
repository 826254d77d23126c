"""Probes for a load balancer or an orchestrator, Kubernetes style:

- `/healthz/live`: the process answers. No database, no cache, no session: it answers at
  once even when the database is down or every wait slot is taken, so a restart is never
  ordered for something a restart cannot fix.
- `/healthz/ready`: the database answers, so requests can be served. 503 takes this instance
  out of rotation until it does.
The read side's health (projection lag, the broker) is `/healthz/projections`
(readmodels.api): a long rebuild must not take every web instance out of the load balancer.
"""

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def live(request):
    return JsonResponse({"status": "ok"})


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


@require_GET
def ready(request):
    database = database_ok()
    return JsonResponse(
        {"status": "ok" if database else "failing", "database": database},
        status=200 if database else 503,
    )
