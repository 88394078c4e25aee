"""Reading case records: formats, encodings, column names, pairing, and bad records."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from sim.domain.errors import InputError
from sim.inputs.columns import assign, parse_mapping
from sim.inputs.records import read_records, read_step_mapping
from sim.inputs.times import parse_times

DATA = Path(__file__).parents[2] / "data"

CHINESE = """办件编号,事项名称,环节名称,开始时间,结束时间,办理人,部门,申请人类型
A001,企业开办,受理,2025/3/3 9:00,2025/3/3 9:30,张三,市场监管局,企业
A001,企业开办,审核,2025-03-03 10:00,2025-03-04 11:00,李四,市场监管局,企业
A002,企业开办,受理,2025年3月4日 9时10分,2025年3月4日 9时40分,张三,市场监管局,个人
A002,企业开办,审核,2025-03-04 10:00,2025-03-05 10:00,李四,市场监管局,个人
"""


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_chinese_headers_in_every_encoding(tmp_path, encoding):
    records = read_records(write(tmp_path, "r.csv", CHINESE, encoding))
    assert records.columns["case"] == "办件编号"
    assert records.columns["step"] == "环节名称"
    assert records.columns["start"] == "开始时间" and records.columns["end"] == "结束时间"
    assert records.columns["agency"] == "部门" and records.columns["resource"] == "办理人"
    frame = records.executions
    assert list(frame["step"]) == ["受理", "审核", "受理", "审核"]
    assert frame["start"].iloc[2] == pd.Timestamp("2025-03-04 09:10")
    assert records.has_start
    assert "申请人类型" in records.attributes
    assert records.cases.loc["A002", "申请人类型"] == "个人"
    assert records.cases.loc["A001", "procedure"] == "企业开办"


def test_xlsx_is_read_with_dates_as_cells(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["case", "activity", "start", "end"])
    sheet.append(
        ["c1", "intake", pd.Timestamp("2025-03-03 09:00").to_pydatetime(), "2025-03-03 10:00"]
    )
    sheet.append(
        [
            "c1",
            "review",
            pd.Timestamp("2025-03-03 11:00").to_pydatetime(),
            pd.Timestamp("2025-03-04 12:00").to_pydatetime(),
        ]
    )
    path = tmp_path / "r.xlsx"
    book.save(path)
    records = read_records(path)
    assert list(records.executions["step"]) == ["intake", "review"]
    assert records.executions["end"].iloc[1] == pd.Timestamp("2025-03-04 12:00")


XES = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <string key="concept:name" value="log level, ignored"/>
  <trace>
    <string key="concept:name" value="c1"/>
    <string key="kind" value="small"/>
    <event>
      <string key="concept:name" value="intake"/>
      <string key="lifecycle:transition" value="start"/>
      <date key="time:timestamp" value="2025-03-03T09:00:00.000+08:00"/>
      <string key="org:resource" value="desk"/>
    </event>
    <event>
      <string key="concept:name" value="intake"/>
      <string key="lifecycle:transition" value="complete"/>
      <date key="time:timestamp" value="2025-03-03T10:00:00.000+08:00"/>
      <list key="nested"><string key="x" value="skipped"/></list>
    </event>
    <event>
      <string key="concept:name" value="review"/>
      <string key="lifecycle:transition" value="schedule"/>
      <date key="time:timestamp" value="2025-03-03T10:00:00.000+08:00"/>
    </event>
    <event>
      <string key="concept:name" value="review"/>
      <string key="lifecycle:transition" value="complete"/>
      <date key="time:timestamp" value="2025-03-04T10:00:00.000+08:00"/>
    </event>
  </trace>
</log>
"""


@pytest.mark.parametrize("compressed", [False, True])
def test_xes_pairs_start_and_complete_and_counts_other_transitions(tmp_path, compressed):
    if compressed:
        path = tmp_path / "log.xes.gz"
        path.write_bytes(gzip.compress(XES.encode()))
    else:
        path = write(tmp_path, "log.xes", XES)
    records = read_records(path)
    frame = records.executions
    assert list(frame["step"]) == ["intake", "review"]
    assert frame["start"].iloc[0] == pd.Timestamp("2025-03-03 09:00")  # wall clock kept
    assert pd.isna(frame["start"].iloc[1])
    assert frame["resource"].iloc[0] == "desk"
    assert records.findings["ignored_events"] == 1
    assert records.columns["case"] == "case:concept:name"


def test_the_real_road_traffic_log(tmp_path):
    records = read_records(DATA / "roadtraffic100traces.xes")
    assert records.cases.shape[0] == 100
    assert len(records.executions) == 390
    assert not records.has_start  # complete events only
    assert {"vehicleClass", "article"} <= set(records.attributes)


