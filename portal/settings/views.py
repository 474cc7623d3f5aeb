"""/staff/settings/brand: admins set the company name, sender, logo and colour;
/brand/logo serves an uploaded logo.

Saving with htmx reloads the page (``HX-Refresh``): the header, the colours
and the page title change with the brand. A form with errors comes back as
its fragment (422), the focus on the first field in error.
"""

from __future__ import annotations

from flask import abort, flash, make_response, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth.access import admin_required
from portal.settings import bp, services
from portal.settings.forms import BrandForm
from portal.web.inputs import validates_own_text
from portal.web.rendering import render, see_other, wants_fragment
from portal.web.transaction import run_in_transaction

PAGE = "settings/brand.html"


def _page(form: BrandForm, status: int = 200):
    page = services.brand_page()
    form.show_fallbacks(page["configured"])
    return render(PAGE, "brand_form", status=status, form=form, first_error=form.first_error(), **page)


@bp.get("/staff/settings/brand")
@admin_required
def brand():
    return _page(BrandForm(data=services.stored_values()))


@bp.post("/staff/settings/brand")
@admin_required
@validates_own_text  # the form says which field has characters it cannot keep
def update_brand():
    form = BrandForm()
    if not form.validate():
        return _page(form, 422)
    run_in_transaction(lambda: services.update_brand(form.values(), current_user, logo=form.uploaded_logo(), remove_logo=form.remove_logo.data))
    flash(_("The brand is saved."), "info")
    if wants_fragment():
        response = make_response("", 204)
        response.headers["HX-Refresh"] = "true"
        return response
    return see_other(url_for("settings.brand"))


@bp.get("/brand/logo")
def logo():
    """The uploaded logo, for every page (no sign-in). At ``?v=<digest>`` (the
    pages' link) cached for good; a new upload is a new URL."""
    found = services.uploaded_logo()
    if found is None:
        abort(404)
    data, mimetype, digest = found
    response = make_response(data)
    response.mimetype = mimetype
    response.headers["Content-Disposition"] = "inline"
    if request.args.get("v") == digest:
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response
    response.headers["Cache-Control"] = "no-cache"
    response.set_etag(digest)
    return response.make_conditional(request)
