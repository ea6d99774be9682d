"""Each service's OpenAPI 3 document, written from the declarations of its endpoints.

The schemas that validate a request (``body=``, ``query=``) and shape an answer
(``returns=``) are the ones the document shows, so the two cannot drift apart.
apispec turns the marshmallow schemas into JSON Schema.
"""

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from shared import auth
from shared.http import ByPath, HttpEntrypoint

VERSION = "1.0.0"
PATH_VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def endpoints(service_cls):
    """(handler name, HttpEntrypoint) for every HTTP endpoint of a service class."""
    for name in sorted(dir(service_cls)):
        for extension in getattr(getattr(service_cls, name), ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(extension, HttpEntrypoint):
                yield name, extension


def document(service_cls):
    """The OpenAPI document of ``service_cls``."""
    spec = APISpec(title=f"{service_cls.name} service", version=VERSION,
                   openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": (service_cls.__doc__ or "").strip()})
    spec.components.security_scheme("bearer", {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "A token from POST /auth/token on the grid service."})
    for name, endpoint, path, body in operations(service_cls):
        spec.path(path=PATH_VARIABLE.sub(r"{\1}", path), operations={endpoint.method.lower(): (
            _operation(name, getattr(service_cls, name), endpoint, path, body))})
    return spec.to_dict()


def operations(service_cls):
    """(handler name, endpoint, path, body schema) for each operation: a ByPath route
    is one operation per word."""
    for name, endpoint in endpoints(service_cls):
        for path, body in _variants(endpoint.body, endpoint):
            yield name, endpoint, path, body


def _variants(declared, endpoint):
    """(path, what is declared for it) for each path the endpoint serves: one per word
    of a ByPath declaration, else the endpoint's own."""
    if isinstance(declared, ByPath):
        marker = re.compile(rf"<(?:[^:<>]+:)?{declared.variable}>")
        return [(marker.sub(word, endpoint.url), value)
                for word, value in declared.schemas.items()]
    return [(endpoint.url, declared)]


def roles_of(endpoint, path):
    """Who may call the endpoint at ``path``: PUBLIC, or the roles (administrator last)."""
    roles = dict(_variants(endpoint.allow, endpoint)).get(path, endpoint.allow)
    return roles if roles == auth.PUBLIC else (*roles, auth.ADMINISTRATOR)


def _operation(name, handler, endpoint, path, body):
    summary, _, description = (handler.__doc__ or name.replace("_", " ").capitalize()) \
        .strip().partition("\n")
    success = {"description": summary,
               "content": {endpoint.media_type: {"schema": endpoint.returns or {}}}}
    operation = {
        "operationId": name if path == endpoint.url else f"{name}_{path.rsplit('/', 1)[-1]}",
        "summary": summary,
        "parameters": [{"in": "path", "name": variable, "required": True,
                        "schema": {"type": "string", "minLength": 1}}
                       for variable in PATH_VARIABLE.findall(path)],
        "responses": {
            str(endpoint.status): success,
            "4XX": {"description": "The request cannot be served as sent; the answer says "
                                   "what to change.",
                    "content": {"application/json": {"schema": endpoint.error_schema}}},
            **{str(status): {**success, "description": why}
               for status, why in endpoint.also.items()},
        },
    }
    roles = roles_of(endpoint, path)
    operation["x-roles"] = [roles] if roles == auth.PUBLIC else list(roles)
    operation["security"] = [] if roles == auth.PUBLIC else [{"bearer": []}]
    who = "Anyone, without a token." if roles == auth.PUBLIC else f"Roles: {', '.join(roles)}."
    operation["description"] = f"{description.strip()}\n\n{who}".strip()
    if endpoint.query is not None:
        operation["parameters"].append({"in": "query", "schema": endpoint.query})
    if body is not None:
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": body}}}
    return operation
