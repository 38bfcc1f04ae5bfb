"""Inbound webhooks: ``POST /hooks/workflows/<id>`` starts a run of a webhook workflow.

The caller proves it knows the workflow's secret in one of two ways:

- **Bearer**: ``Authorization: Bearer <secret>``, or the ``X-Tessera-Webhook-Secret`` header.
- **Standard Webhooks signature**: the headers ``webhook-id``, ``webhook-timestamp`` and
  ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``), keyed
  with the workflow's secret as UTF-8 bytes — ``signingSecret`` (``whsec_…``) of
  ``workflowWebhook`` is that key in the form Standard Webhooks libraries take. The raw
  body is verified in constant time; a timestamp more than 5 minutes off, a bad signature
  or a missing header answer 401. A ``webhook-id`` already received at this address starts
  nothing and answers ``200 {"runId": <the first run>, "duplicate": true}``.

The JSON body becomes the run's trigger data. The run is queued and the answer comes at
once: ``202 {"runId": …}``.
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
#: the headers of a Standard Webhooks signed request: any of them selects that mode
SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
#: the answer's status per error code of a signed request (others: 401)
SIGNED_ERROR_STATUS = {"UNKNOWN_WEBHOOK": 404, "INVALID_JSON": 400}


def receive_workflow_webhook(workflows: WorkflowEngine) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        signed = any(name in request.headers for name in SIGNATURE_HEADERS)
        secret = bearer_token(request.headers) or request.headers.get("x-tessera-webhook-secret", "")
        if not secret and not signed:
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
        if signed:
            headers = {name: request.headers.get(name, "") for name in SIGNATURE_HEADERS}
            try:
                receipt = await run_in_threadpool(
                    workflows.receive_signed_webhook, workflow_id, headers, body
                )
            except TesseraError as exc:
                return error_response(SIGNED_ERROR_STATUS.get(exc.code, 401), exc.code, str(exc))
            if receipt.duplicate:
                return JSONResponse({"runId": str(receipt.run_id), "duplicate": True}, status_code=200)
            return JSONResponse({"runId": str(receipt.run_id)}, status_code=202)
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
