"""Access decorators: who may open a route. Record checks live in the views."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user

from portal.auth.models import Role
from portal.extensions import login_manager


def roles_required(*roles: str):
    """The view runs only for a signed-in staff member with one of ``roles``.

    Anonymous visitors are sent to the login page (htmx requests get a 401
    with ``HX-Redirect``); signed-in staff with another role get a 403.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles  # read by the access-matrix test
        return wrapped

    return decorator


staff_required = roles_required(*Role.ALL)
customer_staff_required = roles_required(*Role.CUSTOMER_FACING)
admin_required = roles_required(Role.ADMIN)
