"""Writes ledger.xlsx and ledger.csv beside this file: the office's supervision ledger
(督办台账), twenty tasks for the units of directory.yaml, as `duban task import` and the
office's page read it. Run: .venv/bin/python deploy/examples/make_ledger.py"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

HERE = Path(__file__).parent
HEADER = [
    "序号",
    "事项",
    "交办依据",
    "交办单位",
    "牵头单位",
    "协办单位",
    "工作标准",
    "完成时限",
    "紧急程度",
]
OFFICE = "区政府办公室"
MEETING = "区政府常务会议纪要〔2026〕12号"
MAYOR = "区长办公会议纪要〔2026〕8号"
REPORT = "2026年区政府工作报告重点任务分工"
NOTE = "区领导批示件〔2026〕35号"
CHECK = "区政府督查通知〔2026〕5号"
TASKS = [
    (
        "完善行政执法协调机制",
        MEETING,
        "区司法局",
        "区财政局、区人社局",
        "形成协调办法并印发实施",
        date(2027, 3, 31),
        "重要",
    ),
    (
        "开展行政规范性文件集中清理",
        MEETING,
        "区司法局",
        "",
        "完成清理并向社会公布现行有效文件目录",
        date(2027, 2, 26),
        "一般",
    ),
    (
        "编制2027年部门预算绩效目标",
        MAYOR,
        "区财政局",
        "区人社局",
        "各部门绩效目标全部录入预算管理系统",
        date(2027, 1, 29),
        "紧急",
    ),
    (
        "推进政府采购全流程电子化",
        REPORT,
        "区财政局",
        "区司法局",
        "区级政府采购项目电子化交易率达到100%",
        date(2027, 6, 30),
        "一般",
    ),
    (
        "落实高校毕业生就业促进行动",
        REPORT,
        "区人社局",
        "区财政局",
        "城镇新增就业5000人，高校毕业生就业率不低于90%",
        date(2027, 12, 31),
        "重要",
    ),
    (
        "开展根治欠薪冬季专项行动",
        NOTE,
        "区人社局",
        "区司法局、区财政局",
        "在建工程项目欠薪案件动态清零",
        date(2027, 1, 22),
        "紧急",
    ),
    (
        "开展法律援助进社区活动",
        CHECK,
        "区司法局",
        "",
        "法律援助工作站覆盖全区所有社区",
        date(2027, 5, 31),
        "一般",
    ),
    (
        "加强行政事业单位国有资产出租出借管理",
        MAYOR,
        "区财政局",
        "",
        "制定出台管理办法并完成存量资产清查",
        date(2027, 4, 30),
        "一般",
    ),
    (
        "完善社会保险经办风险防控机制",
        CHECK,
        "区人社局",
        "区财政局",
        "形成风险防控清单并完成内控制度修订",
        date(2027, 3, 31),
        "重要",
    ),
    (
        "推进公共法律服务平台建设",
        REPORT,
        "区司法局",
        "区财政局",
        "区级公共法律服务平台上线运行",
        date(2027, 9, 30),
        "一般",
    ),
    (
        "规范财政专项资金使用管理",
        NOTE,
        "区财政局",
        "区司法局、区人社局",
        "审计指出的专项资金问题全部整改到位",
        date(2027, 2, 26),
        "重要",
    ),
    (
        "实施职业技能提升培训计划",
        REPORT,
        "区人社局",
        "区财政局",
        "全年完成职业技能培训3000人次",
        date(2027, 11, 30),
        "一般",
    ),
    (
        "推进人民调解组织规范化建设",
        CHECK,
        "区司法局",
        "",
        "全区人民调解委员会全部完成规范化建设",
        date(2027, 6, 30),
        "一般",
    ),
    (
        "落实政府债务风险化解年度任务",
        MAYOR,
        "区财政局",
        "",
        "完成年度债务风险化解任务，风险等级保持绿色",
        date(2027, 12, 31),
        "紧急",
    ),
    (
        "优化企业开办社保登记流程",
        MEETING,
        "区人社局",
        "区司法局",
        "企业开办社保登记办理时限压缩至1个工作日",
        date(2027, 3, 31),
        "一般",
    ),
    (
        "开展“八五”普法规划终期评估",
        CHECK,
        "区司法局",
        "区人社局",
        "形成终期评估报告并报区委全面依法治区办",
        date(2027, 5, 31),
        "一般",
    ),
    (
        "推进预算管理一体化系统应用",
        REPORT,
        "区财政局",
        "",
        "全区预算单位全部接入一体化系统并规范使用",
        date(2027, 6, 30),
        "重要",
    ),
    (
        "开展劳动人事争议多元化解试点",
        NOTE,
        "区人社局",
        "区司法局",
        "建成劳动争议调解中心并开展诉调对接",
        date(2027, 8, 31),
        "一般",
    ),
    (
        "深化行政复议规范化建设",
        MEETING,
        "区司法局",
        "区财政局、区人社局",
        "行政复议案件按期办结率达到100%",
        date(2027, 10, 31),
        "一般",
    ),
    (
        "加强政府投资项目预算评审",
        MAYOR,
        "区财政局",
        "区司法局",
        "评审平均时限压缩至15个工作日以内",
        None,
        "一般",
    ),
]


def main() -> None:
    rows = [
        [n, title, source, OFFICE, lead, co, standard, due, urgency]
        for n, (title, source, lead, co, standard, due, urgency) in enumerate(TASKS, start=1)
    ]
    book = Workbook()
    sheet = book.active
    sheet.title = "督办台账"
    sheet.append(HEADER)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    for width, column in zip((6, 34, 30, 14, 12, 22, 44, 12, 10), "ABCDEFGHI", strict=True):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=2, min_col=8, max_col=8):
        row[0].number_format = "yyyy-mm-dd"
    for row in sheet.iter_rows(min_row=1):
        for cell in row:
            cell.alignment = Alignment(vertical="center", wrap_text=True)
    book.save(HERE / "ledger.xlsx")
    # The CSV twin, with a BOM so that a spreadsheet opens it as UTF-8.
    with (HERE / "ledger.csv").open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        for row in rows:
            writer.writerow([v.isoformat() if isinstance(v, date) else v for v in row])


if __name__ == "__main__":
    main()
