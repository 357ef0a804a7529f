from __future__ import annotations

from django import forms

from simcoach_site.lib.units import PRESSURES, SPEEDS, TEMPERATURES


class UnitsForm(forms.Form):
    speed = forms.ChoiceField(choices=[(u, u) for u in SPEEDS])
    pressure = forms.ChoiceField(choices=[(u, u) for u in PRESSURES], help_text="tyre pressures")
    temperature = forms.ChoiceField(choices=[(u, u) for u in TEMPERATURES], help_text="tyres, brakes, engine")
