"""``POST /hooks/connections/<id>``: another system pushes a change; a sync is queued.

The request is signed per Standard Webhooks with the secret Tessera gave the other system
when the connection subscribed (:meth:`~tessera.connectors.runtime.ConnectorRuntime.subscribe`):
verified over the raw body, in constant time, stale timestamps refused. The answer comes
at once — ``202 {"syncRuns": [ids]}`` — and the workers run the sync.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tessera.connectors.runtime import ConnectorRuntime
from tessera.connectors.webhooks import WebhookVerificationError
from tessera.platform.auth import error_response
from tessera.platform.errors import TesseraError

#: the largest push body accepted
MAX_BODY_BYTES = 64 * 1024


def receive_connection_push(runtime: ConnectorRuntime) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            connection_id = uuid.UUID(request.path_params["connection_id"])
        except ValueError:
            return error_response(404, "UNKNOWN_HOOK", "No connection takes pushes at this address.")
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return error_response(413, "PAYLOAD_TOO_LARGE", f"A push is at most {MAX_BODY_BYTES} bytes.")
        try:
            runs = await run_in_threadpool(runtime.receive_push, connection_id, dict(request.headers), body)
        except WebhookVerificationError as exc:
            return error_response(401, exc.code, str(exc))
        except TesseraError as exc:
            status = 404 if exc.code == "UNKNOWN_HOOK" else 400
            return error_response(status, exc.code, str(exc))
        return JSONResponse({"syncRuns": [str(r) for r in runs]}, status_code=202)

    return endpoint
