"""The OpenAPI 3.0 document of the evaluator's API, served at `/openapi.json` (and fuzzed by the test suite).
Every route also answers under `/environments/{environment}/`; those copies are generated from the base paths."""

from __future__ import annotations

from typing import Any

REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF + name}


def _str(**extra: Any) -> dict[str, Any]:
    return {"type": "string", **extra}


def _nullable_str() -> dict[str, Any]:
    return {"type": "string", "nullable": True}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_CONTEXT = {"type": "object", "nullable": True,
            "additionalProperties": {"nullable": True, "oneOf": [{"type": "string"}, {"type": "number"},
                                                                 {"type": "boolean"}]}}
_REQUEST_FIELDS = {
    "namespaceKey": _nullable_str(), "flagKey": _nullable_str(), "entityId": _nullable_str(),
    "context": _CONTEXT, "requestId": _nullable_str(), "environmentKey": _nullable_str(),
    "reference": _nullable_str(),
}
_RESULT_COMMON = {"reason": _str(), "requestId": _str(), "requestDurationMillis": {"type": "number"},
                  "timestamp": _str(), "flagKey": _str(), "segmentKeys": {"type": "array", "items": _str()}}

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["code", "message"],
              "properties": {"code": {"type": "integer"}, "message": _str(), "details": {"type": "array"}}},
    "OfrepError": {"type": "object", "required": ["errorCode", "errorDetails"],
                   "description": "`key` only for an error of a flag's lookup",
                   "properties": {"key": _str(), "errorCode": _str(), "errorDetails": _str()}},
    "EvaluationRequest": {"type": "object", "properties": _REQUEST_FIELDS},
    "BatchRequest": {"type": "object", "properties": {
        "requestId": _nullable_str(), "reference": _nullable_str(),
        "requests": {"type": "array", "nullable": True, "items": _ref("EvaluationRequest")}}},
    "VariantResponse": {"type": "object", "required": ["match", "reason", "variantKey", "variantAttachment",
                                                       "flagKey", "timestamp", "requestDurationMillis"],
                        "properties": {"match": {"type": "boolean"}, "variantKey": _str(),
                                       "variantAttachment": _str(), **_RESULT_COMMON}},
    "BooleanResponse": {"type": "object", "required": ["enabled", "reason", "flagKey", "timestamp",
                                                       "requestDurationMillis"],
                        "properties": {"enabled": {"type": "boolean"}, **_RESULT_COMMON}},
    "BatchResponse": {"type": "object", "required": ["requestId", "responses", "requestDurationMillis"],
                      "properties": {"requestId": _str(), "requestDurationMillis": {"type": "number"},
                                     "responses": {"type": "array", "items": {"type": "object", "properties": {
                                         "type": _str(), "booleanResponse": _ref("BooleanResponse"),
                                         "variantResponse": _ref("VariantResponse"),
                                         "errorResponse": {"type": "object"}}}}}},
    "FlagList": {"type": "object", "required": ["flags", "totalCount"],
                 "properties": {"flags": {"type": "array", "items": {"type": "object"}},
                                "nextPageToken": _str(), "totalCount": {"type": "integer"}}},
    "Snapshot": {"type": "object", "required": ["namespace", "flags", "digest"],
                 "properties": {"namespace": {"type": "object"}, "flags": {"type": "array"}, "digest": _str()}},
    "OfrepRequest": {"type": "object", "properties": {"context": _CONTEXT}},
    "OfrepResult": {"type": "object", "required": ["key", "reason", "variant", "value"],
                    "properties": {"key": _str(), "reason": _str(), "variant": _str(), "value": {},
                                   "metadata": {"type": "object"}}},
    "OfrepBulk": {"type": "object", "required": ["flags"],
                  "properties": {"flags": {"type": "array", "items": _ref("OfrepResult")},
                                 "eventStreams": {"type": "array"}}},
    "Health": {"type": "object", "required": ["status"],
               "description": "`pid` and `environments` only for a caller allowed to read the details",
               "properties": {"status": _str(enum=["SERVING", "NOT_SERVING"]), "pid": {"type": "integer"},
                              "environments": {"type": "object",
                                               "additionalProperties": _ref("EnvironmentHealth")}}},
    "EnvironmentHealth": {
        "type": "object", "required": ["default", "commit", "namespaces", "remote"],
        "properties": {"default": {"type": "boolean"}, "commit": _nullable_str(), "lastReload": _nullable_str(),
                       "lastError": _nullable_str(), "lastErrorAt": _nullable_str(),
                       "namespaces": {"type": "object"}, "remote": _ref("RemoteHealth")}},
    "RemoteHealth": {
        "type": "object", "nullable": True,
        "description": "The environment's remote as the background fetch last found it (null: no remote)",
        "required": ["url", "reachable", "lastError", "ahead", "behind", "lastFetch"],
        "properties": {"url": _str(description="without credentials"),
                       "reachable": {"type": "boolean", "nullable": True, "description": "null: not tried yet"},
                       "lastError": _nullable_str(), "ahead": {"type": "integer"}, "behind": {"type": "integer"},
                       "lastFetch": _nullable_str(),
                       "lastRewrite": {**_nullable_str(), "description": "the remote's history was last "
                                       "rewritten (a force-push): when, what was dropped here, replayed or parked"}}},
}

_ERRORS = {"400": _json(_ref("Error"), "Bad request"), "401": _json(_ref("Error"), "Not authenticated"),
           "403": _json(_ref("Error"), "Forbidden"), "404": _json(_ref("Error"), "Not found"),
           "413": _json(_ref("Error"), "Body too large")}
