"""HTTP entrypoints that speak JSON, carry a correlation id and never answer 500 to bad input.

Errors have one shape, so a client can show every problem at once::

    {"error": {"code": "invalid_fields",
               "message": "Some fields are missing or invalid; correct them and send again.",
               "fields": {"grid_id": ["Missing data for required field."]}}}
"""

import json
import logging
import socket
import time
import uuid
from functools import partial

from eventlet.event import Event
from marshmallow import INCLUDE, Schema, ValidationError, fields
from nameko.web import server
from nameko.web.handlers import HttpRequestHandler
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from shared import auth, errors
from shared.guard import Guard
from shared.observability import HTTP_LATENCY, HTTP_REQUESTS
from shared.schemas import one

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024

STATUS = {
    errors.InvalidFields: 422,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Forbidden: 403,
    errors.Unauthenticated: 401,
    errors.TooManyRequests: 429,
}
# Answers to callers with a token are theirs alone: no shared cache keeps them.
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


class ErrorDetail(Schema):
    """An error may carry details beside the message, e.g. a petition's ``state`` and the
    commands it ``allowed`` when a command was illegal."""

    class Meta:
        unknown = INCLUDE

    code = fields.String(required=True, metadata={"description": "Stable, for programs."})
    message = fields.String(required=True, metadata={"description": "What to do, for people."})
    fields = fields.Dict(keys=fields.String(), metadata={
        "description": "Field name -> what is wrong with it (nested for nested fields)."})


class Error(Schema):
    error = fields.Nested(ErrorDetail, required=True)


