"""Inbound webhooks: ``POST /hooks/workflows/<id>`` starts a run of a webhook workflow.

The caller proves it knows the workflow's secret (``Authorization: Bearer <secret>``, or
the ``X-Tessera-Webhook-Secret`` header); the JSON body becomes the run's trigger data.
The run is queued and the answer comes at once: ``202 {"runId": …}``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tessera.platform.errors import TesseraError
from tessera.workflows.engine import WorkflowEngine

#: the largest body a webhook accepts
MAX_BODY_BYTES = 1024 * 1024


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status)


def receive_workflow_webhook(workflows: WorkflowEngine) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        secret = request.headers.get("x-tessera-webhook-secret", "")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            secret = token.strip()
        if not secret:
            return error(
                401, "UNAUTHENTICATED", "Send the workflow's secret: Authorization: Bearer <secret>."
            )
        try:
            workflow_id = uuid.UUID(request.path_params["workflow_id"])
        except ValueError:
            return error(404, "UNKNOWN_WEBHOOK", "No active webhook workflow has this address and secret.")
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return error(413, "PAYLOAD_TOO_LARGE", f"A webhook body is at most {MAX_BODY_BYTES} bytes.")
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError:
            return error(400, "INVALID_JSON", "The body is not JSON.")
        try:
            run_id = await run_in_threadpool(workflows.receive_webhook, workflow_id, secret, payload)
        except TesseraError as exc:
            return error(404, exc.code, str(exc))
        return JSONResponse({"runId": str(run_id)}, status_code=202)

    return endpoint
