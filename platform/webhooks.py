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

from tessera.platform.auth import bearer_token, error_response
from tessera.platform.errors import TesseraError
from tessera.workflows.engine import WorkflowEngine

UNKNOWN_WEBHOOK = "No active webhook workflow has this address and secret."
#: the largest body a webhook accepts
MAX_BODY_BYTES = 1024 * 1024


def receive_workflow_webhook(workflows: WorkflowEngine) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        secret = bearer_token(request.headers) or request.headers.get("x-tessera-webhook-secret", "")
        if not secret:
            return error_response(
                401, "UNAUTHENTICATED", "Send the workflow's secret: Authorization: Bearer <secret>."
            )
        try:
            workflow_id = uuid.UUID(request.path_params["workflow_id"])
        except ValueError:
            return error_response(404, "UNKNOWN_WEBHOOK", UNKNOWN_WEBHOOK)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return error_response(413, "PAYLOAD_TOO_LARGE", f"A body is at most {MAX_BODY_BYTES} bytes.")
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError:
            return error_response(400, "INVALID_JSON", "The body is not JSON.")
        try:
            run_id = await run_in_threadpool(workflows.receive_webhook, workflow_id, secret, payload)
        except TesseraError as exc:
            return error_response(404, exc.code, str(exc))
        return JSONResponse({"runId": str(run_id)}, status_code=202)

    return endpoint
