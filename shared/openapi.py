"""Each service's OpenAPI 3 document, written from the declarations of its endpoints.

The schemas that validate a request (``body=``, ``query=``) and shape an answer
(``returns=``) are the ones the document shows, so the two cannot drift apart.
apispec turns the marshmallow schemas into JSON Schema.
"""

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

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
    for name, endpoint in endpoints(service_cls):
        handler = getattr(service_cls, name)
        for path, body in _bodies(endpoint):
            spec.path(path=PATH_VARIABLE.sub(r"{\1}", path), operations={
                endpoint.method.lower(): _operation(name, handler, endpoint, path, body)})
    return spec.to_dict()


def _bodies(endpoint):
    """(path, body schema) for each path the endpoint serves: several for a ByPath body."""
    if isinstance(endpoint.body, ByPath):
        marker = re.compile(rf"<(?:[^:<>]+:)?{endpoint.body.variable}>")
        return [(marker.sub(word, endpoint.url), schema)
                for word, schema in endpoint.body.schemas.items()]
    return [(endpoint.url, endpoint.body)]


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
    if description.strip():
        operation["description"] = description.strip()
    if endpoint.query is not None:
        operation["parameters"].append({"in": "query", "schema": endpoint.query})
    if body is not None:
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": body}}}
    return operation
