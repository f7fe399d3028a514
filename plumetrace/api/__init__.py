"""The analyst service (contract 8).

:mod:`~plumetrace.api.accounts`: organisations, users and API tokens — who may use the service. The REST API and
the web map build on it (issue #17).
"""
