"""Where to fly next: coverage plans, adaptive follow-up flights, the airspace they keep to (contract 7).

- :mod:`~plumetrace.plan.airspace`: the authorised polygon, no-fly zones, altitude limits, roofs; transits;
- :mod:`~plumetrace.plan.route`: legs → sorties within the battery endurance, flight time;
- :mod:`~plumetrace.plan.coverage`: crosswind legs spaced by the physics of the weakest source sought;
- :mod:`~plumetrace.plan.followup`: legs that maximise the expected information about candidate sources;
- :mod:`~plumetrace.plan.patterns`: the fixed patterns (ladder, orbit) adaptive plans are compared with;
- :mod:`~plumetrace.plan.missions`: a plan as ground-station missions (QGroundControl ``.plan``, WPL, KML).
"""
