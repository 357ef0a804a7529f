"""Live coaching messages in each viewer's units: the owner's page reads psi and °F, an
anonymous share-link holder the driver's units, a browser with no choice its locale's."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from apps.accounts.services import unit_preference_set
from apps.coaching.lib.rules import message_text
from simcoach_site.asgi import application
from simcoach_site.events import session_group
from simcoach_site.lib.units import IMPERIAL, METRIC, Units

from .test_consumers import open_session
from .test_share import ORIGIN, next_of, share
from .test_viewer import viewer

pytestmark = pytest.mark.django_db(transaction=True)

PRESSURE_HIGH = {
    "rule": "tyre_pressure_high",
    "severity": "warning",
    "text": "Rear right pressure high: 28.3 psi (195 kPa)",
    "data": {"wheel": "rr", "kpa": 195.0, "psi": 195.0 / 6.894757},
}


async def _tell(session_id: int, message: dict[str, Any]) -> None:
    await get_channel_layer().group_send(
        session_group(session_id), {"type": "live.coaching", "message": message}
    )


async def test_each_viewer_reads_a_coaching_message_in_its_units(rig_and_token, driver) -> None:  # type: ignore[no-untyped-def]
    _, token = rig_and_token
    await database_sync_to_async(unit_preference_set)(user=driver, units=IMPERIAL)
    rig, welcome = await open_session(token)
    sid = welcome["session_id"]
    owner = await viewer(driver, f"/ws/live/{sid}/")
    assert (await owner.connect())[0]
    _, share_token = await share(driver, rig=await database_sync_to_async(lambda: driver.rigs.first())())
    # an anonymous holder in Germany: the driver's choice, not the browser's locale
    holder = WebsocketCommunicator(
        application, f"/ws/share/{share_token}/", headers=[ORIGIN, (b"accept-language", b"de-DE")]
    )
    assert (await holder.connect())[0]
    await next_of(owner, "session")
    await next_of(holder, "session")

    await _tell(sid, PRESSURE_HIGH)
    for comm in (owner, holder):
        said = (await next_of(comm, "coaching"))["message"]
        assert said["text"] == "Rear right pressure high: 28.3 psi" and "data" not in said
    await _tell(sid, {**PRESSURE_HIGH, "rule": "tyre_hot", "data": {"wheel": "fl", "temp_c": 104.0}})
    assert (await next_of(owner, "coaching"))["message"]["text"] == "Front left tyre hot: 219 °F"

    await database_sync_to_async(unit_preference_set)(user=driver, units=METRIC)
    again = await viewer(driver, f"/ws/live/{sid}/")  # units are read when a viewer connects
    assert (await again.connect())[0]
    await next_of(again, "session")
    await _tell(sid, PRESSURE_HIGH)
    assert (await next_of(again, "coaching"))["message"]["text"] == "Rear right pressure high: 1.95 bar"
    for comm in (owner, holder, again, rig):
        await comm.disconnect()


async def test_a_message_without_numbers_or_with_bad_data_keeps_its_words(rig_and_token, driver) -> None:  # type: ignore[no-untyped-def]
    _, token = rig_and_token
    rig, welcome = await open_session(token)
    owner = await viewer(driver, f"/ws/live/{welcome['session_id']}/")
    assert (await owner.connect())[0]
    await next_of(owner, "session")
    plain = {
        "rule": "overlap",
        "severity": "info",
        "text": "Throttle and brake together: keep your feet apart",
    }
    await _tell(welcome["session_id"], plain)
    assert (await next_of(owner, "coaching"))["message"]["text"] == plain["text"]
    await _tell(welcome["session_id"], {**PRESSURE_HIGH, "data": {"wheel": "rr", "kpa": "lots"}})
    assert (await next_of(owner, "coaching"))["message"]["text"] == PRESSURE_HIGH["text"]
    await owner.disconnect()
    await rig.disconnect()


@pytest.mark.parametrize(
    ("rule", "data", "agent", "imperial"),
    [
        (
            "tyre_critical",
            {"wheel": "fr", "temp_c": 112.4},
            "Front right tyre overheating: 112 °C",
            "Front right tyre overheating: 234 °F",
        ),
        (
            "tyre_camber",
            {"wheel": "rl", "inner_minus_outer_c": 14.0},
            "Rear left inner 14 °C hotter than outer: too much camber",
            "Rear left inner 25 °F hotter than outer: too much camber",
        ),
        (
            "tyre_camber",
            {"wheel": "rl", "inner_minus_outer_c": -9.0},
            "Rear left outer 9 °C hotter than inner: not enough camber",
            "Rear left outer 16 °F hotter than inner: not enough camber",
        ),
        (
            "tyre_pressure_low",
            {"wheel": "fl", "kpa": 150.0},
            "Front left pressure low: 21.8 psi (150 kPa)",
            "Front left pressure low: 21.8 psi",
        ),
        (
            "brake_fade",
            {"wheel": "fl", "temp_c": 820.0},
            "Front left brakes fading: 820 °C",
            "Front left brakes fading: 1508 °F",
        ),
        (
            "coasting",
            {"speed_kmh": 120.0},
            "Coasting at 120 km/h: brake or throttle",
            "Coasting at 75 mph: brake or throttle",
        ),
        ("overlap", {}, None, None),
    ],
)
def test_the_wording_for_the_agent_and_for_a_viewer(
    rule: str, data: dict[str, Any], agent: str | None, imperial: str | None
) -> None:
    assert message_text(rule, data, None) == agent
    assert message_text(rule, data, IMPERIAL) == imperial
    bar = message_text("tyre_pressure_low", {"wheel": "fl", "kpa": 150.0}, Units(pressure="bar"))
    assert bar == "Front left pressure low: 1.50 bar"
