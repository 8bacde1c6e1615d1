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
for req in chiyoda-juki yokohama-koseki minato-kokuho sapporo-zaimu osaka-denshi-shinsei; do
  f="scripts/seed/$req.yaml"
  "$GC" request approve "$f" --by "山田 太郎 (platform)" --role platform >/dev/null
  for code in $(python3 -c "import yaml,sys; print(' '.join(yaml.safe_load(open('$f'))['spec']['municipalities']))"); do
    "$GC" request approve "$f" --by "municipality-$code 情報政策課" --role municipality --municipality "$code" >/dev/null
  done
  "$GC" request apply "$f"
done
