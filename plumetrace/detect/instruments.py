"""What gas instruments respond to: shared by the simulator (to make readings) and attribution (to read them).

A channel ``<species>_<unit>`` of a selective analyser responds to its own species only. A photo-ionisation
detector channel (``voc_<unit>``, calibrated as isobutylene) responds to every species with an ionisation
energy below its 10.6 eV lamp, reading Σ c_s / RF_s with the response factors below.
"""

from __future__ import annotations

#: Approximate PID (10.6 eV lamp) response factors relative to isobutylene (reading = Σ c / RF), after the
#: RAE Systems technical note TN-106. Species with an ionisation energy above the lamp's (methanol 10.8 eV,
#: dichloromethane 11.3 eV, HCl, CH4, CO2, CO) give no response.
PID_RESPONSE_FACTORS = {
    "toluene": 0.5, "acetone": 1.1, "ethanol": 10.0, "benzene": 0.53, "tetrachloroethylene": 0.57,
    "nh3": 9.7, "h2s": 3.3, "voc": 1.0,
}


def channel_response(species: str) -> dict[str, float]:
    """Species → sensitivity of the channel of ``species`` (1 for its own species; PID factors for ``voc``)."""
    if species == "voc":
        return {s: 1.0 / rf for s, rf in PID_RESPONSE_FACTORS.items()}
    return {species: 1.0}
