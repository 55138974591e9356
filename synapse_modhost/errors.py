"""The error classes modules raise and catch, with Synapse 1.163's fields and messages.

Modules import them as ``synapse.api.errors`` / ``synapse.module_api.errors``; the host's
own code raises the same classes, so what a module catches is what the host throws.
"""

from __future__ import annotations

import math
from http import HTTPStatus
from typing import Any, Dict, List, Optional, Union

from synapse_modhost._codes import Codes

__all__ = [
    "AuthError",
    "CodeMessageException",
    "Codes",
    "HttpResponseException",
    "InvalidClientCredentialsError",
    "InvalidClientTokenError",
    "InvalidRuleException",
    "LimitExceededError",
    "MissingClientTokenError",
    "ModuleFailedException",
    "NotFoundError",
    "RedirectException",
    "RequestTimedOutError",
    "RuleNotFoundException",
    "ShadowBanError",
    "SynapseError",
    "UnrecognizedRequestError",
    "UserLimitExceededError",
]

JsonDict = Dict[str, Any]


class CodeMessageException(RuntimeError):
    """An exception with an HTTP status code and a message; ``str(e)`` is ``"<code>: <msg>"``."""

    def __init__(
        self,
        code: Union[int, HTTPStatus],
        msg: str,
        headers: Optional[Dict[str, str]] = None,
    ):
        super().__init__("%d: %s" % (code, msg))
        self.code = int(code)
        self.msg = msg
        self.headers = headers


class SynapseError(CodeMessageException):
    """An error a client sees as ``{"errcode": ..., "error": ..., **additional_fields}``."""

    def __init__(
        self,
        code: int,
        msg: str,
        errcode: str = Codes.UNKNOWN,
        additional_fields: Optional[Dict[str, Any]] = None,
        headers: Optional[Dict[str, str]] = None,
    ):
        super().__init__(code, msg, headers)
        self.errcode = errcode
        self._additional_fields = dict(additional_fields or {})

    def error_dict(self, config: Any = None) -> JsonDict:
        """The JSON body of the error response."""
        return {"error": self.msg, "errcode": _errcode_value(self.errcode), **self._additional_fields}


def _errcode_value(errcode: Any) -> Any:
    return errcode.value if isinstance(errcode, Codes) else errcode


class InvalidClientCredentialsError(SynapseError):
    """401 with the given message and errcode."""

    def __init__(self, msg: str, errcode: str):
        super().__init__(code=401, msg=msg, errcode=errcode)


class MissingClientTokenError(InvalidClientCredentialsError):
    """401 ``M_MISSING_TOKEN``: the request carried no access token."""

    def __init__(self, msg: str = "Missing access token"):
        super().__init__(msg=msg, errcode=Codes.MISSING_TOKEN)


class InvalidClientTokenError(InvalidClientCredentialsError):
    """401 ``M_UNKNOWN_TOKEN``; the body carries ``soft_logout``."""

    def __init__(self, msg: str = "Invalid access token passed.", soft_logout: bool = False):
        super().__init__(msg=msg, errcode=Codes.UNKNOWN_TOKEN)
        self._soft_logout = soft_logout

    def error_dict(self, config: Any = None) -> JsonDict:
        d = super().error_dict(config)
        d["soft_logout"] = self._soft_logout
        return d


class AuthError(SynapseError):
    """An authorisation failure; ``M_FORBIDDEN`` unless told otherwise."""

    def __init__(
        self,
        code: int,
        msg: str,
        errcode: str = Codes.FORBIDDEN,
        additional_fields: Optional[Dict[str, Any]] = None,
    ):
        super().__init__(code, msg, errcode, additional_fields)


class NotFoundError(SynapseError):
    """404 ``M_NOT_FOUND``."""

    def __init__(self, msg: str = "Not found", errcode: str = Codes.NOT_FOUND):
        super().__init__(404, msg, errcode=errcode)


class UnrecognizedRequestError(SynapseError):
    """``M_UNRECOGNIZED``; 400 by default, 404/405 when routing fails."""

    def __init__(self, msg: str = "Unrecognized request", code: int = 400):
        super().__init__(code, msg, Codes.UNRECOGNIZED)


class LimitExceededError(SynapseError):
    """429 ``M_LIMIT_EXCEEDED`` "Too Many Requests" with ``retry_after_ms`` and ``Retry-After``."""

    def __init__(
        self,
        limiter_name: str,
        code: int = 429,
        retry_after_ms: Optional[int] = None,
        errcode: str = Codes.LIMIT_EXCEEDED,
        pause: Optional[float] = None,
    ):
        headers = (
            {"Retry-After": str(math.ceil(retry_after_ms / 1000))}
            if retry_after_ms is not None
            else None
        )
        super().__init__(code, "Too Many Requests", errcode, headers=headers)
        self.limiter_name = limiter_name
        self.retry_after_ms = retry_after_ms
        self.pause = pause

    def error_dict(self, config: Any = None) -> JsonDict:
        d = super().error_dict(config)
        d["retry_after_ms"] = self.retry_after_ms
        return d


class UserLimitExceededError(SynapseError):
    """403 ``M_USER_LIMIT_EXCEEDED`` with ``info_uri`` and, only when true, ``can_upgrade``."""

    def __init__(
        self,
        code: int = 403,
        msg: str = "Media upload limit exceeded",
        info_uri: str = "",
        can_upgrade: bool = False,
    ):
        fields: Dict[str, Any] = {"info_uri": info_uri}
        if can_upgrade:
            fields["can_upgrade"] = True
        super().__init__(code, msg, Codes.USER_LIMIT_EXCEEDED, fields)


class RequestTimedOutError(SynapseError):
    """504: a remote server did not answer in time."""

    def __init__(self, msg: str):
        super().__init__(504, msg)


class HttpResponseException(CodeMessageException):
    """A non-2xx answer to an outbound request; not a ``SynapseError`` (escapes as 500)."""

    def __init__(self, code: int, msg: str, response: bytes):
        super().__init__(code, msg)
        self.response = response

    def to_synapse_error(self) -> SynapseError:
        """The error to proxy to a client: the remote's errcode and error when it sent JSON;
        401 becomes 400 and ``M_UNKNOWN_TOKEN`` becomes ``M_UNKNOWN``."""
        import json

        try:
            j = json.loads(self.response)
        except ValueError:
            j = {}
        if not isinstance(j, dict):
            j = {}
        errcode = j.pop("errcode", Codes.UNKNOWN)
        errmsg = j.pop("error", self.msg)
        code = 400 if self.code == 401 else self.code
        if errcode == Codes.UNKNOWN_TOKEN.value:
            errcode = Codes.UNKNOWN
        return SynapseError(code, errmsg, errcode, additional_fields=j)


class RedirectException(CodeMessageException):
    """Redirect the client; honoured by HTML resources, a 500 from JSON ones."""

    def __init__(self, location: bytes, http_code: int = 302):
        super().__init__(
            code=http_code, msg="Redirect to %s" % (location.decode("utf-8", "replace"),)
        )
        self.location = location
        self.cookies: List[bytes] = []


class ModuleFailedException(Exception):
    """A module callback failed in a way the host turns into a 500."""


class ShadowBanError(Exception):
    """The requester is shadow-banned: pretend the action worked."""


class InvalidRuleException(Exception):
    """A push rule's actions are invalid."""


class RuleNotFoundException(Exception):
    """No push rule with that id."""
