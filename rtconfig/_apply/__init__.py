"""Applying a plan: one job per module.

::

    results     MintResult, MintFailure, FailureKind, ApplyReport (pure values)
    retry       RetryPolicy, Clock: the openai SDK's retry rules (pure)
    preflight   where the key may go and whether it can (pure)
    request     the request a record sends: PreparedRequest (pure; --dry-run shows it)
    responses   the server's answer classified (pure)
    transport   the only httpx import: Sender/AsyncSender over one httpx transport seam
    attempts    one mint's attempts and decisions, the fail-safe audit trail (no I/O)
    engine      Applier (threads) and AsyncApplier (asyncio): send, wait, run many
    run         apply(plan) -> ApplyReport: the whole use case, printing nothing

Importing this package imports nothing: import the module you need (``results`` is light,
``transport`` and everything above it bring in httpx).
"""
