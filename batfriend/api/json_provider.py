"""Flask's JSON responses written by orjson: the same JSON, a fraction of the CPU.

Only responses change. Request bodies are parsed by ``validation.json_body``;
``loads`` stays the standard library's, so parsing keeps its strictness.
"""

from typing import Any

import flask
import orjson
from flask.json.provider import DefaultJSONProvider

_OPTIONS = orjson.OPT_APPEND_NEWLINE


class OrjsonProvider(DefaultJSONProvider):
    """``dumps`` and ``response`` by orjson; anything orjson refuses goes the default way."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Serialise ``obj`` to a str (Flask's ``tojson`` and friends)."""
        if kwargs:
            return super().dumps(obj, **kwargs)
        return self._encode(obj).decode().rstrip("\n")

    def _encode(self, obj: Any) -> bytes:
        try:
            return orjson.dumps(obj, option=_OPTIONS)
        except orjson.JSONEncodeError:
            # integers beyond 64 bits, non-str keys...: Flask's encoder, as before
            return f"{super().dumps(obj)}\n".encode()

    def response(self, *args: Any, **kwargs: Any) -> flask.Response:
        """Return ``jsonify``'s response: the object as JSON (one trailing newline, as Flask)."""
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(self._encode(obj), mimetype=self.mimetype)
