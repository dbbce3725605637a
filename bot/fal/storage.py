"""Uploads to fal storage: the CDN token flow first, the initiate-and-PUT flow as its fallback."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx

from bot.errors import FalAccountProblem, FalApiError, FalError, FalUnavailable
from bot.settings import FalSettings

log = logging.getLogger(__name__)

TOKEN_MARGIN = 60.0


@dataclass(frozen=True)
class _CdnToken:
    header: str = ""
    base_url: str = ""
    expires: float = 0.0


class Reader(Protocol):
    """What storage needs of the fal client: its retrying request, so uploads share its backoff and auth."""

    async def read(
        self,
        method: str,
        url: str,
        *,
        limited: bool = True,
        auth: bool = True,
        billable: bool = False,
        **kwargs: Any,
    ) -> httpx.Response: ...


class FalStorage:
    def __init__(self, client: Reader, settings: FalSettings) -> None:
        self._client = client
        self._settings = settings
        self._token = _CdnToken()

    async def upload(self, data: bytes, content_type: str, file_name: str) -> str:
        """Store bytes on fal and return a public URL that lives as long as the configured retention."""
        try:
            return await self._upload_cdn(data, content_type, file_name)
        except FalAccountProblem:
            raise  # the fallback would be refused the same way
        except FalError as exc:
            log.warning("fal CDN upload failed (%s); trying the storage fallback", exc)
        return await self._upload_initiate(data, content_type, file_name)

    @property
    def _lifecycle_headers(self) -> dict[str, str]:
        """How long fal keeps the file: the v3 CDN reads the first header, the old CDN the second; send both, as
        fal's own Python client does."""
        value = json.dumps({"expiration_duration_seconds": self._settings.upload_retention_seconds})
        return {"X-Fal-Object-Lifecycle": value, "X-Fal-Object-Lifecycle-Preference": value}

    async def _upload_cdn(self, data: bytes, content_type: str, file_name: str) -> str:
        token = await self._cdn_token()
        response = await self._client.read(
            "POST",
            f"{token.base_url}/files/upload",
            limited=False,
            content=data,
            timeout=self._settings.upload_timeout,
            headers={
                "Authorization": token.header,
                "Content-Type": content_type,
                "X-Fal-File-Name": file_name,
                **self._lifecycle_headers,
            },
        )
        return _field(response.json(), "access_url")

    async def _cdn_token(self) -> _CdnToken:
        if self._token.expires - TOKEN_MARGIN > time.time():
            return self._token
        return await self.renew_token()

    async def renew_token(self) -> _CdnToken:
        """A fresh CDN upload token (also the harmless call that shows whether fal accepts Tween's account)."""
        response = await self._client.read(
            "POST",
            f"{self._settings.rest_url}/storage/auth/token",
            limited=False,
            billable=True,
            params={"storage_type": "fal-cdn-v3"},
            json={},
        )
        body = response.json()
        expires = _expiry(body.get("expires_at")) if isinstance(body, dict) else 0.0
        self._token = _CdnToken(
            header=f"{_field(body, 'token_type')} {_field(body, 'token')}",
            base_url=_field(body, "base_url").rstrip("/"),
            expires=expires,
        )
        return self._token

    async def _upload_initiate(self, data: bytes, content_type: str, file_name: str) -> str:
        response = await self._client.read(
            "POST",
            f"{self._settings.rest_url}/storage/upload/initiate",
            limited=False,
            billable=True,
            params={"storage_type": "fal-cdn-v3"},  # fal answers 400 to the old "gcs" now
            json={"file_name": file_name, "content_type": content_type},
            headers=self._lifecycle_headers,
        )
        body = response.json()
        upload_url, file_url = _field(body, "upload_url"), _field(body, "file_url")
        # The signed upload URL is not fal's API: it must not see our key.
        await self._client.read(
            "PUT",
            upload_url,
            limited=False,
            auth=False,
            content=data,
            timeout=self._settings.upload_timeout,
            headers={"Content-Type": content_type},
        )
        return file_url


def _field(body: Any, name: str) -> str:
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, str) or not value:
        raise FalApiError(200, f"storage answer without {name}", error_type="malformed_response")
    return value


def _expiry(value: Any) -> float:
    if not isinstance(value, str):
        return time.time() + 300
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise FalUnavailable(f"storage token with unreadable expiry {value!r}") from None
