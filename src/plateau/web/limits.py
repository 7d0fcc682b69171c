"""Request body limits: no request can make the server hold more than its limit in memory.

:class:`BodyLimit` answers 413 (naming the limit) when ``Content-Length`` exceeds the limit of
the path, and counts the bytes of bodies sent without a length (chunked), stopping at the limit.
JSON and form bodies are limited to :data:`DEFAULT_LIMIT`; the import form (several CSV files or
one FHIR bundle) to :data:`IMPORT_LIMIT`.
"""

from __future__ import annotations

import json

DEFAULT_LIMIT = 1024 * 1024  #: 1 MiB
IMPORT_LIMIT = 6 * 20 * 1024 * 1024 + 64 * 1024  #: six files of 20 MiB and the form fields
LIMITS = {"/records/import": IMPORT_LIMIT}


class BodyLimit:
    def __init__(self, app, default: int = DEFAULT_LIMIT, limits: dict | None = None) -> None:
        self.app = app
        self.default = default
        self.limits = dict(LIMITS if limits is None else limits)

    async def _too_large(self, send, limit: int) -> None:
        body = json.dumps(
            {"detail": f"body: larger than the limit of {limit // 1024} KiB for this address"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope.get("path", ""), self.default)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                if int(length) > limit:
                    await self._too_large(send, limit)
                    return
            except ValueError:
                await self._too_large(send, limit)
                return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            total += len(message.get("body", b""))
            if total > limit:
                await self._too_large(send, limit)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