class ApiError(errors.DomainError):
    """An error that only exists at the HTTP boundary (malformed or oversized bodies)."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code


def json_response(payload, status=200, headers=None):
    return Response(json.dumps(payload, ensure_ascii=False, default=str), status=status,
                    headers=headers, mimetype="application/json")


def error_body(status, code, message, fields=None, details=None):  # noqa: ARG001 - one signature for every format
    body = {"code": code, "message": message, **(details or {})}
    if fields:
        body["fields"] = fields
    return {"error": body}


def read_body(request, max_bytes, too_large):
    """The raw body, refusing more than ``max_bytes`` before reading it all."""
    if request.content_length is not None:
        if request.content_length > max_bytes:
            raise too_large
        return request.get_data()
    # Chunked: no length to check up front, and werkzeug will not read it, so
    # read one byte past the limit from the server's (de-chunking) input.
    body = request.environ["wsgi.input"].read(max_bytes + 1)
    if len(body) > max_bytes:
        raise too_large
    return body


def read_form(request, max_bytes=MAX_BODY_BYTES):
    """A form-encoded body (as Open311 clients send), size-checked, as a MultiDict."""
    if request.mimetype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise ApiError(415, "unsupported_media_type",
                       "Send the body form-encoded ('application/x-www-form-urlencoded').")
    if request.content_length is None or request.content_length > max_bytes:
        raise ApiError(413, "body_too_large", f"Send a Content-Length of at most {max_bytes} "
                       "bytes; send photos by media_url.")
    return request.form


def load_json(request, schema, max_bytes=MAX_BODY_BYTES):
    """Parse and validate a JSON body; raise a clear error rather than store half of it."""
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type",
                       "Send the body as JSON with 'Content-Type: application/json'.")
    too_large = ApiError(413, "body_too_large",
                         f"The body exceeds the limit of {max_bytes} bytes; send attachments "
                         "by reference, not inline.")
    try:
        document = json.loads(read_body(request, max_bytes, too_large),
                              parse_constant=_no_constant)
    except RecursionError:
        raise ApiError(400, "malformed_json", "The body nests too deeply; send a flatter "
                       "JSON object.") from None
    except ValueError as exc:
        raise ApiError(400, "malformed_json",
                       f"The body is not valid JSON ({exc}); fix the syntax and send again.") from None
    if not isinstance(document, dict):
        raise ApiError(400, "malformed_json", "The body must be a JSON object, not "
                       f"{type(document).__name__}.")
    _check_values(document)
    return load_data(schema, document)


LARGEST = 2**53  # beyond this JSON numbers lose precision in most clients


def _no_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def _check_values(value, depth=0):
    """Refuse what no schema should have to: numbers out of range, text that is not
    valid Unicode (lone surrogates) or holds a NUL character (PostgreSQL, under the
    database, cannot store one), and nesting deeper than any request needs."""
    if depth > 32:
        raise ApiError(400, "malformed_json", "The body nests too deeply; send a flatter "
                       "JSON object.")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_values(key, depth + 1)
            _check_values(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_values(item, depth + 1)
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > LARGEST:
        raise ApiError(400, "number_out_of_range",
                       f"{value} is out of range; numbers here are at most {LARGEST}.")
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ApiError(400, "invalid_text", "Some text is not valid Unicode (a lone "
                           "surrogate); send UTF-8 text.") from None
        if "\x00" in value:
            raise ApiError(400, "invalid_text", "Some text holds a NUL character (\\u0000); "
                           "remove it and send again.")


def load_data(schema, data):
    """Validate already-parsed input (a JSON body, a form, query arguments)."""
    try:
        loaded = schema.load(data)
    except ValidationError as exc:
        raise errors.InvalidFields(
            "Some fields are missing or invalid; correct them and send again.",
            fields=exc.messages) from None
    _check_values(loaded)  # a query's digits load into integers of any size
    return loaded


class ByPath:
    """A body whose schema depends on a word in the path: ``POST /petitions/<id>/<command>``
    takes a different body for each command. The OpenAPI document lists one path per word."""

    def __init__(self, variable, schemas):
        self.variable = variable
        self.schemas = schemas

    def schema_for(self, path_values):
        word = path_values[self.variable]
        if word not in self.schemas:
            raise errors.NotFound(f"There is no {self.variable} {word!r}; use one of "
                                  f"{', '.join(self.schemas)}.")
        return self.schemas[word]


def _instance(schema):
    return one(schema) if isinstance(schema, type) else schema


class WebServer(server.WebServer):
    """nameko's web server, sending each answer as soon as it is written.

    eventlet writes an answer's headers and its body in separate sends. With Nagle's
    algorithm on, a body of more than a few kilobytes then waited for the client to
    acknowledge the headers, which Linux delays by 40 ms: a department's statement
    took 84 ms at the median over HTTP against 39 ms in the store (41 ms with this).
    """

    def process_request(self, sock, address):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().process_request(sock, address)


class HttpEntrypoint(HttpRequestHandler):
    """A JSON endpoint that declares what it takes and returns, so one declaration both
    validates the request and writes the service's OpenAPI document (shared.openapi).

    ``body`` (a schema, or ByPath) is loaded from the JSON body and passed as ``body``;
    ``query`` is loaded from the query string and passed as ``query``; ``returns`` is the
    schema of a success answer with ``status``, ``also`` other statuses it may answer
    (status -> description); ``media_type`` is for answers that are not JSON.
    ``render_error(status, code, message, fields, details) -> (status, body)`` and
    ``error_schema`` shape error answers for APIs that follow another standard (Open311).

    ``allow`` says who may call it: ``PUBLIC``, or the roles (a ByPath of roles when
    they differ by a word in the path); an administrator may call every endpoint that
    is not public. Scope (which grids, department, volunteer) is the handler's to check
    on ``self.caller``, because only it knows where the thing it touches lies.
    ``token_param`` names a query or form parameter that may carry the token instead of
    the Authorization header (Open311's ``api_key``). ``limit`` names a rate limit.
    """

    server = WebServer()
    guard = Guard()

    def __init__(self, method, url, allow, body=None, query=None, returns=None, status=200,
                 also=None, media_type="application/json", render_error=None,
                 error_schema=None, token_param=None, limit=None, **kwargs):
        # A refused request is the caller's to fix: nameko logs it as a warning, not an error.
        kwargs.setdefault("expected_exceptions", (errors.DomainError,))
        super().__init__(method, url, **kwargs)
        self.allow, self.token_param, self.limit = allow, token_param, limit
        self.body, self.query, self.returns = body, query, returns
        self.status, self.also, self.media_type = status, also or {}, media_type
        self.error_schema = error_schema or Error
        self.render_error = render_error or (lambda status, *args: (status,
                                                                    error_body(status, *args)))

    def setup(self):
        super().setup()
        # What every request passes the handler, checked once here (a mismatch stops the
        # service from starting): nameko checks it at each request, with inspect.
        rule = Rule(self.url)
        Map([rule])  # which names the rule's variables
        self.check_signature((None,), {**dict.fromkeys(rule.arguments),
                                       **({"body": None} if self.body is not None else {}),
                                       **({"query": None} if self.query is not None else {})})

    def get_entrypoint_parameters(self, request):
        args, path_values = super().get_entrypoint_parameters(request)
        kwargs = dict(path_values)
        if self.body is not None:
            schema = self.body.schema_for(kwargs) if isinstance(self.body, ByPath) else self.body
            kwargs["body"] = load_json(request, _instance(schema))
        if self.query is not None:
            kwargs["query"] = load_data(_instance(self.query), request.args.to_dict())
        return args, kwargs

    def roles_for(self, path_values):
        if isinstance(self.allow, ByPath):
            word = path_values.get(self.allow.variable)
            return self.allow.schemas.get(word, ())
        return self.allow

    def authenticate(self, request):
        """The caller the token names; anonymous without a token; 401 for a bad token."""
        token = auth.bearer(request)
        if token is None and self.token_param:
            token = request.values.get(self.token_param) or None
        return auth.ANONYMOUS if token is None else self.guard.keyring.verify(token)

    def authorize(self, request, caller):
        """401 or 403 unless the endpoint's roles admit the caller, before the body is even
        read, so a refused caller learns nothing from validation; then the rate limit."""
        roles = self.roles_for(request.path_values)
        if roles != auth.PUBLIC:
            if caller is auth.ANONYMOUS:
                raise errors.Unauthenticated(
                    "Sign in first: send 'Authorization: Bearer <token>' with a token from "
                    "POST /auth/token on the grid service.")
            if caller.role != auth.ADMINISTRATOR and caller.role not in roles:
                raise errors.Forbidden(
                    f"Your {caller.role} role may not {self.method} {self.url}; it is open "
                    f"to: {', '.join(roles)}.")
        if self.limit:
            self.guard.limits.take(self.limit, caller, request.remote_addr)

    def handle_request(self, request):
        correlation_id = request.headers.get("X-Correlation-Id") or uuid.uuid4().hex
        started = time.perf_counter()
        request.shallow = False
        self.guard.see_through_proxies(request)
        caller = None
        try:
            caller = self.authenticate(request)
            self.authorize(request, caller)
            args, kwargs = self.get_entrypoint_parameters(request)
            done = Event()
            self.container.spawn_worker(
                self, args, kwargs,
                context_data={"correlation_id": correlation_id, "caller": caller},
                handle_result=partial(self.handle_result, done))
            response = self.response_from_result(done.wait())
        except Exception as exc:  # noqa: BLE001 - every failure becomes a JSON answer
            response = self.response_from_exception(exc)
        response.headers["X-Correlation-Id"] = correlation_id
        if caller is not None and caller is not auth.ANONYMOUS:
            response.headers.extend(SECURITY_HEADERS)
        else:
            response.headers["X-Content-Type-Options"] = "nosniff"
        self.guard.audit(request, self.method, caller, response.status_code, correlation_id)
        HTTP_REQUESTS.labels(self.method, self.url, response.status_code).inc()
        HTTP_LATENCY.labels(self.method, self.url).observe(time.perf_counter() - started)
        return response

    def response_from_exception(self, exc):
        if isinstance(exc, ApiError):
            return self.error_response(exc.status, exc.code, exc.message)
        for cls, status in STATUS.items():
            if isinstance(exc, cls):
                return self.error_response(status, exc.code, exc.message, exc.fields, exc.details)
        log.error("unexpected error answering %s %s", self.method, self.url, exc_info=exc)
        return self.error_response(500, "internal_error",
                                   "Something went wrong on our side; try again, and if it "
                                   "persists report the X-Correlation-Id header to the operators.")

    def error_response(self, status, code, message, fields=None, details=None):
        status, body = self.render_error(status, code, message, fields, details)
        headers = {"Retry-After": str(details["retry_after_seconds"])} \
            if details and "retry_after_seconds" in details else None
        return json_response(body, status=status, headers=headers)


http = HttpEntrypoint.decorator
