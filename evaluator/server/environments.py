"""Choosing the environment of a request (flipt-compatibility §4.1), plus Flagdeck's per-environment URL prefix.

Order: the `/environments/{env}/` URL prefix (an unknown one is a 404); the body's `environmentKey` (or the
`/client/v2/environments/{env}` path segment) when it names a known environment; the `X-Flipt-Environment` header
(unknown -> 404, except the literal `default`); the default environment.
"""

from __future__ import annotations

from collections.abc import Mapping

from evaluator.server.errors import not_found
from evaluator.server.reload import Registry
from evaluator.server.state import EnvState

ENV_HEADER = "X-Flipt-Environment"
NS_HEADER = "X-Flipt-Namespace"
URL_ENV = "url_env"  # match_info key of the /environments/{env} prefix


def resolve(registry: Registry, url_env: str | None, headers: Mapping[str, str], requested: str = "") -> EnvState:
    """`url_env`: the `/environments/{env}` prefix of the path (None without one); `requested`: the body's
    `environmentKey` or the path's `{environment}`."""
    states = registry.states
    if url_env is not None:
        state = states.get(url_env)
        if state is None:
            raise not_found(f'environment "{url_env}" not found')
        return state
    if requested:
        state = states.get(requested)
        if state is not None:
            return state
    header = headers.get(ENV_HEADER)
    if header:
        state = states.get(header)
        if state is not None:
            return state
        if header != "default":
            raise not_found(f'failed to get environment "{header}" from context: environment: "{header}" not found')
    return states[registry.default]
