#!/usr/bin/env bash
# Rebuild the sample fleet (tenants/active, allocations, history) by running the real workflow
# over scripts/seed/*.yaml with pinned timestamps, so the committed samples are reproducible.
set -euo pipefail
cd "$(dirname "$0")/.."
GC="${GOVCLOUD:-.venv/bin/govcloud}"
rm -f tenants/active/*.yaml tenants/requests/applied/*.yaml tenants/history.jsonl
# The governed decisions name tenants that do not exist yet: set them aside, record them at the end.
mkdir -p build
mv tenants/network-exceptions.yaml build/seed-network-exceptions.yaml
[ ! -f policies/waivers.yaml ] || mv policies/waivers.yaml build/seed-waivers.yaml
python3 - <<'PY'
import re, pathlib
p = pathlib.Path("tenants/ipam.yaml")
text = p.read_text()
p.write_text(re.sub(r"(?s)\nstatus:.*", "\nstatus:\n  allocations: []\n", text))
PY
export GOVCLOUD_NOW="2026-04-01T09:00:00Z" GOVCLOUD_ACTOR="platform-team"
# A chain signed from the start: the principals first, then signed approvals with the sample keys
# (samples/keys/; Ed25519 signatures are deterministic, so the result is reproducible), then the
# network exceptions (and waivers, when there are any) signed by the people they need
# (docs/trust.md): the platform, every municipality an item touches, security for My Number.
K=samples/keys
declare -A APPROVER=([011002]=sapporo-ito [131016]=chiyoda-suzuki [132012]=hachioji-takahashi
                     [141003]=yokohama-watanabe [143014]=hayama-nakamura [271004]=osaka-kimura)
"$GC" principals record --key "$K/yamada-taro" >/dev/null
for req in chiyoda-juki yokohama-koseki minato-kokuho sapporo-zaimu osaka-denshi-shinsei; do
  f="scripts/seed/$req.yaml"
  "$GC" request approve "$f" --key "$K/yamada-taro" >/dev/null
  for code in $(python3 -c "import yaml,sys; print(' '.join(yaml.safe_load(open('$f'))['spec']['municipalities']))"); do
    "$GC" request approve "$f" --key "$K/${APPROVER[$code]}" --municipality "$code" >/dev/null
  done
  "$GC" request apply "$f"
done
# Who signs each governed document: every signer its items need, computed by the same rules that
# check them (govcloud.network.intent.exception_requirement, govcloud.policies.engine.waiver_requirement).
signers() {
  .venv/bin/python - "$1" <<'PY'
import sys
from govcloud.workspace import Workspace
from govcloud.tenants import documents
from govcloud.tenants.registry import load_registry
ws = Workspace(__import__("pathlib").Path.cwd())
reg = load_registry(ws)
need = {"yamada-taro"}
approver = {"011002": "sapporo-ito", "131016": "chiyoda-suzuki", "132012": "hachioji-takahashi",
            "141003": "yokohama-watanabe", "143014": "hayama-nakamura", "271004": "osaka-kimura"}
if sys.argv[1] == "exceptions":
    from govcloud.network.intent import NetworkExceptions, exception_requirement
    doc, _ = documents.parse(ws.network_exceptions_file, NetworkExceptions)
    reqs = [exception_requirement(e, reg) for e in doc.spec.exceptions]
else:
    from govcloud.policies.catalogue import load_controls
    from govcloud.policies.engine import Waivers, waiver_requirement
    doc, _ = documents.parse(ws.waivers_file, Waivers)
    reqs = [waiver_requirement(w, load_controls(), reg) for w in doc.spec.waivers]
for r in reqs:
    need |= {approver[c] for c in r.municipalities}
    if r.security:
        need.add("security-mori")
    if r.platform > 1:
        need.add("kobayashi-aiko")
print(" ".join(f"--key samples/keys/{who}" for who in sorted(need)))
PY
}
mv build/seed-network-exceptions.yaml tenants/network-exceptions.yaml
# shellcheck disable=SC2046
"$GC" exceptions record $(signers exceptions) >/dev/null
if [ -f build/seed-waivers.yaml ]; then
  mv build/seed-waivers.yaml policies/waivers.yaml
  # shellcheck disable=SC2046
  "$GC" waivers record $(signers waivers) >/dev/null
fi