def test_running_steps_and_duplicates_are_counted_not_silent(tmp_path):
    text = (
        "case,activity,lifecycle,timestamp\n"
        "c1,a,start,2025-03-03 09:00\nc1,a,complete,2025-03-03 10:00\n"
        "c1,a,complete,2025-03-03 10:00\n"  # an exact duplicate
        "c1,b,start,2025-03-03 11:00\n"  # never completes: still running
    )
    records = read_records(write(tmp_path, "r.csv", text))
    assert records.findings["duplicate_rows"] == 1
    assert records.findings["running_steps"] == 1
    assert len(records.executions) == 1


def test_columns_option_maps_roles(tmp_path):
    text = "id,task,done\nc1,a,2025-03-03 10:00\nc1,b,2025-03-04 10:00\n"
    records = read_records(
        write(tmp_path, "r.csv", text), parse_mapping("case=id,step=task,end=done")
    )
    assert list(records.executions["step"]) == ["a", "b"]
    assert not records.has_start


def test_mapping_of_unknown_role_or_column_is_refused(tmp_path):
    with pytest.raises(InputError, match="unknown role 'cases'"):
        parse_mapping("cases=id")
    with pytest.raises(InputError, match="does not have"):
        assign(["a", "b"], {"case": "nope"}, "f.csv")


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        (
            "case,step,start,end\nc1,a,2025-03-03 09:00,2025-03-03 08:00\n",
            2,
            "end",
            "ends before it starts",
        ),
        (
            "case,step,start,end\nc1,a,2025-03-03 09:00,not a time\n",
            2,
            "end",
            "cannot read the time 'not a time'",
        ),
        (
            "case,step,start,end\nc1,a,2025-03-03 09:00,2025-03-03 10:00\nc2,,2025-03-03 09:00,\n",
            3,
            "step",
            "case 'c2' has no steps",
        ),
        (
            "case,step,end\nc1,a,2025-03-03 10:00\n,b,2025-03-03 11:00\n",
            3,
            "case",
            "without a case id",
        ),
        ("case,step,end\nc1,a,2025-03-03 10:00\nc1,b,\n", 3, "end", "neither start nor end"),
        (
            "case,activity,lifecycle,timestamp\nc1,a,complete,2025-03-03 09:00\nc1,a,start,2025-03-03 10:00\n",
            2,
            "timestamp",
            "completes before it starts",
        ),
    ],
)
def test_bad_records_name_file_row_and_column(tmp_path, text, line, field, words):
    with pytest.raises(InputError) as caught:
        read_records(write(tmp_path, "r.csv", text))
    error = caught.value
    assert (error.line, error.field) == (line, field)
    assert words in error.message
    assert str(error).startswith(str(tmp_path / "r.csv"))


def test_missing_columns_say_what_was_looked_for(tmp_path):
    with pytest.raises(InputError, match="no column for the case"):
        read_records(write(tmp_path, "r.csv", "x,y\n1,2\n"))
    with pytest.raises(InputError, match="no time column"):
        read_records(write(tmp_path, "r.csv", "case,step\n1,2\n"))


def test_xes_document_types_are_refused(tmp_path):
    bomb = '<?xml version="1.0"?>\n<!DOCTYPE log [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>\n<log>&b;</log>\n'
    with pytest.raises(InputError, match="document type"):
        read_records(write(tmp_path, "log.xes", bomb))
    with pytest.raises(InputError, match="not well-formed"):
        read_records(write(tmp_path, "log.xes", "<log><trace></log>"))


def test_text_that_is_neither_utf8_nor_gbk_is_refused(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(b"case,step,end\n\xff\xfe\xff,a,2025-01-01\n")
    with pytest.raises(InputError, match="neither UTF-8 nor GBK"):
        read_records(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-02 09:30:00", "2025-01-02 09:30"),
        ("2025/1/2 9:30", "2025-01-02 09:30"),
        ("2005-03-23T00:00:00.000+01:00", "2005-03-23 00:00"),
        ("2025年1月2日 9时30分", "2025-01-02 09:30"),
        ("2025年1月2日", "2025-01-02 00:00"),
        ("23.03.2005", "2005-03-23 00:00"),
        ("2025-01-02T09:30:00Z", "2025-01-02 09:30"),
    ],
)
def test_time_spellings(text, expected):
    times, bad = parse_times(pd.Series([text]))
    assert not bad.any()
    assert times.iloc[0] == pd.Timestamp(expected)


def test_step_mapping_files(tmp_path):
    (tmp_path / "m.yaml").write_text("受理: intake\n审核: review\n", encoding="utf-8")
    assert read_step_mapping(tmp_path / "m.yaml") == {"受理": "intake", "审核": "review"}
    (tmp_path / "m.csv").write_text("record step,step id\n受理,intake\n", encoding="utf-8")
    assert read_step_mapping(tmp_path / "m.csv") == {"受理": "intake"}
    (tmp_path / "bad.yaml").write_text("受理: [1]\n", encoding="utf-8")
    with pytest.raises(InputError, match="step id"):
        read_step_mapping(tmp_path / "bad.yaml")
