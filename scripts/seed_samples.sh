#!/usr/bin/env bash
# Rebuild the sample fleet (tenants/active, allocations, history) by running the real workflow
# over scripts/seed/*.yaml with pinned timestamps, so the committed samples are reproducible.
set -euo pipefail
cd "$(dirname "$0")/.."
GC="${GOVCLOUD:-.venv/bin/govcloud}"
rm -f tenants/active/*.yaml tenants/requests/applied/*.yaml tenants/history.jsonl
python3 - <<'PY'
import re, pathlib
p = pathlib.Path("tenants/ipam.yaml")
text = p.read_text()
p.write_text(re.sub(r"(?s)\nstatus:.*", "\nstatus:\n  allocations: []\n", text))
PY
export GOVCLOUD_NOW="2026-04-01T09:00:00Z" GOVCLOUD_ACTOR="platform-team"
# The committed history was seeded before approvals were signed: its approvals are unsigned
# (reported as legacy by `history verify`) and entry #18 records tenants/principals.yaml. Seeding
# again gives a chain signed from the start: the principals first, then signed approvals with the
# sample keys (samples/keys/; Ed25519 signatures are deterministic, so the result is reproducible).
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
