"""The govcloud baseline as a Pulumi CrossGuard policy pack:

    pulumi preview --policy-pack policies/
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from crossguard import build_policies  # noqa: E402

PolicyPack(
    name="govcloud-baseline",
    description="Japan Government Cloud security baseline (BLEA, CIS, FSBP, MCSB, Government Cloud specifics)",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=build_policies(),
)
