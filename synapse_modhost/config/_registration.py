"""Registration keys: ``enable_registration*`` and the shared secret."""

from __future__ import annotations

from typing import Any, Mapping

from synapse_modhost.config._base import read_file
from synapse_modhost.config._errors import ConfigError
from synapse_modhost.config._model import RegistrationConfig
from synapse_modhost.config._util import loose_bool

__all__ = ["CONFLICTING_SHARED_SECRET", "OPEN_REGISTRATION", "read_registration_config"]

KEYS = frozenset(
    (
        "enable_registration",
        "disable_registration",
        "enable_registration_without_verification",
        "registration_shared_secret",
        "registration_shared_secret_path",
    )
)

#: Synapse's text for giving both shared-secret options
CONFLICTING_SHARED_SECRET = (
    "You have configured both `registration_shared_secret` and\n"
    "`registration_shared_secret_path`. These are mutually incompatible.\n"
)

#: Synapse refuses to start with open registration and no verification of any kind
OPEN_REGISTRATION = (
    "You have enabled open registration without any verification. This is a known vector for "
    "spam and abuse. If you would like to allow public registration, please consider adding email, "
    "captcha, or token-based verification. Otherwise this check can be removed by setting the "
    "`enable_registration_without_verification` config option to `true`."
)


def read_registration_config(config: Mapping[str, Any]) -> RegistrationConfig:
    """Build :class:`RegistrationConfig`, reading ``registration_shared_secret_path``."""
    enable = loose_bool(config.get("enable_registration", False), ("enable_registration",))
    if "disable_registration" in config:
        enable = not loose_bool(config["disable_registration"], ("disable_registration",))
    without_verification = loose_bool(
        config.get("enable_registration_without_verification", False),
        ("enable_registration_without_verification",),
    )

    secret: str | None = config.get("registration_shared_secret")
    if secret is not None and not isinstance(secret, str):
        raise ConfigError("Must be a string", ("registration_shared_secret",))
    secret_path = config.get("registration_shared_secret_path")
    if secret_path:
        if secret:
            raise ConfigError(CONFLICTING_SHARED_SECRET)
        secret = read_file(secret_path, ("registration_shared_secret_path",)).strip()

    if enable and not without_verification:
        verified = (
            config.get("enable_registration_captcha")
            or config.get("registrations_require_3pid")
            or config.get("registration_requires_token")
        )
        if not verified:
            raise ConfigError(OPEN_REGISTRATION)

    return RegistrationConfig(
        enable_registration=enable,
        enable_registration_without_verification=without_verification,
        registration_shared_secret=secret or None,
    )
