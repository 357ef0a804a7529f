"""The sharing models moved from apps.accounts to apps.sharing: links made before the move still work."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.accounts.lib.tokens import SHARE_TOKEN_PREFIX, token_hash
from apps.sharing.models import ShareLink
from apps.sharing.selectors import share_link_resolve

BEFORE_MOVE = [("accounts", "0002_sharing"), ("sharing", None)]


def _migrate(targets: list[tuple[str, str | None]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor


@pytest.mark.django_db(transaction=True)
def test_a_link_made_before_the_move_resolves_after_it(driver, rig_and_token) -> None:  # type: ignore[no-untyped-def]
    rig, _ = rig_and_token
    token = SHARE_TOKEN_PREFIX + "x" * 32
    try:
        executor = _migrate(BEFORE_MOVE)
        old_apps = executor.loader.project_state(BEFORE_MOVE[:1]).apps
        with pytest.raises(LookupError):
            old_apps.get_model("sharing", "ShareLink")
        old_link = old_apps.get_model("accounts", "ShareLink")
        old_link.objects.create(
            owner_id=driver.pk,
            kind="live_rig",
            rig_id=rig.pk,
            token_hash=token_hash(token),
            token_hint=token[-4:],
        )
        ContentType.objects.get_or_create(app_label="accounts", model="sharelink")
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    access = share_link_resolve(token=token)
    assert access.ok and access.link is not None and access.link.rig_id == rig.pk
    assert ShareLink.objects.count() == 1
    assert ContentType.objects.filter(app_label="sharing", model="sharelink").count() == 1
    assert not ContentType.objects.filter(app_label="accounts", model="sharelink").exists()
