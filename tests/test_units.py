"""simcoach_site/lib/units.py: conversions, unit names, the locale default, bad names refused."""

from __future__ import annotations

import pytest

from simcoach_site.lib.units import (
    IMPERIAL,
    METRIC,
    STORED,
    UnitError,
    Units,
    channel_unit,
    convert,
    display_unit,
    fmt,
    linear,
    units_for_locale,
    units_make,
)

PSI = Units(pressure="psi")
BAR = Units(pressure="bar")
MPH = Units(speed="mph")
FAHRENHEIT = Units(temperature="°F")


class TestConversion:
    def test_it_converts_known_points(self) -> None:
        assert convert(160.9344, "km/h", MPH) == pytest.approx(100.0)
        assert convert(172.369, "kPa", PSI) == pytest.approx(25.0, abs=1e-4)  # 25 psi, a GT3 hot target
        assert convert(172.369, "kPa", BAR) == pytest.approx(1.72369)
        assert convert(100.0, "°C", FAHRENHEIT) == pytest.approx(212.0)
        assert convert(-40.0, "°C", FAHRENHEIT) == pytest.approx(-40.0)

    def test_it_scales_a_temperature_difference_without_the_offset(self) -> None:
        assert convert(10.0, "°C", FAHRENHEIT, difference=True) == pytest.approx(18.0)

    def test_it_leaves_other_units_and_stored_units_alone(self) -> None:
        assert convert(12.5, "l", IMPERIAL) == 12.5
        assert convert(250.0, "km/h", STORED) == 250.0
        assert convert(180.0, "kPa", STORED) == 180.0

    def test_linear_matches_convert(self) -> None:
        for stored in ("km/h", "kPa", "°C", "m"):
            scale, offset = linear(stored, IMPERIAL)
            assert 37.0 * scale + offset == pytest.approx(convert(37.0, stored, IMPERIAL))

    def test_it_names_the_shown_unit(self) -> None:
        assert display_unit("km/h", MPH) == "mph"
        assert display_unit("kPa", BAR) == "bar"
        assert display_unit("°C", FAHRENHEIT) == "°F"
        assert display_unit("m", IMPERIAL) == "m"
        assert channel_unit("tyre_press_fl", PSI) == "psi"
        assert channel_unit("speed", MPH) == "mph"

    def test_it_formats_with_the_unit_and_a_dash_for_nothing(self) -> None:
        assert fmt(172.369, "kPa", PSI) == "25.0 psi"
        assert fmt(172.369, "kPa", BAR) == "1.72 bar"
        assert fmt(160.9344, "km/h", MPH) == "100 mph"
        assert fmt(None, "km/h", MPH) == "–"
        assert fmt(float("nan"), "°C", METRIC) == "–"
        assert fmt(float("inf"), "°C", METRIC) == "–"
        assert fmt("", "km/h", MPH) == "–"  # a template's value for a key a lap does not have
        assert fmt(True, "km/h", MPH) == "–"
        assert fmt(-0.1, "°C", METRIC) == "0 °C"  # no "-0"


class TestUnitsRefusal:
    def test_it_refuses_an_unknown_unit_naming_the_choices(self) -> None:
        with pytest.raises(UnitError, match="unknown pressure unit 'atm': one of kPa, psi, bar"):
            units_make(speed="km/h", pressure="atm", temperature="°C")
        with pytest.raises(UnitError, match="unknown speed unit"):
            units_make(speed="knots", pressure="bar", temperature="°C")
        with pytest.raises(UnitError, match="unknown temperature unit"):
            units_make(speed="mph", pressure="bar", temperature="K")

    def test_it_refuses_an_unknown_channel(self) -> None:
        with pytest.raises(UnitError, match="unknown channel 'warp'"):
            channel_unit("warp", METRIC)


class TestLocaleDefault:
    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            ("en-US,en;q=0.9", IMPERIAL),
            ("en_us", IMPERIAL),
            ("es-PR", IMPERIAL),
            ("en-GB,en;q=0.9", METRIC),
            ("de-DE", METRIC),
            ("en", METRIC),  # no region: no evidence of mph
            ("", METRIC),
            (None, METRIC),
            (";;,,garbage", METRIC),
        ],
    )
    def test_it_guesses_from_the_first_language_tag(self, header: str | None, expected: Units) -> None:
        assert units_for_locale(header) == expected

    def test_the_defaults_are_what_the_docs_say(self) -> None:
        assert IMPERIAL == Units(speed="mph", pressure="psi", temperature="°F")
        assert METRIC == Units(speed="km/h", pressure="bar", temperature="°C")
