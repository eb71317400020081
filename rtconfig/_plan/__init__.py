"""The plan: what ``apply`` sends, as data (one record per template and environment).

::

    records     PlanRecord, Plan, PlannedField, FieldChange (pure values)
    make        make_plan: resolved templates + lock -> Plan (pure)
    drift       Drift, DriftKind: the one comparison with the lock file (pure)
    lock        the lock file: a projection of a plan; read, parse, write
    saved       saved plans (plan --out): write, fingerprint, freshness
    saved_parse saved plans read back as untrusted input
    render      text and JSON for people and programs (no decisions)

Nothing here imports httpx, structlog or click.
"""
