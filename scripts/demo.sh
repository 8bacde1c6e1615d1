#!/usr/bin/env bash
# The main job on the embedded sample workspace, as a new user would run it. Read-only on the
# repository: the onboarding part runs in a scratch copy under build/demo.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step govcloud validate
step govcloud request validate tenants/requests/examples/*.yaml
step govcloud history verify
step govcloud tenant list
step govcloud network compile    # SDN intent → Cloud WAN / Transit Gateway / Virtual WAN config
step govcloud network verify     # prove the zone, municipality and least-privilege invariants
step govcloud network explain --from 271004-denshi-shinsei-prod --to minato-data-kokuho-prod --port 443
step govcloud plan --all          # offline plans of every stack under Pulumi's mock runtime (cached)
step govcloud check --lang en     # the baseline controls over every plan (exit 1 on a mandatory failure)

# Onboarding in a scratch workspace: signed approvals by the platform and the municipality (the
# sample principals' keys in samples/keys/ — published samples, never for real use), apply, and a
# history that proves who approved what.
rm -rf build/demo && mkdir -p build/demo
cp -r tenants Pulumi.yaml Pulumi.network.yaml build/demo/
rm -rf build/demo/tenants/__pycache__
export GOVCLOUD_ROOT="$PWD/build/demo" GOVCLOUD_ACTOR="demo"
req=build/demo/tenants/requests/examples/hachioji-juki.yaml
step govcloud request approve "$req" --key samples/keys/yamada-taro
step govcloud request approve "$req" --key samples/keys/hachioji-takahashi
step govcloud request status "$req"
step govcloud request apply "$req"
step govcloud history verify

# A waiver counts only once recorded and signed by the people it needs (docs/trust.md): for a
# mandatory control of Hachioji's My Number tenant, the platform, Hachioji's approver and security.
mkdir -p build/demo/policies
cat > build/demo/policies/waivers.yaml <<'YAML'
apiVersion: govcloud/v1
kind: Waivers
metadata: {name: waivers}
spec:
  waivers:
    - control: GC-AWS-KMS-1
      tenant: 132012-juki-staging
      reason: 検証環境の鍵を移行期間中だけ手動でローテーションする
      approver: 八王子市 情報管理課 / security team
      expires: 2027-03-31
YAML
step govcloud validate || true    # refused: policies/waivers.yaml is not recorded (GC608)
step govcloud waivers record --key samples/keys/yamada-taro --key samples/keys/hachioji-takahashi --key samples/keys/security-mori
step govcloud history verify

# Live operations against the local dev cloud (moto on 127.0.0.1), in the scratch workspace.
trap 'govcloud dev-cloud stop >/dev/null 2>&1 || true' EXIT
step govcloud dev-cloud start         # seeded as deployed: organisation, vended accounts, baselines, TGW
step govcloud accounts vend 131016-juki-prod   # finds the account, records status.accountId
step govcloud audit --lang en         # the same controls as check, over the live accounts
step govcloud network drift           # live security groups and TGW vs the compiled intent, verified
# The same two as JSON, for the report's live section (exit 1 would mean findings: still worth a report).
govcloud audit --format json --out build/demo/audit.json || true
govcloud network drift --format json > build/demo/drift.json || true
step govcloud dev-cloud stop
trap - EXIT

# The review of this change (hachioji-juki onboarded) against the repository's workspace: on the
# terminal, then as one self-contained HTML page with the fleet, the proof, findings and live state.
# hachioji-juki is a reviewed onboarding into the My Number zone: its new paths are allowed, a newly
# broken invariant would still stop the demo (exit 1).
step govcloud diff --base "$PWD" --lang en --allow-mynumber-paths
step govcloud report --base "$PWD" --live build/demo/audit.json --live build/demo/drift.json --out "$PWD/build/report.html"
unset GOVCLOUD_ROOT

printf '\n\033[1mSummary\033[0m\n'
govcloud tenant list --format json | python3 -c '
import json, sys, collections
tenants = json.load(sys.stdin)
by = collections.Counter((t["spec"]["cloud"], t["spec"]["zone"]) for t in tenants)
print(f"sample workspace: {len(tenants)} tenants over", len({m for t in tenants for m in t["spec"]["municipalities"]}), "municipalities")
for (cloud, zone), n in sorted(by.items()):
    print(f"  {cloud:6} {zone:9} {n}")
'
echo "scratch onboarding: build/demo now holds $(ls build/demo/tenants/active | wc -l) tenants (hachioji-juki applied)"
python3 - <<'PY'
import json, pathlib
plans = [json.loads(p.read_text()) for p in sorted(pathlib.Path("build/plans").glob("*.json")) if p.name != "index.json"]
print(f"plans: {len(plans)} stacks, {sum(p['govcloud']['summary']['resources'] for p in plans)} resources in build/plans/")
PY
printf '\nreport: %s (open it in a browser; it loads nothing from anywhere)\n' "$PWD/build/report.html"
