"""Health endpoints for load balancers: liveness and readiness."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from apps.common.selectors import dependency_status


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving requests; touches no dependency."""
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready only when PostgreSQL and Redis both answer; 503 names the one that does not."""
    checks = dependency_status()
    ready = all(state == "ok" for state in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )
