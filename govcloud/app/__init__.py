"""The application layer: one service per stage of the data flow (DESIGN.md §3).

request → tenant → stacks → plan → checks and verification → deploy. Each module here is one
stage's service: typed inputs, typed results, no printing, no exit codes, no knowledge of which
adapter called it. The command line (govcloud.cli), the onboarding service and the HTML report are
adapters over these calls; domain packages (tenants, templates, network, policies, stacks, live)
never import this package or an adapter (checked by tests/test_architecture.py).

Errors are the domain's own: ``DiagnosticError`` (a document or input is wrong: file, line,
field) and ``UsageError`` (the request cannot be carried out); adapters decide how to show them.
"""
