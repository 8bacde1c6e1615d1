"""Check results in the formats security tools and CI read: text, JSON, SARIF 2.1.0, JUnit XML."""

from __future__ import annotations

import hashlib
import json
import re
from importlib import metadata
from xml.etree import ElementTree as ET

from govcloud import __version__
from govcloud.policies.catalogue import Control
from govcloud.policies.engine import CheckRun

SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def _project_url() -> str | None:
    """The tool's home as the installed package declares it ([project.urls] in pyproject.toml);
    SARIF's informationUri is optional, so none is better than a made-up one."""
    try:
        urls = metadata.metadata("govcloud").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() in ("homepage", "documentation", "repository"):
            return url.strip()
    return None


PROJECT_URL = _project_url()


def to_json(run: CheckRun, controls: dict[str, Control], lang: str) -> str:
    return json.dumps({
        "stacks": len(run.stacks), "evaluated": run.evaluated,
        "failedMandatory": len(run.failures(controls)), "notes": run.waiver_notes,
        "findings": [{"control": f.control, "title": controls[f.control].title(lang), "severity": controls[f.control].severity,
                      "mode": controls[f.control].mode, "status": f.status, "stack": f.stack, "tenant": f.tenant,
                      "resource": f.resource, "resourceType": f.resource_type, "message": f.message,
                      "remediation": controls[f.control].fix(lang), "waiver": f.waiver} for f in run.findings],
    }, ensure_ascii=False, indent=1) + "\n"


def rule_name(control: Control) -> str:
    """SARIF's rule name is a readable identifier distinct from the id (SARIF 2.1.0 §3.49.7):
    the English title in PascalCase, e.g. CloudTrailLogFileValidationIsEnabled."""
    words = re.findall(r"[A-Za-z0-9]+", control.en)
    return "".join(w[:1].upper() + w[1:] for w in words) or control.id.replace("-", "")


def fingerprint(control: str, resource: str) -> str:
    """Stable identity of a finding across runs (partialFingerprints, SARIF 2.1.0 §3.27.17): the
    control and the resource URN, not the message or the line, so code scanning tracks it."""
    return hashlib.sha256(f"{control}\n{resource}".encode("utf-8")).hexdigest()


def to_sarif(run: CheckRun, controls: dict[str, Control], lang: str, sources: dict[str, str] | None = None) -> str:
    """``sources``: stack -> the plan file that was read for it (a path relative to the repository
    root, or a URI). A stack without one points at no file: SARIF allows logical locations alone."""
    used = sorted({f.control for f in run.findings} | set(controls))
    rules = [{
        "id": cid, "name": rule_name(controls[cid]),
        "shortDescription": {"text": controls[cid].title(lang)},
        "fullDescription": {"text": f"{controls[cid].ja} / {controls[cid].en}"},
        "help": {"text": controls[cid].fix(lang)},
        "defaultConfiguration": {"level": SARIF_LEVEL[controls[cid].severity]},
        "properties": {"security-severity": SECURITY_SEVERITY[controls[cid].severity], "mode": controls[cid].mode,
                       "tags": ["security", "govcloud", *[f"{k}:{v}" for k, v in sorted(controls[cid].references.items())]]},
    } for cid in used]
    index = {cid: i for i, cid in enumerate(used)}
    sources = sources or {}
    results = []
    for f in run.findings:
        c = controls[f.control]
        location: dict = {"logicalLocations": [{"fullyQualifiedName": f.resource, "kind": "resource"}]}
        if f.stack in sources:
            location["physicalLocation"] = {"artifactLocation": {"uri": sources[f.stack]}}
        result = {
            "ruleId": f.control, "ruleIndex": index[f.control], "level": SARIF_LEVEL[c.severity],
            "message": {"text": f"{f.message} — {c.fix(lang)}"},
            "locations": [location],
            "partialFingerprints": {"govcloudFinding/v1": fingerprint(f.control, f.resource)},
            "properties": {"stack": f.stack, "tenant": f.tenant, "resourceType": f.resource_type},
        }
        if f.status == "waived":
            result["suppressions"] = [{"kind": "external", "justification": f.waiver or ""}]
        results.append(result)
    driver = {"name": "govcloud", "version": __version__, "rules": rules}
    if PROJECT_URL:
        driver["informationUri"] = PROJECT_URL
    doc = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
           "runs": [{"tool": {"driver": driver}, "results": results}]}
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def to_junit(run: CheckRun, controls: dict[str, Control], lang: str) -> str:
    """One test suite per stack and one test case per control evaluated on it, so CI dashboards
    count what was checked: a case fails when a mandatory control fails on any resource of the
    stack (every resource listed), is skipped when all its findings are waived or advisory."""
    suites = ET.Element("testsuites", name="govcloud check")
    findings: dict[tuple[str, str], list] = {}
    for f in run.findings:
        findings.setdefault((f.stack, f.control), []).append(f)
    stacks = sorted(set(run.stacks) | {s for s, _ in findings})
    for stack in stacks:
        checked = sorted(run.checked.get(stack, set()) | {c for s, c in findings if s == stack})
        suite = ET.SubElement(suites, "testsuite", name=stack, tests=str(len(checked)))
        failures = skipped = 0
        for cid in checked:
            c = controls[cid]
            case = ET.SubElement(suite, "testcase", classname=stack, name=f"{cid} {c.title(lang)}")
            found = findings.get((stack, cid), [])
            failed = [f for f in found if f.status == "failed"]
            if failed and c.mode == "mandatory":
                failures += 1
                failure = ET.SubElement(case, "failure", message=f"{c.title(lang)}: {failed[0].message}"
                                        + (f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""), type=c.severity)
                failure.text = "\n".join([*(f"{f.resource}: {f.message}" for f in failed), f"→ {c.fix(lang)}"])
            elif found:
                skipped += 1
                reason = "advisory" if c.mode == "advisory" and failed else "waived"
                ET.SubElement(case, "skipped", message=f"{reason}: " + "; ".join(
                    f.waiver or f.message for f in found)[:500])
        suite.set("failures", str(failures))
        suite.set("skipped", str(skipped))
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def to_text(run: CheckRun, controls: dict[str, Control], lang: str) -> list[str]:
    lines = []
    for f in run.findings:
        c = controls[f.control]
        mark = "WAIVED" if f.status == "waived" else ("FAIL" if c.mode == "mandatory" else "WARN")
        lines.append(f"{mark:6} {f.control} [{c.severity}] {f.stack}: {c.title(lang)} — {f.message}")
        lines.append(f"       {f.resource}")
        lines.append(f"       → {c.fix(lang)}" + (f" (waiver: {f.waiver})" if f.waiver else ""))
    failed = len(run.failures(controls))
    lines.append(f"{len(run.stacks)} stack(s), {len(controls)} controls, {run.evaluated} evaluations: "
                 f"{failed} mandatory failure(s), {sum(1 for f in run.findings if f.status == 'waived')} waived, "
                 f"{len(run.failures(controls, mandatory_only=False)) - failed} advisory")
    return lines
