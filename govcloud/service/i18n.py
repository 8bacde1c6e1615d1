"""The portal's texts in Japanese (the default) and English (``?lang=en``, then remembered in a
cookie). Diagnostics keep the wording of the validator (the same codes and messages as the CLI);
only the portal's own labels are translated here."""

from __future__ import annotations

LANGS = ("ja", "en")
COOKIE = "govcloud-lang"

TEXTS: dict[str, tuple[str, str]] = {
    # key: (ja, en)
    "title": ("ガバメントクラウド 申請ポータル", "Government Cloud onboarding portal"),
    "signin": ("サインイン", "Sign in"),
    "signout": ("サインアウト", "Sign out"),
    "token": ("アクセストークン", "Access token"),
    "token_help": ("プラットフォーム担当者が発行したアクセストークン（gcp_…）を入力してください。",
                   "Paste the access token (gcp_…) the platform team issued to you."),
    "oidc": ("シングルサインオン（OIDC）でサインイン", "Sign in with single sign-on (OIDC)"),
    "or": ("または", "or"),
    "signin_failed": ("サインインできませんでした。トークンを確認してください。", "Sign-in failed: check the token."),
    "submissions": ("申請一覧", "Requests"),
    "new_submission": ("新しい申請", "New request"),
    "tenants": ("テナント", "Tenants"),
    "history": ("履歴", "History"),
    "findings": ("検査結果", "Findings"),
    "no_findings": ("不合格・免除はありません", "No failures or waivers"),
    "severity": ("重大度", "Severity"),
    "stack": ("スタック", "Stack"),
    "resource": ("リソース", "Resource"),
    "id": ("番号", "No."),
    "request": ("申請名", "Request"),
    "vendor": ("事業者", "Vendor"),
    "status": ("状態", "Status"),
    "updated": ("更新", "Updated"),
    "municipalities": ("地方公共団体", "Municipalities"),
    "none": ("ありません", "None"),
    "yaml": ("申請 YAML（TenantRequest）", "Request YAML (TenantRequest)"),
    "upload": ("または YAML ファイルをアップロード", "or upload a YAML file"),
    "submit": ("申請する", "Submit"),
    "revise": ("修正して再申請", "Revise and resubmit"),
    "withdraw": ("取り下げる", "Withdraw"),
    "approve": ("承認する（署名）", "Approve (signed)"),
    "reject": ("差し戻す", "Reject"),
    "apply": ("適用する（テナント作成）", "Apply (create tenants)"),
    "comment": ("コメント", "Comment"),
    "add_comment": ("コメントする", "Add comment"),
    "diagnostics": ("検証結果", "Validation"),
    "valid": ("問題はありません", "No problems found"),
    "problems": ("件の問題があります", "problem(s) found"),
    "code": ("コード", "Code"),
    "line": ("行", "Line"),
    "field": ("項目", "Field"),
    "message": ("内容", "Message"),
    "summary": ("申請の概要", "Summary"),
    "system": ("業務システム", "System"),
    "usage": ("利用方式", "Usage"),
    "cloud_region": ("クラウド／リージョン", "Cloud / region"),
    "zone": ("ゾーン", "Zone"),
    "environments": ("環境と割り当て予定の CIDR", "Environments and CIDRs to be allocated"),
    "environment": ("環境", "Environment"),
    "tenant": ("テナント", "Tenant"),
    "cidr": ("CIDR", "CIDR"),
    "publishes": ("公開する API", "Published APIs"),
    "consumes": ("利用する API", "Consumed APIs"),
    "approvals": ("承認", "Approvals"),
    "counted": ("有効な承認", "Counted approvals"),
    "missing": ("未承認", "Missing"),
    "ignored": ("数えない承認", "Not counted"),
    "complete": ("すべての承認がそろっています", "All approvals are in"),
    "timeline": ("経過", "Timeline"),
    "revision": ("版", "Revision"),
    "signature_optional": ("SSH 署名（任意。ssh-keygen -Y sign -n govcloud-approval で署名文に署名したもの）。空欄ならサービスが代理署名します。",
                           "SSH signature (optional: ssh-keygen -Y sign -n govcloud-approval over the statement). Empty: the service signs for you."),
    "statement": ("署名文を表示", "Show the statement to sign"),
    "municipality": ("団体コード", "Municipality code"),
    "preflight": ("事前確認（計画・ベースライン・ネットワーク証明）", "Preflight (plan, baseline, network proof)"),
    "preflight_pass": ("事前確認に合格しました", "Preflight passed"),
    "preflight_fail": ("事前確認で問題が見つかりました", "Preflight found problems"),
    "proof_holds": ("ネットワーク証明", "Network proof"),
    "holds": ("成立", "holds"),
    "fails": ("不成立", "fails"),
    "failed_mandatory": ("必須コントロールの不合格", "Mandatory controls failed"),
    "paths_opened": ("新たに到達可能になる経路", "New reachable paths"),
    "stacks_changed": ("変更されるスタック", "Stacks changed"),
    "role": ("役割", "Role"),
    "signed_in_as": ("サインイン中", "Signed in as"),
    "language": ("English", "日本語"),
    "entries": ("件の記録", "entries"),
    "head": ("最新ハッシュ", "Head"),
    "approved_by": ("承認者", "Approved by"),
    "signer": ("署名", "Signer"),
    "error": ("エラー", "Error"),
    "back": ("戻る", "Back"),
    "applied_tenants": ("作成されたテナント", "Tenants created"),
    "readonly": ("閲覧のみ", "read-only"),
    "status_draft": ("下書き（要修正）", "draft (needs fixing)"),
    "status_submitted": ("審査中", "submitted"),
    "status_withdrawn": ("取り下げ", "withdrawn"),
    "status_applied": ("適用済み", "applied"),
    "status_rejected": ("差し戻し", "rejected"),
    "kind_revision": ("申請（版）", "revision"),
    "kind_approve": ("承認", "approved"),
    "kind_reject": ("差し戻し", "rejected"),
    "kind_apply": ("適用", "applied"),
    "kind_comment": ("コメント", "comment"),
    "kind_withdraw": ("取り下げ", "withdrawn"),
    "role_vendor": ("事業者", "vendor"),
    "role_municipality": ("地方公共団体", "municipality"),
    "role_platform": ("プラットフォーム", "platform"),
    "role_security": ("セキュリティ", "security"),
    "approval_verified": ("検証済み", "verified"),
    "approval_unsigned": ("署名なし（証明にならない）", "unsigned (proves nothing)"),
    "approval_invalid": ("無効", "invalid"),
    "approval_withdrawn": ("取り下げ済み", "withdrawn"),
    "stale_title": ("申請が変更されました", "The request changed"),
    "stale_help": ("表示していた内容から申請が変わりました。何も署名・記録されていません。現在の内容を確認してから、もう一度判断してください。",
                   "The request changed since you looked at it. Nothing was signed or recorded. Review the current "
                   "content, then decide again."),
    "you_saw": ("確認した版", "You reviewed"),
    "now_is": ("現在の版", "It is now"),
    "changes": ("変更点", "What changed"),
    "current_content": ("現在の内容", "Current content"),
    "review_again": ("もう一度確認する", "Review again"),
    "being": ("処理中", "in progress"),
}


def translator(lang: str):
    index = 0 if lang == "ja" else 1

    def t(key: str) -> str:
        pair = TEXTS.get(key)
        return pair[index] if pair else key

    return t


def choose(query: str | None, cookie: str | None) -> str:
    if query in LANGS:
        return query
    if cookie in LANGS:
        return cookie
    return "ja"
