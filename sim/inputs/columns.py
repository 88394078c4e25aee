"""Which column of a case-record export plays which role: found by name, or mapped.

Government service platforms (政务服务平台) export case records (办件数据) with Chinese
headers, process-mining tools with XES names, other systems with English ones. A role
(``case``, ``step``, ``start``, ...) is found by the first of its known names that a
header matches after folding case, spaces, underscores and hyphens; ``--columns
role=header,...`` names them instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from sim.domain.errors import InputError
from sim.domain.suggest import did_you_mean

ROLES: dict[str, tuple[str, ...]] = {
    "case": (
        "case:concept:name",
        "case_id",
        "case",
        "caseid",
        "case id",
        "case number",
        "办件编号",
        "办件号",
        "办件流水号",
        "受理编号",
        "业务编号",
        "申请编号",
        "案件编号",
        "流水号",
    ),
    "step": (
        "concept:name",
        "activity",
        "step",
        "task",
        "activity name",
        "环节名称",
        "环节",
        "办理环节",
        "步骤名称",
        "节点名称",
        "活动名称",
    ),
    "timestamp": (
        "time:timestamp",
        "timestamp",
        "time",
        "event time",
        "date",
        "时间",
        "发生时间",
        "操作时间",
        "办理时间",
    ),
    "start": (
        "start_timestamp",
        "start time",
        "start",
        "start date",
        "started",
        "开始时间",
        "环节开始时间",
        "接收时间",
        "签收时间",
    ),
    "end": (
        "complete_timestamp",
        "end_timestamp",
        "end time",
        "end",
        "end date",
        "completion time",
        "complete time",
        "completed",
        "结束时间",
        "环节结束时间",
        "完成时间",
        "办结时间",
    ),
    "lifecycle": (
        "lifecycle:transition",
        "lifecycle",
        "transition",
        "event type",
        "事件类型",
    ),
    "resource": (
        "org:resource",
        "resource",
        "user",
        "handler",
        "performer",
        "办理人",
        "经办人",
        "处理人",
        "承办人",
    ),
    "agency": (
        "org:group",
        "group",
        "agency",
        "department",
        "部门",
        "办理部门",
        "承办部门",
        "受理部门",
        "机构",
        "单位",
    ),
    "procedure": (
        "case:procedure",
        "procedure",
        "process",
        "matter",
        "service",
        "事项名称",
        "事项",
        "业务名称",
    ),
    "deadline": (
        "case:deadline",
        "deadline",
        "due date",
        "due",
        "截止时间",
        "承诺办结时间",
        "法定办结时间",
    ),
    "deadline_days": (
        "case:deadline_days",
        "deadline_days",
        "deadline days",
        "promised days",
        "承诺时限",
        "承诺时限(工作日)",
        "承诺期限",
        "法定时限",
        "办理时限",
    ),
    "status": (
        "case:status",
        "status",
        "case status",
        "办件状态",
        "办理状态",
        "状态",
    ),
}
"""Each role and the header names it is found by, in order of preference."""

REQUIRED = ("case", "step")
TIME_ROLES = ("timestamp", "start", "end")


def fold(name: str) -> str:
    """A header as compared: lower case, no spaces, underscores, hyphens or full-width brackets."""
    text = str(name).strip().lower().replace("（", "(").replace("）", ")")
    return re.sub(r"[\s_\-]+", "", text)


def parse_mapping(text: str | None) -> dict[str, str]:
    """The ``--columns`` option: ``role=header`` pairs separated by commas.

    Raises:
        InputError: A pair without ``=``, an unknown role, or a role named twice.
    """
    mapping: dict[str, str] = {}
    if not text:
        return mapping
    for part in text.split(","):
        if not part.strip():
            continue
        role, equals, header = part.partition("=")
        role = role.strip()
        if not equals or not header.strip():
            raise InputError(f"--columns takes role=column pairs; got '{part.strip()}'")
        if role not in ROLES:
            raise InputError(
                f"--columns: unknown role '{role}'" + did_you_mean(role, list(ROLES), "roles")
            )
        if role in mapping:
            raise InputError(f"--columns names the role '{role}' twice")
        mapping[role] = header.strip()
    return mapping


def assign(headers: Sequence[str], mapping: Mapping[str, str], file: object) -> dict[str, str]:
    """Role to header for the headers of a file: the mapping first, then known names.

    Args:
        headers: The file's column names.
        mapping: Roles the user mapped (``--columns``).
        file: The file, for messages.

    Returns:
        Role to the header playing it (roles without a column are left out).

    Raises:
        InputError: A mapped header the file lacks, or no column for a required role or
            for any time.
    """
    by_fold: dict[str, str] = {}
    for header in headers:
        by_fold.setdefault(fold(header), header)
    found: dict[str, str] = {}
    for role, header in mapping.items():
        if header not in headers and fold(header) not in by_fold:
            raise InputError(
                f"--columns maps {role} to '{header}', which the file does not have"
                + did_you_mean(header, headers, "its columns are"),
                file=file,
            )
        found[role] = header if header in headers else by_fold[fold(header)]
    taken = set(found.values())
    for role, names in ROLES.items():
        if role in found:
            continue
        for name in names:
            header = by_fold.get(fold(name))
            if header is not None and header not in taken:
                found[role] = header
                taken.add(header)
                break
    for role in REQUIRED:
        if role not in found:
            raise InputError(
                f"no column for the {role} ({_examples(role)}); the file has: "
                f"{', '.join(headers)}; name it with --columns {role}=COLUMN",
                file=file,
            )
    if not any(role in found for role in TIME_ROLES):
        raise InputError(
            f"no time column (start: {_examples('start')}; end: {_examples('end')}; or one "
            f"timestamp a row: {_examples('timestamp')}); the file has: {', '.join(headers)}; "
            "name it with --columns start=COLUMN,end=COLUMN",
            file=file,
        )
    # A row is either an event with one time or a step with start and end times: what
    # the user mapped decides, else start and end columns do.
    if "timestamp" in mapping:
        found = {
            role: h for role, h in found.items() if role not in ("start", "end") or role in mapping
        }
    elif "timestamp" in found and ("start" in found or "end" in found):
        del found["timestamp"]
    return found


def _examples(role: str) -> str:
    names = ROLES[role]
    english = [n for n in names if n.isascii()][:2]
    chinese = [n for n in names if not n.isascii()][:1]
    return ", ".join(f"'{n}'" for n in (*english, *chinese))


def attribute_headers(headers: Iterable[str], assigned: Mapping[str, str]) -> list[str]:
    """The headers left for case attributes: every one not playing a role."""
    used = set(assigned.values())
    return [h for h in headers if h not in used]
