"""Operating windows for tyres and brakes, per car class and compound.

The numbers are coaching defaults, not physics: they say when a driver should hear about a
tyre or a brake. Temperatures are surface/carcass readings in °C, pressures are *hot*
pressures in kPa (the games report gauge pressure; messages convert to psi for drivers who
think in psi). Brake windows differ by material: steel discs (GT3, GT4) fade far below the
point where carbon discs (prototypes, formula cars) start to work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from simcoach_agent.channels import PSI_TO_KPA


@dataclass(frozen=True)
class Window:
    """Thresholds for one car class and compound."""

    tyre_cold_below: float  # °C
    tyre_optimal_lo: float  # °C
    tyre_optimal_hi: float  # °C
    tyre_hot_above: float  # °C
    tyre_critical_above: float  # °C
    press_lo_kpa: float  # hot pressure window
    press_hi_kpa: float
    brake_cold_below: float  # °C, on a braking event
    brake_fade_above: float  # °C


def _psi(lo: float, hi: float) -> tuple[float, float]:
    # Setup sheets quote psi; the table stores kPa rounded to 0.1 so it reads like the wire.
    return round(lo * PSI_TO_KPA, 1), round(hi * PSI_TO_KPA, 1)


def _window(
    temps: tuple[float, float, float, float, float], psi: tuple[float, float], brakes: tuple[float, float]
) -> Window:
    press_lo, press_hi = _psi(*psi)
    return Window(*temps, press_lo, press_hi, *brakes)


STEEL: Final = (150.0, 750.0)  # cold below / fade above, °C
STEEL_GT4: Final = (150.0, 700.0)  # heavier, less cooled GT4 brakes fade sooner
CARBON: Final = (300.0, 1000.0)  # carbon-carbon barely bites below ~300 °C

# (class, compound) -> window. Tyre temps: cold, optimal lo, optimal hi, hot, critical.
WINDOWS: Final[dict[tuple[str, str], Window]] = {
    ("GT3", "dry"): _window((70, 80, 95, 100, 110), (26.0, 27.5), STEEL),
    ("GT3", "wet"): _window((45, 55, 75, 85, 95), (29.5, 31.0), STEEL),
    ("GT4", "dry"): _window((65, 75, 95, 100, 110), (26.5, 27.5), STEEL_GT4),
    ("GT4", "wet"): _window((45, 55, 75, 85, 95), (29.5, 31.0), STEEL_GT4),
    ("LMP2", "dry"): _window((75, 85, 105, 110, 120), (24.0, 26.0), CARBON),
    ("LMP2", "wet"): _window((50, 60, 80, 90, 100), (26.5, 28.5), CARBON),
    ("HYPERCAR", "dry"): _window((75, 85, 105, 110, 120), (23.5, 25.5), CARBON),
    ("HYPERCAR", "wet"): _window((50, 60, 80, 90, 100), (26.0, 28.0), CARBON),
    ("FORMULA", "dry"): _window((80, 90, 110, 115, 125), (21.5, 23.5), (300.0, 1100.0)),
    ("FORMULA", "wet"): _window((50, 60, 85, 95, 105), (23.5, 25.5), (300.0, 1100.0)),
}

# Names games and users give the classes, folded onto the table's rows.
ALIASES: Final[dict[str, str]] = {
    "GTE": "GT3",
    "LMGTE": "GT3",
    "LMGT3": "GT3",
    "LMH": "HYPERCAR",
    "LMDH": "HYPERCAR",
    "HY": "HYPERCAR",
    "F1": "FORMULA",
    "F2": "FORMULA",
    "F3": "FORMULA",
    "OPENWHEEL": "FORMULA",
}


def window_for(car_class: str, compound: str = "dry") -> Window:
    """The window for a car class and compound; unknown classes fall back to GT3.

    Any compound other than "wet" (e.g. "slick", "soft", "hard") counts as dry.
    """
    key = car_class.strip().upper().replace(" ", "").replace("-", "")
    key = ALIASES.get(key, key)
    comp = "wet" if compound.strip().lower() in ("wet", "rain", "inter", "intermediate") else "dry"
    return WINDOWS.get((key, comp)) or WINDOWS[("GT3", comp)]
