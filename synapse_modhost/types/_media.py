"""Media: upload limits and the file a media spam check looks at."""

from __future__ import annotations

from typing import Any, Optional

import attr

__all__ = ["FileInfo", "MediaUploadLimit"]


@attr.s(auto_attribs=True, frozen=True, slots=True)
class MediaUploadLimit:
    """A cap on bytes uploaded in a period, from config or a media-repository module."""

    max_bytes: int
    time_period_ms: int
    info_uri: Optional[str] = None
    can_upgrade: bool = False


@attr.s(auto_attribs=True, frozen=True, slots=True)
class FileInfo:
    """Which media file ``check_media_file_for_spam`` is looking at.

    ``server_name`` is ``None`` for local media.
    """

    server_name: Optional[str]
    file_id: str
    url_cache: bool = False
    thumbnail: Optional[Any] = None

    @property
    def thumbnail_width(self) -> Optional[int]:
        return getattr(self.thumbnail, "width", None)

    @property
    def thumbnail_height(self) -> Optional[int]:
        return getattr(self.thumbnail, "height", None)

    @property
    def thumbnail_method(self) -> Optional[str]:
        return getattr(self.thumbnail, "method", None)

    @property
    def thumbnail_type(self) -> Optional[str]:
        return getattr(self.thumbnail, "type", None)

    @property
    def thumbnail_length(self) -> Optional[int]:
        return getattr(self.thumbnail, "length", None)
