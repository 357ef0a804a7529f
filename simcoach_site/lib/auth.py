"""The logged-in user of a request, typed for services (views are behind login_required)."""

from django.contrib.auth.models import User
from django.http import HttpRequest


def request_user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise TypeError("request_user() needs a logged-in request (use @login_required)")
    return user