_PAGE_PARAMS = [
    {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "format": "int32"},
     "description": "flags per page (absent or 0: all from the page token on)"},
    {"name": "pageToken", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "a previous answer's nextPageToken (also `page_token`)"},
]
_OFREP_ERRORS = {"400": _json(_ref("OfrepError"), "Invalid context"),
                 "401": _json(_ref("OfrepError"), "Unauthorized"), "403": _json(_ref("OfrepError"), "Forbidden"), "404": _json(_ref("OfrepError"), "Flag not found"),
                 "413": _json(_ref("OfrepError"), "Body too large")}
_ENV_HEADER = {"name": "X-Flipt-Environment", "in": "header", "required": False, "schema": _str()}
_NS_HEADER = {"name": "X-Flipt-Namespace", "in": "header", "required": False, "schema": _str()}
_ETAG_HEADER = {"name": "If-None-Match", "in": "header", "required": False, "schema": _str()}


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": _str(pattern=r"^[-_,A-Za-z0-9]+$")}


def _post(summary: str, body: str, result: str, errors: dict[str, Any], params: list[Any]) -> dict[str, Any]:
    return {"post": {"summary": summary, "parameters": params,
                     "requestBody": {"required": False, "content": {"application/json": {"schema": _ref(body)}}},
                     "responses": {"200": _json(_ref(result)), **errors}}}


def _snapshot_get(summary: str, params: list[Any]) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": [*params, _ENV_HEADER, _ETAG_HEADER],
                    "responses": {"200": _json(_ref("Snapshot")), "304": {"description": "Not modified"},
                                  **_ERRORS}}}


def base_paths() -> dict[str, Any]:
    ns, env, key = _path_param("namespace"), _path_param("environment"), _path_param("key")
    stream = {"get": {"summary": "Snapshot stream (NDJSON, or SSE with Accept: text/event-stream)",
                      "parameters": [env, ns, {"name": "digest", "in": "query", "required": False,
                                               "schema": _str()}],
                      "responses": {"200": {"description": "A stream of snapshots",
                                            "content": {"application/json": {}, "text/event-stream": {}}},
                                    **_ERRORS}}}
    return {
        "/evaluate/v1/variant": _post("Variant evaluation", "EvaluationRequest", "VariantResponse", _ERRORS,
                                      [_ENV_HEADER]),
        "/evaluate/v1/boolean": _post("Boolean evaluation", "EvaluationRequest", "BooleanResponse", _ERRORS,
                                      [_ENV_HEADER]),
        "/evaluate/v1/batch": _post("Batch evaluation", "BatchRequest", "BatchResponse", _ERRORS, [_ENV_HEADER]),
        "/api/v1/namespaces/{namespace}/flags": {"get": {"summary": "List flags (in key order, paged as Flipt)",
                                                         "parameters": [ns, _ENV_HEADER, *_PAGE_PARAMS],
                                                         "responses": {"200": _json(_ref("FlagList")), **_ERRORS}}},
        "/internal/v1/evaluation/snapshot/namespace/{namespace}": _snapshot_get("Client snapshot (v1 path)", [ns]),
        "/client/v2/environments/{environment}/namespaces/{namespace}/snapshot": _snapshot_get(
            "Client snapshot", [env, ns]),
        "/client/v2/environments/{environment}/namespaces/{namespace}/stream": stream,
        "/ofrep/v1/evaluate/flags/{key}": _post("OFREP single flag", "OfrepRequest", "OfrepResult", _OFREP_ERRORS,
                                                [key, _ENV_HEADER, _NS_HEADER]),
        "/ofrep/v1/evaluate/flags": _post("OFREP bulk", "OfrepRequest", "OfrepBulk", _OFREP_ERRORS,
                                          [_ENV_HEADER, _NS_HEADER, _ETAG_HEADER]),
        "/ofrep/v1/_stream/{environment}/{namespace}/events": {"get": {
            "summary": "OFREP change events (SSE)", "parameters": [env, ns],
            "responses": {"200": {"description": "SSE", "content": {"text/event-stream": {}}},
                          "406": _json(_ref("Error"), "Accept: text/event-stream required"), **_ERRORS}}},
    }


def _with_env_prefix(path: str, item: dict[str, Any]) -> dict[str, Any]:
    prefixed = {}
    for method, op in item.items():
        params = [p for p in op["parameters"] if p.get("name") != "X-Flipt-Environment"]
        prefixed[method] = {**op, "summary": op["summary"] + " (environment in the URL)",
                            "parameters": [_path_param("url_env"), *params]}
    return prefixed


def build_openapi(version: str = "0.1.0") -> dict[str, Any]:
    paths = base_paths()
    paths.update({f"/environments/{{url_env}}{p}": _with_env_prefix(p, item) for p, item in list(paths.items())})
    paths["/health"] = {"get": {"summary": "Liveness for anyone; per-environment state for a caller allowed to read it",
                                "parameters": [],
                                "responses": {"200": _json(_ref("Health")),
                                              "503": _json(_ref("Health"), "Not every environment is loaded")}}}
    paths["/metrics"] = {"get": {"summary": "Prometheus metrics", "parameters": [],
                                 "responses": {"200": {"description": "Prometheus text",
                                                       "content": {"text/plain": {}}},
                                               "401": _json(_ref("Error"), "Not authenticated"),
                                               "403": _json(_ref("Error"), "Credential scoped to some "
                                                                           "environments or namespaces")}}}
    from evaluator.server.branch_envs import openapi_paths  # the environments API (issue 15)

    env_paths, env_schemas = openapi_paths()
    paths.update(env_paths)
    return {
        "openapi": "3.0.3",
        "info": {"title": "Flagdeck evaluator", "version": version,
                 "description": "Flipt v2 compatible evaluation, client snapshot and OFREP APIs."},
        "paths": paths,
        "components": {"schemas": {**SCHEMAS, **env_schemas}},
    }
