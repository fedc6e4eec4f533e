"""The one-time link with which a new user sets their first password.

Django's password-reset token, also bound to the user's state: it stops working once the
password is set (the hash changes), once the user logs in, and once an administrator
deactivates or reactivates the user. It expires after ``PASSWORD_RESET_TIMEOUT`` seconds."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.tokens import PasswordResetTokenGenerator


class ActivationTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "refmeter.organisations.tokens.ActivationTokenGenerator"

    def _make_hash_value(self, user: Any, timestamp: int) -> str:
        deactivated = "" if user.deactivated_at is None else user.deactivated_at.isoformat()
        return f"{super()._make_hash_value(user, timestamp)}{user.is_active}{deactivated}"


activation_tokens = ActivationTokenGenerator()
