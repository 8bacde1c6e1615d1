"""Check results in the formats security tools and CI read: text, JSON, SARIF 2.1.0, JUnit XML."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from govcloud import __version__
from govcloud.policies.catalogue import Control
from govcloud.policies.engine import CheckRun

SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def to_json(run: CheckRun, controls: dict[str, Control], lang: str) -> str:
    return json.dumps({
        "stacks": len(run.stacks), "evaluated": run.evaluated,
        "failedMandatory": len(run.failures(controls)), "notes": run.waiver_notes,
        "findings": [{"control": f.control, "title": controls[f.control].title(lang), "severity": controls[f.control].severity,
                      "mode": controls[f.control].mode, "status": f.status, "stack": f.stack, "tenant": f.tenant,
                      "resource": f.resource, "resourceType": f.resource_type, "message": f.message,
                      "remediation": controls[f.control].fix(lang), "waiver": f.waiver} for f in run.findings],
    }, ensure_ascii=False, indent=1) + "\n"


def to_sarif(run: CheckRun, controls: dict[str, Control], lang: str) -> str:
    used = sorted({f.control for f in run.findings} | set(controls))
    rules = [{
        "id": cid, "name": cid.replace("-", ""),
        "shortDescription": {"text": controls[cid].title(lang)},
        "fullDescription": {"text": f"{controls[cid].ja} / {controls[cid].en}"},
        "help": {"text": controls[cid].fix(lang)},
        "defaultConfiguration": {"level": SARIF_LEVEL[controls[cid].severity]},
        "properties": {"security-severity": SECURITY_SEVERITY[controls[cid].severity], "mode": controls[cid].mode,
                       "tags": ["security", "govcloud", *[f"{k}:{v}" for k, v in sorted(controls[cid].references.items())]]},
    } for cid in used]
    index = {cid: i for i, cid in enumerate(used)}
    results = []
    for f in run.findings:
        c = controls[f.control]
        result = {
            "ruleId": f.control, "ruleIndex": index[f.control], "level": SARIF_LEVEL[c.severity],
            "message": {"text": f"{f.message} — {c.fix(lang)}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": f"build/plans/{f.stack}.json"}},
                           "logicalLocations": [{"fullyQualifiedName": f.resource, "kind": "resource"}]}],
            "properties": {"stack": f.stack, "tenant": f.tenant, "resourceType": f.resource_type},
        }
        if f.status == "waived":
            result["suppressions"] = [{"kind": "external", "justification": f.waiver or ""}]
        results.append(result)
    doc = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
           "runs": [{"tool": {"driver": {"name": "govcloud", "version": __version__,
                                         "informationUri": "https://github.com/govcloud/govcloud", "rules": rules}},
                     "results": results}]}
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def to_junit(run: CheckRun, controls: dict[str, Control], lang: str) -> str:
    """One test suite per stack, one test case per failed or waived control and resource, plus
    one passing case per stack so CI shows what was checked."""
    suites = ET.Element("testsuites", name="govcloud check")
    by_stack: dict[str, list] = {s: [] for s in run.stacks}
    for f in run.findings:
        by_stack.setdefault(f.stack, []).append(f)
    for stack, findings in sorted(by_stack.items()):
        failed = [f for f in findings if f.status == "failed" and controls[f.control].mode == "mandatory"]
        suite = ET.SubElement(suites, "testsuite", name=stack, tests=str(len(findings) + 1), failures=str(len(failed)),
                              skipped=str(sum(1 for f in findings if f.status == "waived" or controls[f.control].mode == "advisory")))
        ET.SubElement(suite, "testcase", classname=stack, name="baseline")
        for f in findings:
            c = controls[f.control]
            case = ET.SubElement(suite, "testcase", classname=f"{stack}.{f.control}", name=f"{f.control} {f.resource}")
            if f.status == "waived":
                ET.SubElement(case, "skipped", message=f"waived: {f.waiver}")
            elif c.mode == "advisory":
                ET.SubElement(case, "skipped", message=f"advisory: {f.message}")
            else:
                failure = ET.SubElement(case, "failure", message=f"{c.title(lang)}: {f.message}", type=c.severity)
                failure.text = c.fix(lang)
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
