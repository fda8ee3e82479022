"""Wrapped lines joined back into paragraphs (pure, no OCR)."""

from __future__ import annotations

from bot.reading.layout import Line, paragraphs_from_boxes, reflow_text


def _lines(*rows: tuple[str, float, float, float]) -> list[Line]:
    """(text, x0, x1, y0) with 30-pixel-high lines."""
    return [Line(text, x0, y0, x1, y0 + 30) for text, x0, x1, y0 in rows]


def test_wrapped_paragraph_is_joined_and_items_stay_apart() -> None:
    lines = _lines(
        ("关于开展安全教育的通知", 300, 700, 0),
        ("各学校：", 100, 220, 80),
        ("一、请各校组织教师下载APP并将成绩截", 160, 1000, 130),
        ("图上报，纳入考核。", 100, 400, 175),
        ("二、请于周五前完成。", 160, 500, 220),
    )
    assert paragraphs_from_boxes(lines).splitlines() == [
        "关于开展安全教育的通知",
        "各学校：",
        "一、请各校组织教师下载APP并将成绩截图上报，纳入考核。",
        "二、请于周五前完成。",
    ]


def test_short_lines_and_sentence_ends_are_not_joined() -> None:
    lines = _lines(
        ("联系人：王老师", 100, 330, 0),
        ("电话：12345678", 100, 330, 45),
        ("请于本周五之前提交全部材料。", 100, 1000, 90),
        ("逾期不再受理", 100, 300, 135),
    )
    assert paragraphs_from_boxes(lines).splitlines() == [
        "联系人：王老师",
        "电话：12345678",
        "请于本周五之前提交全部材料。",
        "逾期不再受理",
    ]


def test_boxes_on_one_row_are_read_left_to_right() -> None:
    lines = [Line("86%", 900, 0, 980, 30), Line("9:41", 20, 2, 90, 31), Line("下一行", 20, 60, 110, 90)]
    assert paragraphs_from_boxes(lines) == "9:41 86%\n下一行"


def test_latin_words_keep_a_space_across_the_wrap() -> None:
    lines = _lines(("Please ask every teacher to download the app and", 0, 1000, 0), ("send a screenshot.", 0, 350, 40))
    assert paragraphs_from_boxes(lines) == "Please ask every teacher to download the app and send a screenshot."


def test_reflow_text_of_a_pdf_layer() -> None:
    text = (
        "关于开展安全教育的通知\n"
        "各学校：\n"
        "一、请各校组织全体教职工于11月20日前下载APP并完成注册，下载率纳入学校年度考\n"
        "核。\n"
        "二、每位教师须在APP内完成知识竞答，并将成绩截图上传至工作群，由学校汇总后报送县\n"
        "教育局。\n"
        "（三）其他事项另行通知。\n"
    )
    assert reflow_text(text).splitlines() == [
        "关于开展安全教育的通知",
        "各学校：",
        "一、请各校组织全体教职工于11月20日前下载APP并完成注册，下载率纳入学校年度考核。",
        "二、每位教师须在APP内完成知识竞答，并将成绩截图上传至工作群，由学校汇总后报送县教育局。",
        "（三）其他事项另行通知。",
    ]


def test_reflow_leaves_short_lines_alone() -> None:
    assert reflow_text("第一\n第二\n\n第三") == "第一\n第二\n第三"
