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
        "文本保存 {days} 天后自动删除，发送 /forget 可随时删除。判断仅供参考，不构成法律意见。",
        "en": "Hello, I am <b>jianfu</b> (减负).\n\nSend me a task notice your school received (text, a forwarded "
        "message, a photo with a caption, or a .txt file) and I will check it against the 2019 national Opinion on "
        "reducing the burden of primary and secondary school teachers: may it be assigned, may the school refuse, "
        "or only under conditions. I cite the clause, quote what in your message decided it, and can draft a polite "
        "reply.\n\nIn groups: reply to a notice with /check, or mention me.\n\n<b>What I store</b>: the text you send, "
        "the verdict and the time, for review and statistics; the district office's admins can see them. Texts are "
        "deleted after {days} days, or whenever you send /forget. Verdicts are guidance, not legal advice.",
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
        "zh": "我能读取文字、截图和图片、.docx（Word）文件、PDF 文件和 .txt 文件。旧版 .doc、.wps 等格式请另存为 .docx 或 PDF，或者发截图。",
        "en": "I read text, screenshots and photos, .docx (Word), PDF and .txt files. Please save a .doc, .wps or other file as .docx or PDF, or send a screenshot.",
    },
    "photo.no_text": {
        "zh": "没有从图片里读出文字。请发送更清晰的截图，或直接粘贴通知文字。",
        "en": "I could not find text in the picture. Send a sharper screenshot, or paste the notice text.",
    },
    "file.too_big": {
        "zh": "文件太大（上限 {limit}）。请发送截图或粘贴文字。",
        "en": "The file is too large (limit {limit}). Send a screenshot or paste the text.",
    },
    "file.download_failed": {
        "zh": "暂时无法从 Telegram 下载这个文件（已重试）。请稍后重新发送。",
        "en": "I could not download this file from Telegram just now (tried again). Please send it again later.",
    },
    "file.unreadable": {
        "zh": "无法读取这个文件里的文字。请确认文件没有损坏，或者发截图、粘贴文字。",
        "en": "I could not read text from this file. Check it is not damaged, or send a screenshot or the text.",
    },
    "file.encrypted": {
        "zh": "这个文件有密码保护，无法读取。请发送未加密的文件或截图。",
        "en": "This file is password-protected, so I cannot read it. Send an unprotected file or a screenshot.",
    },
    "file.timeout": {
        "zh": "读取这个文件用时太长，已停止。请发送较小的截图或直接粘贴文字。",
        "en": "Reading this file took too long and was stopped. Send a smaller screenshot or paste the text.",
    },
    "card.read_text": {"zh": "（从{source}读取的文字：「{excerpt}」）", "en": "(text read from {source}: “{excerpt}”)"},
    "source.picture": {"zh": "图片", "en": "the picture"},
    "card.caption_only": {
        "zh": "（图片未能读取，仅判断了图片说明文字）",
        "en": "(the picture could not be read; only its caption was screened)",
    },
    "rate_limited": {
        "zh": "您发送得太快了，请一分钟后再试。",
        "en": "You are sending requests too fast; please try again in a minute.",
    },
    "unavailable": {
        "zh": "服务暂时不可用，请稍后重新发送。",
        "en": "Temporarily unavailable; please send it again shortly.",
    },
    "alert.storage": {
        "zh": "⚠️ 数据库暂时不可用：{error}。用户已被告知稍后重新发送；尚未存入的消息暂不确认，Telegram 会保留，恢复后自动处理。{more}",
        "en": "⚠️ The database is unavailable: {error}. Users were asked to send again shortly; updates not yet stored stay unconfirmed at Telegram and are handled once it recovers.{more}",
    },
    "alert.error": {
        "zh": "⚠️ 处理消息时出错：{error}。详情见日志。{more}",
        "en": "⚠️ An error while handling a message: {error}. See the log for details.{more}",
    },
    "alert.more": {"zh": "（上次提醒以来另有 {n} 次）", "en": " ({n} more since the last alert)"},
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
    # ---------------------------------------------------------------- the admins' side (handlers/admin.py)
    "short.allow": {"zh": "✅ 可以安排", "en": "✅ may be assigned"},
    "short.refuse": {"zh": "⛔ 可以拒绝", "en": "⛔ may refuse"},
    "short.conditional": {"zh": "⚠️ 有条件", "en": "⚠️ conditional"},
    "short.not_a_request": {"zh": "💬 不是任务", "en": "💬 not a task"},
    "chat.private": {"zh": "私聊", "en": "private chat"},
    "chat.group": {"zh": "群聊", "en": "group"},
    "chat.supergroup": {"zh": "群聊", "en": "group"},
    "chat.channel": {"zh": "频道", "en": "channel"},
    "cmd.review": {"zh": "复核队列（管理员）", "en": "Review queue (admins)"},
    "cmd.log": {"zh": "决策记录，可筛选、翻页（管理员）", "en": "Decision log, filtered and paged (admins)"},
    "cmd.show": {"zh": "查看一条记录全文，如 /show 12（管理员）", "en": "One decision in full, e.g. /show 12 (admins)"},
    "cmd.stats": {
        "zh": "统计与图表：/stats 7d|30d|all（管理员）",
        "en": "Statistics and chart: /stats 7d|30d|all (admins)",
    },
    "cmd.export": {
        "zh": "导出：/export csv|jsonl 7d|30d|all，或 /export labels（管理员）",
        "en": "Export: /export csv|jsonl 7d|30d|all, or /export labels (admins)",
    },
    "help.admin": {"zh": "<b>管理员命令</b>\n{commands}", "en": "<b>Admin commands</b>\n{commands}"},
    "period.7d": {"zh": "最近7天", "en": "the last 7 days"},
    "period.30d": {"zh": "最近30天", "en": "the last 30 days"},
    "period.all": {"zh": "全部", "en": "all time"},
    "text.gone": {"zh": "（文本已删除）", "en": "(text deleted)"},
    # review queue
    "review.empty": {"zh": "没有待复核的记录。", "en": "Nothing to review."},
    "review.end": {
        "zh": "这一轮已看完，还有 {n} 条待复核。发送 /review 从头开始。",
        "en": "End of the queue; {n} still pending. Send /review to start again.",
    },
    "review.header": {
        "zh": "<b>复核 #{id}</b>（待复核共 {pending} 条）",
        "en": "<b>Review #{id}</b> ({pending} pending)",
    },
    "review.meta": {"zh": "{time} · {chat} · 来源：{source}", "en": "{time} · {chat} · source: {source}"},
    "review.user": {"zh": "用户 {user}", "en": "user {user}"},
    "review.forwarded": {"zh": "转发自：{name}", "en": "forwarded from: {name}"},
    "review.text": {"zh": "<b>原文</b>", "en": "<b>Text</b>"},
    "review.engine": {
        "zh": "<b>引擎判断</b>：{verdict} · {category} · 条款 {clauses} · 置信度 {confidence}",
        "en": "<b>Engine</b>: {verdict} · {category} · clauses {clauses} · confidence {confidence}",
    },
    "review.current": {
        "zh": "<b>当前判断（已复核）</b>：{verdict} · {category} · 条款 {clauses}",
        "en": "<b>Now (after review)</b>: {verdict} · {category} · clauses {clauses}",
    },
    "review.flagged": {"zh": "🔎 引擎把握不大，已标记复核。", "en": "🔎 The engine was unsure and flagged it."},
    "review.evidence": {"zh": "<b>原文依据</b>", "en": "<b>Evidence</b>"},
    "review.disputes": {"zh": "<b>异议</b>", "en": "<b>Disputes</b>"},
    "review.dispute_line": {"zh": "{time} {who} 认为应为：{verdict}", "en": "{time} {who} says: {verdict}"},
    "review.someone": {"zh": "（已删除身份的用户）", "en": "(a forgotten user)"},
    "review.history": {"zh": "<b>复核记录</b>", "en": "<b>Reviews</b>"},
    "review.history_line": {
        "zh": "{time} 复核人 {reviewer}：{before} → {after}",
        "en": "{time} reviewer {reviewer}: {before} → {after}",
    },
    "review.reason": {"zh": "理由：{reason}", "en": "reason: {reason}"},
    "review.pick_clause": {
        "zh": "<b>改为：{verdict}</b>\n请点选依据的条款，或直接发送条款号（1–17，可在后面附理由，例如：12 与教学无关的招商活动）。",
        "en": "<b>Change to: {verdict}</b>\nPick the clause, or send its number (1–17), optionally followed by a reason, "
        "e.g. 12 investment promotion, unrelated to teaching.",
    },
    "review.typed_usage": {
        "zh": "请发送 1 到 17 之间的条款号（可在后面附理由），或在上一条消息里点“返回”。",
        "en": "Send a clause number from 1 to 17 (optionally followed by a reason), or press Back above.",
    },
    "review.confirmed": {
        "zh": "✔ 复核人 {reviewer} 已确认：{verdict}。",
        "en": "✔ Reviewer {reviewer} confirmed: {verdict}.",
    },
    "review.changed": {
        "zh": "✔ 复核人 {reviewer} 已改为：{verdict}（条款 {clauses}）。",
        "en": "✔ Reviewer {reviewer} changed it to: {verdict} (clauses {clauses}).",
    },
    "review.skipped": {"zh": "已跳过。", "en": "Skipped."},
    "review.stale": {
        "zh": "这条记录刚被其他复核人处理过，已刷新，请重新查看。",
        "en": "Someone else just reviewed this; it has been refreshed.",
    },
    "review.told": {
        "zh": "您对判断 #{id}（“{excerpt}”）提出的异议已由复核人员处理：{outcome}",
        "en": 'Your dispute of verdict #{id} ("{excerpt}") has been reviewed: {outcome}',
    },
    "review.told_confirmed": {"zh": "维持原判断：{verdict}。", "en": "the verdict stands: {verdict}."},
    "review.told_changed": {
        "zh": "已改为：{verdict}（依据第{clauses}条）。",
        "en": "it is now: {verdict} (clause {clauses}).",
    },
    "review.told_not_a_request": {"zh": "已改为：{verdict}。", "en": "it is now: {verdict}."},
    "button.confirm": {"zh": "✔ 确认", "en": "✔ Confirm"},
    "button.change_to": {"zh": "改为 {verdict}", "en": "→ {verdict}"},
    "button.change_clause": {"zh": "✎ 只改条款", "en": "✎ Change the clause"},
    "button.clause": {"zh": "第{n}条 {title}", "en": "{n}. {title}"},
    "button.back": {"zh": "返回", "en": "Back"},
    "button.open_review": {"zh": "复核 #{id}", "en": "Review #{id}"},
    "button.previous": {"zh": "◀ 上一页", "en": "◀ Previous"},
    "button.next": {"zh": "下一页 ▶", "en": "Next ▶"},
    # the log and one decision
    "log.usage": {
        "zh": "用法：/log [筛选] [页码]。筛选可以是判断（allow、refuse、conditional、not_a_request）、"
        "类别（如 unrelated_affairs）、reviewed（已复核）或 disputed（有异议）。",
        "en": "Usage: /log [filter] [page]. The filter is a verdict (allow, refuse, conditional, not_a_request), "
        "a category (e.g. unrelated_affairs), reviewed or disputed.",
    },
    "log.header": {
        "zh": "<b>决策记录</b>{filter}：第 {page}/{pages} 页，共 {total} 条",
        "en": "<b>Decision log</b>{filter}: page {page} of {pages}, {total} in all",
    },
    "log.filter": {"zh": "（{name}）", "en": " ({name})"},
    "log.empty": {"zh": "没有符合条件的记录。", "en": "No decisions match."},
    "log.marks": {"zh": "✎ 已复核　❓ 有异议　🔎 待复核", "en": "✎ reviewed  ❓ disputed  🔎 pending"},
    "show.usage": {"zh": "用法：/show 编号，例如 /show 12", "en": "Usage: /show ID, e.g. /show 12"},
    "show.header": {"zh": "<b>记录 #{id}</b>", "en": "<b>Decision #{id}</b>"},
    "show.meta": {
        "zh": "时间：{time}\n聊天：{chat}（{chat_id}）\n用户：{user}\n来源：{source}\n语言：{language}\n"
        "策略版本：{policy}\n置信度：{confidence}　耗时：{latency} ms",
        "en": "Time: {time}\nChat: {chat} ({chat_id})\nUser: {user}\nSource: {source}\nLanguage: {language}\n"
        "Policy: {policy}\nConfidence: {confidence}  Latency: {latency} ms",
    },
    "show.none": {"zh": "无", "en": "none"},
    # statistics
    "stats.usage": {"zh": "用法：/stats 7d|30d|all", "en": "Usage: /stats 7d|30d|all"},
    "stats.none": {"zh": "{period}没有记录。", "en": "No decisions in {period}."},
    "stats.header": {"zh": "<b>统计：{period}</b>，共 {total} 条", "en": "<b>Statistics: {period}</b>, {total} in all"},
    "stats.digest_header": {
        "zh": "<b>每周摘要：{period}</b>，共 {total} 条",
        "en": "<b>Weekly digest: {period}</b>, {total} in all",
    },
    "stats.by_verdict": {"zh": "<b>按判断</b>", "en": "<b>By verdict</b>"},
    "stats.by_category": {"zh": "<b>按类别</b>", "en": "<b>By category</b>"},
    "stats.rates": {
        "zh": "需要复核：{review}（{review_share}）\n用户异议：{disputed}（{dispute_rate}）\n"
        "已复核：{reviewed}，其中维持引擎判断：{agreed}（{agreement}）",
        "en": "Needed review: {review} ({review_share})\nDisputed: {disputed} ({dispute_rate})\n"
        "Reviewed: {reviewed}, of which the engine's verdict stood: {agreed} ({agreement})",
    },
    "stats.origins": {
        "zh": "<b>可拒绝任务的来源（转发自）</b>",
        "en": "<b>Where refusable tasks came from (forwarded from)</b>",
    },
    "stats.issuers": {
        "zh": "<b>可拒绝任务的发文单位（文中所提）</b>",
        "en": "<b>Issuing offices of refusable tasks (named in the text)</b>",
    },
    "stats.chart_caption": {"zh": "每周各类任务数（{period}）", "en": "Tasks per category per week ({period})"},
    # exports
    "export.usage": {
        "zh": "用法：/export csv|jsonl [7d|30d|all]，或 /export labels（已复核的样本）",
        "en": "Usage: /export csv|jsonl [7d|30d|all], or /export labels (the reviewed examples)",
    },
    "export.none": {"zh": "没有可导出的记录。", "en": "Nothing to export."},
    "export.caption": {"zh": "{n} 条记录（{period}）", "en": "{n} decisions ({period})"},
    "export.labels_caption": {
        "zh": "{n} 条已复核样本（另有 {skipped} 条文本已删除，未导出）",
        "en": "{n} reviewed examples ({skipped} more had their text deleted and are left out)",
    },
    # the admin chat
    "admin.news_header": {"zh": "<b>新的待复核记录：{n} 条</b>", "en": "<b>New for review: {n}</b>"},
    "admin.reason.needs_review": {"zh": "🔎 把握不大", "en": "🔎 unsure"},
    "admin.reason.disputed": {"zh": "❓ 用户异议", "en": "❓ disputed"},
    "admin.more": {"zh": "另有 {n} 条，发送 /review 查看。", "en": "{n} more: send /review."},
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
