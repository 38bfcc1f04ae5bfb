"""Authentication of every API request, as ASGI middleware.

A request carries ``Authorization: Bearer tsk_…`` (an API key) or the session cookie of
a signed-in browser; cookie-authenticated requests that change something must also send
the session's CSRF token in ``X-CSRF-Token``. The caller's :class:`Principal` is put in
the request's state (``request.state.principal``) and its workspace is the request's: a
``X-Tessera-Workspace`` header naming another workspace is refused.

Public: ``/``, ``/healthz``, ``/auth/login``, the GraphiQL pages (their queries are
authenticated like any other) and ``/hooks/…`` (checked by the webhook's own secret).

Each API key and each signed-in user may make so many requests a minute (``429
RATE_LIMITED`` beyond); ``/auth/login`` refuses an email or a client address with too many
failed attempts (``429 LOGIN_THROTTLED``). Both answer ``Retry-After``.
"""

from __future__ import annotations

import math
from http.cookies import SimpleCookie

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tessera.platform.errors import TesseraError
from tessera.platform.identity import SESSION_LIFETIME, IdentityService, Principal
from tessera.platform.rate_limits import RateLimiter

SESSION_COOKIE = "tessera_session"
CSRF_HEADER = "x-csrf-token"
WORKSPACE_HEADER = "x-tessera-workspace"
PUBLIC_PATHS = frozenset({"/", "/healthz", "/auth/login"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REQUEST_WINDOW_SECONDS = 60.0
LOGIN_WINDOW_SECONDS = 15 * 60.0


class RequireAuthentication:
    """``requests_per_minute`` (0: no limit) is counted per API key and per user in ``limiter``."""

    def __init__(
        self, app: ASGIApp, identity: IdentityService, limiter: RateLimiter, requests_per_minute: int
    ) -> None:
        self.app = app
        self.identity = identity
        self.limiter = limiter
        self.requests_per_minute = requests_per_minute

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.is_public(scope):
            await self.app(scope, receive, send)
            return
        caller = await self.authenticate(scope)
        if isinstance(caller, Response):
            await caller(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = caller
        await self.app(scope, receive, send)

    async def authenticate(self, scope: Scope) -> Principal | Response:
        """The caller of the request, or the response that refuses it."""
        headers = Headers(scope=scope)
        token = bearer_token(headers)
        principal: Principal | None = None
        if token is not None:
            principal = await run_in_threadpool(self.identity.api_key, token)
            if principal is None:
                return error_response(401, "UNAUTHENTICATED", "This API key is unknown, revoked or expired.")
        else:
            cookie = SimpleCookie(headers.get("cookie", "")).get(SESSION_COOKIE)
            if cookie is not None:
                principal = await run_in_threadpool(self.identity.session, cookie.value)
            if principal is not None and scope["method"] not in SAFE_METHODS:
                if headers.get(CSRF_HEADER) != principal.csrf_token:
                    return error_response(
                        403, "CSRF_FAILED", "Send the session's CSRF token in the X-CSRF-Token header."
                    )
        if principal is None:
            return error_response(
                401,
                "UNAUTHENTICATED",
                "Sign in, or send an API key: Authorization: Bearer tsk_… (tessera apikey create).",
            )
        if self.requests_per_minute > 0:
            key = f"key:{principal.api_key_id}" if principal.api_key_id else f"user:{principal.user_id}"
            wait = await run_in_threadpool(
                self.limiter.hit, key, self.requests_per_minute, REQUEST_WINDOW_SECONDS
            )
            if wait is not None:
                seconds = whole_seconds(wait)
                who = "API key" if principal.api_key_id else "user"
                return error_response(
                    429,
                    "RATE_LIMITED",
                    f"This {who} made more than {self.requests_per_minute} requests in a minute: "
                    f"try again in {seconds} s.",
                    retry_after=seconds,
                )
        named = headers.get(WORKSPACE_HEADER)
        if named and named != principal.workspace:
            return error_response(
                403,
                "WORKSPACE_MISMATCH",
                f"These credentials belong to workspace '{principal.workspace}', not '{named}'.",
            )
        return principal

    @staticmethod
    def is_public(scope: Scope) -> bool:
        path: str = scope["path"]
        if path in PUBLIC_PATHS or path.startswith(("/hooks/", "/console/")):
            return True  # the console's files hold no data: it signs in, then calls the APIs
        if (
            scope["method"] == "GET"
            and path in ("/graphql", "/graphql/metadata")
            and not scope["query_string"]
        ):
            accept = dict(scope["headers"]).get(b"accept", b"")
            return b"text/html" in accept  # the GraphiQL page itself holds no data
        return False


def bearer_token(headers: Headers) -> str | None:
    """The token of ``Authorization: Bearer <token>``, if the request sends one."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def error_response(status: int, code: str, message: str, *, retry_after: int | None = None) -> JSONResponse:
    """An HTTP error in the GraphQL error shape (``errors[0].extensions.code``)."""
    response = JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status
    )
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="tessera"'
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def principal_of(request: Request) -> Principal:
    """The authenticated caller of ``request`` (set by :class:`RequireAuthentication`)."""
    principal: Principal = request.state.principal
    return principal


def whole_seconds(wait: float) -> int:
    """A wait as ``Retry-After`` gives it: whole seconds, rounded up, at least 1."""
    return max(1, math.ceil(wait))


def session_routes(
    identity: IdentityService, default_workspace: str, limiter: RateLimiter, login_attempts: int
) -> list[Route]:
    """``POST /auth/login`` (JSON ``{email, password, workspace?}``: sets the session cookie,
    answers the CSRF token), ``POST /auth/logout`` and ``GET /auth/me``.

    Login is refused before the password is checked once the email (in its workspace) or
    the client's address made ``login_attempts`` failed attempts (0: no throttling) in 15
    minutes; only failures count."""

    def login_keys(request: Request, workspace: str, email: str) -> list[str]:
        address = request.client.host if request.client else "unknown"
        return [f"login-email:{workspace}:{email.lower()}", f"login-ip:{address}"]

    def login_throttled(keys: list[str]) -> float | None:
        waits = [limiter.retry_after(key, login_attempts, LOGIN_WINDOW_SECONDS) for key in keys]
        return max((wait for wait in waits if wait is not None), default=None)

    def count_failure(keys: list[str]) -> None:
        for key in keys:
            limiter.hit(key, login_attempts, LOGIN_WINDOW_SECONDS)

    async def login(request: Request) -> Response:
        try:
            body = await request.json()
            email, password = str(body["email"]), str(body["password"])
            workspace = str(body.get("workspace") or default_workspace)
        except (ValueError, KeyError, TypeError):
            return error_response(
                400, "BAD_REQUEST", 'Send JSON: {"email": …, "password": …, "workspace": …}.'
            )
        keys = login_keys(request, workspace, email) if login_attempts > 0 else []
        wait = await run_in_threadpool(login_throttled, keys) if keys else None
        if wait is not None:
            seconds = whole_seconds(wait)
            return error_response(
                429,
                "LOGIN_THROTTLED",
                f"Too many failed logins for this email or from this address: try again in {seconds} s.",
                retry_after=seconds,
            )
        try:
            token, principal = await run_in_threadpool(identity.log_in, workspace, email, password)
        except TesseraError as exc:
            if keys:
                await run_in_threadpool(count_failure, keys)
            return error_response(
                401, "LOGIN_FAILED" if exc.code != "UNKNOWN_WORKSPACE" else exc.code, str(exc)
            )
        answer = JSONResponse(
            {"workspace": principal.workspace, "user": principal.name, "csrfToken": principal.csrf_token}
        )
        answer.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=int(SESSION_LIFETIME.total_seconds()),
            httponly=True,
            secure=request.url.scheme == "https",
            samesite="lax",
        )
        return answer

    async def logout(request: Request) -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await run_in_threadpool(identity.log_out, token)
        answer = JSONResponse({"loggedOut": True})
        answer.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
        return answer

    async def me(request: Request) -> Response:
        principal = principal_of(request)
        return JSONResponse(
            {
                "workspace": principal.workspace,
                "name": principal.name,
                "role": principal.role.name,
                "kind": "user" if principal.user_id else "api_key",
                # a page reloaded in the console needs it again for its mutations
                "csrfToken": principal.csrf_token,
            }
        )

    return [
        Route("/auth/login", login, methods=["POST"]),
        Route("/auth/logout", logout, methods=["POST"]),
        Route("/auth/me", me, methods=["GET"]),
    ]
