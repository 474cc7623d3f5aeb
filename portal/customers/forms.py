from wtforms import IntegerField, SearchField, SelectChoice, SelectField
from wtforms.validators import Length, NumberRange, Optional

from portal.customers.models import SERVICE_TYPES
from portal.customers.services import AccountFilters
from portal.web.i18n import lazy_gettext as _l
from portal.web.inputs import FilterForm


class AccountFilterForm(FilterForm):
    """The accounts list's search and filters."""

    q = SearchField(_l("Search"), validators=[Optional(), Length(max=100)], render_kw={"placeholder": _l("Name, customer number or contact")})
    region = SelectField(_l("Region"), validators=[Optional()], validate_choice=True)
    service = SelectField(_l("Service"), validators=[Optional()], validate_choice=True)
    manager = SelectField(_l("Account manager"), validators=[Optional()], validate_choice=True)
    health = SelectField(_l("Health"), validators=[Optional()], validate_choice=True)
    page = IntegerField(_l("Page"), validators=[Optional(), NumberRange(min=1, max=1_000_000)])

    def set_choices(self, regions: list[str], managers: list[tuple[int, str]] | None, health: list[tuple[str, str]] | None = None) -> None:
        every = SelectChoice("", _l("All"))
        if health is None:
            del self.health
        else:
            self.health.choices = [every] + [SelectChoice(value, label) for value, label in health]
        self.region.choices = [every] + [SelectChoice(r, r) for r in regions]
        self.service.choices = [every] + [SelectChoice(key, label) for key, label in SERVICE_TYPES.items()]
        if managers is None:
            del self.manager
        else:
            self.manager.choices = [every] + [SelectChoice(str(i), name) for i, name in managers]

    def filters(self) -> AccountFilters:
        manager = self.manager.data if "manager" in self._fields else ""
        return AccountFilters(
            query=self.q.data or "",
            region=self.region.data or "",
            service_type=self.service.data or "",
            account_manager_id=int(manager) if manager else None,
            health=(self.health.data or "") if "health" in self._fields else "",
            page=self.page.data or 1,
        )
