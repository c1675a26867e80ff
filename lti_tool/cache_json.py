"""The cache stores JSON, never pickles.

Flask-Caching's Redis and filesystem caches pickle values by default, so anyone who can write to Redis (or
the cache folder) could make Pathways run code when it reads a value back. Everything Pathways caches is
plain data (login state and nonces, platform JWKS, sealed access tokens, storage tickets, frame origins),
so CACHE_SERIALIZER (Flask-Caching >= 2.5) gives both backends cachelib's JSON serializer, made strict:
a value that is not JSON fails loudly where it is stored, and a stored value that is not JSON (an old
pickle, a tampered entry) reads as a cache miss.
"""

from __future__ import annotations

import json
from typing import IO, Any

from cachelib.serializers import JSONSerializer


class StrictJSONSerializer(JSONSerializer):
    def dumps(self, value: Any, *args: Any, **kwargs: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()

    def dump(self, value: Any, f: IO[bytes], *args: Any, **kwargs: Any) -> None:
        f.write(self.dumps(value))

    def loads(self, bvalue: Any, *args: Any, **kwargs: Any) -> Any:
        if bvalue is None:
            return None
        try:
            return json.loads(bvalue)
        except (TypeError, ValueError, UnicodeDecodeError):
            return None

    def load(self, f: IO[bytes], *args: Any, **kwargs: Any) -> Any:
        return self.loads(f.read())
