"""The message catalog: every user-facing string, Simplified Chinese first, English second."""

from __future__ import annotations

from typing import Any

LANGS = ("zh", "en")

CATALOG: dict[str, dict[str, str]] = {
    # ---------------------------------------------------------------- verdicts and categories
    "verdict.allow": {"zh": "✅ 可以安排", "en": "✅ May be assigned"},
    "verdict.refuse": {"zh": "⛔ 可以拒绝", "en": "⛔ The school may refuse"},
    "verdict.conditional": {"zh": "⚠️ 有条件：须先核实下列事项", "en": "⚠️ Conditional: check the points below first"},
    "verdict.not_a_request": {"zh": "💬 这看起来不是任务通知", "en": "💬 This does not look like a task"},
    "cat.supervision_inspection": {"zh": "督查检查评比考核", "en": "inspections and evaluations"},
    "cat.poverty_alleviation": {"zh": "扶贫任务", "en": "poverty alleviation"},
    "cat.special_tasks": {"zh": "专项任务", "en": "special tasks"},
    "cat.city_evaluation": {"zh": "城市创优评比", "en": "city evaluations"},
    "cat.community_affairs": {"zh": "街道社区事务", "en": "street and community affairs"},
    "cat.publicity": {"zh": "进校园宣传教育活动", "en": "publicity entering campus"},
    "cat.unrelated_affairs": {"zh": "与教育教学无关的事务", "en": "affairs unrelated to teaching"},
    "cat.forms_reports": {"zh": "报表填报", "en": "forms and reports"},
    "cat.statistics_surveys": {"zh": "统计调查", "en": "statistics and surveys"},
    "cat.data_collection": {"zh": "数据采集", "en": "data collection"},
    "cat.teacher_borrowing": {"zh": "借用教师", "en": "borrowing teachers"},
    "cat.training": {"zh": "培训活动", "en": "training"},
    "cat.teaching": {"zh": "正常教育教学工作", "en": "ordinary teaching work"},
    "cat.none": {"zh": "无", "en": "none"},
    # ---------------------------------------------------------------- the card
    "card.category": {"zh": "类别：{category}", "en": "Category: {category}"},
    "card.clauses": {"zh": "<b>依据</b>", "en": "<b>Grounds</b>"},
    "card.clause_line": {"zh": "第{n}条 {title}", "en": "Clause {n}: {title}"},
    "card.conditions": {"zh": "<b>需要核实</b>", "en": "<b>Check</b>"},
    "card.evidence": {"zh": "<b>原文依据</b>", "en": "<b>In your message</b>"},
    "card.findings": {"zh": "<b>逐项判断</b>", "en": "<b>Item by item</b>"},
    "card.review": {
        "zh": "🔎 把握不大，已转人工复核。",
        "en": "🔎 Not sure: this has been passed to a reviewer.",
    },
    "card.unofficial": {"zh": "（条款中文为本项目非官方译写）", "en": ""},
    "card.not_a_request": {
        "zh": "请把学校收到的任务通知转发或粘贴给我，我会对照《减负若干意见》逐条判断。发送 /help 查看用法。",
        "en": "Forward or paste a task notice your school received and I will check it against the 2019 Opinion. "
        "Send /help for how to use me.",
    },
    "card.read_from": {"zh": "（读取自：{source}）", "en": "(read from: {source})"},
    "button.full_clause": {"zh": "📖 完整条款", "en": "📖 Full clause"},
    "button.draft": {"zh": "✉️ 起草回复", "en": "✉️ Draft a reply"},
    "button.wrong": {"zh": "❓判断有误？", "en": "❓ Wrong verdict?"},
    "button.skip": {"zh": "跳过", "en": "Skip"},
    "button.confirm_forget": {"zh": "确认删除", "en": "Yes, delete"},
    "button.cancel": {"zh": "取消", "en": "Cancel"},
    # ---------------------------------------------------------------- commands
    "cmd.start": {"zh": "介绍与用法", "en": "What jianfu does"},
    "cmd.help": {"zh": "用法", "en": "How to use"},
    "cmd.check": {"zh": "检查一条通知（群里回复某条消息时使用）", "en": "Check a notice (in groups: reply to it)"},
    "cmd.clauses": {"zh": "二十条条款目录", "en": "The 20 clauses"},
    "cmd.clause": {"zh": "查看某一条，如 /clause 9", "en": "One clause, e.g. /clause 9"},
    "cmd.lang": {"zh": "切换语言：/lang zh 或 /lang en", "en": "Language: /lang zh or /lang en"},
    "cmd.history": {"zh": "我最近的10条判断", "en": "My last 10 verdicts"},
    "cmd.forget": {"zh": "删除我保存的文本", "en": "Delete my stored texts"},
    "start": {
        "zh": "您好，我是<b>减负</b>助手。\n\n把学校收到的任务通知（文字、转发的消息、带说明的图片或 .txt 文件）发给我，"
        "我会对照中办、国办《关于减轻中小学教师负担进一步营造教育教学良好环境的若干意见》（2019年）判断：可以安排、"
        "可以拒绝，还是须满足条件，并引用条款、指出原文依据，还可以帮您起草一份得体的回复。\n\n"
        "在群里：回复某条通知并发送 /check，或 @我。\n\n"
        "<b>我会保存什么</b>：您发来的文本、判断结果和时间，用于复核和统计；区教育局的管理员可以查看。"
        "发送 /forget 可删除您的文本。判断仅供参考，不构成法律意见。",
        "en": "Hello, I am <b>jianfu</b> (减负).\n\nSend me a task notice your school received (text, a forwarded "
        "message, a photo with a caption, or a .txt file) and I will check it against the 2019 national Opinion on "
        "reducing the burden of primary and secondary school teachers: may it be assigned, may the school refuse, "
        "or only under conditions. I cite the clause, quote what in your message decided it, and can draft a polite "
        "reply.\n\nIn groups: reply to a notice with /check, or mention me.\n\n<b>What I store</b>: the text you send, "
        "the verdict and the time, for review and statistics; the district office's admins can see them. /forget "
        "deletes your texts. Verdicts are guidance, not legal advice.",
    },
    "help": {
        "zh": "<b>用法</b>\n• 私聊：直接发送或转发通知文字\n• 群聊：回复通知并发送 /check，或 /check 加文字，或 @我\n"
        "• 图片请附文字说明；文件支持 .txt（UTF-8 或 GBK）\n\n<b>命令</b>\n{commands}",
        "en": "<b>How to use</b>\n• Private chat: send or forward the notice\n• Groups: reply to it with /check, or "
        "/check TEXT, or mention me\n• Photos need a caption; files: .txt (UTF-8 or GBK)\n\n<b>Commands</b>\n{commands}",
    },
    "clauses.header": {
        "zh": "<b>《减负若干意见》二十条</b>（中文为非官方译写）",
        "en": "<b>The 20 clauses of the 2019 Opinion</b>",
    },
    "clause.usage": {
        "zh": "请输入1到20之间的条款号，例如 /clause 9",
        "en": "Give a clause number from 1 to 20, e.g. /clause 9",
    },
    "clause.unofficial": {
        "zh": "以上中文为本项目的非官方译写，以官方文本为准。",
        "en": "The English text is a machine translation of the published Opinion.",
    },
    "lang.usage": {"zh": "用法：/lang zh 或 /lang en", "en": "Usage: /lang zh or /lang en"},
    "lang.set": {"zh": "已切换为中文。", "en": "Language set to English."},
    "history.empty": {"zh": "您还没有保存的判断。", "en": "You have no stored verdicts."},
    "history.header": {"zh": "<b>您最近的判断</b>", "en": "<b>Your recent verdicts</b>"},
    "history.forgotten": {"zh": "（文本已删除）", "en": "(text deleted)"},
    "forget.ask": {
        "zh": "确定删除您保存的所有文本和身份信息吗？判断结果会匿名保留用于统计。",
        "en": "Delete all your stored texts and identity? The verdicts stay, anonymous, for statistics.",
    },
    "forget.done": {
        "zh": "已删除 {n} 条记录中的文本和身份信息。",
        "en": "Texts and identity removed from {n} records.",
    },
    "forget.cancelled": {"zh": "已取消，未删除任何内容。", "en": "Cancelled; nothing was deleted."},
    "check.usage": {
        "zh": "请回复一条通知并发送 /check，或在 /check 后面附上文字。",
        "en": "Reply to a notice with /check, or put the text after /check.",
    },
    "unsupported": {
        "zh": "目前我能读取文字、带文字说明的图片和 .txt 文件。截图识别和 Word、PDF 文件即将支持，请先把通知文字复制给我。",
        "en": "For now I read text, photos with a caption and .txt files. Screenshots, Word and PDF files are "
        "coming; please paste the notice text for now.",
    },
    "photo.no_caption": {
        "zh": "暂时还不能识别图片里的文字。请把通知文字作为图片说明一起发送，或直接粘贴文字。",
        "en": "I cannot read text inside pictures yet. Send the notice text as the photo's caption, or paste it.",
    },
    "file.too_big": {"zh": "文件太大（上限 {limit}）。", "en": "The file is too large (limit {limit})."},
    "file.unreadable": {
        "zh": "无法读取这个文件的文字，请确认是 UTF-8 或 GBK 编码的 .txt 文件。",
        "en": "I could not read text from this file; it must be a UTF-8 or GBK .txt file.",
    },
    "rate_limited": {
        "zh": "您发送得太快了，请一分钟后再试。",
        "en": "You are sending requests too fast; please try again in a minute.",
    },
    "unavailable": {
        "zh": "服务暂时不可用，请稍后重新发送。",
        "en": "Temporarily unavailable; please send it again shortly.",
    },
    "not_found": {"zh": "找不到这条记录。", "en": "That record was not found."},
    "not_permitted": {"zh": "无权进行此操作。", "en": "Not permitted."},
    "dispute.ask": {"zh": "您认为正确的判断应该是？", "en": "What should the verdict be?"},
    "dispute.saved": {
        "zh": "已记录您的意见（{verdict}），将由复核人员处理。可以直接回复一句说明（可选），或点“跳过”。",
        "en": "Your view ({verdict}) is recorded for a reviewer. You may reply with a short comment, or press Skip.",
    },
    "dispute.comment_saved": {"zh": "谢谢，说明已记录。", "en": "Thank you, your comment is recorded."},
    "dispute.skipped": {"zh": "好的，已记录。", "en": "Done, recorded."},
    "draft.header": {
        "zh": "<b>回复草稿</b>（可复制修改后发送）",
        "en": "<b>Draft reply</b> (copy and adjust before sending)",
    },
    "draft.none": {"zh": "这条消息不是任务通知，不需要回复。", "en": "This is not a task notice; no reply is needed."},
    # ---------------------------------------------------------------- drafts (plain text, escaped by the caller)
    "draft.refuse": {
        "zh": "{office}：\n\n贵单位关于“{excerpt}”的通知已收悉。经对照中共中央办公厅、国务院办公厅印发的《{title}》，"
        "该事项属于第{clause}条（{clause_title}）所规范的情形：{quote}\n\n据此，我校不宜安排教师承担该项任务，恳请理解。"
        "如确需学校配合，请经教育行政部门统筹后另行安排。\n\n此复。\n\n{school}\n{date}",
        "en": 'To {office}:\n\nWe have received your notice concerning "{excerpt}". Under clause {clause} ({clause_title}) '
        "of the {title}, issued by the General Offices of the CPC Central Committee and the State Council, {quote}\n\n"
        "We are therefore unable to assign our teachers to this task, and ask for your understanding. If the school's "
        "help is truly needed, please arrange it through the education department.\n\n{school}\n{date}",
    },
    "draft.conditional": {
        "zh": "{office}：\n\n贵单位关于“{excerpt}”的通知已收悉。根据中共中央办公厅、国务院办公厅印发的《{title}》"
        "第{clause}条（{clause_title}）的规定，此类事项须按程序办理。为便于我校安排，请提供以下材料或说明：\n{conditions}\n\n"
        "收到后我校将按规定认真配合。\n\n{school}\n{date}",
        "en": 'To {office}:\n\nWe have received your notice concerning "{excerpt}". Under clause {clause} ({clause_title}) '
        "of the {title}, such tasks follow a set procedure. So that we can arrange it, please let us have:\n{conditions}\n\n"
        "We will then take part as the rules provide.\n\n{school}\n{date}",
    },
    "draft.allow": {
        "zh": "{office}：\n\n贵单位关于“{excerpt}”的通知已收悉，我校将按要求认真落实。\n\n{school}\n{date}",
        "en": 'To {office}:\n\nWe have received your notice concerning "{excerpt}" and will carry it out as requested.\n\n{school}\n{date}',
    },
    "draft.office": {"zh": "有关单位", "en": "the office concerned"},
    "draft.school": {"zh": "××学校（盖章）", "en": "[School name and seal]"},
}


def t(key: str, lang: str, **kwargs: Any) -> str:
    entry = CATALOG[key]
    text = entry.get(lang) or entry["zh"]
    return text.format(**kwargs) if kwargs else text


def pick_language(stored: str | None, telegram_code: str | None, default: str) -> str:
    """A stored /lang choice wins; then Chinese for zh* Telegram clients, English for any other; else default."""
    if stored in LANGS:
        return stored
    if telegram_code:
        return "zh" if telegram_code.lower().startswith("zh") else "en"
    return default if default in LANGS else "zh"
