"""The analyst web map's files (``static/``), served by :mod:`plumetrace.api.app` at ``/``.

Leaflet comes from ``xstatic-leaflet`` at ``/static/leaflet/``. Nothing is fetched from outside at run time.
"""

from importlib import resources

STATIC = str(resources.files("plumetrace.web") / "static")
