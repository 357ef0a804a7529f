from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.accounts.models import Rig
from apps.accounts.selectors import rig_get_by_token

pytestmark = pytest.mark.django_db


def test_it_prints_a_working_token_and_stores_only_its_hash(driver) -> None:
    out, err = StringIO(), StringIO()
    call_command("create_rig_token", "driver", "--name", "Cockpit", stdout=out, stderr=err)
    token = out.getvalue().strip()
    assert token.startswith("sc_rig_")
    rig = rig_get_by_token(token=token)
    assert rig is not None and rig.owner == driver and rig.name == "Cockpit"
    assert token not in repr(list(Rig.objects.values()))
    assert "not shown again" in err.getvalue()


def test_it_names_an_unknown_user() -> None:
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("create_rig_token", "ghost")
