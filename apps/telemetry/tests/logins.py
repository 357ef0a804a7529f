"""Logging a browser in as a test user."""

from __future__ import annotations

from typing import Any

from django.test import Client


def session_cookie(user: Any) -> str:
    """The `sessionid` of a fresh login of `user`, for a browser context's cookies.

    A session row instead of the login form: the test process hashes passwords with MD5,
    which Daphne's process (default hashers) would not accept.
    """
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value
