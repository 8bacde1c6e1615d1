"""The one adapter between the report and the network verifier.

Everything the report knows about the network comes through ``prove_workspace``: it reads what
the plans deploy into the verifier's model (the same reading as ``network verify``, through
govcloud.stacks.network_plans), verifies it and turns the verifier's result types into the
report's plain model.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from govcloud.report.model import (AttachmentNode, Bilingual, InvariantVerdict, NetworkProof, Reachable,
                                   TableNode, Violation)

# The three layers of the municipal network (三層の対策) in the order the matrix shows them; any
# other zone a workspace declares follows, sorted.
ZONE_ORDER = ("mynumber", "lgwan", "internet")


@dataclass
class Exception_:
    id: str
    source: str
    destination: str
    protocol: str
    port: int
    approver: str
    expires: dt.date
    justification: str


@dataclass
class ProofResult:
    proof: NetworkProof
    exceptions: list[Exception_] = field(default_factory=list)      # all declared, expired ones included


def zone_order(zones) -> list[str]:
    zones = set(zones)
    return [z for z in ZONE_ORDER if z in zones] + sorted(zones - set(ZONE_ORDER))


def prove_workspace(ws, reg=None, today: dt.date | None = None,
                    quota_overrides: dict[str, int] | None = None, *, plans: list[dict],
                    from_compiled: bool = False) -> ProofResult:
    """Verify what the plans deploy (Cloud WAN + Virtual WAN, as `network verify` does) and return
    the proof as report data. The compiled configuration supplies only the inventory (who serves
    which municipality, declared flows); the routes, tables and rules come from the plans.

    ``from_compiled``: verify the compiled configuration instead. Only for fixtures whose plans
    are synthetic (the whole-country benchmark clones one tenant's plan 1,120 times; real country
    plans take half an hour to make): no command offers it."""
    from govcloud.diagnostics import UsageError
    from govcloud.network import pipeline
    from govcloud.network.compile import QuotaError
    from govcloud.network.errors import NetworkInputError, Unsupported
    from govcloud.network.intent import invariant_catalogue
    from govcloud.network.verify import verify
    from govcloud.stacks.network_proof import prove_plans

    if from_compiled:
        try:
            intent, compiled = pipeline.compile_workspace(ws, ("aws-cloudwan", "azure-vwan"), today=today, reg=reg,
                                                          quota_overrides=quota_overrides)
        except QuotaError as exc:
            raise UsageError(str(exc)) from None
        fabrics = pipeline.fabrics_from_compiled(compiled)
        results = [verify(f) for f in fabrics]
    else:
        # The same entry point as `network verify --plans` and the deploy gate.
        by_stack = {p["govcloud"]["stack"]: p for p in plans}
        try:
            proved = prove_plans(ws, by_stack, reg=reg, quotas=quota_overrides, today=today)
        except (NetworkInputError, Unsupported) as exc:
            raise UsageError(f"the network proof cannot be made from these plans: {exc}") from None
        intent, fabrics, results = proved.intent, proved.fabrics, proved.reports
    if len(fabrics) != 1:
        raise UsageError(f"the plans hold {len(fabrics)} network variants; the report proves one")
    (fabric,), (result,) = fabrics, results
    atts = fabric.attachments

    def zone_of(name: str) -> str:
        return atts.get(name, {}).get("zone", "")

    invariants = []
    for inv in invariant_catalogue():
        count = sum(1 for v in result.violations if v.invariant == inv["id"])
        invariants.append(InvariantVerdict(inv["id"], Bilingual(inv["ja"], inv["en"]), list(inv["layers"]), count))
    zones = zone_order({a["zone"] for a in atts.values() if a.get("zone") and a["kind"] in ("tenant", "site", "external")})
    matrix = {src: {dst: result.matrix.get((src, dst), 0) for dst in zones} for src in zones}
    reachable = [Reachable(r.source, zone_of(r.source), r.destination, zone_of(r.destination), r.protocol, r.port,
                           fabric.declared_reasons.get((r.source, r.destination, r.protocol, r.port), ""),
                           list(r.path))
                 for r in result.reachable]      # the verifier's order: by tenant, deterministic
    tables = []
    for name, table in sorted(fabric.tables.items()):
        targets = {route[0] for by_length in table.by_family.values() for by_key in by_length.values()
                   for routes in by_key.values() for route in routes}
        side = "azure" if name.startswith("vwan:") else "aws"
        owners = {atts[a]["zone"] for a, t in fabric.associated.items() if t == name and a in atts}
        zone = "" if "inspection" in name else (sorted(owners)[0] if len(owners) == 1 else ",".join(sorted(owners)))
        tables.append(TableNode(name, side, zone, len(table), any(t.startswith("inspection-") for t in targets),
                                any(t.startswith("intercloud-") for t in targets)))
    nodes = []
    for name, a in sorted(atts.items()):
        kind = "inspection" if name.startswith("inspection-") else a["kind"]
        nodes.append(AttachmentNode(name, kind, a.get("zone", ""), a.get("cloud", ""), fabric.associated.get(name, ""),
                                    sorted(a.get("municipalities", [])), a.get("vendor", "")))
    pairs = sorted({tuple(sorted((a, b))) for a, b in fabric.peers.items()})
    proof = NetworkProof(
        variant=result.variant, ok=result.ok, invariants=invariants,
        violations=[Violation(v.invariant, v.layer, v.source, v.destination, v.message, list(v.path), v.reading)
                    for v in result.violations],
        matrix=matrix, reachable=reachable, unreachable_declared=[list(d) for d in result.unreachable_declared],
        tables=tables, attachments=nodes, intercloud=[list(p) for p in pairs])
    exceptions = []
    for exc in [*intent.exceptions, *intent.expired]:
        src = exc.source
        source = src.tenant or (f"site:{src.site}" if src.site else f"external:{src.name}")
        exceptions.append(Exception_(exc.id, source, exc.destination.tenant, exc.protocol, exc.port, exc.approver,
                                     exc.expires, exc.justification))
    return ProofResult(proof, sorted(exceptions, key=lambda e: e.id))
