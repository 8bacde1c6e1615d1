#!/usr/bin/env bash
# The onboarding story through the service (issue 13), in a scratch workspace: `govcloud serve` is
# started on 127.0.0.1 and stopped again. A vendor submits a request with an error and sees it at
# its field, fixes it; the municipality and the platform approve (signed by the service's key for
# them); the platform runs the preflight and applies; the tenants appear; history verify proves
# who approved. Then it prints how to start the service and sign in as each sample principal.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
KEYS="$PWD/samples/keys"

rm -rf build/demo-service && mkdir -p build/demo-service/.govcloud
cp -r tenants Pulumi.yaml Pulumi.network.yaml build/demo-service/
rm -rf build/demo-service/tenants/__pycache__ build/demo-service/tenants/*.py
install -m 600 "$KEYS/onboarding-service" build/demo-service/.govcloud/service_ed25519
export GOVCLOUD_ROOT="$PWD/build/demo-service"

declare -A TOKEN
for who in asuka-sato hachioji-takahashi yamada-taro security-mori; do
  TOKEN[$who]=$(govcloud serve token create --principal "$who" --name demo --expires-days 1 --key "$KEYS/yamada-taro" 2>/dev/null)
done
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
govcloud serve --port "$PORT" > build/demo-service/serve.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf -o /dev/null "$BASE/signin" && break; sleep 0.2; done

api() {  # api PRINCIPAL METHOD PATH [curl args...]: prints the JSON answer, compact
  local who=$1 method=$2 path=$3; shift 3
  curl -s -X "$method" "$BASE/api/v1$path" -H "Authorization: Bearer ${TOKEN[$who]}" "$@"
}
show() { python3 -c "import json,sys; d=json.load(sys.stdin); print(json.dumps($1, ensure_ascii=False))"; }

req=tenants/requests/examples/hachioji-juki.yaml
printf '\n\033[1mvendor asuka-sato submits with a typo in the region\033[0m\n'
sid=$(sed 's/region: ap-northeast-1/region: ap-northeast-9/' "$req" | api asuka-sato POST /submissions \
      -H 'Content-Type: application/yaml' --data-binary @- | tee build/demo-service/submitted.json | show 'd["id"]')
show '[d["status"], [(x["code"], x["line"], x["field"], x["message"]) for x in d["revision"]["diagnostics"]]]' \
  < build/demo-service/submitted.json
printf '\n\033[1mthe vendor revises\033[0m\n'
api asuka-sato POST "/submissions/$sid/revisions" -H 'Content-Type: application/yaml' --data-binary @"$req" \
  | tee build/demo-service/revised.json | show '[d["status"], d["revision"]["number"], d["revision"]["digest"]]'
# Approvals name the digest the approver reviewed; the service signs only that (docs/service-approvals.md).
digest=$(show 'd["revision"]["digest"]' < build/demo-service/revised.json | tr -d '"')
printf '\n\033[1mthe municipality approver (八王子市) sees the summary and approves\033[0m\n'
api hachioji-takahashi GET "/submissions/$sid/summary" \
  | show '{k: d["summary"][k] for k in ("system_ja", "zone", "cloud", "region", "tenants", "publishes")}'
api hachioji-takahashi POST "/submissions/$sid/approvals" -H 'Content-Type: application/json' -d "{\"comment\": \"承認します\", \"digest\": \"$digest\"}" \
  | show '[d["historySeq"], d["role"], d["municipality"], d["signedBy"], d["serviceKey"]]'
printf '\n\033[1mthe platform runs the preflight, approves and applies\033[0m\n'
api yamada-taro POST "/submissions/$sid/preflight" \
  | show '{"ok": d["ok"], "stacks": d["stacks"], "findings": d["findings"], "violations": d["violations"], "newReachable": d["newReachable"]}'
api yamada-taro POST "/submissions/$sid/approvals" -H 'Content-Type: application/json' -d "{\"digest\": \"$digest\"}" | show '[d["historySeq"], d["role"]]'
api yamada-taro POST "/submissions/$sid/apply" | show 'd["tenants"]'
printf '\n\033[1mthe security team reads the proof\033[0m\n'
api security-mori GET /history | show '[(a["seq"], a["request"], a["principal"], a["signer"]) for a in d["approvals"] if a["request"] == "hachioji-juki"]'
kill $SERVER; wait $SERVER 2>/dev/null || true; trap - EXIT
step govcloud history verify
step govcloud tenant show 132012-juki-prod
unset GOVCLOUD_ROOT

cat <<'TXT'

To run the service yourself on the sample workspace:
  mkdir -p .govcloud && install -m 600 samples/keys/onboarding-service .govcloud/service_ed25519
  govcloud serve --port 8080
and, in another terminal, a token for whoever you sign in as (issued with a platform key):
  govcloud serve token create --principal asuka-sato         --name demo --key samples/keys/yamada-taro   # vendor
  govcloud serve token create --principal hachioji-takahashi --name demo --key samples/keys/yamada-taro   # 八王子市
  govcloud serve token create --principal yamada-taro        --name demo --key samples/keys/yamada-taro   # platform
  govcloud serve token create --principal security-mori      --name demo --key samples/keys/yamada-taro   # security
then open http://127.0.0.1:8080/signin and paste the token (English: http://127.0.0.1:8080/signin?lang=en).
TXT
